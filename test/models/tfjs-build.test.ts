import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { FileNotFoundError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { ModelBuilder, sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { randoms } from '../helpers/random.js';

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
    ['efficientnet-b0', { inputSize: 32, numClasses: 10 }],
    ['resnet-18', { inputSize: 32, numClasses: 10 }],
    ['squeezenet-1.0', { inputSize: 64, numClasses: 10 }],
    ['squeezenet-1.1', { inputSize: 64, numClasses: 10 }],
    ['vgg-16', { inputSize: 32, numClasses: 10 }],
    ['transformer-encoder', { vocabSize: 100, sequenceLength: 16, modelDim: 32, numHeads: 4, numBlocks: 2 }],
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
});

/** Gives every weight of the model seeded random values (zero biases would hide bias mistakes). */
function randomiseWeights(
  model: { getWeights(): tf.Tensor[]; setWeights(w: tf.Tensor[]): void },
  seed: number,
) {
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(randoms(w.size, seed + i), w.shape)));
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  tol = 1e-4,
): void {
  assert.equal(actual.length, expected.length, `${label}: size`);
  for (let i = 0; i < actual.length; i++)
    if (!(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i]))))
      assert.fail(`${label}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

describe('layers tfjs-layers lacks (Parsimony custom layers)', () => {
  it('grouped conv2d equals a full convolution with a block-diagonal kernel', async () => {
    const spec = sequential([7, 6, 6], { name: 'grouped' })
      .add('conv2d', { filters: 4, kernelSize: 3, groups: 2, padding: 'same', strides: 2, name: 'g' })
      .build();
    const model = await buildTfjsModel(spec, { seed: 1 });
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
      randomiseWeights(model, 10);
      const [kernel, bias] = model.getWeights(); // [3, 3, 3, 4]: 2 groups of 3 input and 2 output channels
      const k = kernel.arraySync() as number[][][][];
      const full = tf.tidy(() => {
        const values: number[][][][] = k.map((row) =>
          row.map(() => Array.from({ length: 6 }, () => new Array(4).fill(0))),
        );
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++)
            for (let c = 0; c < 3; c++)
              for (let o = 0; o < 4; o++) values[a][b][c + 3 * Math.floor(o / 2)][o] = k[a][b][c][o];
        return tf.tensor4d(values);
      });
      const x = tf.randomUniform([2, 7, 6, 6], -1, 1, 'float32', 3) as tf.Tensor4D;
      const expected = tf.add(tf.conv2d(x, full, 2, 'same'), bias);
      assertClose((model.predict(x) as tf.Tensor).dataSync(), expected.dataSync(), 'grouped conv');
      tf.dispose([full, x, expected]);
    } finally {
      model.dispose();
    }
  });

  it('a dilated grouped conv2d with valid padding has the output shape the analysis gives', async () => {
    const spec = sequential([11, 9, 4], { name: 'grouped-dilated' })
      .add('conv2d', { filters: 4, kernelSize: 3, groups: 2, dilation: 2, padding: 'valid', name: 'g' })
      .add('flatten')
      .build();
    const model = await buildTfjsModel(spec, { seed: 1 });
    try {
      // (11 - 5) + 1 = 7 rows, (9 - 5) + 1 = 5 columns: the dilated kernel spans 5.
      assert.deepEqual(model.outputs[0].shape, [
        null,
        analyzeModel(spec)
          .layers.at(-1)
          ?.outputShape.reduce((a, b) => a * b, 1),
      ]);
      assert.deepEqual(model.outputs[0].shape, [null, 7 * 5 * 4]);
    } finally {
      model.dispose();
    }
  });

  it('multi-head attention matches a reference computed head by head', async () => {
    const [steps, features, heads, keyDim, valueDim] = [3, 4, 2, 3, 2];
    const spec = sequential([steps, features], { name: 'attention' })
      .add('multiHeadAttention', { numHeads: heads, keyDim, valueDim, name: 'mha' })
      .build();
    const model = await buildTfjsModel(spec, { seed: 1 });
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
      randomiseWeights(model, 20);
      const [wq, bq, wk, bk, wv, bv, wo, bo] = model.getWeights().map((w) => w.arraySync()) as [
        number[][][],
        number[][],
        number[][][],
        number[][],
        number[][][],
        number[][],
        number[][][],
        number[],
      ];
      const input = randoms(2 * steps * features, 5);
      const x = (b: number, t: number, d: number) => input[(b * steps + t) * features + d];
      const expected: number[] = [];
      for (let b = 0; b < 2; b++)
        for (let t = 0; t < steps; t++) {
          const out = [...bo];
          for (let h = 0; h < heads; h++) {
            const proj = (w: number[][][], bias: number[][], size: number, s: number) =>
              Array.from({ length: size }, (_, j) => {
                let v = bias[h][j];
                for (let d = 0; d < features; d++) v += x(b, s, d) * w[d][h][j];
                return v;
              });
            const q = proj(wq, bq, keyDim, t);
            const scores = Array.from({ length: steps }, (_, s) => {
              const kv = proj(wk, bk, keyDim, s);
              return q.reduce((acc, qi, j) => acc + qi * kv[j], 0) / Math.sqrt(keyDim);
            });
            const top = Math.max(...scores);
            const e = scores.map((v) => Math.exp(v - top));
            const sum = e.reduce((a, v) => a + v, 0);
            const context = new Array(valueDim).fill(0);
            for (let s = 0; s < steps; s++) {
              const v = proj(wv, bv, valueDim, s);
              for (let j = 0; j < valueDim; j++) context[j] += (e[s] / sum) * v[j];
            }
            for (let o = 0; o < features; o++)
              for (let j = 0; j < valueDim; j++) out[o] += context[j] * wo[h][j][o];
          }
          expected.push(...out);
        }
      const xs = tf.tensor3d(input, [2, steps, features]);
      assertClose((model.predict(xs) as tf.Tensor).dataSync(), expected, 'attention');
      xs.dispose();
    } finally {
      model.dispose();
    }
  });

  it('GRU with reset-after follows the Keras equations, step by step', async () => {
    const [steps, features, units] = [4, 3, 2];
    const spec = sequential([steps, features], { name: 'gru' })
      .add('gru', { units, returnSequences: true, name: 'gru' })
      .build();
    const model = await buildTfjsModel(spec, { seed: 1 });
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
      randomiseWeights(model, 30);
      const [w, u, bias] = model.getWeights().map((t) => t.arraySync()) as [
        number[][],
        number[][],
        number[][],
      ];
      const input = randoms(steps * features, 6);
      const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
      let h = new Array(units).fill(0);
      const expected: number[] = [];
      for (let t = 0; t < steps; t++) {
        // gate g of unit j: column g·units + j; bias row 0 with the input, row 1 with the recurrent product
        const xPart = (g: number, j: number) =>
          bias[0][g * units + j] +
          input.slice(t * features, (t + 1) * features).reduce((a, v, d) => a + v * w[d][g * units + j], 0);
        const hPart = (g: number, j: number) =>
          bias[1][g * units + j] + h.reduce((a, v, i) => a + v * u[i][g * units + j], 0);
        const next = h.map((hj, j) => {
          const z = sigmoid(xPart(0, j) + hPart(0, j));
          const r = sigmoid(xPart(1, j) + hPart(1, j));
          const candidate = Math.tanh(xPart(2, j) + r * hPart(2, j));
          return z * hj + (1 - z) * candidate;
        });
        h = next;
        expected.push(...h);
      }
      const xs = tf.tensor3d(input, [1, steps, features]);
      assertClose((model.predict(xs) as tf.Tensor).dataSync(), expected, 'gru');
      xs.dispose();
    } finally {
      model.dispose();
    }
  });

  it('the custom layers train (finite, non-zero gradients) and round-trip through saveModel/loadModel', async () => {
    const b = new ModelBuilder('mixed');
    const image = b.input([6, 6, 4]);
    const g = b.conv2d(image, { filters: 4, kernelSize: 3, groups: 2, activation: 'relu' });
    const seq = b.reshape(g, { shape: [4, 16] });
    const a = b.multiHeadAttention(seq, { numHeads: 2, keyDim: 4 });
    const r = b.gru(a, { units: 3 });
    const spec = b.build(b.dense(r, { units: 2 }));
    const model = await buildTfjsModel(spec, { seed: 2 });
    const dir = join(mkdtempSync(join(tmpdir(), 'parsimony-model-')), 'mixed');
    const x = tf.randomUniform([2, 6, 6, 4], -1, 1, 'float32', 9);
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      );
      assert.equal(Object.keys(grads).length, model.trainableWeights.length);
      for (const [name, grad] of Object.entries(grads)) {
        const values = grad.dataSync();
        assert.ok(values.every(Number.isFinite) && values.some((v) => v !== 0), `gradient of ${name}`);
      }
      tf.dispose(Object.values(grads));
      await saveModel(model, spec, dir);
      const loaded = await loadModel(dir);
      assertClose(
        (loaded.model.predict(x) as tf.Tensor).dataSync(),
        (model.predict(x) as tf.Tensor).dataSync(),
        'reloaded',
      );
      loaded.model.dispose();
    } finally {
      model.dispose();
      x.dispose();
    }
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
