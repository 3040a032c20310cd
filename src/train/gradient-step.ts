/**
 * The gradient half of a training step, shared by the trainer and its data-parallel workers: the
 * gradients of a batch's loss computed over a range of its samples, a part of at most
 * `microBatch` samples at a time. A part of c samples out of a batch of B contributes its loss
 * times c / B, so the parts' gradients add up to the gradient of the whole batch's loss (mean
 * cross-entropy plus penalties, each counted once): the same sum one thread computes at once, up to
 * the order in which floats are added.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import {
  CLIPPED_CROSS_ENTROPY,
  COUNT_CORRECT,
  PROBABILITY_EPSILON,
} from '../models/backends/kernels/cross-entropy.js';
import { takeAuxiliaryLosses } from '../models/tfjs/custom-layers.js';
import type { RegularizationConfig, TrainingHooks } from './trainer.js';

/** What the loss needs besides the model and the samples. */
export interface LossSettings {
  numClasses: number;
  /** Per output of the model, whether it ends in softmax (the loss then takes probabilities). */
  outputProbabilities: readonly boolean[];
  /** Per output, the weight of its cross-entropy (several outputs: early-exit heads). */
  outputWeights: readonly number[];
  labelSmoothing: number;
  crossEntropyWeight: number;
  /** Kernels with an L1/L2 penalty. */
  penalised: readonly { v: TfCore.Tensor; l1: number; l2: number }[];
  extraLoss?: TrainingHooks['extraLoss'];
}

/** A batch as the trainer assembled it; with mixup, each sample's partner label and the mix. */
export interface BatchArrays {
  x: Float32Array;
  labels: Int32Array;
  mix?: { partners: Int32Array; lambda: number };
}

export interface PartialGradients {
  /** Summed gradients by variable name (of the batch's mean loss, restricted to these samples). */
  grads: TfCore.NamedTensorMap;
  /** The samples' share of the batch loss (sum over parts of loss × c / B). */
  loss: TfCore.Scalar;
  /** Correctly classified samples among them. */
  correct: TfCore.Scalar;
}

/** Whether the backend has Parsimony's kernel `name` (the wasm backend with its kernels registered). */
const hasKernel = (tf: typeof TfCore, name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

export function crossEntropy(
  tf: typeof TfCore,
  targets: TfCore.Tensor,
  output: TfCore.Tensor,
  probabilities: boolean,
): TfCore.Scalar {
  if (!probabilities) return tf.losses.softmaxCrossEntropy(targets, output) as TfCore.Scalar;
  // One kernel (and one for its gradient) where the composed ops would run twelve.
  if (output.rank === 2 && output.dtype === 'float32' && hasKernel(tf, CLIPPED_CROSS_ENTROPY))
    return tf.engine().runKernel(CLIPPED_CROSS_ENTROPY, {
      p: output,
      t: targets.dtype === 'float32' ? targets : tf.cast(targets, 'float32'),
    }) as TfCore.Scalar;
  const clipped = tf.clipByValue(output, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON);
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.log(clipped)), -1))) as TfCore.Scalar;
}

/** How many rows of `output` have their first maximum at `labels` (int32), as a float32 scalar. */
export function countCorrect(tf: typeof TfCore, output: TfCore.Tensor, labels: TfCore.Tensor): TfCore.Scalar {
  if (output.rank === 2 && output.dtype === 'float32' && hasKernel(tf, COUNT_CORRECT))
    return tf.engine().runKernel(COUNT_CORRECT, { outputs: output, labels }) as TfCore.Scalar;
  return tf.sum(tf.cast(tf.equal(tf.argMax(output, -1), labels), 'float32')) as TfCore.Scalar;
}

/** Kernels (rank >= 2) that carry the L1/L2 penalty; per-layer settings override the global ones. */
export function penalisedKernels(
  model: TfLayers.LayersModel,
  reg: RegularizationConfig | undefined,
): LossSettings['penalised'] {
  if (!reg) return [];
  return model.layers.flatMap((layer) => {
    const own = reg.layers?.[layer.name];
    const l1 = own?.l1 ?? reg.l1 ?? 0;
    const l2 = own?.l2 ?? reg.l2 ?? 0;
    if (l1 === 0 && l2 === 0) return [];
    return layer.trainableWeights.filter((w) => w.shape.length > 1).map((w) => ({ v: w.read(), l1, l2 }));
  });
}

/**
 * Gradients over samples [from, to) of a batch of `batchTotal` samples held in `x` / `labels`
 * (row-major, `shape` per sample), `microBatch` samples per part at most. Call inside tf.tidy.
 */
