/** Tensor checks the model tests share: element-wise closeness and a three-step training run. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';

/** Every element of `got` within `tolerance` of `expected`, naming the first index that is not. */
export function assertAllClose(got: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i] - expected[i]) < tolerance, `[${i}]: ${got[i]} vs ${expected[i]}`);
}

/**
 * The losses of three SGD steps (rate 0.5, categorical cross-entropy) of `model` on `x`, a batch of
 * four with labels 0, 2, 1, 2 of three classes. Disposes the model and `x`.
 */
export async function threeStepLosses(model: TfLayers.LayersModel, x: tf.Tensor): Promise<number[]> {
  const optimizer = tf.train.sgd(0.5);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const y = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);
  const out: number[] = [];
  for (let i = 0; i < 3; i++) out.push((await model.trainOnBatch(x, y)) as number);
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
  return out;
}

/** The same losses on wasm as on cpu, to 1e-3 relative (absolute below 1). */
export function assertSameLosses(wasm: readonly number[], cpu: readonly number[]): void {
  for (let i = 0; i < cpu.length; i++)
    assert.ok(
      Math.abs(wasm[i] - cpu[i]) <= 1e-3 * Math.max(1, Math.abs(cpu[i])),
      `wasm ${wasm} vs cpu ${cpu}`,
    );
}
