import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import {
  rankForEnergy,
  singularValues,
  spatialSvd,
  truncatedSvd,
  tucker2,
} from '../../src/compress/lowrank/factorize.js';
import {
  type Factorisation,
  factorisableLayers,
  factorisedWeights,
  factoriseSpec,
} from '../../src/compress/lowrank/rewrite.js';
import { factoriseWeights } from '../../src/compress/lowrank/weights.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { randoms } from '../helpers/random.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

function matmul(a: Float32Array, b: Float32Array, rows: number, inner: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < inner; k++) {
      const v = a[i * inner + k];
      for (let j = 0; j < cols; j++) out[i * cols + j] += v * b[k * cols + j];
    }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function frobenius(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

describe('truncated SVD', () => {
  for (const [rows, cols] of [
    [12, 7],
    [5, 9],
  ])
    it(`a ${rows}x${cols} matrix: full rank reproduces it; the error is the tail of the singular values and falls with rank`, () => {
      const w = randoms(rows * cols, rows * 31 + cols);
      const full = Math.min(rows, cols);
      const exact = truncatedSvd(w, rows, cols, full);
      assert.ok(
        maxAbsDiff(matmul(exact.left, exact.right, rows, full, cols), w) < 1e-5,
        'full rank is exact',
      );
      let previous = Number.POSITIVE_INFINITY;
      for (let r = 1; r <= full; r++) {
        const d = truncatedSvd(w, rows, cols, r);
        const error = frobenius(matmul(d.left, d.right, rows, r, cols), w);
        const tail = Math.sqrt(d.singularValues.slice(r).reduce((a, s) => a + s * s, 0));
        assert.ok(Math.abs(error - tail) < 1e-4, `rank ${r}: error ${error} vs tail ${tail} (Eckart-Young)`);
        assert.ok(error < previous, `rank ${r}: error ${error} did not fall below ${previous}`);
        previous = error;
      }
    });

  it('rejects a rank larger than the matrix allows', () => {
    assert.throws(() => truncatedSvd(randoms(12, 1), 3, 4, 4), InvalidArgumentError);
  });

  it('rankForEnergy keeps the smallest rank reaching the fraction of squared singular values', () => {
    const s = [3, 2, 1, 1]; // squares 9 4 1 1 of 15
    assert.equal(rankForEnergy(s, 0.5), 1);
    assert.equal(rankForEnergy(s, 0.6), 1);
    assert.equal(rankForEnergy(s, 0.61), 2);
    assert.equal(rankForEnergy(s, 13 / 15), 2);
    assert.equal(rankForEnergy(s, 0.9), 3);
    assert.equal(rankForEnergy(s, 1), 4);
    assert.throws(() => rankForEnergy(s, 0), InvalidArgumentError);
    assert.throws(() => rankForEnergy(s, 1.5), InvalidArgumentError);
  });

  it('singularValues agree with the factorisation and are descending', () => {
    const w = randoms(40, 9);
    const s = singularValues(w, 8, 5);
    assert.deepEqual(Array.from(s), Array.from(truncatedSvd(w, 8, 5, 2).singularValues));
    for (let i = 1; i < s.length; i++) assert.ok(s[i] <= s[i - 1], 'descending');
  });
});

describe('Tucker-2', () => {
  const shape: [number, number, number, number] = [3, 3, 4, 6];
  const kernel = randoms(3 * 3 * 4 * 6, 17);
  const rebuild = (t: ReturnType<typeof tucker2>): Float64Array => {
    const [rIn, rOut] = t.ranks;
    const out = new Float64Array(kernel.length);
    for (let p = 0; p < 9; p++)
      for (let i = 0; i < 4; i++)
        for (let o = 0; o < 6; o++) {
          let v = 0;
          for (let a = 0; a < rIn; a++)
            for (let b = 0; b < rOut; b++)
              v += t.first[i * rIn + a] * t.core[(p * rIn + a) * rOut + b] * t.last[b * 6 + o];
          out[(p * 4 + i) * 6 + o] = v;
        }
    return out;
  };
  it('full ranks reproduce the kernel; the error falls as either rank grows', () => {
    assert.ok(maxAbsDiff(rebuild(tucker2(kernel, shape, [4, 6])), kernel) < 1e-5, 'full rank is exact');
    const e = (rIn: number, rOut: number) => frobenius(rebuild(tucker2(kernel, shape, [rIn, rOut])), kernel);
    assert.ok(e(1, 3) > e(2, 3) && e(2, 3) > e(3, 3) && e(3, 3) > e(4, 3), 'falls with the input rank');
    assert.ok(e(2, 1) > e(2, 3) && e(2, 3) > e(2, 5), 'falls with the output rank');
  });
  it('rejects ranks beyond the channels', () => {
    assert.throws(() => tucker2(kernel, shape, [5, 2]), /input rank/);
    assert.throws(() => tucker2(kernel, shape, [2, 7]), /output rank/);
  });
  it('spatial SVD of a kernel is the SVD of its [kh*kw*in, out] matrix', () => {
    const d = spatialSvd(kernel, shape, 6);
    assert.ok(maxAbsDiff(matmul(d.left, d.right, 36, 6, 6), kernel) < 1e-5, 'full rank is exact');
  });
});

/** Copies the original model's weights into the factorised model, layer by layer. */
async function factorisedModel(
  spec: ModelSpec,
  original: TfLayers.LayersModel,
  plan: Map<string, Factorisation>,
): Promise<{ spec: ModelSpec; model: TfLayers.LayersModel }> {
  const newSpec = factoriseSpec(spec, plan);
  const model = await buildTfjsModel(newSpec, { seed: 5 });
  const layers = new Map(factorisableLayers(spec).map((l) => [l.name, l]));
  for (const layer of original.layers) {
    const values = layer.getWeights().map((w) => w.dataSync() as Float32Array);
    if (values.length === 0) continue;
    const f = plan.get(layer.name);
    if (!f) {
      model.getLayer(layer.name).setWeights(layer.getWeights());
      continue;
    }
    const info = layers.get(layer.name);
    assert.ok(info, `layer ${layer.name} is factorisable`);
    for (const part of factoriseWeights(info, f, values[0], values[1])) {
      const target = model.getLayer(part.name);
      const weights = [tf.tensor(part.kernel, part.kernelShape)];
      if (part.bias) weights.push(tf.tensor(part.bias));
      target.setWeights(weights);
    }
  }
  return { spec: newSpec, model };
}

function outputs(model: TfLayers.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

describe('factorised models', () => {
  const mlp = sequential([20], { name: 'mlp' })
    .add('dense', { name: 'dense', units: 16, activation: 'relu' })
    .add('dense', { name: 'dense_1', units: 12, activation: 'relu' })
    .add('dense', { name: 'dense_2', units: 5 })
    .build();
  const cnn = sequential([10, 10, 3], { name: 'cnn' })
    .add('conv2d', { name: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' })
    .add('conv2d', { name: 'conv2d_1', filters: 6, kernelSize: 3, strides: 2, activation: 'relu' })
    .add('flatten', { name: 'flatten' })
    .add('dense', { name: 'dense', units: 4 })
    .build();

  it('dense: two dense layers; equal to the original at full rank; the output error falls with rank', async () => {
    const original = await buildTfjsModel(mlp, { seed: 3 });
    const x = tf.tensor(randoms(8 * 20, 4), [8, 20]);
    const expected = outputs(original, x);
    const full = await factorisedModel(mlp, original, new Map([['dense', { kind: 'svd', rank: 16 }]]));
    assert.deepEqual(
      full.spec.layers.map((l) => [l.name, l.type]),
      [
        ['dense_lowrank', 'dense'],
        ['dense', 'dense'],
        ['dense_1', 'dense'],
        ['dense_2', 'dense'],
      ],
    );
    assert.ok(maxAbsDiff(outputs(full.model, x), expected) < 1e-4, 'full rank gives the same output');
    let previous = Number.POSITIVE_INFINITY;
    for (const rank of [1, 4, 8, 12]) {
      const { model, spec } = await factorisedModel(
        mlp,
        original,
        new Map([['dense', { kind: 'svd', rank }]]),
      );
      const error = frobenius(outputs(model, x), expected);
      assert.ok(error < previous, `rank ${rank}: error ${error} did not fall below ${previous}`);
      previous = error;
      // The spec is analysed like any other: the first layer's weights become rank * (20 + 16).
      const layers = analyzeModel(spec).layers;
      assert.equal(layers[0].params + layers[1].params, rank * (20 + 16) + 16);
    }
  });

  for (const [label, f] of [
    ['spatial SVD', { kind: 'svd', rank: 8 }],
    ['Tucker-2', { kind: 'tucker2', ranks: [3, 8] }],
  ] as [string, Factorisation][])
    it(`conv2d by ${label}: equal to the original at full rank`, async () => {
      const original = await buildTfjsModel(cnn, { seed: 7 });
      const x = tf.tensor(randoms(2 * 300, 6), [2, 10, 10, 3]);
      const { model } = await factorisedModel(cnn, original, new Map([['conv2d', f]]));
      assert.ok(maxAbsDiff(outputs(model, x), outputs(original, x)) < 1e-4, 'same output');
      // And the strided second convolution too.
      const second =
        f.kind === 'svd'
          ? { kind: 'svd' as const, rank: 6 }
          : { kind: 'tucker2' as const, ranks: [8, 6] as [number, number] };
      const both = await factorisedModel(
        cnn,
        original,
        new Map([
          ['conv2d', f],
          ['conv2d_1', second],
        ]),
      );
      assert.ok(maxAbsDiff(outputs(both.model, x), outputs(original, x)) < 1e-4, 'same output with both');
    });

  it('conv2d: the output error falls with rank', async () => {
    const original = await buildTfjsModel(cnn, { seed: 7 });
    const x = tf.tensor(randoms(2 * 300, 6), [2, 10, 10, 3]);
    const expected = outputs(original, x);
    const errors: number[] = [];
    for (const rank of [1, 3, 6]) {
      const { model } = await factorisedModel(cnn, original, new Map([['conv2d_1', { kind: 'svd', rank }]]));
      errors.push(frobenius(outputs(model, x), expected));
    }
    assert.ok(errors[0] > errors[1] && errors[1] > errors[2], `errors ${errors} do not fall`);
    assert.ok(errors[2] < 1e-3, 'full rank is exact');
  });

  it('counts factor weights and rejects what cannot be factorised, naming the layer', () => {
    const [first] = factorisableLayers(mlp);
    assert.deepEqual(first, {
      name: 'dense',
      type: 'dense',
      kernelShape: [20, 16],
      maxRank: 16,
      weights: 320,
    });
    assert.equal(factorisedWeights(first, { kind: 'svd', rank: 4 }), 4 * 36);
    assert.throws(
      () => factoriseSpec(mlp, new Map([['dense', { kind: 'svd', rank: 17 }]])),
      /rank 17 is larger than layer "dense" allows \(kernel \[20, 16\]: at most 16\)/,
    );
    assert.throws(() => factoriseSpec(mlp, new Map([['nope', { kind: 'svd', rank: 1 }]])), /no layer "nope"/);
    assert.throws(
      () => factoriseSpec(mlp, new Map([['dense', { kind: 'tucker2', ranks: [2, 2] }]])),
      /tucker2 applies to conv2d layers/,
    );
    assert.throws(
      () => factoriseSpec(cnn, new Map([['flatten', { kind: 'svd', rank: 1 }]])),
      /cannot be factorised/,
    );
  });
});
