import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { checkDistillationSettings, distillationLoss } from '../../src/compress/distill/loss.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { randoms } from '../helpers/random.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

/** The same loss in float64 plain arithmetic, one sample at a time. */
function reference(zs: number[][], zt: number[][], labels: number[], t: number, alpha: number): number {
  const logSoftmax = (z: number[], temp: number) => {
    const m = Math.max(...z.map((v) => v / temp));
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v / temp - m), 0));
    return z.map((v) => v / temp - lse);
  };
  let total = 0;
  for (let n = 0; n < zs.length; n++) {
    const ce = -logSoftmax(zs[n], 1)[labels[n]];
    const lt = logSoftmax(zt[n], t);
    const ls = logSoftmax(zs[n], t);
    const kl = lt.reduce((a, v, i) => a + Math.exp(v) * (v - ls[i]), 0);
    total += alpha * ce + (1 - alpha) * t * t * kl;
  }
  return total / zs.length;
}

describe('distillationLoss', () => {
  it('matches a hand-computed value', () => {
    // z_s = [1, 2, 0], z_t = [2, 0, 1], label 1, T = 2, alpha = 0.3:
    // CE = log(e + e^2 + 1) - 2 = 0.4076060; at T = 2, p_t = softmax([1, 0, 0.5]) and p_s = softmax([0.5, 1, 0]),
    // KL(p_t || p_s) = 0.2205144; 0.3 * 0.4076060 + 0.7 * 4 * 0.2205144 = 0.7397222.
    const value = distillationLoss(
      tf,
      tf.tensor2d([[1, 2, 0]]),
      tf.tensor2d([[2, 0, 1]]),
      tf.cast(tf.oneHot(tf.tensor1d([1], 'int32'), 3), 'float32'),
      { temperature: 2, alpha: 0.3 },
    ).dataSync()[0];
    assert.ok(Math.abs(value - 0.7397222) < 1e-5, `loss ${value}, expected 0.7397222`);
  });

  it('alpha = 1 is the cross-entropy; equal logits at alpha = 0 give zero', () => {
    const zs = tf.tensor2d([[0.5, -1, 2]]);
    const y = tf.cast(tf.oneHot(tf.tensor1d([2], 'int32'), 3), 'float32');
    const ce = distillationLoss(tf, zs, tf.tensor2d([[9, 9, -9]]), y, {
      temperature: 4,
      alpha: 1,
    }).dataSync()[0];
    assert.ok(Math.abs(ce - tf.losses.softmaxCrossEntropy(y, zs).dataSync()[0]) < 1e-6, 'cross-entropy');
    const same = distillationLoss(tf, zs, zs, y, { temperature: 4, alpha: 0 }).dataSync()[0];
    assert.ok(Math.abs(same) < 1e-6, `KL of equal distributions is ${same}`);
  });

  for (const [t, alpha] of [
    [1, 0.5],
    [4, 0.1],
    [8, 0],
  ])
    it(`T = ${t}, alpha = ${alpha}: value and gradient agree with the float64 reference and finite differences`, () => {
      const batch = 4;
      const classes = 5;
      const zs = Array.from(randoms(batch * classes, 11 + t, -3, 3));
      const zt = Array.from(randoms(batch * classes, 29 + t, -6, 6));
      const labels = [0, 3, 4, 1];
      const rows = (v: number[]) =>
        Array.from({ length: batch }, (_, n) => v.slice(n * classes, (n + 1) * classes));
      const targets = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32');
      const teacher = tf.tensor2d(rows(zt));
      const loss = (s: tf.Tensor) => distillationLoss(tf, s, teacher, targets, { temperature: t, alpha });
      const value = loss(tf.tensor2d(rows(zs))).dataSync()[0];
      const expected = reference(rows(zs), rows(zt), labels, t, alpha);
      assert.ok(Math.abs(value - expected) < 1e-5 * Math.max(1, expected), `loss ${value} vs ${expected}`);
      const grad = tf
        .grad((s: tf.Tensor) => loss(s))(tf.tensor2d(rows(zs)))
        .dataSync();
      const h = 1e-4;
      for (let i = 0; i < zs.length; i++) {
        const plus = [...zs];
        const minus = [...zs];
        plus[i] += h;
        minus[i] -= h;
        const numeric =
          (reference(rows(plus), rows(zt), labels, t, alpha) -
            reference(rows(minus), rows(zt), labels, t, alpha)) /
          (2 * h);
        assert.ok(
          Math.abs(grad[i] - numeric) < 1e-4,
          `d loss / d z_s[${i}]: ${grad[i]} vs finite difference ${numeric}`,
        );
      }
    });

  it('rejects a non-positive temperature and alpha outside [0, 1]', () => {
    assert.throws(() => checkDistillationSettings({ temperature: 0, alpha: 0.5 }), InvalidArgumentError);
    assert.throws(
      () => checkDistillationSettings({ temperature: 2, alpha: 1.5 }),
      /alpha must be in \[0, 1\]/,
    );
    checkDistillationSettings({ temperature: 4, alpha: 0 });
  });
});
