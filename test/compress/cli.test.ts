/**
 * `parsimony compress` end to end on digits: the report and `--json` shape, what the output
 * directory holds, one-line errors with nothing written, and Ctrl-C keeping what is done.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCompressedModel } from '../../src/compress/store.js';
import { assertRejected, runCliCaptured } from '../helpers/cli.js';
import { mlpSpec } from './helpers.js';

let dir: string;
let specFile: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'parsimony-compress-cli-'));
  specFile = path.join(dir, 'mlp.json');
  await writeFile(specFile, JSON.stringify(mlpSpec()));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ROW_FIELDS = [
  'params',
  'nonZeroParams',
  'macs',
  'storedBits',
  'valAccuracy',
  'testAccuracy',
  'seconds',
];

describe('parsimony compress', () => {
  it('trains a spec first, prunes it, writes the model and report, and prints --json', async () => {
    const out = path.join(dir, 'ok');
    const r = await runCliCaptured([
      ...['compress', specFile, '--dataset', 'digits', '--method', 'global', '--sparsity', '0.8'],
      ...['--epochs', '3', '--finetune-epochs', '1', '--seed', '1', '--out', out, '--json'],
      '--restart-optimizer',
    ]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out);
    for (const part of [json.base, json.result, ...json.steps])
      for (const field of ROW_FIELDS) assert.ok(field in part, `field ${field} in ${JSON.stringify(part)}`);
    assert.equal(json.steps.length, 1);
    assert.equal(json.steps[0].details.restartOptimizer, true, '--restart-optimizer reaches the step');
    assert.ok(
      Array.isArray(json.layers) &&
        json.layers.every((l: { name: string; kept: number }) => l.name && l.kept > 0),
    );
    const weights = json.layers.map((l: { kept: number }) => l.kept);
    assert.ok(
      json.result.nonZeroParams < 0.3 * json.base.nonZeroParams,
      `pruned: ${JSON.stringify(weights)}`,
    );
    assert.deepEqual((await readdir(out)).sort(), [
      'masks.bin',
      'masks.json',
      'model.json',
      'parsimony-model.json',
      'report.json',
      'weights.bin',
    ]);
    const stored = await readCompressedModel(out);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    assert.equal(report.result.nonZeroParams, json.result.nonZeroParams);
    assert.ok(Object.keys(stored.masks).length === 3, 'masks of the three dense layers are stored');
  });

  it('--train-threads 2 trains the base model and the fine-tune as one thread does', async () => {
    const run = async (threads: number) => {
      const r = await runCliCaptured([
        ...['compress', specFile, '--dataset', 'digits', '--method', 'global', '--sparsity', '0.8'],
        ...['--epochs', '2', '--finetune-epochs', '1', '--train-threads', String(threads)],
        ...['--out', path.join(dir, `threads-${threads}`), '--json'],
      ]);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out);
    };
    const one = await run(1);
    const two = await run(2);
    assert.ok(two.result.nonZeroParams < 0.3 * two.base.nonZeroParams, 'pruned to 80% zeros');
    for (const row of ['base', 'result'])
      for (const field of ['valAccuracy', 'testAccuracy'])
        assert.ok(
          Math.abs(one[row][field] - two[row][field]) <= 0.01,
          `${row} ${field}: ${one[row][field]} on 1 thread, ${two[row][field]} on 2`,
        );
  });

  const bad: [string, string[], RegExp][] = [
    [
      'no training thread',
      ['--sparsity', '0.5', '--train-threads', '0'],
      /--train-threads must be an integer >= 1, got "0"/,
    ],
    [
      '--restart-optimizer with structured pruning',
      ['--method', 'structured', '--keep', '0.5', '--restart-optimizer'],
      /--restart-optimizer is for --method magnitude or global, not structured/,
    ],
    ['a sparsity outside [0, 1)', ['--sparsity', '1.5'], /--sparsity must be in \[0, 1\), got "1\.5"/],
    ['a layer that does not exist', ['--sparsity', '0.5', '--skip', 'dense_9'], /"dense_9"/],
    ['an unknown method', ['--sparsity', '0.5', '--method', 'nosuch'], /unknown method "nosuch"/],
    [
      'a dataset of another shape',
      ['--sparsity', '0.5', '--dataset', 'fashion-mnist'],
      /shape \[28, 28, 1\].*expects \[64\]/,
    ],
  ];
  for (const [what, args, pattern] of bad)
    it(`rejects ${what} in one line, exit non-zero, nothing written`, async () => {
      const out = path.join(dir, `bad-${what.replaceAll(' ', '-')}`);
      const withDataset = args.includes('--dataset') ? args : [...args, '--dataset', 'digits'];
      const r = await runCliCaptured(['compress', specFile, ...withDataset, '--out', out]);
      assertRejected(r, pattern, out);
    });

  it('rejects a model directory without weights, naming the file', async () => {
    const modelDir = path.join(dir, 'no-weights');
    await mkdir(modelDir);
    await writeFile(path.join(modelDir, 'model.json'), '{}');
    const out = path.join(dir, 'out-no-weights');
    const r = await runCliCaptured([
      'compress',
      modelDir,
      '--dataset',
      'digits',
      '--sparsity',
      '0.5',
      '--out',
      out,
    ]);
    assertRejected(r, /no weights\.bin/, out);
  });

  it('refuses an output directory holding other files, before training', async () => {
    const out = path.join(dir, 'occupied');
    await mkdir(out);
    await writeFile(path.join(out, 'notes.txt'), 'mine');
    const r = await runCliCaptured([
      'compress',
      specFile,
      '--dataset',
      'digits',
      '--sparsity',
      '0.5',
      '--out',
      out,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /not empty/);
    assert.deepEqual(await readdir(out), ['notes.txt']);
  });

  it('Ctrl-C during fine-tuning stops cleanly and saves what is done', async () => {
    const out = path.join(dir, 'interrupted');
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', path.join('test', 'fixtures', 'compress', 'run-cli.ts')],
        ...['compress', specFile, '--dataset', 'digits', '--sparsity', '0.7', '--epochs', '1'],
        ...['--finetune-epochs', '500', '--out', out, '--json'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    let signalled = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!signalled && stderr.includes('step 1 (global): started')) {
        signalled = true;
        setTimeout(() => child.kill('SIGINT'), 500);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const json = JSON.parse(stdout);
    assert.equal(json.completed, false);
    assert.equal(json.steps[0].interrupted, true);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    assert.equal(report.completed, false);
  });
});
