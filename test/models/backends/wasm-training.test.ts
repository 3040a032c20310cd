/**
 * One small network per layer type trains on wasm with Parsimony's kernels: no kernel is missing,
 * and two SGD steps give the same losses as on the cpu backend from the same seeded weights.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { initBackend } from '../../../src/models/backends/index.js';
import { customLayers } from '../../../src/models/tfjs/custom-layers.js';
import { assertSameLosses, threeStepLosses } from '../../helpers/tensors.js';

// No tensor-leak check here: tfjs-layers keeps one tensor per compiled model after dispose (on cpu
// as on wasm); wasm-kernels.test.ts checks Parsimony's kernels for leaks.
let tfl: typeof TfLayers;

before(async () => {
  assert.equal((await initBackend({ backend: 'wasm' })).name, 'wasm');
  tfl = await import('@tensorflow/tfjs-layers');
});

after(() => {
  tf.setBackend('wasm');
});

const seeded = (seed: number) => tfl.initializers.glorotUniform({ seed });
const custom = () => customLayers(tf, tfl);

type LayerCase = [string, number[], () => TfLayers.layers.Layer[]];

const CASES: LayerCase[] = [
  [
    'dense relu',
    [6],
    () => [tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: seeded(1) })],
  ],
  [
    'conv2d strided same + maxPool',
    [9, 9, 2],
    () => [
      tfl.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: seeded(2),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
    ],
  ],
  [
    'conv2d valid + avgPool',
    [8, 8, 1],
    () => [
      tfl.layers.conv2d({ filters: 3, kernelSize: 5, activation: 'tanh', kernelInitializer: seeded(3) }),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
    ],
  ],
  [
    'depthwise (multiplier 2) + relu6',
    [8, 8, 3],
    () => [
      tfl.layers.depthwiseConv2d({
        kernelSize: 3,
        depthMultiplier: 2,
        strides: 2,
        padding: 'same',
        depthwiseInitializer: seeded(4),
      }),
      tfl.layers.reLU({ maxValue: 6 }),
    ],
  ],
  [
    'separable conv + global average pooling',
    [8, 8, 3],
    () => [
      tfl.layers.separableConv2d({
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        depthwiseInitializer: seeded(5),
        pointwiseInitializer: seeded(6),
      }),
      tfl.layers.globalAveragePooling2d({}),
    ],
  ],
  [
    'batch norm + sigmoid',
    [4, 4, 3],
    () => [tfl.layers.batchNormalization({}), tfl.layers.activation({ activation: 'sigmoid' })],
  ],
  ['gelu', [6], () => [tfl.layers.activation({ activation: 'gelu' as 'relu' })]],
  [
    'embedding',
    [3],
    () => [
      tfl.layers.embedding({ inputDim: 10, outputDim: 4, embeddingsInitializer: seeded(7) }),
      tfl.layers.flatten(),
    ],
  ],
  [
    'grouped conv2d (Parsimony layer)',
    [6, 6, 4],
    () => [
      custom().groupedConv2d({
        filters: 4,
        groups: 2,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'same',
        dilationRate: [1, 1],
        activation: 'relu',
        useBias: true,
        seed: 3,
      }),
    ],
  ],
  [
    'multi-head attention (Parsimony layer)',
    [4, 8],
    () => [custom().multiHeadAttention({ numHeads: 2, keyDim: 4, valueDim: 4, useBias: true, seed: 4 })],
  ],
  [
    'GRU with reset-after (Parsimony layer)',
    [5, 3],
    () => [custom().gruResetAfter({ units: 4, returnSequences: false, useBias: true, seed: 5 })],
  ],
];

function inputFor(name: string, shape: number[]): tf.Tensor {
  if (name === 'embedding') return tf.tensor2d([1, 2, 3, 7, 7, 9, 0, 4, 2, 5, 6, 8], [4, 3]);
  const n = 4 * shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, (_, i) => Math.sin(i * 1.7)),
    [4, ...shape],
  );
}

async function losses(backend: string, [name, shape, layers]: LayerCase): Promise<number[]> {
  await tf.setBackend(backend);
  const model = tfl.sequential();
  model.add(tfl.layers.inputLayer({ inputShape: shape }));
  for (const layer of layers()) model.add(layer);
  if (model.outputs[0].shape.length > 2) model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: seeded(9) }));
  return threeStepLosses(model, inputFor(name, shape));
}

for (const c of CASES)
  test(`${c[0]}: trains on wasm like on cpu`, async () => {
    const expected = await losses('cpu', c);
    const actual = await losses('wasm', c);
    assertSameLosses(actual, expected);
    assert.ok(expected[2] !== expected[0], 'the weights changed');
  });

test('dropout trains on wasm', async () => {
  await tf.setBackend('wasm');
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [6], units: 5 }),
      tfl.layers.dropout({ rate: 0.5 }),
      tfl.layers.dense({ units: 2 }),
    ],
  });
  const optimizer = tf.train.adam();
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const [x, y] = [tf.ones([4, 6]), tf.zeros([4, 2])];
  assert.ok(Number.isFinite((await model.trainOnBatch(x, y)) as number));
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
});
