import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { TrialPruned } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { augmentBatch } from '../../src/train/augment.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { evaluate, type TrainingData, trainingData, trainModel } from '../../src/train/trainer.js';

let train: TrainingData;
let validation: TrainingData;

before(async () => {
  // cpu: deterministic to the last bit and available everywhere; speed is bench/training's business.
  await initBackend({ backend: 'cpu' });
  const splits = splitBundle(await loadDataset('digits'), { seed: 0 });
  const scaler = fitStandardScaler(splits.train);
  train = trainingData(scaler.transform(splits.train), [64]);
  validation = trainingData(scaler.transform(splits.validation), [64]);
});

const mlp = (dropout = 0) =>
  buildTfjsModel(
    sequential([64])
      .add('dense', { units: 32, activation: 'relu' })
      .add('dropout', { rate: dropout })
      .add('dense', { units: 10, activation: 'softmax' })
      .build(),
    { seed: 1 },
  );

describe('optimizers', () => {
  it('AdamW decays weights apart from the gradient: w(1 - lr wd) before the Adam step', () => {
    const v = tf.variable(tf.tensor2d([[1, -2]]), true, 'w');
    const opt = createOptimizer(tf, { type: 'adamw', learningRate: 0.1, weightDecay: 0.5 });
    // A zero gradient: Adam moves nothing, so only the decay acts.
    opt.apply({ w: tf.zerosLike(v) }, [v]);
    const after = v.dataSync();
    assert.ok(Math.abs(after[0] - 0.95) < 1e-6 && Math.abs(after[1] + 1.9) < 1e-6, String(after));
    opt.dispose();
    v.dispose();
  });

  it('SGD with Nesterov momentum: w -= lr (g + m v) with v = m v + g', () => {
    const v = tf.variable(tf.tensor1d([1]), true, 'n');
    const opt = createOptimizer(tf, { type: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true });
    opt.apply({ n: tf.tensor1d([1]) }, [v]); // v=1, w = 1 - 0.1 * (1 + 0.9) = 0.81
    assert.ok(Math.abs(v.dataSync()[0] - 0.81) < 1e-6);
    opt.learningRate = 0.01; // schedules change it between steps
    opt.apply({ n: tf.tensor1d([1]) }, [v]); // v=1.9, w = 0.81 - 0.01 * (1 + 1.71)
    assert.ok(Math.abs(v.dataSync()[0] - (0.81 - 0.01 * 2.71)) < 1e-6);
    opt.dispose();
    v.dispose();
  });
});

describe('trainModel', () => {
  it('trains an MLP on digits past 90% validation accuracy without leaking tensors', async () => {
    const model = await mlp();
    const tensors = tf.memory().numTensors;
    const result = await trainModel(model, train, {
      epochs: 8,
      batchSize: 32,
      validation,
      optimizer: { type: 'adam', learningRate: 3e-3 },
      schedule: { type: 'cosine', period: 8 },
      regularization: { l2: 1e-4 },
      labelSmoothing: 0.05,
    });
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(result.history.length, 8);
    assert.ok((result.history.at(-1)?.valAccuracy ?? 0) > 0.9, JSON.stringify(result.history.at(-1)));
    assert.ok(result.history[7].learningRate < result.history[0].learningRate);
    const evaluated = await evaluate(model, validation);
    assert.ok(Math.abs(evaluated.accuracy - (result.history.at(-1)?.valAccuracy ?? 0)) < 1e-9);
    model.dispose();
  });

  it('is reproducible: same seed, same history and weights, dropout included', async () => {
    const run = async () => {
      const model = await mlp(0.3);
      const r = await trainModel(model, train, {
        epochs: 2,
        batchSize: 64,
        seed: 5,
        validation,
        augmentation: undefined,
      });
      const w = model.getWeights()[0].dataSync().slice();
      model.dispose();
      return { h: r.history.map((e) => [e.loss, e.valAccuracy]), w };
    };
    const [a, b] = [await run(), await run()];
    assert.deepEqual(a, b);
  });

  it('reports to the trial each epoch and stops with TrialPruned when it says so', async () => {
    const reports: [number | number[], number][] = [];
    const trial = {
      report: (v: number | number[], s: number) => reports.push([v, s]),
      shouldPrune: () => reports.length >= 2,
    };
    const model = await mlp();
    await assert.rejects(trainModel(model, train, { epochs: 5, validation, trial }), TrialPruned);
    assert.deepEqual(
      reports.map(([, s]) => s),
      [0, 1],
    );
    model.dispose();
  });

  it('early stopping restores the best weights; a time budget stops training', async () => {
    const model = await mlp();
    const r = await trainModel(model, train, {
      epochs: 30,
      validation,
      optimizer: { type: 'sgd', learningRate: 0.5 }, // too high: validation loss soon stops improving
      earlyStopping: { patience: 2, restoreBestWeights: true },
    });
    assert.equal(r.stopped, 'early-stopping');
    const best = r.history[r.bestEpoch ?? -1];
    const now = await evaluate(model, validation);
    assert.ok(Math.abs(now.loss - (best.valLoss ?? Number.NaN)) < 1e-5, `${now.loss} vs ${best.valLoss}`);
    const timed = await trainModel(model, train, { epochs: 1000, timeBudgetSeconds: 0.2 });
    assert.equal(timed.stopped, 'time-budget');
    assert.ok(timed.history.length < 1000);
    model.dispose();
  });

  it('bad options are one clear error', async () => {
    const model = await mlp();
    await assert.rejects(trainModel(model, train, { epochs: 0 }), /epochs must be a positive integer/);
    await assert.rejects(
      trainModel(model, train, { epochs: 1, labelSmoothing: 1 }),
      /labelSmoothing must be in \[0, 1\)/,
    );
    await assert.rejects(
      trainModel(model, { ...train, shape: [65] }, { epochs: 1 }),
      /do not make \d+ samples of shape \[65\]/,
    );
    model.dispose();
  });
});

describe('augmentBatch', () => {
  const image = (h: number, w: number) => Float32Array.from({ length: h * w }, (_, i) => i + 1);

  it('is deterministic for a seed and keeps the shape', () => {
    const config = { shift: 0.2, horizontalFlip: true, rotation: 15, noise: 0.1, erasing: 0.5 };
    const run = () => {
      const batch = new Float32Array([...image(8, 8), ...image(8, 8)]);
      augmentBatch(batch, 2, [8, 8, 1], config, new Random(3), new Float32Array(64));
      return batch;
    };
    const a = run();
    assert.deepEqual(a, run());
    assert.equal(a.length, 128);
    assert.notDeepEqual(a, new Float32Array([...image(8, 8), ...image(8, 8)]));
  });

  it('a flip alone mirrors each row', () => {
    const rng = new Random(0);
    let flipped = false;
    for (let attempt = 0; attempt < 10 && !flipped; attempt++) {
      const batch = image(2, 3);
      augmentBatch(batch, 1, [2, 3, 1], { horizontalFlip: true }, rng, new Float32Array(6));
      if (batch[0] !== 1) {
        assert.deepEqual([...batch], [3, 2, 1, 6, 5, 4]);
        flipped = true;
      }
    }
    assert.ok(flipped);
  });
});
