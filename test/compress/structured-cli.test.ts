/** `parsimony compress --method structured` end to end on digits: a smaller stored model, and one-line errors. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCompressedModel } from '../../src/compress/store.js';
import { assertRejected, runCliCaptured } from '../helpers/cli.js';
import { mlpSpec } from './helpers.js';

let dir: string;
let specFile: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'parsimony-structured-cli-'));
  specFile = path.join(dir, 'mlp.json');
  await writeFile(specFile, JSON.stringify(mlpSpec()));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parsimony compress --method structured', () => {
  it('stores a smaller dense model and reports fewer parameters and MACs', async () => {
    const out = path.join(dir, 'ok');
    const r = await runCliCaptured([
      ...['compress', specFile, '--dataset', 'digits', '--method', 'structured', '--keep', '0.5'],
      ...['--criterion', 'taylor', '--epochs', '10', '--finetune-epochs', '3'],
      ...['--seed', '1', '--out', out, '--json'],
    ]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out);
    assert.ok(json.result.macs < 0.6 * json.base.macs, `MACs ${json.result.macs} vs ${json.base.macs}`);
    assert.ok(
      json.result.params < 0.6 * json.base.params,
      `params ${json.result.params} vs ${json.base.params}`,
    );
    assert.equal(json.result.nonZeroParams, json.result.params, 'what is left is dense');
    assert.ok(
      json.result.testAccuracy > 0.6 && json.result.testAccuracy > json.base.testAccuracy - 0.2,
      `test accuracy ${json.result.testAccuracy} (base ${json.base.testAccuracy})`,
    );
    // Kept weights per layer, against the base layer: inputs and outputs both halve in dense_2.
    assert.deepEqual(
      json.layers.map((l: { name: string; kept: number }) => [l.name, l.kept]),
      [
        ['dense_1', 0.5],
        ['dense_2', 0.25],
        ['dense_3', 0.5],
      ],
    );
    const units = json.steps[0].details.layers.map((l: { kept: number }) => l.kept);
    assert.deepEqual(units, [0.5, 0.5, 1]);
    const stored = await readCompressedModel(out);
    const spec = stored.weights.spec;
    assert.deepEqual(
      spec.layers.map((l) => (l.type === 'dense' ? l.units : 0)),
      [24, 12, 10],
    );
  });

  const bad: [string, string[], RegExp][] = [
    ['--keep 0', ['--method', 'structured', '--keep', '0'], /--keep must be in \(0, 1\], got "0"/],
    ['structured without --keep', ['--method', 'structured'], /--method structured needs --keep/],
    [
      '--keep with global pruning',
      ['--method', 'global', '--sparsity', '0.5', '--keep', '0.5'],
      /--keep applies to --method structured only/,
    ],
    [
      '--sparsity with structured',
      ['--method', 'structured', '--keep', '0.5', '--sparsity', '0.5'],
      /--sparsity does not apply to --method structured/,
    ],
    [
      'an unknown criterion',
      ['--method', 'structured', '--keep', '0.5', '--criterion', 'l3'],
      /field "criterion" must be one of l1, l2, fpgm, taylor, bn, got "l3"/,
    ],
    [
      'bn on a model without batch norm',
      ['--method', 'structured', '--keep', '0.5', '--criterion', 'bn'],
      /criterion bn needs batch norm/,
    ],
    [
      'skipping a layer that is not there',
      ['--method', 'structured', '--keep', '0.5', '--skip', 'dense_9'],
      /layer "dense_9", which is not in the model/,
    ],
  ];
  for (const [what, args, pattern] of bad)
    it(`rejects ${what} in one line, exit non-zero, nothing written`, async () => {
      const out = path.join(dir, `bad-${what.replaceAll(' ', '-')}`);
      const r = await runCliCaptured(['compress', specFile, '--dataset', 'digits', ...args, '--out', out]);
      assertRejected(r, pattern, out);
    });
});
