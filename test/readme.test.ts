import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
};

describe('README', () => {
  it('names no absolute path of the machine it was written on', () => {
    const absolute = README.split('\n').filter((line) => /(^|[\s`(])\/(work|home|root|tmp)\//.test(line));
    assert.deepEqual(absolute, []);
  });

  it('imports the package by its npm name', () => {
    const imports = [...README.matchAll(/from '([^']+)';/g)].map((m) => m[1]);
    assert.ok(imports.length >= 2, 'the README has import examples');
    for (const name of imports) assert.equal(name, PACKAGE.name);
  });
});