export function partialGradients(
  tf: typeof TfCore,
  model: TfLayers.LayersModel,
  variables: readonly TfCore.Variable[],
  batch: BatchArrays & { shape: readonly number[] },
  range: { from: number; to: number; batchTotal: number; microBatch: number },
  settings: LossSettings,
  step: number,
): PartialGradients {
  const size = batch.shape.reduce((a, b) => a * b, 1);
  let grads: TfCore.NamedTensorMap | undefined;
  let loss: TfCore.Scalar | undefined;
  let correct: TfCore.Scalar | undefined;
  for (let start = range.from; start < range.to; start += range.microBatch) {
    const end = Math.min(range.to, start + range.microBatch);
    const count = end - start;
    // One part that is the whole batch keeps the plain step (no scaling at all).
    const scale = count === range.batchTotal ? 1 : count / range.batchTotal;
    const x = tf.tensor(batch.x.subarray(start * size, end * size), [count, ...batch.shape]);
    const own = tf.tensor1d(batch.labels.subarray(start, end), 'int32');
    let targets: TfCore.Tensor = tf.cast(tf.oneHot(own, settings.numClasses), 'float32');
    let labels = own;
    const mix = batch.mix;
    if (mix) {
      // Mixup: targets mixed as the images were; accuracy counts the larger share's label.
      const partners = tf.tensor1d(mix.partners.subarray(start, end), 'int32');
      const other = tf.cast(tf.oneHot(partners, settings.numClasses), 'float32');
      targets = tf.add(tf.mul(targets, mix.lambda), tf.mul(other, 1 - mix.lambda));
      if (mix.lambda < 0.5) labels = partners;
    }
    const s = settings.labelSmoothing;
    if (s > 0) targets = tf.add(tf.mul(targets, 1 - s), s / settings.numClasses);
    let partCorrect: TfCore.Scalar | undefined;
    let auxiliary: TfCore.Scalar[] = [];
    const { value, grads: partGrads } = tf.variableGrads(() => {
      const raw = model.apply(x, { training: true }) as TfCore.Tensor | TfCore.Tensor[];
      const outputs = Array.isArray(raw) ? raw : [raw];
      const output = outputs[outputs.length - 1];
      // Kept: variableGrads disposes what its function creates, and this is read after it.
      partCorrect = tf.keep(countCorrect(tf, output, labels));
      let value: TfCore.Tensor =
        outputs.length === 1
          ? crossEntropy(tf, targets, output, settings.outputProbabilities[0])
          : outputs.reduce<TfCore.Scalar>(
              (sum, o, i) =>
                tf.add(
                  sum,
                  tf.mul(
                    crossEntropy(tf, targets, o, settings.outputProbabilities[i]),
                    settings.outputWeights[i],
                  ),
                ),
              tf.scalar(0),
            );
      if (settings.crossEntropyWeight !== 1) value = tf.mul(value, settings.crossEntropyWeight);
      if (settings.extraLoss) value = tf.add(value, settings.extraLoss({ x, output, targets, step }));
      // Layers' own loss terms (a mixture of experts' load balancing), from the forward pass above.
      auxiliary = takeAuxiliaryLosses(model);
      for (const term of auxiliary) value = tf.add(value, term);
      for (const { v, l1, l2 } of settings.penalised) {
        if (l2 > 0) value = tf.add(value, tf.mul(tf.sum(tf.square(v)), l2));
        if (l1 > 0) value = tf.add(value, tf.mul(tf.sum(tf.abs(v)), l1));
      }
      return (scale === 1 ? value : tf.mul(value, scale)) as TfCore.Scalar;
    }, variables as TfCore.Variable[]);
    tf.dispose([x, own, labels, targets, ...auxiliary]);
    if (grads === undefined) grads = partGrads;
    else
      for (const [name, g] of Object.entries(partGrads)) {
        const sum = tf.add(grads[name], g) as TfCore.Tensor;
        tf.dispose([grads[name], g]);
        grads[name] = sum;
      }
    loss = add(tf, loss, value);
    correct = add(tf, correct, partCorrect as TfCore.Scalar);
  }
  return {
    grads: grads ?? {},
    loss: loss ?? tf.scalar(0),
    correct: correct ?? tf.scalar(0),
  };
}

function add(tf: typeof TfCore, sum: TfCore.Scalar | undefined, value: TfCore.Scalar): TfCore.Scalar {
  if (sum === undefined) return value;
  const next = tf.add(sum, value) as TfCore.Scalar;
  tf.dispose([sum, value]);
  return next;
}
