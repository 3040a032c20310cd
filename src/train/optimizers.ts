/**
 * Optimizers from JSON configs, each with a learning rate that schedules change per step.
 * SGD (momentum, Nesterov), Adam, RMSProp and Adagrad are TensorFlow.js's; AdamW adds weight
 * decay decoupled from the gradient (Loshchilov & Hutter): each decayed weight is multiplied by
 * (1 - lr * weightDecay) before the Adam step, as PyTorch's AdamW does, instead of adding
 * weightDecay * w to the gradient (which Adam would rescale).
 *
 * On the wasm backend Adam and AdamW run as one fused kernel per variable (ParsimonyAdamUpdate,
 * registered with Parsimony's wasm kernels): the same formula as tfjs' Adam, one pass over memory
 * instead of 14 kernels.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../core/errors.js';
import { ADAM_UPDATE } from '../models/backends/kernels/adam-update.js';

export type OptimizerConfig =
  | { type: 'sgd'; learningRate: number; momentum?: number; nesterov?: boolean }
  | { type: 'adam'; learningRate: number; beta1?: number; beta2?: number; epsilon?: number }
  | {
      type: 'adamw';
      learningRate: number;
      weightDecay?: number;
      beta1?: number;
      beta2?: number;
      epsilon?: number;
    }
  | {
      type: 'rmsprop';
      learningRate: number;
      rho?: number;
      momentum?: number;
      epsilon?: number;
      centered?: boolean;
    }
  | { type: 'adagrad'; learningRate: number; initialAccumulatorValue?: number };

export interface TrainingOptimizer {
  readonly config: OptimizerConfig;
  learningRate: number;
  /** Applies one step of gradients (by variable name). */
  apply(grads: TfCore.NamedTensorMap, variables: readonly TfCore.Variable[]): void;
  dispose(): void;
}

interface TfOptimizer {
  applyGradients(grads: TfCore.NamedTensorMap): void;
  dispose(): void;
  setLearningRate?: (lr: number) => void;
  learningRate: number;
}

function check(config: OptimizerConfig): void {
  if (!(config.learningRate > 0))
    throw new InvalidArgumentError(
      `optimizer ${config.type}: learningRate must be > 0, got ${config.learningRate}`,
    );
  if ('momentum' in config && config.momentum !== undefined && !(config.momentum >= 0 && config.momentum < 1))
    throw new InvalidArgumentError(
      `optimizer ${config.type}: momentum must be in [0, 1), got ${config.momentum}`,
    );
  if (config.type === 'adamw' && config.weightDecay !== undefined && !(config.weightDecay >= 0))
    throw new InvalidArgumentError(`optimizer adamw: weightDecay must be >= 0, got ${config.weightDecay}`);
}

/** Adam's settings with tfjs' defaults (ε 1e-7, not PyTorch's 1e-8), shared by both paths. */
function adamSettings(config: Extract<OptimizerConfig, { type: 'adam' | 'adamw' }>) {
  return { beta1: config.beta1 ?? 0.9, beta2: config.beta2 ?? 0.999, epsilon: config.epsilon ?? 1e-7 };
}

