/**
 * The optimised training path (wasm with Parsimony's kernels, layers running their fused kernels
 * with the gradients Parsimony registers) against the reference path (the cpu backend, the same
 * model deserialised by tfjs-layers with none of Parsimony's changes): the same weights after a
 * few SGD steps of LeNet-5 and LeNet-300-100, up to float summation order. And the comparison can
 * fail: with the convolution's or the product's bias dropped, or the fused ReLU left out, the
 * weights part.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/models/backends/index.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { type TrainingData, trainModel } from '../../src/train/trainer.js';
import { randoms } from '../helpers/random.js';

let tfl: typeof TfLayers;

before(async () => {
  assert.equal((await initBackend({ backend: 'wasm' })).name, 'wasm');
  tfl = await import('@tensorflow/tfjs-layers');
});

after(async () => {
  await tf.setBackend('wasm');
});

const STEPS = 3;
const BATCH = 16;

function data(): TrainingData {
  const n = STEPS * BATCH;
  return {
    x: randoms(n * 784, 7, 0, 1),
    labels: Int32Array.from({ length: n }, (_, i) => (i * 7) % 10),
    shape: [28, 28, 1],
    numClasses: 10,
  };
}

/** Seeded weights for every variable, biases included (zero biases would hide a dropped one). */
function seededWeights(model: TfLayers.LayersModel): Float32Array[] {
  return model.getWeights().map((w, i) => randoms(w.size, 100 + i, -0.1, 0.1));
}

async function trainedWeights(
  model: TfLayers.LayersModel,
  weights: Float32Array[],
): Promise<{ weights: Float32Array[]; loss: number }> {
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
  const result = await trainModel(model, data(), {
    epochs: 1,
    batchSize: BATCH,
    optimizer: { type: 'sgd', learningRate: 0.1 },
    seed: 3,
  });
  const out = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  model.dispose();
  return { weights: out, loss: result.history[0].loss };
}

/** The reference: the cpu backend and tfjs-layers' own Dense and Conv2D calls. */
async function reference(network: string): Promise<{ weights: Float32Array[]; loss: number }> {
  await tf.setBackend('wasm');
  const built = await buildTfjsModel(zooModel(network), { seed: 0 });
  const topology = built.toJSON(null, false) as unknown as tf.io.ModelArtifacts['modelTopology'];
  const weights = seededWeights(built);
  built.dispose();
  await tf.setBackend('cpu');
  try {
    const plain = (await tfl.models.modelFromJSON({
      modelTopology: topology as never,
    })) as TfLayers.LayersModel;
    return await trainedWeights(plain, weights);
  } finally {
    await tf.setBackend('wasm');
  }
}

async function optimised(network: string): Promise<{ weights: Float32Array[]; loss: number }> {
  await tf.setBackend('wasm');
  const model = await buildTfjsModel(zooModel(network), { seed: 0 });
  return trainedWeights(model, seededWeights(model));
}

/** Largest difference over all weights, relative to the largest weight change the steps made. */
function relativeGap(got: Float32Array[], want: Float32Array[], start: Float32Array[]): number {
  let gap = 0;
  let change = 0;
  got.forEach((g, i) => {
    for (let k = 0; k < g.length; k++) {
      gap = Math.max(gap, Math.abs(g[k] - want[i][k]));
      change = Math.max(change, Math.abs(want[i][k] - start[i][k]));
    }
  });
  return gap / change;
}

/** Runs `fn` with the wasm kernel `name` replaced by `kernel(original)`. */
async function withKernel<T>(
  name: string,
  kernel: (original: tf.KernelFunc) => tf.KernelFunc,
  fn: () => Promise<T>,
): Promise<T> {
  const config = tf.getKernel(name, 'wasm') as tf.KernelConfig;
  const original = config.kernelFunc;
  (config as { kernelFunc: tf.KernelFunc }).kernelFunc = kernel(original);
  try {
    return await fn();
  } finally {
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = original;
  }
}

const withoutBias =
  (original: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { bias: _dropped, ...inputs } = args.inputs;
    return original({ ...args, inputs });
  };

const withoutRelu =
  (original: tf.KernelFunc): tf.KernelFunc =>
  (args) =>
    original({ ...args, attrs: { ...args.attrs, activation: 'linear' } });

/** Tolerance on the relative gap: float summation order only. */
const TOLERANCE = 1e-4;

describe('optimised training path = reference path', () => {
  for (const network of ['lenet-5', 'lenet-300-100'])
    test(`${network}: same weights after ${STEPS} SGD steps on wasm (fused) as on cpu (tfjs-layers)`, async () => {
      const built = await buildTfjsModel(zooModel(network), { seed: 0 });
      const start = seededWeights(built);
      built.dispose();
      const want = await reference(network);
      const got = await optimised(network);
      const gap = relativeGap(got.weights, want.weights, start);
      assert.ok(gap < TOLERANCE, `${network}: weights differ by ${gap} of the largest change`);
      assert.ok(Math.abs(got.loss - want.loss) < 1e-4, `${network}: loss ${got.loss} vs ${want.loss}`);
    });

  const broken: Array<[string, string, string, (original: tf.KernelFunc) => tf.KernelFunc]> = [
    ['lenet-5', 'FusedConv2D', 'convolution bias dropped', withoutBias],
    ['lenet-300-100', '_FusedMatMul', 'product bias dropped', withoutBias],
    ['lenet-300-100', '_FusedMatMul', 'fused ReLU left out', withoutRelu],
  ];
  for (const [network, kernel, label, breakKernel] of broken)
    test(`${network}: the comparison fails with the ${label}`, async () => {
      const built = await buildTfjsModel(zooModel(network), { seed: 0 });
      const start = seededWeights(built);
      built.dispose();
      const want = await reference(network);
      const got = await withKernel(kernel, breakKernel, () => optimised(network));
      const gap = relativeGap(got.weights, want.weights, start);
      assert.ok(gap > 100 * TOLERANCE, `${network} with the ${label}: gap only ${gap}`);
    });
});
