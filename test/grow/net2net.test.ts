import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ModelSpecError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { buildNet, captureNet, deepenAfter, type GrowableNet, widenLayer } from '../../src/grow/net2net.js';
import { initBackend } from '../../src/models/backends/index.js';
import { countParams } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

function inputs(shape: number[], n: number, seed: number): tf.Tensor {
  const rng = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n * size }, () => rng.normal()),
    [n, ...shape],
  );
}

async function outputsOf(net: GrowableNet, x: tf.Tensor): Promise<Float32Array> {
  const model = await buildNet(net, 99); // another init seed: only the carried weights may matter
  const y = model.predict(x) as tf.Tensor;
  const values = y.dataSync() as Float32Array;
  y.dispose();
  model.dispose();
  return values;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'outputs differ in length');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A net with random, non-trivial batch-norm statistics so copying them per channel is tested. */
async function netOf(spec: ModelSpec, seed: number): Promise<GrowableNet> {
  const model = await buildTfjsModel(spec, { seed });
  const net = captureNet(model, spec);
  model.dispose();
  const rng = new Random(seed + 1);
  for (const layer of spec.layers)
    if (layer.type === 'batchNorm')
      net.weights[layer.name] = net.weights[layer.name].map((w, i) => ({
        shape: w.shape,
        values: Float32Array.from(w.values, () => (i === 3 ? rng.uniform(0.5, 2) : rng.normal(0, 0.5))),
      }));
  return net;
}

const mlpSpec = (bn: boolean) => {
  const b = sequential([12]).add('dense', { units: 8, activation: bn ? 'linear' : 'relu', name: 'h1' });
  if (bn) b.add('batchNorm', { name: 'bn1' }).add('activation', { activation: 'relu', name: 'r1' });
  return b
    .add('dense', { units: 6, activation: 'relu', name: 'h2' })
    .add('dense', { units: 4, activation: 'softmax', name: 'out' })
    .build();
};

const cnnSpec = () =>
  sequential([8, 8, 2])
    .add('conv2d', { filters: 4, kernelSize: 3, padding: 'same', name: 'c1' })
    .add('batchNorm', { name: 'bn1' })
    .add('activation', { activation: 'relu', name: 'r1' })
    .add('maxPool2d', { poolSize: 2 })
    .add('conv2d', { filters: 5, kernelSize: 3, activation: 'relu', name: 'c2' })
    .add('flatten', {})
    .add('dense', { units: 3, activation: 'softmax', name: 'out' })
    .build();

describe('Net2WiderNet', () => {
  for (const bn of [false, true])
    it(`keeps an MLP's outputs within 1e-5 when widening (batch norm: ${bn})`, async () => {
      const net = await netOf(mlpSpec(bn), 3);
      const x = inputs([12], 32, 7);
      const before = await outputsOf(net, x);
      const wide = widenLayer(widenLayer(net, 'h1', 19, { seed: 1 }), 'h2', 13, { seed: 2 });
      assert.ok(countParams(wide.spec) > countParams(net.spec), 'widening adds parameters');
      const diff = maxDiff(before, await outputsOf(wide, x));
      assert.ok(diff < 1e-5, `max output change ${diff}`);
    });

  it("keeps a CNN's outputs within 1e-5 when widening filters (batch norm, pooling, flatten)", async () => {
    const net = await netOf(cnnSpec(), 4);
    const x = inputs([8, 8, 2], 16, 8);
    const before = await outputsOf(net, x);
    const wide = widenLayer(widenLayer(net, 'c1', 9, { seed: 3 }), 'c2', 11, { seed: 4 });
    const diff = maxDiff(before, await outputsOf(wide, x));
    assert.ok(diff < 1e-5, `max output change ${diff}`);
  });

  it('with noise 0.01 the function changes, but by less than 0.02 in any probability', async () => {
    const net = await netOf(mlpSpec(false), 5);
    const x = inputs([12], 32, 9);
    const before = await outputsOf(net, x);
    const noisy = widenLayer(net, 'h1', 16, { seed: 1, noise: 0.01 });
    const diff = maxDiff(before, await outputsOf(noisy, x));
    assert.ok(diff > 0 && diff < 0.02, `max output change ${diff}`);
    const again = widenLayer(net, 'h1', 16, { seed: 1, noise: 0.01 });
    assert.deepEqual(again.weights.h1[0].values, noisy.weights.h1[0].values, 'same seed, same weights');
  });

  it('rejects a layer it cannot widen, naming it', () => {
    const net: GrowableNet = { spec: mlpSpec(false), weights: {} };
    assert.throws(() => widenLayer(net, 'out', 6), ModelSpecError);
    assert.throws(() => widenLayer(net, 'nope', 6), /no layer named "nope"/);
  });
});

describe('Net2DeeperNet', () => {
  for (const bn of [false, true]) {
    it(`keeps an MLP's outputs within 1e-5 when inserting a layer (batch norm: ${bn})`, async () => {
      const net = await netOf(mlpSpec(false), 6);
      const x = inputs([12], 32, 10);
      const before = await outputsOf(net, x);
      const deep = deepenAfter(net, 'h1', { batchNorm: bn });
      assert.equal(deep.spec.layers.length, net.spec.layers.length + (bn ? 3 : 1), 'layers inserted');
      const diff = maxDiff(before, await outputsOf(deep, x));
      assert.ok(diff < 1e-5, `max output change ${diff}`);
    });
    it(`keeps a CNN's outputs within 1e-5 when inserting a conv (batch norm: ${bn})`, async () => {
      const net = await netOf(cnnSpec(), 7);
      const x = inputs([8, 8, 2], 16, 11);
      const before = await outputsOf(net, x);
      const deep = deepenAfter(deepenAfter(net, 'r1', { batchNorm: bn }), 'c2', { batchNorm: bn });
      const diff = maxDiff(before, await outputsOf(deep, x));
      assert.ok(diff < 1e-5, `max output change ${diff}`);
    });
  }

  it('widening then deepening then widening the inserted layer still keeps the function', async () => {
    const net = await netOf(mlpSpec(true), 8);
    const x = inputs([12], 32, 12);
    const before = await outputsOf(net, x);
    const deep = deepenAfter(widenLayer(net, 'h1', 12, { seed: 5 }), 'r1');
    const inserted = deep.spec.layers.find((l) => l.name.startsWith('r1_deeper'));
    assert.ok(inserted, 'a layer was inserted after r1');
    const grown = widenLayer(deep, inserted.name, 20, { seed: 6 });
    const diff = maxDiff(before, await outputsOf(grown, x));
    assert.ok(diff < 1e-5, `max output change ${diff}`);
  });

  it('with noise 0.01 the function stays within 0.02 in any probability', async () => {
    const net = await netOf(mlpSpec(false), 9);
    const x = inputs([12], 32, 13);
    const before = await outputsOf(net, x);
    const diff = maxDiff(before, await outputsOf(deepenAfter(net, 'h2', { noise: 0.01, seed: 2 }), x));
    assert.ok(diff > 0 && diff < 0.02, `max output change ${diff}`);
  });

  it('rejects inserting after a layer whose output is not a ReLU', () => {
    const net: GrowableNet = { spec: mlpSpec(true), weights: {} };
    assert.throws(() => deepenAfter(net, 'h1'), /must be a ReLU/);
  });
});
