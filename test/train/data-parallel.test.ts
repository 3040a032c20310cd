/**
 * Data-parallel training against one thread: the same seed, data order and optimizer give the same
 * weights up to the order of float additions (shards' gradients are added in rank order, a batch's
 * parts are accumulated), on the wasm backend the workers also use.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as TfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { shardRange } from '../../src/train/data-parallel.js';
import { type TrainingData, type TrainOptions, trainingData, trainModel } from '../../src/train/trainer.js';

let tabular: TrainingData;
let images: TrainingData;

before(async () => {
  await initBackend({ backend: 'wasm' });
  const splits = splitBundle(await loadDataset('digits'), { seed: 0 });
  const scaled = fitStandardScaler(splits.train).transform(splits.train);
  tabular = trainingData(scaled, [64]);
  images = trainingData(scaled, [8, 8, 1]);
});

const mlpSpec = sequential([64])
  .add('dense', { units: 32, activation: 'relu' })
  .add('dense', { units: 10, activation: 'softmax' })
  .build();
const cnnSpec = sequential([8, 8, 1])
  .add('conv2d', { filters: 6, kernelSize: 3, activation: 'relu' })
  .add('maxPool2d', { poolSize: 2 })
  .add('flatten')
  .add('dense', { units: 10 })
  .build();

const batchNormSpec = sequential([8, 8, 1])
  .add('conv2d', { filters: 6, kernelSize: 3 })
  .add('batchNorm', { momentum: 0.8 })
  .add('activation', { activation: 'relu' })
  .add('flatten')
  .add('dense', { units: 10 })
  .build();

/** Trains a fresh model (seed 1) and returns its trained weights and the loss history. */
async function trained(spec: ModelSpec, data: TrainingData, options: TrainOptions) {
  const model = await buildTfjsModel(spec, { seed: 1 });
  try {
    const result = await trainModel(model, data, options);
    return {
      weights: model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array)),
      names: model.weights.map((w) => w.name),
      losses: result.history.map((h) => h.loss),
      accuracies: result.history.map((h) => h.accuracy),
    };
  } finally {
    model.dispose();
  }
}

function maxDifference(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length, 'same number of weight tensors');
  let worst = 0;
  a.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j] - b[i][j]));
  });
  return worst;
}

function assertSameTraining(
  one: Awaited<ReturnType<typeof trained>>,
  other: Awaited<ReturnType<typeof trained>>,
  tolerance: number,
  label: string,
) {
  const difference = maxDifference(one.weights, other.weights);
  assert.ok(difference <= tolerance, `${label}: weights differ by ${difference} (tolerance ${tolerance})`);
  for (const [i, loss] of one.losses.entries())
    assert.ok(
      Math.abs(loss - other.losses[i]) <= 1e-4 * Math.max(1, loss),
      `${label}: epoch ${i} loss ${loss} vs ${other.losses[i]}`,
    );
  assert.deepEqual(one.accuracies, other.accuracies, `${label}: same training accuracy every epoch`);
}

