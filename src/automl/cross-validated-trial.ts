/**
 * An AutoML trial on a small table, scored by stratified k-fold cross-validation instead of one
 * validation split: on 142 development rows (wine) one validation row is 3.5 points, so a single
 * split picks configurations by luck. The training and validation parts are pooled into the
 * development rows; each fold fits the trial's feature preparation on its training rows only,
 * trains with early stopping on its held-out rows (validation loss, best weights kept) and scores
 * accuracy there. The trial's value is the mean over the folds, reported to the pruner after each
 * fold (the step is the fold count). A trial that survives every fold is refitted on all
 * development rows for the mean of the folds' best epoch counts, and that refitted model is the
 * one measured on the test rows and saved, with the preparation fitted on all development rows.
 */
import { TrialPruned } from '../core/errors.js';
import { createDataset, type Dataset, subset } from '../data/dataset.js';
import { type FeatureChoices, fitFeatureSteps, transformDataset } from '../data/feature-pipeline.js';
import { stratifiedFolds } from '../evaluate/cross-validation.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { checkBudget } from '../search/image-space.js';
import type { SearchTrial } from '../search/mlp-objective.js';
import { suggestTabularLayers, tabularSpec } from '../search/tabular-space.js';
import { evaluate, trainingData, trainModel } from '../train/trainer.js';
import type { AutomlData } from './data.js';
import { type TableTraining, tableSpaceOptions } from './space.js';

/** What the trial needs of the run (a subset of the thread context). */
export interface CrossValidationContext {
  seed: number;
  folds: number;
  maxParams?: number;
  maxMacs?: number;
  maxEpochs: number;
  patience: number;
  deadline: number;
}

export interface CrossValidatedTrialResult {
  /** Mean held-out accuracy over the folds. */
  accuracy: number;
  params: number;
  foldAccuracies: number[];
  /** Out-of-fold class probabilities of every development row (rows x classes), for ensembles. */
  outOfFold: Float32Array;
  /** Mean held-out loss at the folds' best epochs (the tie-breaker of equal accuracies). */
  validationLoss: number;
  /** Epochs of the refit on all development rows. */
  refitEpochs: number;
  testAccuracy: number;
  features: number;
  seconds: number;
  /** The refitted model (the caller saves and disposes it), its spec and its preparation. */
  model: Awaited<ReturnType<typeof buildTfjsModel>>;
  spec: ReturnType<typeof tabularSpec>;
  steps: ReturnType<typeof fitFeatureSteps>;
}

/** The training and validation rows of a run as one dataset, training rows first. */
export function developmentRows(data: Pick<AutomlData, 'train' | 'validation'>): Dataset {
  const { train, validation } = data;
  const values = new Float32Array(train.data.length + validation.data.length);
  values.set(train.data);
  values.set(validation.data, train.data.length);
  const labels = new Int32Array(train.numSamples + validation.numSamples);
  labels.set(train.labels);
  labels.set(validation.labels, train.numSamples);
  return createDataset({
    name: `${train.name} (train + validation)`,
    data: values,
    numFeatures: train.numFeatures,
    labels,
    classNames: train.classNames,
    provenance: train.provenance,
  });
}

/** The fold count a run uses by default: 5 on tables of at most this many development rows. */
export const CROSS_VALIDATION_MAX_ROWS = 5000;
export const DEFAULT_FOLDS = 5;

/**
 * Folds for a table of `rows` development rows whose smallest class has `smallestClass` rows: 5,
 * or fewer when the smallest class cannot fill 5 folds, and 0 (one validation split) on larger
 * tables or when fewer than 2 folds are possible.
 */
export function defaultFolds(rows: number, smallestClass: number): number {
  if (rows > CROSS_VALIDATION_MAX_ROWS) return 0;
  const folds = Math.min(DEFAULT_FOLDS, smallestClass);
  return folds >= 2 ? folds : 0;
}

interface Prepared {
  steps: ReturnType<typeof fitFeatureSteps>;
  train: Dataset;
  heldOut: Dataset;
}

/** Development rows, folds and prepared parts of the data this thread holds (one run per thread). */
class FoldCache {
  private key = '';
  private development: Dataset | undefined;
  private folds: Int32Array[] = [];
  private readonly prepared = new Map<string, Prepared>();

  setup(data: AutomlData, folds: number, seed: number): { development: Dataset; folds: Int32Array[] } {
    const key = JSON.stringify([data.name, data.train.numSamples, folds, seed]);
    if (key !== this.key || !this.development) {
      this.key = key;
      this.development = developmentRows(data);
      this.folds = stratifiedFolds(this.development.labels, data.classNames.length, folds, seed);
      this.prepared.clear();
    }
    return { development: this.development, folds: this.folds };
  }

  developmentSize(): number {
    return this.development?.numSamples ?? 0;
  }

