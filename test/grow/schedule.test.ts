import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { buildNet } from '../../src/grow/net2net.js';
import { formatGrowthCurve, growNetwork, growthTargets } from '../../src/grow/schedule.js';
import { initBackend } from '../../src/models/backends/index.js';
import { countParams } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';
import { evaluate, type TrainingData, trainingData } from '../../src/train/trainer.js';

let train: TrainingData;
let validation: TrainingData;

before(async () => {
  await initBackend({ backend: 'cpu' });
  const splits = splitBundle(await loadDataset('digits'), { seed: 0 });
  const scaler = fitStandardScaler(splits.train);
  train = trainingData(scaler.transform(splits.train), [64]);
  validation = trainingData(scaler.transform(splits.validation), [64]);
});

const small = () =>
  sequential([64])
    .add('dense', { units: 4, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();

describe('growth schedules', () => {
  it('linear, log and exp targets rise to the budget with the expected shapes', () => {
    const linear = growthTargets('linear', 1000, 5000, 4);
    const log = growthTargets('log', 1000, 5000, 4);
    const exp = growthTargets('exp', 1000, 5000, 4);
    for (const t of [linear, log, exp]) {
      assert.equal(t[t.length - 1], 5000, `ends at the budget: ${t}`);
      for (let i = 1; i < t.length; i++) assert.ok(t[i] > t[i - 1], `rising: ${t}`);
    }
    assert.deepEqual(linear, [2000, 3000, 4000, 5000]);
    assert.ok(
      log[0] > linear[0] && linear[0] > exp[0],
      `log front-loads, exp back-loads: ${log} ${linear} ${exp}`,
    );
  });
});

describe('growNetwork on digits', () => {
  it('grows in stages: params rise, widths and depth grow, the returned net is the trained one', async () => {
    const spec = small();
    const result = await growNetwork(spec, {
      train,
      validation,
      schedule: 'linear',
      maxParams: 3000,
      stages: 3,
      epochsPerStage: 2,
      minGainPerThousand: -Infinity,
      optimizer: { type: 'adam', learningRate: 0.01 },
      seed: 1,
    });
    const params = result.curve.map((s) => s.params);
    assert.equal(result.curve.length, 4, `initial + 3 stages: ${params}`);
    assert.equal(params[0], countParams(spec), 'stage 0 is the starting model');
    for (let i = 1; i < params.length; i++)
      assert.ok(params[i] > params[i - 1], `params increase: ${params}`);
    assert.ok(params[params.length - 1] <= 3000 + 200, `ends near the budget: ${params}`);
    assert.ok(
      result.curve.some((s) => s.action.startsWith('deepen')),
      'a layer was added',
    );
    assert.ok(result.curve[result.curve.length - 1].hidden.length >= 2, 'deeper at the end');
    const last = result.curve[result.curve.length - 1];
    assert.ok(last.valAccuracy > 0.8, `grown MLP learns digits: ${last.valAccuracy}`);
    assert.equal(result.totalEpochs, 8, 'epochs add up');
    const rebuilt = await buildNet(result.net, 123);
    const again = await evaluate(rebuilt, validation);
    assert.ok(
      Math.abs(again.accuracy - last.valAccuracy) < 1e-9,
      'the returned spec + weights are the trained net',
    );
    const table = formatGrowthCurve(result.curve);
    assert.equal(table.split('\n').length, 5, table);
    assert.match(table, /val acc/);
  });

  it('stops growing when the gain per thousand parameters is below the threshold', async () => {
    const result = await growNetwork(small(), {
      train,
      validation,
      schedule: 'exp',
      maxParams: 5000,
      stages: 4,
      epochsPerStage: 1,
      minGainPerThousand: 10, // 1000 points per thousand parameters: no stage can reach it
      seed: 2,
    });
    assert.equal(result.stopped, 'gain-below-threshold');
    assert.equal(result.curve.length, 2, 'stopped after the first growth stage');
  });

  it('grows a small CNN (filters through pooling and flatten, a conv inserted) on digits as 8x8 images', async () => {
    const image = (d: TrainingData): TrainingData => ({ ...d, shape: [8, 8, 1] });
    const spec = sequential([8, 8, 1])
      .add('conv2d', { filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' })
      .add('maxPool2d', { poolSize: 2 })
      .add('flatten', {})
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
    const result = await growNetwork(spec, {
      train: image(train),
      validation: image(validation),
      schedule: 'exp',
      maxParams: 1500,
      stages: 2,
      epochsPerStage: 1,
      minGainPerThousand: -Infinity,
      optimizer: { type: 'adam', learningRate: 0.01 },
      seed: 3,
    });
    const params = result.curve.map((s) => s.params);
    assert.equal(params.length, 3, `initial + 2 stages: ${params}`);
    for (let i = 1; i < params.length; i++)
      assert.ok(params[i] > params[i - 1], `params increase: ${params}`);
    assert.ok(
      result.net.spec.layers.filter((l) => l.type === 'conv2d').length === 2,
      'a conv layer was inserted',
    );
  });

  it('rejects a budget below the starting model and an unknown schedule', async () => {
    await assert.rejects(
      growNetwork(small(), { train, validation, schedule: 'linear', maxParams: 100 }),
      (e: unknown) => e instanceof InvalidArgumentError && /max params/.test(e.message),
    );
    await assert.rejects(
      growNetwork(small(), { train, validation, schedule: 'cubic' as 'linear', maxParams: 5000 }),
      /schedule must be one of linear, log, exp/,
    );
  });
});