describe('data-parallel training', () => {
  it('splits a batch into contiguous shards, rank 0 first, sizes differing by at most one', () => {
    const shards = [0, 1, 2].map((r) => shardRange(50, r, 3));
    assert.deepEqual(shards, [
      { from: 0, to: 17 },
      { from: 17, to: 34 },
      { from: 34, to: 50 },
    ]);
    assert.deepEqual(shardRange(1, 1, 2), { from: 1, to: 1 }, 'a rank may get no sample');
  });

  it('2 threads give the weights of 1 thread (MLP, Adam, 3 epochs)', async () => {
    const options: TrainOptions = {
      epochs: 3,
      batchSize: 64,
      optimizer: { type: 'adam', learningRate: 1e-3 },
      seed: 3,
    };
    const one = await trained(mlpSpec, tabular, options);
    const two = await trained(mlpSpec, tabular, { ...options, threads: 2 });
    assertSameTraining(one, two, 1e-5, 'MLP');
  });

  it('3 threads with uneven shards, L2 and mixup give the weights of 1 thread (CNN, SGD momentum)', async () => {
    const options: TrainOptions = {
      epochs: 2,
      batchSize: 50,
      optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9 },
      regularization: { l2: 1e-3 },
      mixup: 0.4,
      seed: 4,
    };
    const one = await trained(cnnSpec, images, options);
    const three = await trained(cnnSpec, images, { ...options, threads: 3 });
    assertSameTraining(one, three, 1e-5, 'CNN');
  });

  it('gradient accumulation over micro-batches equals the whole batch, on 1 and 2 threads', async () => {
    const options: TrainOptions = {
      epochs: 2,
      batchSize: 96,
      optimizer: { type: 'adam', learningRate: 1e-3 },
      labelSmoothing: 0.1,
      seed: 5,
    };
    const whole = await trained(cnnSpec, images, options);
    const accumulated = await trained(cnnSpec, images, { ...options, microBatchSize: 20 });
    assertSameTraining(whole, accumulated, 1e-5, 'micro-batches of 20');
    const parallel = await trained(cnnSpec, images, { ...options, microBatchSize: 20, threads: 2 });
    assertSameTraining(whole, parallel, 1e-5, '2 threads, micro-batches of 20');
  });

  it('batch norm: the moving statistics on 2 and 3 threads are those of 1 thread (weights held still)', async () => {
    // A learning rate too small to move any weight, so every thread count normalises the same
    // activations: only the combination of the shards' statistics can differ.
    const options: TrainOptions = {
      epochs: 2,
      batchSize: 50,
      optimizer: { type: 'sgd', learningRate: 1e-30 },
      seed: 6,
    };
    const untrained = await buildTfjsModel(batchNormSpec, { seed: 1 });
    const initial = untrained.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
    untrained.dispose();
    const one = await trained(batchNormSpec, images, options);
    const mean = one.names.findIndex((n) => n.includes('moving_mean'));
    const variance = one.names.findIndex((n) => n.includes('moving_variance'));
    assert.ok(mean >= 0 && variance >= 0, `moving statistics among ${one.names.join(', ')}`);
    assert.ok(
      maxDifference([one.weights[mean]], [initial[mean]]) > 1e-3 &&
        maxDifference([one.weights[variance]], [initial[variance]]) > 0.1,
      'training moved the moving statistics',
    );
    for (const threads of [2, 3]) {
      const parallel = await trained(batchNormSpec, images, { ...options, threads });
      for (const i of [mean, variance]) {
        const difference = maxDifference([one.weights[i]], [parallel.weights[i]]);
        assert.ok(difference <= 1e-5, `${threads} threads: moving statistic ${i} differs by ${difference}`);
      }
    }
  });

  it('hooks run on the summed gradients: a mask holds pruned weights at zero with 2 threads', async () => {
    const model = await buildTfjsModel(mlpSpec, { seed: 1 });
    const tf = await import('@tensorflow/tfjs-core');
    const kernel = model.trainableWeights[0].read() as TfCore.Variable;
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.abs(kernel), 0.1), 'float32'));
    const pruned = mask.size - tf.sum(mask).dataSync()[0];
    try {
      tf.tidy(() => kernel.assign(tf.mul(kernel, mask)));
      let transformed = 0;
      await trainModel(model, tabular, {
        epochs: 1,
        batchSize: 64,
        threads: 2,
        seed: 0,
        hooks: {
          transformGradients: (grads) => {
            transformed++;
            return { ...grads, [kernel.name]: tf.mul(grads[kernel.name], mask) };
          },
          afterStep: () => kernel.assign(tf.mul(kernel, mask)),
        },
      });
      assert.equal(transformed, Math.ceil(tabular.labels.length / 64), 'the hook ran once per step');
      const values = kernel.dataSync();
      const maskValues = mask.dataSync();
      let zeros = 0;
      for (let i = 0; i < values.length; i++) if (maskValues[i] === 0 && values[i] === 0) zeros++;
      assert.ok(pruned > 0, 'the test prunes some weights');
      assert.equal(zeros, pruned, 'every pruned weight is still exactly zero');
    } finally {
      mask.dispose();
      model.dispose();
    }
  });

  it('rejects bad threads and micro-batch sizes, and extraLoss with threads, with one line each', async () => {
    const model = await buildTfjsModel(mlpSpec, { seed: 1 });
    try {
      for (const [options, pattern] of [
        [{ threads: 0 }, /threads must be a positive integer, got 0/],
        [{ threads: 1.5 }, /threads must be a positive integer/],
        [{ microBatchSize: 0 }, /microBatchSize must be a positive integer, got 0/],
        [{ threads: 2, hooks: { extraLoss: () => null as never } }, /threads 2 cannot run hooks.extraLoss/],
      ] as const)
        await assert.rejects(
          trainModel(model, tabular, { epochs: 1, ...(options as Partial<TrainOptions>) }),
          (error: Error) => error instanceof InvalidArgumentError && pattern.test(error.message),
          `rejects ${JSON.stringify(options)}`,
        );
    } finally {
      model.dispose();
    }
  });
});
