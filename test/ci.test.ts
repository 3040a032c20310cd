import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('.ci/run', () => {
  it('installs the Debian package of every Python module a test needs, so nothing skips under CI', () => {
    const script = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    const packages = /^packages=\(([^)]*)\)/m.exec(script)?.[1].split(/\s+/) ?? [];
    // Tests name what they need as skipWithoutPython([...modules], [...Debian packages]).
    const needed = new Set<string>();
    for (const file of testFiles(join(ROOT, 'test')))
      for (const m of readFileSync(file, 'utf8').matchAll(
        /skipWithoutPython\(\s*\[[^\]]*\],\s*\[([^\]]*)\]/g,
      ))
        for (const p of m[1].matchAll(/'([\w.+-]+)'/g)) needed.add(p[1]);
    assert.ok(needed.has('python3-sklearn'), `found ${[...needed]}`);
    for (const p of needed) assert.ok(packages.includes(p), `.ci/run does not install ${p}`);
  });
});
