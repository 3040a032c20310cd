import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { slimmingHooks } from '../../src/compress/channel-training.js';
import { fineTuneWeights, weightsAccuracy } from '../../src/compress/fine-tune.js';
import { type CompressionData, DEFAULT_FINE_TUNE } from '../../src/compress/method.js';
import { findLayer, findTensor, type ModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { RecipeError } from '../../src/core/errors.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { ModelBuilder } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { cnnSpec, digitsData, mlpSpec, trainedWeights } from './helpers.js';

/** An MLP with batch norm after each hidden layer (for the bn criterion and network slimming). */
function bnMlpSpec(): ModelSpec {
  const b = new ModelBuilder('digits-bn-mlp');
  let x = b.input([64]);
  x = b.activation(b.batchNorm(b.dense(x, { units: 48, useBias: false })), { activation: 'relu' });
  x = b.activation(b.batchNorm(b.dense(x, { units: 24, useBias: false })), { activation: 'relu' });
  return b.build(b.dense(x, { units: 10, activation: 'softmax' }));
}

// MLPs on the digits: they train in seconds on the cpu backend, and reach about 85-90% here.
let data: CompressionData;
let mlp: ModelWeights;
let bnMlp: ModelWeights;
const fineTune = { batchSize: 32 };

before(async () => {
  data = await digitsData([64]);
  mlp = await trainedWeights(mlpSpec(), data, 4);
  bnMlp = await trainedWeights(bnMlpSpec(), data, 4);
});

const step = (options: Record<string, unknown>) => [{ method: 'structured', options }];

function filters(spec: ModelSpec): number[] {
  return spec.layers.flatMap((l) =>
    l.type === 'conv2d' ? [l.filters] : l.type === 'dense' ? [l.units] : [],
  );
}

describe('structured method: options', () => {
  const bad: [string, Record<string, unknown>, ModelSpec, RegExp][] = [
    ['keep 0', { keep: 0 }, mlpSpec(), /field "keep" must be a number in \(0, 1\]/],
    ['keep above 1', { keep: 1.5 }, mlpSpec(), /field "keep"/],
    [
      'an unknown criterion',
      { keep: 0.5, criterion: 'l3' },
      mlpSpec(),
      /field "criterion" must be one of l1, l2, fpgm, taylor, bn/,
    ],
    [
      'a layer not in the model',
      { keep: 0.5, layers: { nope: 0.5 } },
      mlpSpec(),
      /layer "nope", which is not in the model/,
    ],
    [
      'the output layer',
      { keep: 0.5, layers: { dense_3: 0.5 } },
      mlpSpec(),
      /layer "dense_3" has no removable channels: softmax normalises across the units/,
    ],
    [
      'bn without batch norm',
      { keep: 0.5, criterion: 'bn' },
      mlpSpec(),
      /criterion bn needs batch norm after every pruned layer; dense_1, dense_2 have none/,
    ],
    [
      'slimming with l1',
      { keep: 0.5, slimmingEpochs: 1 },
      cnnSpec(),
      /"slimmingEpochs" applies to criterion bn only/,
    ],
  ];
  for (const [what, options, spec, message] of bad)
    it(`refuses ${what} in one line naming the step`, () => {
      assert.throws(
        () => validateRecipe(step(options), spec),
        (error: unknown) =>
          error instanceof RecipeError &&
          error.message.startsWith('step 1 (structured): ') &&
          message.test(error.message) &&
          !error.message.includes('\n'),
      );
    });

  it('plans the smaller spec from the spec alone', () => {
    const [planned] = validateRecipe(step({ keep: 0.5, layers: { conv2d_2: 0.25 } }), cnnSpec());
    assert.deepEqual(filters(planned.plan.spec), [4, 3, 10]);
    assert.ok(planned.plan.after.macs < planned.plan.before.macs / 2, 'MACs fall by more than half');
    assert.ok(planned.plan.after.params < planned.plan.before.params, 'fewer parameters');
  });
});

describe('structured method: apply', () => {
  for (const criterion of ['l1', 'l2', 'fpgm', 'taylor', 'bn'] as const)
    it(`criterion ${criterion}: the shrunk model is the planned spec and still classifies`, async () => {
      const base = criterion === 'bn' ? bnMlp : mlp;
      const options = { keep: 0.5, criterion, finetuneEpochs: 2, taylorBatches: 4 };
      const [planned] = validateRecipe(step(options), base.spec);
      const result = await runPipeline(base, step(options), { data, seed: 0, fineTune });
      assert.deepEqual(
        { ...result.weights.spec, layers: result.weights.spec.layers.map(({ compression: _, ...l }) => l) },
        planned.plan.spec,
      );
      assert.deepEqual(filters(result.weights.spec), [24, 12, 10]);
      assert.equal(analyzeModel(result.weights.spec).macs, planned.plan.after.macs);
      const before = await weightsAccuracy(base, data.validation);
      const after = await weightsAccuracy(result.weights, data.validation);
      // Ten classes: chance is 10%. Half the units gone and two epochs later, most is recovered.
      assert.ok(after > 0.6 && after > before - 0.2, `validation accuracy ${after} (base ${before})`);
      const details = result.steps[0].details as { layers: { name: string; kept: number }[] };
      assert.deepEqual(
        details.layers.map((l) => [l.name, l.kept]),
        [
          ['dense_1', 0.5],
          ['dense_2', 0.5],
          ['dense_3', 1],
        ],
      );
    });

  it('masks of an earlier pruning step are cut with the weights and still hold', async () => {
    const recipe = [
      { method: 'magnitude', options: { sparsity: 0.5, schedule: 'oneshot', finetuneEpochs: 0 } },
      { method: 'structured', options: { keep: 0.5, finetuneEpochs: 1 } },
    ];
    const result = await runPipeline(mlp, recipe, { data, seed: 0, fineTune });
    const kernel = findTensor(findLayer(result.weights, 'dense_2'), 'kernel');
    assert.deepEqual(kernel.shape, [24, 12]);
    const mask = result.masks.dense_2?.kernel;
    assert.ok(mask && mask.length === kernel.values.length, 'mask cut to the kernel');
    let pruned = 0;
    for (let i = 0; i < mask.length; i++)
      if (!mask[i]) {
        pruned++;
        assert.equal(kernel.values[i], 0, `masked weight ${i} stayed zero through fine-tuning`);
      }
    assert.ok(pruned > 0.2 * mask.length, `part of the kept kernel stays pruned (${pruned}/${mask.length})`);
  });

  it('network slimming: the L1 penalty drives batch-norm scales down', async () => {
    const gammaL1 = (w: ModelWeights) =>
      findTensor(findLayer(w, 'batchNorm_1'), 'gamma').values.reduce((a, v) => a + Math.abs(v), 0);
    const settings = { ...DEFAULT_FINE_TUNE, ...fineTune };
    const train = async (hooks?: Awaited<ReturnType<typeof slimmingHooks>>) =>
      (await fineTuneWeights(bnMlp, {}, { epochs: 2, learningRate: 0.01, hooks }, settings, data, 0)).weights;
    const plain = gammaL1(await train());
    const slimmed = gammaL1(await train(await slimmingHooks(0.5)));
    assert.ok(slimmed < 0.7 * plain, `sum |gamma| ${slimmed} with the penalty vs ${plain} without`);
  });
});
