/**
 * ONNX export: every zoo model that exports gives, in onnxruntime-node, the outputs TensorFlow.js
 * gives (within 1e-4), with random weights and random batch-norm statistics; layer types without an
 * export rule fail with one line naming the layer.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { type ModelWeights, readModelWeights, writeModelWeights } from '../../src/compress/model-weights.js';
import { OnnxError } from '../../src/core/errors.js';
import { exportOnnx } from '../../src/deploy/onnx-export.js';
import { initBackend } from '../../src/models/backends/index.js';
import { modelProtoType } from '../../src/models/formats/onnx/proto.js';
import { ModelBuilder } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { randoms } from '../helpers/random.js';

before(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Random positive variances, non-trivial means and biases (initialised to 0), so they are checked, not skipped. */
function randomiseStatistics(weights: ModelWeights): void {
  let seed = 1;
  for (const layer of weights.layers)
    for (const t of layer.tensors) {
      seed += 1;
      if (t.name === 'moving_variance') t.values.set(randoms(t.values.length, seed, 0.5, 1.5));
      else if (t.name === 'moving_mean' || t.name === 'beta')
        t.values.set(randoms(t.values.length, seed, -0.2, 0.2));
      else if (t.name.endsWith('bias')) t.values.set(randoms(t.values.length, seed, -0.3, 0.3));
      else if (t.name === 'gamma') t.values.set(randoms(t.values.length, seed, 0.8, 1.2));
    }
}

/** Largest absolute difference between tfjs and onnxruntime on a random batch of 2. */
export async function compareWithOnnxRuntime(weights: ModelWeights): Promise<number> {
  const { spec } = weights;
  const model = await buildTfjsModel(spec, { seed: 0 });
  try {
    await writeModelWeights(model, weights);
    const proto = exportOnnx(weights);
    const type = modelProtoType();
    const bytes = type.encode(type.fromObject(proto as unknown as Record<string, unknown>)).finish();
    const session = await ort.InferenceSession.create(bytes);
    const feeds: Record<string, ort.Tensor> = {};
    const tfInputs = spec.inputs.map((input, i) => {
      const size = 2 * input.shape.reduce((a, b) => a * b, 1);
      const values = randoms(size, 100 + i);
      if (input.dtype === 'int32') {
        // Token ids below 5 (the test models' smallest vocabulary).
        const ids = Int32Array.from(values, (v) => Math.floor((v + 1) * 2.49));
        feeds[input.name] = new ort.Tensor('int32', ids, [2, ...input.shape]);
        return tf.tensor(ids, [2, ...input.shape], 'int32');
      }
      feeds[input.name] = new ort.Tensor('float32', values, [2, ...input.shape]);
      return tf.tensor(values, [2, ...input.shape]);
    });
    const expected = model.predict(tfInputs.length === 1 ? tfInputs[0] : tfInputs) as tf.Tensor | tf.Tensor[];
    const expectedList = Array.isArray(expected) ? expected : [expected];
    const result = await session.run(feeds);
    let worst = 0;
    spec.outputs.forEach((name, i) => {
      const want = expectedList[i].dataSync();
      const got = result[name].data as Float32Array;
      assert.deepEqual([...result[name].dims], expectedList[i].shape, `output ${name}: shape`);
      for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(want[j] - got[j]));
    });
    tf.dispose([...tfInputs, ...expectedList]);
    await session.release();
    return worst;
  } finally {
    model.dispose();
  }
}

async function zooWeights(spec: ModelSpec): Promise<ModelWeights> {
  const model = await buildTfjsModel(spec, { seed: 3 });
  try {
    const weights = readModelWeights(model, spec);
    randomiseStatistics(weights);
    return weights;
  } finally {
    model.dispose();
  }
}

const SMALL: Record<string, Record<string, number>> = {
  'lenet-300-100': {},
  'lenet-5': {},
  'mobilenet-v1': { alpha: 0.25, inputSize: 32 },
  'mobilenet-v2': { alpha: 0.35, inputSize: 32 },
  'efficientnet-b0': { inputSize: 32 },
  'resnet-18': { inputSize: 32 },
  'resnet-50': { inputSize: 32 },
  'squeezenet-1.0': { inputSize: 64 },
  'squeezenet-1.1': { inputSize: 64 },
  'vgg-16': { inputSize: 32, numClasses: 10 },
  'transformer-encoder': {
    vocabSize: 20,
    sequenceLength: 6,
    modelDim: 8,
    numHeads: 2,
    feedForwardDim: 16,
    numBlocks: 2,
  },
};

