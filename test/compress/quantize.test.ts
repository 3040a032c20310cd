/**
 * Quantization on real small models (UCI digits): post-training int8 keeps accuracy, the stored
 * integer file restores the same predictions, full mode quantizes activations, ternary and binary
 * keep their few values, QAT recovers what 2-bit PTQ loses, and bad options fail before training.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadCompressed } from '../../src/compress/compressed-format.js';
import { weightsAccuracy } from '../../src/compress/fine-tune.js';
import type { CompressionData } from '../../src/compress/method.js';
import type { ModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { RecipeError } from '../../src/core/errors.js';
import { cnnSpec, digitsData, mlpSpec, trainedWeights } from './helpers.js';

let data: CompressionData;
let cnnData: CompressionData;
let base: ModelWeights;
let cnnBase: ModelWeights;
let baseAccuracy: number;

before(async () => {
  data = await digitsData([64]);
  cnnData = await digitsData([8, 8, 1]);
  base = await trainedWeights(mlpSpec(), data, 8);
  cnnBase = await trainedWeights(cnnSpec(), cnnData, 2);
  baseAccuracy = await weightsAccuracy(base, data.validation);
});

async function stored(files: Record<string, Uint8Array | string>) {
  const dir = await mkdtemp(path.join(tmpdir(), 'parsimony-quant-'));
  try {
    for (const [file, content] of Object.entries(files)) await writeFile(path.join(dir, file), content);
    return await loadCompressed(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function distinctPerTensor(weights: ModelWeights, tensor = 'kernel'): number[] {
  return weights.layers.map((l) => new Set(l.tensors.find((t) => t.name === tensor)?.values).size);
}

describe('post-training quantization', () => {
  it('int8 per channel: within a point of float, stored as integers, reloads to the same weights', async () => {
    const result = await runPipeline(
      base,
      [{ method: 'quantize', options: { bits: 8, granularity: 'channel' } }],
      {
        data,
      },
    );
    const row = result.steps[0];
    assert.ok(
      (row.valAccuracy as number) >= baseAccuracy - 0.01,
      `int8 ${row.valAccuracy} vs float ${baseAccuracy}`,
    );
    const { header, weights } = await stored(result.files);
    const kernel = header.tensors.find((t) => t.tensor === 'kernel');
    assert.ok(kernel?.coding.kind === 'coded' && kernel.coding.table.kind === 'uniform', 'uniform codes');
    assert.equal(kernel.coding.kind === 'coded' && kernel.coding.huffman, false);
    for (const [i, layer] of weights.layers.entries())
      for (const [j, t] of layer.tensors.entries())
        assert.deepEqual(t.values, result.weights.layers[i].tensors[j].values, `${layer.layer}/${t.name}`);
    assert.equal(await weightsAccuracy(weights, data.validation), row.valAccuracy);
    // About a quarter of float32: 8-bit weights, float32 scales and biases.
    assert.ok(row.compressionRatio > 3.5 && row.compressionRatio < 4, `ratio ${row.compressionRatio}`);
    assert.equal(row.storedBits, header.storedBits, 'analyzeModel counts what the file holds');
    for (const layer of result.weights.spec.layers.filter((l) => l.type === 'dense'))
      assert.equal(layer.compression?.weightBits, 8);
  });

  it('full mode: activations calibrated and quantized, ranges stored', async () => {
    for (const activations of ['minmax', 'entropy'] as const) {
      const result = await runPipeline(
        cnnBase,
        [{ method: 'quantize', options: { bits: 8, activations, calibrationSamples: 300 } }],
        { data: cnnData },
      );
      const details = result.steps[0].details as Record<string, number>;
      const cnnFloat = await weightsAccuracy(cnnBase, cnnData.validation);
      assert.ok(
        details.fullIntegerValAccuracy >= cnnFloat - 0.03,
        `${activations}: ${details.fullIntegerValAccuracy} vs ${cnnFloat}`,
      );
      const { header } = await stored(result.files);
      const storedRanges = header.extra?.activations as
        | { ranges: Record<string, { scale: number }> }
        | undefined;
      assert.ok(storedRanges, 'activation ranges stored');
      const ranges = storedRanges.ranges;
      // The input and every layer but the output.
      assert.equal(Object.keys(ranges).length, cnnSpec().layers.length);
      for (const [name, r] of Object.entries(ranges)) assert.ok(r.scale > 0, `${name} scale ${r.scale}`);
    }
  });

  it('ternary keeps at most three values per channel and binary two', async () => {
    const ternary = await runPipeline(
      base,
      [{ method: 'quantize', options: { kind: 'ternary', granularity: 'channel' } }],
      {
        data,
      },
    );
    const binary = await runPipeline(
      base,
      [{ method: 'quantize', options: { kind: 'binary', granularity: 'channel' } }],
      {
        data,
      },
    );
    const perChannel = (weights: ModelWeights, limit: number) => {
      for (const layer of weights.layers) {
        const k = layer.tensors.find((t) => t.name === 'kernel');
        if (!k) continue;
        const units = k.shape[1];
        for (let c = 0; c < units; c++) {
          const values = new Set<number>();
          for (let i = c; i < k.values.length; i += units) values.add(k.values[i]);
          assert.ok(values.size <= limit, `${layer.layer} channel ${c}: ${values.size} values`);
        }
      }
    };
    perChannel(ternary.weights, 3);
    perChannel(binary.weights, 2);
    assert.equal(ternary.weights.spec.layers[0].compression?.weightBits, 2);
    assert.equal(binary.weights.spec.layers[0].compression?.weightBits, 1);
    assert.ok(
      (binary.steps[0].valAccuracy as number) > 0.3,
      `binary still learns: ${binary.steps[0].valAccuracy}`,
    );
  });

  it('per-layer bits: 2-bit first layer, 8-bit others', async () => {
    const first = base.spec.layers[0].name;
    const result = await runPipeline(
      base,
      [{ method: 'quantize', options: { bits: 8, layers: { [first]: 2 }, scheme: 'asymmetric' } }],
      { data },
    );
    const counts = distinctPerTensor(result.weights);
    assert.ok(counts[0] <= 4, `2-bit layer has ${counts[0]} values`);
    assert.ok(counts[1] > 16, `8-bit layer has ${counts[1]} values`);
  });
});

describe('quantization-aware training', () => {
  it('2-bit QAT beats 2-bit post-training quantization', async () => {
    const options = { bits: 2, granularity: 'channel' };
    const ptq = await runPipeline(base, [{ method: 'quantize', options }], { data });
    const qat = await runPipeline(base, [{ method: 'quantize', options: { ...options, qatEpochs: 3 } }], {
      data,
    });
    const p = ptq.steps[0].valAccuracy as number;
    const q = qat.steps[0].valAccuracy as number;
    assert.ok(q > p, `QAT ${q} vs PTQ ${p}`);
    assert.ok(distinctPerTensor(qat.weights)[0] <= 4 * 48, 'QAT weights are still 2-bit codes');
  });
});

describe('invalid quantize steps fail before any training', () => {
  for (const [options, pattern] of [
    [{ bits: 9 }, /step 2 \(quantize\): field "bits" must be an integer in \[2, 8\], got 9/],
    [{ bits: 8, activations: 'kl' }, /step 2 \(quantize\): field "activations" must be one of none, minmax/],
    [{ bits: 8, layers: { nope: 4 } }, /step 2 \(quantize\): field "layers" names layer "nope"/],
    [{ kind: 'int', huffman: 'yes' }, /step 2 \(quantize\): field "huffman" must be true or false/],
  ] as const)
    it(String(pattern), () => {
      assert.throws(
        () =>
          validateRecipe(
            [
              { method: 'magnitude', options: { sparsity: 0.5 } },
              { method: 'quantize', options },
            ],
            base.spec,
          ),
        (e: unknown) => e instanceof RecipeError && pattern.test(e.message) && !e.message.includes('\n'),
      );
    });
});
