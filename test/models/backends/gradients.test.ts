/**
 * Parsimony's gradients (FusedBatchNorm; FusedConv2D and _FusedMatMul, per input) against the
 * gradients of the same computation written with unfused ops (broadcasting elementwise ops, conv2d,
 * matMul, add, relu), whose gradients tfjs computes independently, for every input.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/models/backends/index.js';
import { randoms } from '../../helpers/random.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('FusedBatchNorm gradient', () => {
  const epsilon = 1e-3;
  // Without a scale tfjs' engine cannot record the op for gradients at all (it saves the missing
  // input), with its own gradient as with this one; so every case has a scale.
  for (const shape of [
    [2, 3, 4, 5],
    [3, 2, 2, 7],
    [6, 5],
  ])
    it(`x ${JSON.stringify(shape)}: all five gradients match the elementwise form`, () => {
      const c = shape[shape.length - 1];
      const size = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(randoms(size, 1), [...shape]);
      const mean = tf.tensor1d(randoms(c, 2));
      const variance = tf.tensor1d(randoms(c, 3, 0.2, 2));
      const scale = tf.tensor1d(randoms(c, 4));
      const offset = tf.tensor1d(randoms(c, 5));
      const w = tf.tensor(randoms(size, 6), [...shape]);
      const inputs = [x, mean, variance, offset, scale];
      const names = ['x', 'mean', 'variance', 'offset', 'scale'];
      const fused = (xs: tf.Tensor[]) =>
        tf.sum(tf.mul(tf.batchNorm(xs[0], xs[1], xs[2], xs[3], xs[4], epsilon), w));
      const plain = (xs: tf.Tensor[]) => {
        const y = tf.mul(tf.sub(xs[0], xs[1]), tf.rsqrt(tf.add(xs[2], epsilon)));
        return tf.sum(tf.mul(tf.add(tf.mul(y, xs[4]), xs[3]), w));
      };
      const got = tf.grads((...xs: tf.Tensor[]) => fused(xs))(inputs);
      const want = tf.grads((...xs: tf.Tensor[]) => plain(xs))(inputs);
      inputs.forEach((_, i) => {
        const a = got[i].dataSync();
        const b = want[i].dataSync();
        assert.deepEqual(got[i].shape, want[i].shape, names[i]);
        for (let k = 0; k < a.length; k++)
          assert.ok(
            Math.abs(a[k] - b[k]) <= 1e-4 * Math.max(1, Math.abs(b[k])),
            `d${names[i]}[${k}]: ${a[k]} vs ${b[k]}`,
          );
      });
      tf.dispose([x, mean, variance, scale, offset, w, ...got, ...want]);
    });
});

/** Gradients of sum(op(...xs) · w) for every input, through `fused` and through `plain`. */
function assertSameGradients(
  label: string,
  inputs: tf.Tensor[],
  fused: (xs: tf.Tensor[]) => tf.Tensor,
  plain: (xs: tf.Tensor[]) => tf.Tensor,
): void {
  const y = plain(inputs);
  const w = tf.tensor(randoms(y.size, 9), y.shape);
  const got = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(fused(xs), w)))(inputs);
  const want = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(plain(xs), w)))(inputs);
  const forward = [fused(inputs).dataSync(), y.dataSync()];
  for (let k = 0; k < forward[1].length; k++)
    assert.ok(Math.abs(forward[0][k] - forward[1][k]) <= 1e-5, `${label} y[${k}]`);
  inputs.forEach((_, i) => {
    assert.deepEqual(got[i].shape, want[i].shape, `${label} input ${i}`);
    const a = got[i].dataSync();
    const b = want[i].dataSync();
    for (let k = 0; k < a.length; k++)
      assert.ok(
        Math.abs(a[k] - b[k]) <= 1e-4 * Math.max(1, Math.abs(b[k])),
        `${label} d(input ${i})[${k}]: ${a[k]} vs ${b[k]}`,
      );
  });
  tf.dispose([y, w, ...got, ...want]);
}

const activate = (y: tf.Tensor, activation: string) => (activation === 'relu' ? tf.relu(y) : y);

describe('FusedConv2D gradient (registered per input)', () => {
  const cases: Array<[number[], number[], number, 'valid' | 'same']> = [
    [[2, 8, 8, 1], [5, 5, 1, 3], 1, 'valid'],
    [[2, 7, 7, 3], [3, 3, 3, 4], 2, 'same'],
  ];
  for (const [xShape, fShape, strides, pad] of cases)
    for (const activation of ['linear', 'relu'])
      it(`x ${xShape} filter ${fShape} strides ${strides} ${pad} ${activation}: as conv2d + add + ${activation}`, () => {
        const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const inputs = [
          tf.tensor(randoms(size(xShape), 11), xShape),
          tf.tensor(randoms(size(fShape), 12), fShape),
          tf.tensor1d(randoms(fShape[3], 13)),
        ];
        const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], activation };
        assertSameGradients(
          `conv ${activation}`,
          inputs,
          (xs) =>
            tf
              .engine()
              .runKernel(
                'FusedConv2D',
                { x: xs[0], filter: xs[1], bias: xs[2] },
                attrs as never,
              ) as tf.Tensor,
          (xs) =>
            activate(
              tf.add(tf.conv2d(xs[0] as tf.Tensor4D, xs[1] as tf.Tensor4D, strides, pad), xs[2]),
              activation,
            ),
        );
        tf.dispose(inputs);
      });
  it('without a bias', () => {
    const inputs = [
      tf.tensor(randoms(2 * 6 * 6 * 2, 14), [2, 6, 6, 2]),
      tf.tensor(randoms(3 * 3 * 2 * 4, 15), [3, 3, 2, 4]),
    ];
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation: 'relu' };
    assertSameGradients(
      'conv no bias',
      inputs,
      (xs) => tf.engine().runKernel('FusedConv2D', { x: xs[0], filter: xs[1] }, attrs as never) as tf.Tensor,
      (xs) => tf.relu(tf.conv2d(xs[0] as tf.Tensor4D, xs[1] as tf.Tensor4D, 1, 'same')),
    );
    tf.dispose(inputs);
  });
});

describe('_FusedMatMul gradient (registered per input)', () => {
  for (const transposeA of [false, true])
    for (const transposeB of [false, true])
      for (const activation of ['linear', 'relu'])
        it(`tA=${transposeA} tB=${transposeB} ${activation}: as matMul + add + ${activation}`, () => {
          const [m, k, n] = [5, 7, 6];
          const inputs = [
            tf.tensor(randoms(m * k, 21), transposeA ? [k, m] : [m, k]),
            tf.tensor(randoms(k * n, 22), transposeB ? [n, k] : [k, n]),
            tf.tensor1d(randoms(n, 23)),
          ];
          assertSameGradients(
            `matMul ${activation}`,
            inputs,
            (xs) =>
              tf.engine().runKernel('_FusedMatMul', { a: xs[0], b: xs[1], bias: xs[2] }, {
                transposeA,
                transposeB,
                activation,
              } as never) as tf.Tensor,
            (xs) => activate(tf.add(tf.matMul(xs[0], xs[1], transposeA, transposeB), xs[2]), activation),
          );
          tf.dispose(inputs);
        });
});