describe('ONNX export matches TensorFlow.js in onnxruntime-node', () => {
  for (const [name, options] of Object.entries(SMALL))
    it(`zoo:${name}`, async () => {
      const worst = await compareWithOnnxRuntime(await zooWeights(zooModel(name, options)));
      assert.ok(worst < 1e-4, `zoo:${name}: largest difference ${worst}`);
    });

  it('grouped and dilated convolutions, separable, padding, pooling modes, merges and activations', async () => {
    const b = new ModelBuilder('layers');
    const x = b.input([11, 10, 4]);
    const grouped = b.conv2d(x, {
      filters: 6,
      kernelSize: 3,
      groups: 2,
      strides: 2,
      padding: 'same',
      activation: 'gelu',
    });
    const dilated = b.conv2d(x, {
      filters: 6,
      kernelSize: [3, 2],
      dilation: 2,
      padding: 'same',
      activation: 'elu',
    });
    const pooledDilated = b.avgPool2d(dilated, { poolSize: 2, strides: 2, padding: 'same' });
    const joined = b.concat([grouped, pooledDilated], { axis: -1 });
    const depthwise = b.depthwiseConv2d(joined, {
      kernelSize: 3,
      depthMultiplier: 2,
      padding: 'valid',
      activation: 'relu6',
    });
    const padded = b.zeroPadding2d(depthwise, {
      padding: [
        [1, 0],
        [0, 2],
      ],
    });
    const separable = b.separableConv2d(padded, {
      filters: 5,
      kernelSize: 2,
      padding: 'same',
      activation: 'swish',
    });
    const normed = b.batchNorm(separable);
    const ceil = b.avgPool2d(normed, { poolSize: 2, ceilMode: true });
    const maxCeil = b.maxPool2d(normed, { poolSize: 2, ceilMode: true });
    const summed = b.add([ceil, maxCeil]);
    const gate = b.dense(b.globalMaxPool2d(summed), { units: 5, activation: 'hardSigmoid' });
    const gated = b.multiply([summed, gate]);
    const mish = b.activation(gated, { activation: 'mish' });
    const sequence = b.reshape(mish, { shape: [9, 5] });
    const normedSequence = b.layerNorm(sequence);
    const mean = b.globalAvgPool1d(b.dense(normedSequence, { units: 4, activation: 'selu' }));
    const tokens = b.input([3], { name: 'tokens', dtype: 'int32' });
    const embedded = b.flatten(b.embedding(tokens, { inputDim: 5, outputDim: 2 }));
    const both = b.concat([mean, embedded]);
    const out = b.dense(b.dropout(both, { rate: 0.5 }), { units: 3, activation: 'softmax' });
    const other = b.activation(b.globalAvgPool2d(summed), { activation: 'softsign' });
    const weights = await zooWeights(b.build([out, other]));
    const worst = await compareWithOnnxRuntime(weights);
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  it('GRU (reset-after) and LSTM, returning sequences and the last state', async () => {
    const b = new ModelBuilder('gru');
    const x = b.input([5, 3]);
    const sequence = b.gru(x, { units: 4, returnSequences: true });
    const last = b.gru(sequence, { units: 3 });
    const lstmSequence = b.lstm(x, { units: 4, returnSequences: true });
    const lstmLast = b.lstm(lstmSequence, { units: 2 });
    const worst = await compareWithOnnxRuntime(
      await zooWeights(b.build([sequence, last, lstmSequence, lstmLast])),
    );
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  it('a layer that cannot be exported fails naming the layer', async () => {
    const b = new ModelBuilder('keras-gru');
    const weights = await zooWeights(
      b.build(b.gru(b.input([4, 3]), { units: 2, resetAfter: false, name: 'old_gru' })),
    );
    assert.throws(
      () => exportOnnx(weights),
      (error: unknown) =>
        error instanceof OnnxError && /^layer "old_gru" \(gru\): cannot export to ONNX/.test(error.message),
    );
  });
});
