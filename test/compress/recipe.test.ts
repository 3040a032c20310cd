/**
 * `parsimony compress --recipe` and `--method quantize`: a recipe file runs its steps in order and
 * stores the compressed model; a bad recipe fails in one line naming the step and the field before
 * any training, and writes nothing.
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCompressed } from '../../src/compress/compressed-format.js';
import { parseRecipe } from '../../src/compress/recipe-file.js';
import { RecipeError } from '../../src/core/errors.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { runCliCaptured, runCliProcess } from '../helpers/cli.js';
import { mlpSpec } from './helpers.js';

let dir: string;
let specFile: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'parsimony-recipe-'));
  specFile = path.join(dir, 'mlp.json');
  await writeFile(specFile, JSON.stringify(mlpSpec()));
});
after(async () => rm(dir, { recursive: true, force: true }));

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('recipe files', () => {
  it('reads steps with their options', () => {
    const recipe = parseRecipe(
      'steps:\n  - method: global\n    sparsity: 0.9\n  - method: huffman\n',
      'r.yaml',
    );
    assert.deepEqual(recipe, [
      { method: 'global', options: { sparsity: 0.9 } },
      { method: 'huffman', options: {} },
    ]);
  });

  for (const [text, pattern] of [
    ['steps: [\n', /r\.yaml: not valid YAML/],
    ['stages:\n  - method: global\n', /r\.yaml: unknown field "stages"/],
    ['steps: []\n', /r\.yaml: "steps" must be a non-empty list/],
    ['steps:\n  - sparsity: 0.9\n', /r\.yaml: step 1 has no "method"/],
  ] as const)
    it(`refuses: ${pattern}`, () => {
      assert.throws(
        () => parseRecipe(text, 'r.yaml'),
        (e: unknown) => e instanceof RecipeError && pattern.test(e.message) && !e.message.includes('\n'),
      );
    });
});

describe('parsimony compress --recipe', () => {
  for (const [name, steps, pattern] of [
    [
      'unknown step',
      '  - method: global\n    sparsity: 0.5\n  - method: sharpen\n',
      /step 2 \(sharpen\): unknown method "sharpen"/,
    ],
    [
      'bits out of range',
      '  - method: global\n    sparsity: 0.5\n  - method: cluster\n    denseBits: 12\n',
      /step 2 \(cluster\): field "denseBits" must be an integer in \[1, 8\], got 12/,
    ],
  ] as const)
    it(`${name}: one line, before training, nothing written`, async () => {
      const recipe = path.join(dir, `${name.replace(/ /g, '-')}.yaml`);
      await writeFile(recipe, `steps:\n${steps}`);
      const out = path.join(dir, `out-${name.replace(/ /g, '-')}`);
      const { code, err } = await runCliCaptured([
        'compress',
        specFile,
        '--dataset',
        'digits',
        '--recipe',
        recipe,
        '--out',
        out,
      ]);
      assert.notEqual(code, 0);
      assert.match(err, pattern);
      assert.equal(err.trim().split('\n').length, 1, `one line: ${err}`);
      assert.equal(await exists(out), false, 'nothing written');
    });

  it('prune -> cluster -> huffman runs and stores compressed.json + .bin', async () => {
    const recipe = path.join(dir, 'deep.yaml');
    await writeFile(
      recipe,
      'steps:\n  - method: global\n    sparsity: 0.8\n    pruneSteps: 2\n    finetuneEpochs: 2\n  - method: cluster\n    denseBits: 4\n    fineTuneEpochs: 1\n  - method: huffman\n',
    );
    const out = path.join(dir, 'deep');
    const {
      code,
      out: printed,
      err,
    } = await runCliCaptured([
      ...['compress', specFile, '--dataset', 'digits', '--epochs', '3', '--recipe', recipe, '--out', out],
    ]);
    assert.equal(code, 0, err);
    assert.match(printed, /step 3 \(huffman\)/);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    const { header, weights } = await loadCompressed(out);
    assert.equal(report.result.storedBytes, Math.ceil(header.storedBits / 8));
    assert.equal(analyzeModel(weights.spec).storedBits, header.storedBits);
    assert.ok(report.result.compressionRatio > 10, `ratio ${report.result.compressionRatio}`);
  });

  it('--method quantize --bits 8 --per-channel stores int8 codes with a scale per unit', async () => {
    const out = path.join(dir, 'int8');
    const { code, err } = await runCliCaptured([
      ...['compress', specFile, '--dataset', 'digits', '--epochs', '2'],
      ...['--method', 'quantize', '--bits', '8', '--per-channel', '--out', out],
    ]);
    assert.equal(code, 0, err);
    const { header } = await loadCompressed(out);
    const kernel = header.tensors[0];
    assert.ok(kernel.coding.kind === 'coded' && kernel.coding.table.kind === 'uniform', 'uniform codes');
    assert.equal(kernel.coding.kind === 'coded' && kernel.coding.tableEntries, kernel.shape[1]);
    assert.equal(kernel.storedBits, kernel.shape[0] * kernel.shape[1] * 8 + kernel.shape[1] * 32);
  });

  it('quantizes a saved model directory in a fresh process (the backend is set up before weights are read)', () => {
    const int8 = path.join(dir, 'int8');
    const out = path.join(dir, 'int8-again');
    // The directory written by the test above holds a spec and weights: compress it as a user would.
    const r = runCliProcess([
      'compress',
      int8,
      '--dataset',
      'digits',
      '--method',
      'quantize',
      '--bits',
      '4',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /quantize/, 'the report names the step');
  });

  it('--method quantize --bits 9 fails naming the field', async () => {
    const { code, err } = await runCliCaptured([
      ...['compress', specFile, '--dataset', 'digits', '--method', 'quantize', '--bits', '9'],
      ...['--out', path.join(dir, 'never')],
    ]);
    assert.notEqual(code, 0);
    assert.match(err, /step 1 \(quantize\): field "bits" must be an integer in \[2, 8\], got 9/);
  });
});
