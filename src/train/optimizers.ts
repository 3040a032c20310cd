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

/**
 * What an optimizer has accumulated (Adam's moments, momentum buffers) and its step count, as plain
 * arrays in the order of the variables it was given, so training can stop and resume with the same
 * optimizer (population-based training carries it with the weights).
 */
export interface OptimizerState {
  type: OptimizerConfig['type'];
  iterations: number;
  slots: Float32Array[];
}

export interface TrainingOptimizer {
  readonly config: OptimizerConfig;
  learningRate: number;
  /** Applies one step of gradients (by variable name). */
  apply(grads: TfCore.NamedTensorMap, variables: readonly TfCore.Variable[]): void;
  /** The accumulated state, positional over `variables`. */
  getState(variables: readonly TfCore.Variable[]): Promise<OptimizerState>;
  /** Resumes from a state taken with getState on variables of the same shapes, before any step. */
  setState(state: OptimizerState, variables: readonly TfCore.Variable[]): Promise<void>;
  dispose(): void;
}

interface TfOptimizer {
  applyGradients(grads: TfCore.NamedTensorMap): void;
  dispose(): void;
  setLearningRate?: (lr: number) => void;
  learningRate: number;
  getWeights(): Promise<{ name: string; tensor: TfCore.Tensor }[]>;
  setWeights(weights: { name: string; tensor: TfCore.Tensor }[]): Promise<void>;
}

/** Refuses a state that another optimizer type or other variables produced. */
function checkState(
  state: OptimizerState,
  type: OptimizerConfig['type'],
  variables: readonly TfCore.Variable[],
  slotsPerVariable: number,
): void {
  if (state.type !== type)
    throw new InvalidArgumentError(`optimizer ${type}: the saved state belongs to optimizer ${state.type}`);
  if (state.slots.length === 0) return;
  const n = variables.length;
  if (state.slots.length % n !== 0 || (slotsPerVariable > 0 && state.slots.length !== slotsPerVariable * n))
    throw new InvalidArgumentError(
      `optimizer ${type}: the saved state has ${state.slots.length} slots for ${n} variables`,
    );
  state.slots.forEach((slot, i) => {
    const v = variables[i % n];
    if (slot.length !== v.size)
      throw new InvalidArgumentError(
        `optimizer ${type}: saved slot ${i} has ${slot.length} values, variable ${v.name} has ${v.size}`,
      );
  });
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
    async getState(variables) {
      const slots: Float32Array[] = [];
      const stepped = variables.filter((v) => moments.has(v.name));
      if (stepped.length === variables.length) {
        for (const v of variables) slots.push((moments.get(v.name)!.m.dataSync() as Float32Array).slice());
        for (const v of variables) slots.push((moments.get(v.name)!.v.dataSync() as Float32Array).slice());
      }
      return { type: config.type, iterations: step, slots };
    },
    async setState(state, variables) {
      checkState(state, config.type, variables, 2);
      step = state.iterations;
      if (state.slots.length === 0) return;
      const n = variables.length;
      variables.forEach((variable, i) => {
        const old = moments.get(variable.name);
        if (old) tf.dispose([old.m, old.v]);
        moments.set(variable.name, {
          m: tf.keep(tf.tensor(state.slots[i], variable.shape)),
          v: tf.keep(tf.tensor(state.slots[n + i], variable.shape)),
        });
      });
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
    async getState() {
      // tfjs lists the step count first, then its slots (moments, accumulators) in variable order.
      const [iterations, ...slots] = await inner.getWeights();
      const out: OptimizerState = {
        type: config.type,
        iterations: (await iterations.tensor.data())[0],
        slots: [],
      };
      for (const s of slots) out.slots.push(((await s.tensor.data()) as Float32Array).slice());
      return out;
    },
    async setState(state, variables) {
      checkState(state, config.type, variables, 0);
      const n = variables.length;
      const tensors = [
        { name: 'iter', tensor: tf.scalar(state.iterations, 'int32') },
        ...state.slots.map((slot, i) => ({
          name: `${variables[i % n].name}/slot${Math.floor(i / n)}`,
          tensor: tf.tensor(slot, variables[i % n].shape),
        })),
      ];
      await inner.setWeights(tensors);
      tf.dispose(tensors.map((t) => t.tensor));
    },
    dispose() {
      inner.dispose();
    },
  };
}
