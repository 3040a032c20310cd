/**
 * Parsimony's FusedBatchNorm gradient against the gradient of the same normalisation written with
 * broadcasting elementwise ops (whose gradients tfjs computes independently), for every input.
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
