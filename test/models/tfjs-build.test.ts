import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { FileNotFoundError, ModelSpecError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { ModelBuilder, sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { zooModel } from '../../src/models/zoo/index.js';

// The cpu backend: these tests check structure and values, not speed, and run on every machine.
before(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('buildTfjsModel', () => {
  // Small inputs and class counts keep memory low; parameter counts of convolutions do not depend on input size.
  const cases: [string, Record<string, number>][] = [
    ['lenet-300-100', {}],
    ['lenet-5', {}],
    ['mobilenet-v1', { alpha: 0.25, inputSize: 64, numClasses: 10 }],
    ['mobilenet-v2', { alpha: 0.35, inputSize: 64, numClasses: 10 }],
    ['resnet-18', { inputSize: 32, numClasses: 10 }],
    ['vgg-16', { inputSize: 32, numClasses: 10 }],
  ];
  for (const [name, options] of cases)
    it(`${name}: TensorFlow.js counts the same parameters and output shape as the analysis`, async () => {
      const spec = zooModel(name, options);
      const analysis = analyzeModel(spec);
      const model = await buildTfjsModel(spec, { seed: 1 });
      try {
        // tfjs counts batch-norm moving statistics as (non-trainable) weights.
        assert.equal(model.countParams(), analysis.params + analysis.nonTrainableParams);
        assert.deepEqual(model.outputs[0].shape.slice(1), analysis.layers.at(-1)?.outputShape);
      } finally {
        model.dispose();
      }
    });

  it('LSTM, embedding and GRU (reset-before) build with the analysed parameter counts', async () => {
    const b = new ModelBuilder('seq');
    const tokens = b.input([12], { dtype: 'int32' });
    const e = b.embedding(tokens, { inputDim: 50, outputDim: 8 });
    const h = b.lstm(e, { units: 6, returnSequences: true });
    const spec = b.build(b.dense(b.gru(h, { units: 5, resetAfter: false }), { units: 2 }));
    const model = await buildTfjsModel(spec);
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
    } finally {
      model.dispose();
    }
  });

  it('the same seed gives the same initial weights', async () => {
    const spec = zooModel('lenet-5');
    const [a, b] = [await buildTfjsModel(spec, { seed: 4 }), await buildTfjsModel(spec, { seed: 4 })];
    const c = await buildTfjsModel(spec, { seed: 5 });
    try {
      assert.deepEqual(a.getWeights()[0].dataSync(), b.getWeights()[0].dataSync());
      assert.notDeepEqual(a.getWeights()[0].dataSync(), c.getWeights()[0].dataSync());
    } finally {
      for (const m of [a, b, c]) m.dispose();
    }
  });

  it('refuses what tfjs-layers cannot express, naming the layer', async () => {
    const grouped = sequential([8, 8, 4])
      .add('conv2d', { filters: 4, kernelSize: 3, groups: 2, name: 'g' })
      .build();
    await assert.rejects(
      buildTfjsModel(grouped),
      (e: unknown) => e instanceof ModelSpecError && /layer "g".*grouped/.test(e.message),
    );
    const attention = sequential([4, 8])
      .add('multiHeadAttention', { numHeads: 2, keyDim: 4, name: 'mha' })
      .build();
    await assert.rejects(buildTfjsModel(attention), /layer "mha".*multi-head attention/);
  });
});

describe('saveModel / loadModel', () => {
  it('round-trips weights, predictions and the spec through the file system', async () => {
    const spec = zooModel('lenet-5');
    const model = await buildTfjsModel(spec, { seed: 2 });
    const dir = join(mkdtempSync(join(tmpdir(), 'parsimony-model-')), 'lenet');
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 7);
    try {
      await saveModel(model, spec, dir);
      const loaded = await loadModel(dir);
      assert.deepEqual(loaded.spec, spec);
      const before = (model.predict(x) as tf.Tensor).dataSync();
      const after = (loaded.model.predict(x) as tf.Tensor).dataSync();
      assert.deepEqual(after, before);
      loaded.model.dispose();
    } finally {
      model.dispose();
      x.dispose();
    }
  });

  it('a missing or corrupt directory is one clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parsimony-model-'));
    await assert.rejects(
      loadModel(join(dir, 'nothing')),
      (e: unknown) => e instanceof FileNotFoundError && /model\.json/.test(e.message),
    );
    writeFileSync(join(dir, 'model.json'), '{"nope": 1}');
    await assert.rejects(loadModel(dir), /not a TensorFlow\.js layers model/);
  });
});

describe('training a convolution that reads the model input', () => {
  const spec = sequential([8, 8, 1], { name: 'input-conv' })
    .add('conv2d', { filters: 4, kernelSize: 3 })
    .add('conv2d', { filters: 3, kernelSize: 3 })
    .add('flatten', {})
    .add('dense', { units: 2 })
    .build();

  it('computes the same gradients as the fused reference without the input gradient', async () => {
    const model = await buildTfjsModel(spec, { seed: 3 });
    try {
      const x = tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
      const [k1, b1, k2, b2, w, b] = model.trainableWeights.map((v) => v.read() as tf.Variable);
      const viaModel = () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
      // What tfjs-layers computes without Parsimony's change: fused convolutions all the way.
      const viaFused = () => {
        const conv = (input: tf.Tensor4D, filter: tf.Variable, bias: tf.Variable) =>
          tf.fused.conv2d({ x: input, filter: filter as tf.Tensor4D, strides: 1, pad: 'valid', bias });
        const h = conv(conv(x, k1, b1), k2, b2);
        return tf.sum(tf.square(tf.add(tf.matMul(tf.reshape(h, [5, -1]), w as tf.Tensor2D), b))) as tf.Scalar;
      };
      const kernelsOf = async (f: () => tf.Scalar) => {
        let grads: tf.NamedTensorMap = {};
        const info = await tf.profile(() => {
          grads = tf.variableGrads(f).grads;
        });
        const backpropInput = info.kernels.filter((k) => k.name === 'Conv2DBackpropInput').length;
        return { grads, backpropInput };
      };
      const ours = await kernelsOf(viaModel);
      const reference = await kernelsOf(viaFused);
      assert.equal(reference.backpropInput, 2);
      assert.equal(ours.backpropInput, 1); // only the second convolution needs its input's gradient
      for (const v of [k1, b1, k2, b2, w, b]) {
        const diff = tf.max(tf.abs(tf.sub(ours.grads[v.name], reference.grads[v.name]))).dataSync()[0];
        assert.ok(diff < 1e-4, `${v.name}: gradients differ by ${diff}`);
      }
    } finally {
      model.dispose();
    }
  });

  it('keeps the fused kernel outside training and saves as a plain Conv2D', async () => {
    const model = await buildTfjsModel(spec, { seed: 3 });
    try {
      const info = await tf.profile(() => {
        tf.tidy(() => model.predict(tf.ones([1, 8, 8, 1])));
      });
      assert.ok(info.kernels.some((k) => k.name === 'FusedConv2D'));
      assert.equal(model.layers[1].getClassName(), 'Conv2D');
    } finally {
      model.dispose();
    }
  });
});
