/**
 * The parts of structured pruning that need a built model: first-order Taylor scores from the
 * gradients of the loss on training batches, and network slimming's L1 penalty on batch-norm scales
 * as a training hook (the subgradient penalty x sign(gamma) added to gamma's gradient, as Liu et
 * al.'s reference code does).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { Random } from '../core/random.js';
import type { ModelSpec } from '../models/spec/types.js';
import type { TrainingData, TrainingHooks } from '../train/trainer.js';
import type { ChannelAnalysis } from './channel-groups.js';
import { TaylorAccumulator } from './channel-importance.js';
import {
  buildModelWithWeights,
  type ModelWeights,
  type VariableOwner,
  variableOwners,
} from './model-weights.js';

export interface TaylorOptions {
  /** Batches of training data to accumulate over. */
  batches: number;
  batchSize: number;
  /** Chooses the samples. */
  seed: number;
}

/** Mean cross-entropy of a batch; the output is probabilities when the model ends in softmax. */
function crossEntropy(
  tf: typeof TfCore,
  output: TfCore.Tensor,
  labels: TfCore.Tensor,
  probabilities: boolean,
) {
  const targets = tf.oneHot(labels, output.shape[output.shape.length - 1] as number);
  if (!probabilities) return tf.losses.softmaxCrossEntropy(targets, output) as TfCore.Scalar;
  const clipped = tf.clipByValue(output, 1e-7, 1 - 1e-7);
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.log(clipped)), -1))) as TfCore.Scalar;
}

function endsInSoftmax(spec: ModelSpec): boolean {
  const last = spec.layers.find((l) => l.name === spec.outputs[0]);
  return last !== undefined && 'activation' in last && last.activation === 'softmax';
}

/**
 * |sum over a batch of activation x gradient| per channel set, averaged over `batches` batches of
 * training samples drawn without replacement (inference mode: batch norm uses its moving statistics).
 */
export async function taylorScores(
  weights: ModelWeights,
  analysis: ChannelAnalysis,
  data: TrainingData,
  options: TaylorOptions,
): Promise<Float64Array> {
  const tf = await import('@tensorflow/tfjs-core');
  const accumulator = new TaylorAccumulator(analysis);
  const needed = new Set(accumulator.tensorsNeeded().map((t) => `${t.layer}\u0000${t.tensor}`));
  const model = await buildModelWithWeights(weights);
  try {
    const owners = variableOwners(model, weights.spec);
    const variables = model.trainableWeights
      .map((w) => w.read() as TfCore.Variable)
      .filter((v) => {
        const owner = owners.get(v.name);
        return owner !== undefined && needed.has(`${owner.layer}\u0000${owner.tensor}`);
      });
    const n = data.labels.length;
    const size = data.shape.reduce((a, b) => a * b, 1);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    new Random(options.seed).fork('taylor').shuffle(order);
    const batchSize = Math.min(options.batchSize, n);
    const batches = Math.max(1, Math.min(options.batches, Math.floor(n / batchSize)));
    const probabilities = endsInSoftmax(weights.spec);
    const x = new Float32Array(batchSize * size);
    const labels = new Int32Array(batchSize);
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < batchSize; i++) {
        const row = order[b * batchSize + i];
        x.set(data.x.subarray(row * size, (row + 1) * size), i * size);
        labels[i] = data.labels[row];
      }
      const grads = tf.tidy(() => {
        const input = tf.tensor(x, [batchSize, ...data.shape]);
        const target = tf.tensor1d(labels, 'int32');
        return tf.variableGrads(
          () =>
            crossEntropy(tf, model.apply(input, { training: false }) as TfCore.Tensor, target, probabilities),
          variables,
        ).grads;
      });
      const gradients = new Map<string, Float32Array>();
      for (const [name, g] of Object.entries(grads)) {
        const owner = owners.get(name);
        if (owner) gradients.set(`${owner.layer}\u0000${owner.tensor}`, g.dataSync() as Float32Array);
      }
      tf.dispose(grads);
      accumulator.addBatch(weights.layers, (layer, tensor) => gradients.get(`${layer}\u0000${tensor}`));
    }
    return accumulator.scores();
  } finally {
    model.dispose();
  }
}

/**
 * Training hooks adding penalty x sign(gamma) to every batch-norm gamma's gradient (L1 on the
 * scales), made once the model is built (`owners` names each variable's layer and tensor).
 */
export async function slimmingHooks(
  penalty: number,
): Promise<(owners: ReadonlyMap<string, VariableOwner>) => TrainingHooks> {
  const tf = await import('@tensorflow/tfjs-core');
  return (owners) => {
    const isGamma = (name: string) => {
      const owner = owners.get(name);
      return owner?.type === 'batchNorm' && owner.tensor === 'gamma';
    };
    return {
      transformGradients: (grads, variables) => {
        const out: TfCore.NamedTensorMap = { ...grads };
        for (const v of variables)
          if (isGamma(v.name) && out[v.name]) out[v.name] = tf.add(out[v.name], tf.mul(tf.sign(v), penalty));
        return out;
      },
    };
  };
}
