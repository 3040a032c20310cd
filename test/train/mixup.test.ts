import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { mixBatch, sampleBeta, sampleGamma } from '../../src/train/mixup.js';
import { type TrainingData, trainingData, trainModel } from '../../src/train/trainer.js';

let train: TrainingData;
let validation: TrainingData;

before(async () => {
  await initBackend({ backend: 'cpu' });
  const splits = splitBundle(await loadDataset('digits'), { seed: 0 });
  const scaler = fitStandardScaler(splits.train);
  train = trainingData(scaler.transform(splits.train), [64]);
  validation = trainingData(scaler.transform(splits.validation), [64]);
});

const moments = (draw: () => number, n = 20000) => {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    squares += x * x;
  }
  const mean = sum / n;
  return { mean, variance: squares / n - mean * mean };
};

describe('mixup', () => {
  it('Gamma and Beta draws have their distributions mean and variance', () => {
    const rng = new Random(3);
    for (const shape of [0.4, 1, 3.5]) {
      const { mean, variance } = moments(() => sampleGamma(rng, shape));
      assert.ok(Math.abs(mean - shape) < 0.05 * shape + 0.02, `Gamma(${shape}) mean ${mean}`);
      assert.ok(Math.abs(variance - shape) < 0.1 * shape + 0.03, `Gamma(${shape}) variance ${variance}`);
    }
    for (const a of [0.2, 1, 4]) {
      const { mean, variance } = moments(() => sampleBeta(rng, a, a));
      const expected = 1 / (4 * (2 * a + 1));
      assert.ok(Math.abs(mean - 0.5) < 0.01, `Beta(${a}, ${a}) mean ${mean}`);
      assert.ok(
        Math.abs(variance - expected) < 0.01,
        `Beta(${a}, ${a}) variance ${variance}, expected ${expected}`,
      );
    }
  });

  it('mixes each row with its partner by lambda, deterministically for a seed', () => {
    const size = 3;
    const count = 5;
    const original = Float32Array.from({ length: count * size }, (_, i) => i);
    const run = () => {
      const batch = original.slice();
      const mixed = mixBatch(batch, count, size, 1, new Random(7), new Float32Array(count * size));
      return { batch, mixed };
    };
    const { batch, mixed } = run();
    assert.deepEqual(run(), { batch, mixed });
    assert.ok(mixed.lambda > 0 && mixed.lambda < 1, `lambda ${mixed.lambda}`);
    assert.deepEqual(
      Array.from(mixed.partner).sort(),
      [0, 1, 2, 3, 4],
      'the partners are a permutation of the batch',
    );
    for (let i = 0; i < count; i++)
      for (let j = 0; j < size; j++) {
        const expected =
          mixed.lambda * original[i * size + j] + (1 - mixed.lambda) * original[mixed.partner[i] * size + j];
        assert.ok(Math.abs(batch[i * size + j] - expected) < 1e-5, `row ${i} value ${j}`);
      }
  });

  it('trains with mixup, reproducibly for a seed, and rejects a concentration <= 0', async () => {
    const run = async () => {
      const model = await buildTfjsModel(
        sequential([64])
          .add('dense', { units: 32, activation: 'relu' })
          .add('dense', { units: 10, activation: 'softmax' })
          .build(),
        { seed: 1 },
      );
      const tensors = tf.memory().numTensors;
      const result = await trainModel(model, train, {
        epochs: 6,
        batchSize: 32,
        validation,
        optimizer: { type: 'adam', learningRate: 3e-3 },
        mixup: 0.4,
        seed: 2,
      });
      assert.equal(tf.memory().numTensors, tensors, 'no tensor leaked');
      model.dispose();
      return result.history.map((e) => [e.loss, e.valAccuracy]);
    };
    const a = await run();
    assert.deepEqual(await run(), a);
    assert.ok((a.at(-1)?.[1] ?? 0) > 0.9, `validation accuracy with mixup ${a.at(-1)?.[1]}`);
    const model = await buildTfjsModel(sequential([64]).add('dense', { units: 10 }).build());
    await assert.rejects(
      trainModel(model, train, { epochs: 1, mixup: 0 }),
      (e: Error) =>
        e instanceof InvalidArgumentError && /mixup must be a Beta concentration > 0, got 0/.test(e.message),
    );
    model.dispose();
  });
});
