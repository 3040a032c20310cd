/**
 * `restartOptimizer` of the magnitude methods: AGP in 2 events with a fresh optimizer at each equals
 * the same pruning done as two recipe steps (each its own fine-tuning run), as PyTorch's
 * prune-then-fine-tune loop does it; with one optimizer throughout the weights differ. Full-batch
 * fine-tuning (100 samples, batch 128), so the data order does not change the gradients.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CompressionData } from '../../src/compress/method.js';
import type { ModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { agpSparsity } from '../../src/compress/sparsity-schedule.js';
import { RecipeError } from '../../src/core/errors.js';
import { digitsData, mlpSpec, trainedWeights } from './helpers.js';

let data: CompressionData;
let base: ModelWeights;
const common = { score: 'magnitude', learningRate: 0.01 };

before(async () => {
  data = await digitsData([64], 100);
  base = await trainedWeights(mlpSpec(), data, 3);
});

function maxDifference(a: ModelWeights, b: ModelWeights): number {
  let max = 0;
  for (const [l, layer] of a.layers.entries())
    for (const [t, tensor] of layer.tensors.entries())
      for (let i = 0; i < tensor.values.length; i++)
        max = Math.max(max, Math.abs(tensor.values[i] - b.layers[l].tensors[t].values[i]));
  return max;
}

const agp = (restartOptimizer: boolean) =>
  runPipeline(
    base,
    [
      {
        method: 'global',
        options: {
          ...common,
          sparsity: 0.9,
          schedule: 'agp',
          pruneSteps: 2,
          finetuneEpochs: 4,
          restartOptimizer,
        },
      },
    ],
    { data, seed: 0 },
  );

describe('magnitude pruning: restartOptimizer', () => {
  it('AGP with a fresh optimizer at each event equals one fine-tuning run per event', async () => {
    const steps = await runPipeline(
      base,
      [
        {
          method: 'global',
          options: { ...common, sparsity: agpSparsity(0, 0.9, 1, 2), schedule: 'oneshot', finetuneEpochs: 2 },
        },
        { method: 'global', options: { ...common, sparsity: 0.9, schedule: 'oneshot', finetuneEpochs: 2 } },
      ],
      { data, seed: 0 },
    );
    const restarted = await agp(true);
    const carried = await agp(false);
    assert.deepEqual(
      (restarted.steps[0].details as { pruningEvents: { step: number }[] }).pruningEvents.map((e) => e.step),
      [0, 2],
      'AGP events at steps 0 and 2',
    );
    assert.equal((restarted.steps[0].details as { restartOptimizer?: boolean }).restartOptimizer, true);
    const same = maxDifference(restarted.weights, steps.weights);
    const differ = maxDifference(carried.weights, steps.weights);
    assert.ok(same < 1e-5, `fresh optimizer at each event vs two runs: max |dw| ${same}`);
    assert.ok(differ > 1e-3, `one optimizer throughout vs two runs: max |dw| ${differ}`);
  });

  it('rejects a restartOptimizer that is not true or false, naming the step and field', () => {
    assert.throws(
      () =>
        validateRecipe(
          [{ method: 'global', options: { sparsity: 0.5, restartOptimizer: 'yes' } }],
          base.spec,
        ),
      (e: unknown) =>
        e instanceof RecipeError &&
        /^step 1 \(global\): field "restartOptimizer" must be true or false/.test(e.message),
    );
  });
});
