/**
 * What an AutoML trial chooses: the feature preparation (tables: scaling, then nothing, PCA or
 * recursive feature elimination; images: scaling), the network (an MLP for tables, `imageSpace` for
 * images) and how to train it (learning rate, batch size; L2 and dropout for MLPs).
 */
import type { FeatureChoices } from '../data/feature-pipeline.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { type ImageSpaceOptions, imageSpace } from '../search/image-space.js';
import {
  type MlpConfig,
  mlpSpec,
  type SuggestingTrial,
  smallestMlp,
  suggestMlpConfig,
} from '../search/mlp-space.js';

/** Bounds of the MLP of tables. */
export const TABLE_MLP_BOUNDS = { maxLayers: 3, minUnits: 8, maxUnits: 256 } as const;

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

export function suggestTableNetwork(trial: SuggestingTrial): MlpConfig {
  return suggestMlpConfig(trial, TABLE_MLP_BOUNDS);
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

/** The smallest MLP of the table space: one hidden layer of the fewest units on one input feature. */
export function smallestTableNetwork(classes: number): ModelSpec {
  return mlpSpec(smallestMlp(TABLE_MLP_BOUNDS), 1, classes);
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