  /** Fold `fold`'s prepared training and held-out rows, or (fold -1) all development rows and the test rows. */
  prepare(data: AutomlData, choices: FeatureChoices, fold: number, seed: number): Prepared {
    const key = JSON.stringify([choices, fold]);
    let entry = this.prepared.get(key);
    if (!entry) {
      const development = this.development as Dataset;
      let train: Dataset;
      let heldOut: Dataset;
      if (fold < 0) {
        train = development;
        heldOut = data.test;
      } else {
        const inFold = new Uint8Array(development.numSamples);
        for (const i of this.folds[fold]) inFold[i] = 1;
        const rest: number[] = [];
        for (let i = 0; i < inFold.length; i++) if (!inFold[i]) rest.push(i);
        train = subset(development, rest);
        heldOut = subset(development, this.folds[fold]);
      }
      const steps = fitFeatureSteps(train, choices, seed);
      entry = { steps, train: transformDataset(steps, train), heldOut: transformDataset(steps, heldOut) };
      this.prepared.set(key, entry);
      // A preparation choice holds folds + 1 entries; RFE refits a model, so keep a few choices.
      if (this.prepared.size > 6 * (this.folds.length + 1))
        this.prepared.delete(this.prepared.keys().next().value as string);
    }
    return entry;
  }
}

const cache = new FoldCache();

/** The model's class probabilities for every row of `data` (rows x classes). */
async function predictProbabilities(
  model: Awaited<ReturnType<typeof buildTfjsModel>>,
  data: Dataset,
): Promise<Float32Array> {
  const tf = await import('@tensorflow/tfjs-core');
  return tf.tidy(() => {
    const x = tf.tensor2d(data.data, [data.numSamples, data.numFeatures]);
    return (model.predict(x) as import('@tensorflow/tfjs-core').Tensor).dataSync() as Float32Array;
  });
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Runs one cross-validated trial; throws TrialPruned (pruner, time budget) or OverBudget. */
export async function crossValidatedTableTrial(
  trial: SearchTrial,
  context: CrossValidationContext,
  data: AutomlData,
  choices: FeatureChoices,
  training: TableTraining,
): Promise<CrossValidatedTrialResult> {
  const classes = data.classNames.length;
  const { folds } = cache.setup(data, context.folds, context.seed);
  const full = cache.prepare(data, choices, -1, context.seed);
  const features = full.train.numFeatures;
  // The network is chosen once; a fold's preparation may give it another input width (PCA by variance).
  const layers = suggestTabularLayers(trial, tableSpaceOptions(features, classes, context));
  const spec = tabularSpec(layers, [features], classes);
  const { params } = checkBudget(trial, spec, context);
  const seed = context.seed * 100_003 + trial.number;
  const fit = {
    batchSize: training.batchSize,
    optimizer: { type: 'adam' as const, learningRate: training.learningRate },
    ...(training.l2 > 0 ? { regularization: { l2: training.l2 } } : {}),
  };
  const secondsLeft = () => {
    const left = (context.deadline - Date.now()) / 1000;
    if (left <= 0) throw new TrialPruned('the time budget is spent');
    return left;
  };
  const accuracies: number[] = [];
  const losses: number[] = [];
  const outOfFold = new Float32Array(cache.developmentSize() * classes);
  const bestEpochs: number[] = [];
  let seconds = 0;
  for (let f = 0; f < folds.length; f++) {
    const part = cache.prepare(data, choices, f, context.seed);
    const shape = [part.train.numFeatures];
    const model = await buildTfjsModel(tabularSpec(layers, shape, classes), { seed: seed + 7919 * (f + 1) });
    try {
      const result = await trainModel(model, trainingData(part.train, shape), {
        ...fit,
        epochs: context.maxEpochs,
        validation: trainingData(part.heldOut, shape),
        earlyStopping: { monitor: 'valLoss', patience: context.patience, restoreBestWeights: true },
        timeBudgetSeconds: secondsLeft(),
        seed: seed + 7919 * (f + 1),
      });
      if (result.stopped === 'time-budget') throw new TrialPruned(`the time budget ended in fold ${f + 1}`);
      const bestEpoch = result.bestEpoch ?? result.history.length - 1;
      const best = result.history[bestEpoch];
      accuracies.push(best.valAccuracy ?? 0);
      losses.push(best.valLoss ?? Number.NaN);
      bestEpochs.push(bestEpoch + 1);
      seconds += result.seconds;
      const probabilities = await predictProbabilities(model, part.heldOut);
      folds[f].forEach((row, k) => {
        outOfFold.set(probabilities.subarray(k * classes, (k + 1) * classes), row * classes);
      });
    } finally {
      model.dispose();
    }
    trial.report([mean(accuracies), params], f + 1);
    if (trial.shouldPrune()) throw new TrialPruned(`pruned after fold ${f + 1} of ${folds.length}`);
  }
  const refitEpochs = Math.max(1, Math.round(mean(bestEpochs)));
  const shape = [features];
  const model = await buildTfjsModel(spec, { seed });
  try {
    const result = await trainModel(model, trainingData(full.train, shape), {
      ...fit,
      epochs: refitEpochs,
      timeBudgetSeconds: secondsLeft(),
      seed,
    });
    if (result.stopped === 'time-budget') throw new TrialPruned('the time budget ended in the refit');
    seconds += result.seconds;
    const testAccuracy = (await evaluate(model, trainingData(full.heldOut, shape))).accuracy;
    return {
      accuracy: mean(accuracies),
      params,
      foldAccuracies: accuracies,
      outOfFold,
      validationLoss: mean(losses),
      refitEpochs,
      testAccuracy,
      features,
      seconds,
      model,
      spec,
      steps: full.steps,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
