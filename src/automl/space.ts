/**
 * What an AutoML trial chooses: the feature preparation (tables: scaling, then nothing, PCA or
 * recursive feature elimination; images: scaling), the network (`tabularSpace`'s dense stacks for
 * tables, `imageSpace` for images) and how to train it (learning rate, batch size; L2 for tables).
 */
import type { FeatureChoices } from '../data/feature-pipeline.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { type ImageSpaceOptions, imageSpace } from '../search/image-space.js';
import type { SuggestingTrial } from '../search/mlp-space.js';
import { type TabularSpaceOptions, tabularSpec } from '../search/tabular-space.js';

/** Bounds of the dense stacks of tables (no hidden layer: softmax regression). */
export const TABLE_BOUNDS = { minLayers: 0, maxLayers: 3, minUnits: 8, maxUnits: 256 } as const;

export const SCALERS = ['standard', 'minmax'] as const;
export const REDUCTIONS = ['none', 'pca', 'rfe'] as const;

/** The preparation of a table with `features` prepared columns. */
export function suggestTablePreparation(trial: SuggestingTrial, features: number): FeatureChoices {
  const scaler = trial.suggestCategorical('scaler', SCALERS);
  // One column leaves nothing to reduce.
  const reduction = features > 1 ? trial.suggestCategorical('reduction', REDUCTIONS) : 'none';
  const choices: FeatureChoices = { scaler, reduction };
  if (reduction === 'pca') {
    const mode = trial.suggestCategorical('pca_mode', ['variance', 'components']);
    if (mode === 'variance') choices.pcaVariance = trial.suggestFloat('pca_variance', 0.8, 0.99);
    else choices.pcaComponents = trial.suggestInt('pca_components', 1, features);
  } else if (reduction === 'rfe') {
    choices.rfeMethod = trial.suggestCategorical('rfe_method', ['weights', 'permutation'] as const);
    const share = trial.suggestFloat('rfe_keep', 0.2, 1);
    choices.rfeKeep = Math.max(1, Math.min(features, Math.round(share * features)));
  }
  return choices;
}

/** How a table network trains: learning rate, L2 and batch size (the network is `tabularSpace`'s). */
export interface TableTraining {
  learningRate: number;
  l2: number;
  batchSize: number;
}

export function suggestTableTraining(trial: SuggestingTrial): TableTraining {
  return {
    learningRate: trial.suggestFloat('lr', 1e-4, 3e-2, { log: true }),
    l2: trial.suggestFloat('l2', 1e-7, 1e-2, { log: true }),
    batchSize: trial.suggestCategorical('batchSize', [16, 32, 64]),
  };
}

/**
 * The first trials of a table run, before the sampler's: standardised softmax regression, then a
 * standardised MLP of one hidden layer of 32 ReLU units, both with mild L2 (the `l2` of their
 * training) and Adam at a common learning rate.
 */
export function tableStartingPoints(features: number): Record<string, string | number>[] {
  const preparation = { scaler: 'standard', ...(features > 1 ? { reduction: 'none' } : {}) };
  const training = { l2: 1e-4, batchSize: 32 };
  return [
    { ...preparation, lr: 0.01, ...training, layers: 0 },
    {
      ...preparation,
      lr: 0.003,
      ...training,
      layers: 1,
      l0_units: 32,
      l0_activation: 'relu',
      l0_dropout: 0,
      l0_norm: 'none',
    },
  ];
}

/** The tabular space's options for a run (dense stacks of 0-3 layers of 8-256 units; budgets checked by it). */
export function tableSpaceOptions(
  features: number,
  classes: number,
  budget: { maxParams?: number; maxMacs?: number },
): TabularSpaceOptions {
  return {
    inputShape: [features],
    classes,
    ...TABLE_BOUNDS,
    ...(budget.maxParams !== undefined ? { maxParams: budget.maxParams } : {}),
    ...(budget.maxMacs !== undefined ? { maxMacs: budget.maxMacs } : {}),
  };
}

/** How an image network trains: the network's own decisions are `imageSpace`'s. */
export interface ImageTraining {
  scaler: (typeof SCALERS)[number];
  learningRate: number;
  batchSize: number;
}

export function suggestImageTraining(trial: SuggestingTrial): ImageTraining {
  return {
    scaler: trial.suggestCategorical('scaler', SCALERS),
    learningRate: trial.suggestFloat('lr', 3e-4, 1e-2, { log: true }),
    batchSize: trial.suggestCategorical('batchSize', [32, 64, 128]),
  };
}

/** The image space's options for a run (budgets are checked by `imageSpace` itself). */
export function imageSpaceOptions(
  inputShape: readonly number[],
  classes: number,
  budget: { maxParams?: number; maxMacs?: number },
): ImageSpaceOptions {
  return {
    inputShape: inputShape as [number, number, number],
    classes,
    ...(budget.maxParams !== undefined ? { maxParams: budget.maxParams } : {}),
    ...(budget.maxMacs !== undefined ? { maxMacs: budget.maxMacs } : {}),
  };
}