/** Adam/AdamW through the fused kernel; m and v are plain kept tensors, replaced every step. */
function fusedAdam(
  tf: typeof TfCore,
  config: Extract<OptimizerConfig, { type: 'adam' | 'adamw' }>,
  weightDecay: number,
): TrainingOptimizer {
  const { beta1, beta2, epsilon } = adamSettings(config);
  const moments = new Map<string, { m: TfCore.Tensor; v: TfCore.Tensor }>();
  let step = 0;
  let current = config.learningRate;
  return {
    config,
    get learningRate() {
      return current;
    },
    set learningRate(value: number) {
      current = value;
    },
    apply(grads, variables) {
      step++;
      for (const variable of variables) {
        const g = grads[variable.name];
        if (!g) continue;
        let state = moments.get(variable.name);
        if (state === undefined) {
          state = { m: tf.keep(tf.zerosLike(variable)), v: tf.keep(tf.zerosLike(variable)) };
          moments.set(variable.name, state);
        }
        // Kernels decay; biases and normalisation parameters (rank 1) do not, as is usual.
        const decay = weightDecay > 0 && variable.shape.length > 1 ? 1 - current * weightDecay : 1;
        const [w, m, v] = tf
          .engine()
          .runKernel(
            ADAM_UPDATE,
            { w: variable, g, m: state.m, v: state.v },
            { beta1, beta2, epsilon, learningRate: current, step, decay },
          ) as TfCore.Tensor[];
        variable.assign(w);
        w.dispose();
        state.m.dispose();
        state.v.dispose();
        state.m = tf.keep(m);
        state.v = tf.keep(v);
      }
    },
    dispose() {
      for (const { m, v } of moments.values()) tf.dispose([m, v]);
      moments.clear();
    },
  };
}

export function createOptimizer(tf: typeof TfCore, config: OptimizerConfig): TrainingOptimizer {
  check(config);
  const weightDecay = config.type === 'adamw' ? (config.weightDecay ?? 0.01) : 0;
  if (
    (config.type === 'adam' || config.type === 'adamw') &&
    tf.getBackend() === 'wasm' &&
    tf.getKernel(ADAM_UPDATE, 'wasm') !== undefined
  )
    return fusedAdam(tf, config, weightDecay);
  const lr = config.learningRate;
  let inner: TfOptimizer;
  switch (config.type) {
    case 'sgd':
      inner =
        (config.momentum ?? 0) > 0
          ? (tf.train.momentum(lr, config.momentum ?? 0, config.nesterov ?? false) as unknown as TfOptimizer)
          : (tf.train.sgd(lr) as unknown as TfOptimizer);
      break;
    case 'adam':
    case 'adamw':
      {
        const { beta1, beta2, epsilon } = adamSettings(config);
        inner = tf.train.adam(lr, beta1, beta2, epsilon) as unknown as TfOptimizer;
      }
      break;
    case 'rmsprop':
      inner = tf.train.rmsprop(
        lr,
        config.rho ?? 0.9,
        config.momentum ?? 0,
        config.epsilon ?? 1e-7,
        config.centered ?? false,
      ) as unknown as TfOptimizer;
      break;
    case 'adagrad':
      inner = tf.train.adagrad(lr, config.initialAccumulatorValue ?? 0.1) as unknown as TfOptimizer;
      break;
    default:
      throw new InvalidArgumentError(
        `unknown optimizer type "${(config as { type: string }).type}" (sgd, adam, adamw, rmsprop, adagrad)`,
      );
  }
  let current = lr;
  return {
    config,
    get learningRate() {
      return current;
    },
    set learningRate(value: number) {
      current = value;
      // SGD and momentum cache -lr in a scalar; the others read the field on every step.
      if (typeof inner.setLearningRate === 'function') inner.setLearningRate(value);
      else inner.learningRate = value;
    },
    apply(grads, variables) {
      if (weightDecay > 0)
        tf.tidy(() => {
          const factor = 1 - current * weightDecay;
          // Kernels decay; biases and normalisation parameters (rank 1) do not, as is usual.
          for (const v of variables) if (v.shape.length > 1 && grads[v.name]) v.assign(tf.mul(v, factor));
        });
      // tfjs' optimizers keep their state by the position of a gradient in the map, so a step
      // that leaves a variable out (a slimmable width not trained that step) gives it zeros.
      const complete = variables.every((v) => grads[v.name] !== undefined);
      if (complete) inner.applyGradients(grads);
      else
        tf.tidy(() =>
          inner.applyGradients(
            Object.fromEntries(variables.map((v) => [v.name, grads[v.name] ?? tf.zerosLike(v)])),
          ),
        );
    },
    dispose() {
      inner.dispose();
    },
  };
}
