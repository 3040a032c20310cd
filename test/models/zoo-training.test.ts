/**
 * The zoo models built on the new layers train on wasm end to end: EfficientNet-B0 (multiply in
 * every squeeze-and-excitation block) and SqueezeNet 1.0 (ceil-mode pooling), at small inputs.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { randoms } from '../helpers/random.js';

before(async () => {
  assert.equal((await initBackend({ backend: 'wasm' })).name, 'wasm');
});

const batch = (inputSize: number) => ({
  x: tf.tensor(randoms(4 * inputSize * inputSize * 3, 8, 0, 1), [4, inputSize, inputSize, 3]),
  y: tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4),
});

test('efficientnet-b0 (32x32, 4 classes) takes Adam steps on wasm and its loss falls', async () => {
  const spec = zooModel('efficientnet-b0', { inputSize: 32, numClasses: 4 });
  const model = await buildTfjsModel(spec, { seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const { x, y } = batch(32);
  try {
    assert.equal(model.countParams(), analyzeModel(spec).params + analyzeModel(spec).stateValues);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) losses.push((await model.trainOnBatch(x, y)) as number);
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[2] < losses[0], `the loss falls: ${losses}`);
  } finally {
    model.dispose();
    optimizer.dispose();
    tf.dispose([x, y]);
  }
});

// SqueezeNet's loss barely moves in a few steps (its head ends in ReLU and pooling, and the paper
// trains it for many epochs), so this checks what a step needs on wasm: a finite, non-zero gradient
// for every weight, through the three ceil-mode pools down to the stem. (Training equal to the cpu
// backend is checked on a small model in ceil-pool.test.ts: through this deep ReLU network the
// stem's gradients, around 1e-5, differ between backends in float32 rounding.)
test('squeezenet-1.0 (48x48, 4 classes): every weight gets a finite, non-zero gradient on wasm', async () => {
  const spec = zooModel('squeezenet-1.0', { inputSize: 48, numClasses: 4 });
  const model = await buildTfjsModel(spec, { seed: 1 });
  const { x, y } = batch(48);
  try {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    );
    assert.ok(Number.isFinite(value.dataSync()[0]), 'finite loss');
    assert.equal(Object.keys(grads).length, 52);
    for (const [name, grad] of Object.entries(grads)) {
      const values = grad.dataSync();
      assert.ok(values.every(Number.isFinite) && values.some((v) => v !== 0), `gradient of ${name}`);
    }
    tf.dispose([value, ...Object.values(grads)]);
  } finally {
    model.dispose();
    tf.dispose([x, y]);
  }
});
