/**
 * The pipeline's guarantees beyond one method (recipe validated before training, per-layer
 * sparsities honoured, schedules reaching their target), sensitivity analysis, the sparsity
 * study, and the trainer hooks the methods rely on.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CompressionData } from '../../src/compress/method.js';
import { buildModelWithWeights, type ModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { layerKept } from '../../src/compress/report.js';
import { analyzeSensitivity, sparsitiesFromSensitivity } from '../../src/compress/sensitivity.js';
import { runSparsityStudy } from '../../src/compress/sparsity-study.js';
import { RecipeError } from '../../src/core/errors.js';
import { trainModel } from '../../src/train/trainer.js';
import { digitsData, mlpSpec, trainedWeights } from './helpers.js';

let data: CompressionData;
let base: ModelWeights;

before(async () => {
  data = await digitsData([64]);
  base = await trainedWeights(mlpSpec(), data, 5);
});

describe('compression pipeline', () => {
  it('validates every step before any training: a bad step 2 fails at once, naming step and field', () => {
    assert.throws(
      () =>
        validateRecipe(
          [
            { method: 'global', options: { sparsity: 0.5, finetuneEpochs: 100 } },
            { method: 'magnitude', options: { sparsity: 1 } },
          ],
          base.spec,
        ),
      (e: unknown) => e instanceof RecipeError && /^step 2 \(magnitude\): field "sparsity"/.test(e.message),
    );
    assert.throws(
      () => validateRecipe([{ method: 'magnitude', options: { layers: { nope: 0.5 } } }], base.spec),
      /step 1 \(magnitude\): field "layers" names layer "nope"/,
    );
  });

  for (const schedule of ['oneshot', 'constant', 'polynomial', 'agp', 'iterative'])
    it(`${schedule}: reaches the target sparsity exactly and keeps the last layer's floor`, async () => {
      const result = await runPipeline(
        base,
        [
          {
            method: 'global',
            options: { sparsity: 0.9, schedule, finetuneEpochs: 2, frequency: 10, rounds: 2 },
          },
        ],
        { data, seed: 0 },
      );
      const kept = layerKept(result.weights);
      const total = kept.reduce((a, l) => a + l.weights, 0);
      const nonZero = kept.reduce((a, l) => a + Math.round(l.kept * l.weights), 0);
      assert.ok(Math.abs(nonZero - Math.round(0.1 * total)) <= 1, `${nonZero} of ${total} kept`);
      assert.ok((kept.at(-1)?.kept ?? 0) >= 0.2 - 1e-9, `last layer keeps ${kept.at(-1)?.kept}`);
      assert.ok(
        (result.steps[0].valAccuracy ?? 0) > 0.5,
        `accuracy after fine-tuning ${result.steps[0].valAccuracy}`,
      );
    });

  it('layer-wise magnitude honours per-layer sparsities and skipped layers', async () => {
    const result = await runPipeline(
      base,
      [
        {
          method: 'magnitude',
          options: {
            layers: { dense_1: 0.8, dense_2: 0.5 },
            skip: ['dense_3'],
            schedule: 'oneshot',
            finetuneEpochs: 0,
          },
        },
      ],
      { data },
    );
    const kept = Object.fromEntries(layerKept(result.weights).map((l) => [l.name, l.kept]));
    assert.ok(
      Math.abs(kept.dense_1 - 0.2) < 1e-3 && Math.abs(kept.dense_2 - 0.5) < 1e-3,
      JSON.stringify(kept),
    );
    assert.equal(kept.dense_3, 1);
  });
});

describe('sensitivity analysis', () => {
  it('measures each layer pruned alone and turns the curves into per-layer sparsities', async () => {
    const result = await analyzeSensitivity(base, data.validation, { sparsities: [0.2, 0.6, 0.95] });
    assert.deepEqual(
      result.layers.map((l) => l.name),
      ['dense_1', 'dense_2', 'dense_3'],
    );
    for (const layer of result.layers) {
      assert.equal(layer.accuracy.length, 3);
      assert.ok(layer.accuracy[2] <= layer.accuracy[0] + 0.02, `${layer.name}: 95% is no better than 20%`);
    }
    const chosen = sparsitiesFromSensitivity(result, 0.02);
    for (const layer of result.layers) {
      const i = result.sparsities.indexOf(chosen[layer.name]);
      if (chosen[layer.name] > 0) assert.ok(result.baseline - layer.accuracy[i] <= 0.02 + 1e-12, layer.name);
    }
    assert.throws(() => sparsitiesFromSensitivity(result, 1.5), /accuracy drop must be in \[0, 1\)/);
  });
});

describe('sparsity study', () => {
  it('returns a Pareto front of per-layer sparsities: more accuracy costs more non-zero parameters', async () => {
    const result = await runSparsityStudy({ base, data, trials: 6, finetuneEpochs: 1, seed: 3 });
    assert.equal(result.counts.complete + result.counts.pruned + result.counts.failed, 6);
    assert.equal(result.counts.failed, 0);
    assert.ok(result.front.length >= 1, 'a front');
    for (let i = 1; i < result.front.length; i++) {
      assert.ok(result.front[i].nonZeroParams >= result.front[i - 1].nonZeroParams, 'sorted by size');
      assert.ok(
        result.front[i].valAccuracy > result.front[i - 1].valAccuracy,
        'bigger is more accurate on a front',
      );
    }
    for (const row of result.front) {
      assert.deepEqual(Object.keys(row.sparsity).sort(), ['dense_1', 'dense_2', 'dense_3']);
      assert.ok(result.models.has(row.trial), `model of front trial ${row.trial} kept`);
    }
  });
});

describe('trainer hooks', () => {
  it('an extra loss term and a cross-entropy weight change the training; an aborted signal stops after one batch', async () => {
    const losses: number[] = [];
    for (const hooks of [{}, { crossEntropyWeight: 0.5 }]) {
      const model = await buildModelWithWeights(base);
      const result = await trainModel(model, data.train, { epochs: 1, batchSize: 64, hooks });
      losses.push(result.history[0].loss);
      model.dispose();
    }
    assert.ok(Math.abs(losses[1] - losses[0] / 2) < 0.2 * losses[0], `weighted loss ${losses}`);
    const model = await buildModelWithWeights(base);
    const tf = await import('@tensorflow/tfjs-core');
    let extraCalls = 0;
    const controller = new AbortController();
    const result = await trainModel(model, data.train, {
      epochs: 3,
      batchSize: 64,
      hooks: {
        extraLoss: ({ output }) => {
          extraCalls++;
          return tf.mul(tf.sum(output), 0) as import('@tensorflow/tfjs-core').Scalar;
        },
      },
      signal: controller.signal,
      onStep: (step) => {
        if (step === 4) controller.abort();
      },
    });
    model.dispose();
    assert.equal(result.stopped, 'aborted');
    assert.equal(extraCalls, 5, 'stopped after the batch that saw the abort');
  });
});
