import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSamples, runDatasets } from '../../src/cli/commands/datasets.js';
import { runCli } from '../../src/cli/main.js';
import { DIGITS_PATH } from '../../src/data/digits.js';
import { findFashionMnist } from '../../src/data/fashion-mnist.js';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += `${s}\n`), stderr: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

describe('parsimony datasets', () => {
  it('prints the built-in datasets as JSON', async () => {
    const { code, out, err } = await run(['datasets', '--json']);
    assert.equal(code, 0, err);
    const list = JSON.parse(out);
    assert.ok(Array.isArray(list));
    const pick = (d: Record<string, unknown>) => ({
      name: d.name,
      samples: d.samples,
      train: d.train,
      test: d.test,
      features: d.features,
      classes: d.classes,
    });
    assert.deepEqual(list.map(pick), [
      { name: 'digits', samples: 1797, train: 1797, test: 0, features: 64, classes: 10 },
      { name: 'fashion-mnist', samples: 70000, train: 60000, test: 10000, features: 784, classes: 10 },
    ]);
    assert.equal(list[0].location, DIGITS_PATH);
    assert.equal(list[0].available, true);
    const fashionDir = findFashionMnist();
    assert.equal(list[1].available, fashionDir !== undefined);
    if (fashionDir) assert.equal(list[1].location, fashionDir);
  });

  it('prints a table for people', async () => {
    const { code, out } = await run(['datasets']);
    assert.equal(code, 0);
    const lines = out.split('\n');
    assert.match(lines[0], /^name\s+samples\s+features\s+classes\s+available\s+location$/);
    assert.match(out, /digits\s+1,797\s+64 \(8x8x1\)\s+10\s+yes\s+\S*digits\.csv\.gz/);
    assert.match(out, /fashion-mnist\s+60,000 \+ 10,000\s+784 \(28x28x1\)\s+10\s+(yes|no)/);
    assert.match(out, /csv:<path>/);
  });

  it('returns the same rows from runDatasets', async () => {
    const rows = await runDatasets();
    assert.deepEqual(
      rows.map((r) => formatSamples(r)),
      ['1,797', '60,000 + 10,000'],
    );
  });
});
