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

for (const [name, inputSize] of [
  ['efficientnet-b0', 32],
  ['squeezenet-1.0', 48],
] as const)
  test(`${name} (${inputSize}x${inputSize}, 4 classes) takes Adam steps on wasm and its loss falls`, async () => {
    const spec = zooModel(name, { inputSize, numClasses: 4 });
    const model = await buildTfjsModel(spec, { seed: 1 });
    const optimizer = tf.train.adam(1e-3);
    const x = tf.tensor(randoms(4 * inputSize * inputSize * 3, 8, 0, 1), [4, inputSize, inputSize, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
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
