import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { runCliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('parsimony CLI', () => {
  it('lists the datasets as JSON', async () => {
    const { code, out } = await run(['datasets', '--json']);
    assert.equal(code, 0);
    const list = JSON.parse(out);
    const digits = list.find((d: { name: string }) => d.name === 'digits');
    assert.deepEqual(
      {
        samples: digits.samples,
        features: digits.features,
        classes: digits.classes,
        available: digits.available,
      },
      { samples: 1797, features: 64, classes: 10, available: true },
    );
    const fashion = list.find((d: { name: string }) => d.name === 'fashion-mnist');
    assert.deepEqual(
      [fashion.train, fashion.test, fashion.features, fashion.classes],
      [60000, 10000, 784, 10],
    );
  });

  it('describes the embedded digits', async () => {
    const { code, out } = await run(['describe', 'digits', '--json', '--seed', '3']);
    assert.equal(code, 0);
    const d = JSON.parse(out);
    assert.equal(d.features, 64);
    assert.equal(d.parts.train.samples + d.parts.validation.samples + d.parts.test.samples, 1797);
  });

  it('describes each class on its own row, with its whole name', async () => {
    const path = join(tempDir('cli'), 'clothes.csv');
    const rows = Array.from(
      { length: 20 },
      (_, i) => `${i},${i % 3},${i % 2 ? 'Ankle boot' : 'T-shirt/top'}`,
    );
    writeFileSync(path, `a,b,kind\n${rows.join('\n')}\n`);
    const { code, out, err } = await run(['describe', `csv:${path}`]);
    assert.equal(code, 0, err);
    assert.match(out, /class +train +validation +test\n/);
    assert.match(out, /all classes +12 +4 +4\n/);
    assert.match(out, /Ankle boot +6 +2 +2\n/);
    assert.match(out, /T-shirt\/top +6 +2 +2$/);
  });

  it('prints one line, no stack, for a bad CSV cell, and exits non-zero', async () => {
    // A word in a column of numbers is a category now (csv: datasets are prepared); an unclosed quote is not.
    const path = join(tempDir('cli'), 'bad.csv');
    writeFileSync(path, 'a,b,y\n1,2,0\n3,"x,1\n');
    const { code, err } = await run(['describe', `csv:${path}`]);
    assert.equal(code, 1);
    assert.equal(err.trim().split('\n').length, 1);
    assert.match(err, /^error: .*bad\.csv: line 3, column 2/);
    assert.doesNotMatch(err, /\n\s+at /);
  });

  it('prints the stack only with --verbose', async () => {
    const { err } = await run(['describe', 'nope', '--verbose']);
    assert.match(err, /unknown dataset "nope"/);
    assert.match(err, /\n\s+at /);
  });

  it('fails on an unknown command and an unknown option with a usage message', async () => {
    const a = await run(['frobnicate']);
    assert.notEqual(a.code, 0);
    assert.match(a.err, /unknown command 'frobnicate'/);
    const b = await run(['datasets', '--nope']);
    assert.notEqual(b.code, 0);
    assert.match(b.err, /unknown option '--nope'/);
  });

  it('exits 2 on every usage error, in every command, and 1 on other errors', async () => {
    const usage: string[][] = [
      ['frobnicate'],
      ['datasets', '--nope'],
      ['describe', 'digits', '--seed', 'x'],
      ['describe', 'digits', '--validation', '2'],
      ['search', '--trials', '0'],
      ['search', '--sampler', 'grid'],
      ['search', '--timeout', '-1'],
      ['tune'],
      ['tune', 'study.yaml', '--concurrency', '0'],
      ['worker'],
      ['worker', '--study', 's', '--storage', 'memory:', '--concurrency', 'two'],
      ['studies', 'list'],
      ['studies', 'export', 's', '--storage', 'memory:', '--format', 'xml'],
      ['studies', 'rename', 'a', '--storage', 'memory:'],
      ['analyze'],
    ];
    for (const args of usage) {
      const r = await run(args);
      assert.equal(r.code, 2, `parsimony ${args.join(' ')}: ${r.err}`);
    }
    assert.equal((await run(['describe', 'nope'])).code, 1);
    assert.equal((await run(['tune', join(tempDir('cli'), 'missing.yaml')])).code, 1);
  });

  it('shows help for the program and for a command', async () => {
    const a = await run(['--help']);
    assert.equal(a.code, 0);
    assert.match(a.out, /datasets/);
    const b = await run(['describe', '--help']);
    assert.equal(b.code, 0);
    assert.match(b.out, /--seed <n>/);
  });

  it('runs as a real process on the current source', () => {
    const result = runCliProcess(['describe', 'csv:/nonexistent.csv']);
    assert.equal(result.code, 1);
    assert.equal(result.err.trim(), 'error: CSV file not found: /nonexistent.csv');
  });
});