/** The smallest network of the table space: softmax regression on one feature. */
export function smallestTableNetwork(classes: number): ModelSpec {
  return tabularSpec([], [1], classes);
}

/**
 * The image network of the space with (as far as a greedy search finds) the fewest parameters, or
 * MACs: every integer at its low end, each categorical decision tried in turn with the others held,
 * twice over. Used to say before any training that a budget excludes the whole space.
 */
export function smallestImageNetwork(
  inputShape: readonly number[],
  classes: number,
  measure: 'params' | 'macs',
): ModelSpec {
  const options = imageSpaceOptions(inputShape, classes, {});
  const chosen = new Map<string, string | number | boolean | null>();
  const cost = (spec: ModelSpec) => analyzeModel(spec)[measure];
  const build = (override?: [string, string | number | boolean | null]) => {
    const trial: SuggestingTrial = {
      suggestInt: (_name, low) => low,
      suggestFloat: (_name, low) => low,
      suggestCategorical: <T extends string | number | boolean | null>(
        name: string,
        choices: readonly T[],
      ) => {
        if (override && override[0] === name && choices.includes(override[1] as T)) return override[1] as T;
        const value = chosen.get(name);
        return choices.includes(value as T) ? (value as T) : choices[0];
      },
    };
    return imageSpace(trial, options);
  };
  const seen = new Map<string, readonly (string | number | boolean | null)[]>();
  const recording: SuggestingTrial = {
    suggestInt: (_name, low) => low,
    suggestFloat: (_name, low) => low,
    suggestCategorical: (name, choices) => {
      seen.set(name, choices);
      return choices[0];
    },
  };
  imageSpace(recording, options);
  let best = build();
  let bestCost = cost(best);
  for (let pass = 0; pass < 2; pass++)
    for (const [name, choices] of seen)
      for (const value of choices) {
        const spec = build([name, value]);
        const c = cost(spec);
        if (c < bestCost) {
          bestCost = c;
          best = spec;
          chosen.set(name, value);
        }
      }
  return best;
}

/** A plain conv-norm-ReLU stage of one 3x3 block, as image-space parameters. */
function plainStage(i: number, filters: number, stride: 1 | 2): Record<string, string | number | boolean> {
  return {
    [`s${i}_block`]: 'plain',
    [`s${i}_blocks`]: 1,
    [`s${i}_filters`]: filters,
    [`s${i}_kernel`]: 3,
    [`s${i}_stride`]: stride,
    [`s${i}_skip`]: false,
  };
}

const PORTFOLIO_TRAINING = {
  scaler: 'standard',
  lr: 0.002,
  batchSize: 64,
  activation: 'relu',
  norm: 'batch',
} as const;

/**
 * Known-good small CNNs the image search tries first (before the sampler's own choices, as
 * auto-sklearn starts from a portfolio): plain 3x3 conv + batch norm + ReLU stacks that halve the
 * resolution per stage, with a flatten head (two or three stages) or a global-average-pool head.
 * Each is a complete set of the image space's parameters and the image training's.
 */
export const IMAGE_PORTFOLIO: readonly Record<string, string | number | boolean>[] = [
  {
    ...PORTFOLIO_TRAINING,
    stem_filters: 16,
    stages: 2,
    ...plainStage(0, 32, 2),
    ...plainStage(1, 32, 2),
    dropout: 0.2,
    head: 'flatten',
  },
  {
    ...PORTFOLIO_TRAINING,
    stem_filters: 16,
    stages: 3,
    ...plainStage(0, 32, 2),
    ...plainStage(1, 48, 2),
    ...plainStage(2, 48, 1),
    dropout: 0.2,
    head: 'flatten',
  },
  {
    ...PORTFOLIO_TRAINING,
    stem_filters: 16,
    stages: 3,
    ...plainStage(0, 32, 2),
    ...plainStage(1, 64, 2),
    ...plainStage(2, 64, 1),
    dropout: 0,
    head: 'gap',
  },
];

/** The portfolio's configurations whose networks keep to the budget (they cost no training otherwise). */
export function imagePortfolio(
  inputShape: readonly number[],
  classes: number,
  budget: { maxParams?: number; maxMacs?: number },
): Record<string, string | number | boolean>[] {
  return IMAGE_PORTFOLIO.filter((params) => {
    const fixed: SuggestingTrial = {
      suggestInt: (name) => params[name] as number,
      suggestFloat: (name) => params[name] as number,
      suggestCategorical: (name) => params[name] as never,
    };
    const { params: count, macs } = analyzeModel(
      imageSpace(fixed, imageSpaceOptions(inputShape, classes, {})),
    );
    return count <= (budget.maxParams ?? Infinity) && macs <= (budget.maxMacs ?? Infinity);
  });
}
