/**
 * The distillation loss of Hinton, Vinyals and Dean (2015):
 *
 *   alpha * CE(y, softmax(z_s)) + (1 - alpha) * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))
 *
 * averaged over the batch. `alpha` weighs the hard labels; the soft term is scaled by T^2 so its
 * gradient keeps the same size as T changes (the soft gradients shrink as 1 / T^2). Teacher
 * logits arrive as a plain tensor: whoever computed them did so outside the gradient tape.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../core/errors.js';

export interface DistillationSettings {
  /** Softmax temperature T > 0 of both soft distributions. */
  temperature: number;
  /** Weight of the hard-label cross-entropy, in [0, 1]; the soft term gets 1 - alpha. */
  alpha: number;
}

export function checkDistillationSettings(settings: DistillationSettings, where = 'distill'): void {
  const { temperature, alpha } = settings;
  if (!(Number.isFinite(temperature) && temperature > 0))
    throw new InvalidArgumentError(`${where}: temperature must be > 0, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1))
    throw new InvalidArgumentError(`${where}: alpha must be in [0, 1], got ${alpha}`);
}

/**
 * The batch-mean loss. `studentLogits` and `teacherLogits` are [batch, classes] pre-softmax
 * values; `targets` are one-hot (or smoothed) [batch, classes].
 */
export function distillationLoss(
  tf: typeof TfCore,
  studentLogits: TfCore.Tensor,
  teacherLogits: TfCore.Tensor,
  targets: TfCore.Tensor,
  settings: DistillationSettings,
): TfCore.Scalar {
  const { temperature: t, alpha } = settings;
  return tf.tidy(() => {
    const hard = () => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(studentLogits)), -1)));
    if (alpha === 1) return hard() as TfCore.Scalar;
    const teacherLog = tf.logSoftmax(tf.div(teacherLogits, t));
    const studentLog = tf.logSoftmax(tf.div(studentLogits, t));
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(teacherLog), tf.sub(teacherLog, studentLog)), -1));
    const soft = tf.mul(kl, t * t);
    return (alpha === 0 ? soft : tf.add(tf.mul(hard(), alpha), tf.mul(soft, 1 - alpha))) as TfCore.Scalar;
  });
}
