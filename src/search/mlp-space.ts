/**
 * The search space of the size search (`parsimony search`): depth, widths, activation, learning
 * rate, L2, dropout and batch size of a multilayer perceptron. Kept apart from the objective so the
 * space, its complexity figures and the CLI's explanations come from one definition.
 */
import { sequential } from '../models/spec/builder.js';
import type { ModelSpec } from '../models/spec/types.js';

/** The trial methods the space needs (a study Trial or a worker thread's remote trial). */
export interface SuggestingTrial {
  suggestInt(name: string, low: number, high: number, options?: { log?: boolean; step?: number }): number;
  suggestFloat(name: string, low: number, high: number, options?: { log?: boolean; step?: number }): number;
  suggestCategorical<T extends string | number | boolean | null>(name: string, choices: readonly T[]): T;
}

export const MLP_ACTIVATIONS = ['relu', 'tanh', 'gelu'] as const;
export type MlpActivation = (typeof MLP_ACTIVATIONS)[number];
export const MLP_BATCH_SIZES = [32, 64, 128] as const;

export interface MlpSpaceBounds {
  maxLayers: number;
  minUnits: number;
  maxUnits: number;
}

export const DEFAULT_MLP_BOUNDS: MlpSpaceBounds = { maxLayers: 3, minUnits: 8, maxUnits: 512 };

/** One point of the space: an MLP and how to train it. */
export interface MlpConfig {
  hiddenUnits: number[];
  activation: MlpActivation;
  learningRate: number;
  l2: number;
  dropout: number;
  batchSize: number;
}

/**
 * Suggests a configuration. Widths are named per layer (`units_1`, `units_2`, ...) and only exist
 * when the layer does, so TPE models each width conditionally on the depth.
 */
export function suggestMlpConfig(
  trial: SuggestingTrial,
  bounds: MlpSpaceBounds = DEFAULT_MLP_BOUNDS,
): MlpConfig {
  const layers = trial.suggestInt('layers', 1, bounds.maxLayers);
  const hiddenUnits: number[] = [];
  for (let i = 1; i <= layers; i++)
    hiddenUnits.push(trial.suggestInt(`units_${i}`, bounds.minUnits, bounds.maxUnits, { log: true }));
  return {
    hiddenUnits,
    activation: trial.suggestCategorical('activation', MLP_ACTIVATIONS),
    learningRate: trial.suggestFloat('lr', 1e-4, 3e-2, { log: true }),
    l2: trial.suggestFloat('l2', 1e-7, 1e-2, { log: true }),
    dropout: trial.suggestFloat('dropout', 0, 0.5),
    batchSize: trial.suggestCategorical('batchSize', MLP_BATCH_SIZES),
  };
}

/** The spec of a configuration: dense layers with dropout between them, softmax on top. */
export function mlpSpec(config: MlpConfig, inputs: number, classes: number): ModelSpec {
  const model = sequential([inputs], { name: `mlp-${config.hiddenUnits.join('-')}` });
  for (const units of config.hiddenUnits) {
    model.add('dense', { units, activation: config.activation });
    if (config.dropout > 0) model.add('dropout', { rate: config.dropout });
  }
  return model.add('dense', { units: classes, activation: 'softmax' }).build();
}

/** The network of the space with the fewest parameters: one hidden layer of `minUnits`. */
export function smallestMlp(bounds: Pick<MlpSpaceBounds, 'minUnits'>): MlpConfig {
  return {
    hiddenUnits: [bounds.minUnits],
    activation: 'relu',
    learningRate: 1e-3,
    l2: 0,
    dropout: 0,
    batchSize: MLP_BATCH_SIZES[0],
  };
}
