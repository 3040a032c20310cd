/**
 * The Deep Compression pipeline on a small real model: prune, cluster (centroids fine-tuned with
 * shared gradients), Huffman. The compressed file restores the same predictions, its size is what
 * analyzeModel reports from the spec, and it is far smaller than float32.
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
import { buildModelWithWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { RecipeError } from '../../src/core/errors.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { digitsData, mlpSpec, trainedWeights } from './helpers.js';

let data: CompressionData;
let base: ModelWeights;

before(async () => {
  data = await digitsData([64]);
  base = await trainedWeights(mlpSpec(), data, 8);
});

async function predict(weights: ModelWeights): Promise<Int32Array> {
  const tf = await import('@tensorflow/tfjs-core');
  const model = await buildModelWithWeights(weights);
  try {
    const n = data.validation.labels.length;
    return tf.tidy(
      () =>
        tf
          .argMax(
            model.predict(tf.tensor(data.validation.x, [n, 64])) as import('@tensorflow/tfjs-core').Tensor,
            -1,
          )
          .dataSync() as Int32Array,
    );
  } finally {
    model.dispose();
  }
}

describe('Deep Compression pipeline', () => {
  it('prune -> cluster -> huffman: stored file reloads with identical predictions and the counted size', async () => {
    const recipe = [
      { method: 'magnitude', options: { sparsity: 0.8, finetuneEpochs: 2, pruneSteps: 2 } },
      { method: 'cluster', options: { bits: 4, fineTuneEpochs: 2 } },
      { method: 'huffman', options: {} },
    ];
    const result = await runPipeline(base, recipe, { data });
    assert.equal(result.steps.length, 3);
    const [pruned, clustered, coded] = result.steps;
    // Clustering: at most 16 shared values per layer (plus zero), pruned weights still zero.
    for (const layer of result.weights.layers) {
      const kernel = layer.tensors.find((t) => t.name === 'kernel');
      assert.ok(kernel, 'kernel');
      const values = new Set(kernel.values);
      values.delete(0);
      assert.ok(values.size <= 16, `${layer.layer}: ${values.size} shared values`);
      const mask = result.masks[layer.layer]?.kernel;
      if (mask) for (let i = 0; i < mask.length; i++) if (!mask[i]) assert.equal(kernel.values[i], 0);
    }
    // Huffman is lossless: same accuracy as after clustering, and smaller.
    assert.equal(coded.valAccuracy, clustered.valAccuracy);
    assert.ok(
      coded.storedBits < clustered.storedBits,
      `huffman ${coded.storedBits} vs ${clustered.storedBits}`,
    );
    assert.ok(coded.compressionRatio > 10, `ratio ${coded.compressionRatio}`);
    assert.ok(
      (clustered.valAccuracy as number) >= (pruned.valAccuracy as number) - 0.03,
      `clustered ${clustered.valAccuracy} vs pruned ${pruned.valAccuracy}`,
    );

    const dir = await mkdtemp(path.join(tmpdir(), 'parsimony-deep-'));
    try {
      for (const [file, content] of Object.entries(result.files))
        await writeFile(path.join(dir, file), content);
      const { weights, header } = await loadCompressed(dir);
      assert.deepEqual(await predict(weights), await predict(result.weights));
      assert.equal(await weightsAccuracy(weights, data.validation), coded.valAccuracy);
      // analyzeModel from the spec's compression fields reports the file's counted bits.
      assert.equal(analyzeModel(weights.spec).storedBits, header.storedBits);
      assert.equal(analyzeModel(result.weights.spec).storedBits, header.storedBits);
      // The largest layer is stored sparse (a small one may be smaller dense).
      const first = header.tensors[0];
      assert.ok(
        first.coding.kind === 'coded' && first.coding.huffman && first.coding.sparse,
        'sparse Huffman',
      );
      assert.equal(
        first.coding.kind === 'coded' && first.coding.sparse?.indexBits,
        5,
        '5-bit offsets in dense layers',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('cluster fine-tuning moves centroids and keeps members tied', async () => {
    const result = await runPipeline(
      base,
      [{ method: 'cluster', options: { bits: 3, init: 'density', fineTuneEpochs: 2 } }],
      {
        data,
      },
    );
    const details = result.steps[0].details as { valAccuracyBeforeFineTune: number };
    assert.ok(
      (result.steps[0].valAccuracy as number) >= details.valAccuracyBeforeFineTune,
      `after ${result.steps[0].valAccuracy} vs before ${details.valAccuracyBeforeFineTune}`,
    );
    for (const layer of result.weights.layers) {
      const kernel = layer.tensors.find((t) => t.name === 'kernel');
      assert.ok(kernel && new Set(kernel.values).size <= 8, `${layer.layer} has at most 8 values`);
    }
  });

  it('invalid cluster bits fail naming the step and field', () => {
    assert.throws(
      () => validateRecipe([{ method: 'cluster', options: { bits: 9 } }], base.spec),
      (e: unknown) =>
        e instanceof RecipeError &&
        /step 1 \(cluster\): field "bits" must be an integer in \[1, 8\], got 9/.test(e.message),
    );
    assert.throws(
      () => validateRecipe([{ method: 'cluster', options: { init: 'random' } }], base.spec),
      /step 1 \(cluster\): field "init" must be one of linear, density, kmeans\+\+/,
    );
  });
});
