/**
 * One AutoML trial, run in a worker thread: choose and fit the feature preparation on the training
 * split, choose the network (rejected from its spec alone when over budget), train it with the
 * run's deadline as its time budget while reporting [validation accuracy, parameters] each epoch to
 * the Pareto pruner, measure test accuracy, and save model, spec and pipeline to the trial's
 * directory.
 */
import path from 'node:path';
import { TrialPruned } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import {
  type FeatureChoices,
  type FeaturePipeline,
  fitFeatureSteps,
  transformDataset,
} from '../data/feature-pipeline.js';
import { initBackend } from '../models/backends/index.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { imageSpace } from '../search/image-space.js';
import type { SearchTrial } from '../search/mlp-objective.js';
import { saveTrialModel } from '../search/model-output.js';
import { tabularSpace } from '../search/tabular-space.js';
import { evaluate, trainingData, trainModel } from '../train/trainer.js';
import { predictionSeconds, type StepTiming } from './budget-plan.js';
import { crossValidatedTableTrial } from './cross-validated-trial.js';
import { type AutomlData, type AutomlSource, loadAutomlData } from './data.js';
import { searchSubset } from './final.js';
import {
  imageSpaceOptions,
  suggestImageTraining,
  suggestTablePreparation,
  suggestTableTraining,
  type TableTraining,
  tableSpaceOptions,
} from './space.js';

/** What every thread needs to know (the thread context). */
export interface AutomlContext {
  source: AutomlSource;
  seed: number;
  /** Where each finished trial saves its model (`trial-<n>/`). */
  trialsDir: string;
  maxParams?: number;
  maxMacs?: number;
  maxEpochs: number;
  /** Training samples of each trial (the first ones of the shuffled training split). */
  searchSamples?: number;
  patience: number;
  /** Tables: score each trial by stratified k-fold CV on train + validation and refit on both (0: one validation split). */
  folds: number;
  /** Wall-clock end of the search (ms since the epoch): its hard stop. */
  deadline: number;
  /**
   * Where trials stop training, in ms after `origin`, shared with the run's thread: the wrap-up
   * while no trial has completed (there is nothing to retrain yet), the search's deadline after.
   */
  stop?: { origin: number; at: Int32Array };
  /** Images: training seconds per sample here, to keep time for validating, testing and saving. */
  stepTiming?: StepTiming;
}

/** User attributes of AutoML trials. */
export const AUTOML_ATTRS = {
  params: 'params',
  macs: 'macs',
  testAccuracy: 'testAccuracy',
  epochs: 'epochs',
  seconds: 'trainSeconds',
  trainSamples: 'trainSamples',
  features: 'features',
  validationLoss: 'validationLoss',
  model: 'modelDir',
  overBudget: 'overBudget',
  foldAccuracies: 'foldAccuracies',
  outOfFold: 'outOfFoldProbabilities',
} as const;

let loaded: Promise<AutomlData> | undefined;
let loadedKey = '';

function load(context: AutomlContext): Promise<AutomlData> {
  const key = JSON.stringify([context.source, context.seed]);
  if (!loaded || loadedKey !== key) {
    loadedKey = key;
    loaded = (async () => {
      await initBackend();
      return loadAutomlData(context.source, context.seed);
    })();
  }
  return loaded;
}

/** Prepared splits per preparation choice; RFE refits a model, so the last few are kept. */
const preparedCache = new Map<string, { steps: ReturnType<typeof fitFeatureSteps>; parts: Dataset[] }>();

function prepare(data: AutomlData, choices: FeatureChoices, seed: number) {
  const key = JSON.stringify(choices);
  let entry = preparedCache.get(key);
  if (!entry) {
    const steps = fitFeatureSteps(data.train, choices, seed);
    entry = { steps, parts: [data.train, data.validation, data.test].map((d) => transformDataset(steps, d)) };
    preparedCache.set(key, entry);
    if (preparedCache.size > 6) preparedCache.delete(preparedCache.keys().next().value as string);
  }
  return entry;
}

export async function objective(trial: SearchTrial, context: AutomlContext): Promise<number[]> {
  const data = await load(context);
  const classes = data.classNames.length;
  let choices: FeatureChoices;
  let spec: ModelSpec;
  let training: { learningRate: number; batchSize: number; l2: number };
  if (data.kind === 'table') {
    choices = suggestTablePreparation(trial, data.train.numFeatures);
    training = suggestTableTraining(trial);
    if (context.folds >= 2) return crossValidatedObjective(trial, context, data, choices, training);
    const { parts } = prepare(data, choices, context.seed);
    spec = tabularSpace(trial, tableSpaceOptions(parts[0].numFeatures, classes, context));
  } else {
    const image = suggestImageTraining(trial);
    choices = { scaler: image.scaler, reduction: 'none' };
    training = { learningRate: image.learningRate, batchSize: image.batchSize, l2: 0 };
    spec = imageSpace(trial, imageSpaceOptions(data.inputShape, classes, context));
  }
  const stop = context.stop;
  const deadline = () => (stop ? stop.origin + Atomics.load(stop.at, 0) : context.deadline);
  const secondsLeft = (deadline() - Date.now()) / 1000;
  if (secondsLeft <= 0) throw new TrialPruned('the time budget is spent');
  const { steps, parts } = prepare(data, choices, context.seed);
  const [prepared, validation, test] = parts;
  const train = searchSubset(prepared, context.searchSamples);
  const shape = data.kind === 'image' ? data.inputShape : [train.numFeatures];
  trial.setUserAttr(AUTOML_ATTRS.features, train.numFeatures);
  trial.setUserAttr(AUTOML_ATTRS.trainSamples, train.numSamples);
  const { params, macs } = analyzeModel(spec);
  // Training stops early enough for the last validation pass, the test pass and saving (with a
  // margin) to end before the search's hard stop.
  const reserve = context.stepTiming
    ? 1.5 * predictionSeconds(context.stepTiming, macs, validation.numSamples + test.numSamples) + 0.5
    : 0;
  if (secondsLeft - reserve <= 0)
    throw new TrialPruned('the time budget leaves no time to train, test and save this network');
  const seed = context.seed * 100_003 + trial.number;
  const model = await buildTfjsModel(spec, { seed });
  // Training stops after the batch that passes the (possibly moved) deadline less the reserve.
  const halt = new AbortController();
  try {
    const result = await trainModel(model, trainingData(train, shape), {
      epochs: context.maxEpochs,
      batchSize: training.batchSize,
      optimizer: { type: 'adam', learningRate: training.learningRate },
      ...(training.l2 > 0 ? { regularization: { l2: training.l2 } } : {}),
      validation: trainingData(validation, shape),
      earlyStopping: { monitor: 'valAccuracy', patience: context.patience, restoreBestWeights: true },
      signal: halt.signal,
      onStep: () => {
        if (Date.now() > deadline() - reserve * 1000) halt.abort();
      },
      seed,
      trial,
      reportValue: (m) => [m.valAccuracy ?? 0, params],
    });
    if (result.history.length === 0) throw new TrialPruned('the time budget ended before the first epoch');
    const best = result.history[result.bestEpoch ?? result.history.length - 1];
    const testAccuracy = (await evaluate(model, trainingData(test, shape))).accuracy;
    trial.setUserAttr(AUTOML_ATTRS.testAccuracy, testAccuracy);
    if (best.valLoss !== undefined) trial.setUserAttr(AUTOML_ATTRS.validationLoss, best.valLoss);
    trial.setUserAttr(AUTOML_ATTRS.epochs, result.history.length);
    trial.setUserAttr(AUTOML_ATTRS.seconds, Math.round(result.seconds * 1000) / 1000);
    const pipeline = trialPipeline(data, steps, shape);
    const dir = path.join(context.trialsDir, `trial-${trial.number}`);
    await saveTrialModel(dir, model, spec, pipeline);
    trial.setUserAttr(AUTOML_ATTRS.model, path.basename(dir));
    return [best.valAccuracy ?? 0, params];
  } finally {
    model.dispose();
  }
}

/** A table trial scored by k-fold CV; the model refitted on train + validation is the one saved. */
async function crossValidatedObjective(
  trial: SearchTrial,
  context: AutomlContext,
  data: AutomlData,
  choices: FeatureChoices,
  training: TableTraining,
): Promise<number[]> {
  const result = await crossValidatedTableTrial(trial, context, data, choices, training);
  try {
    trial.setUserAttr(AUTOML_ATTRS.features, result.features);
    trial.setUserAttr(AUTOML_ATTRS.testAccuracy, result.testAccuracy);
    trial.setUserAttr(AUTOML_ATTRS.validationLoss, result.validationLoss);
    trial.setUserAttr(AUTOML_ATTRS.foldAccuracies, result.foldAccuracies);
    // Rounded: thousands of numbers per trial in the study, read back by the ensemble selection.
    trial.setUserAttr(
      AUTOML_ATTRS.outOfFold,
      Array.from(result.outOfFold, (p) => Math.round(p * 1e5) / 1e5),
    );
    trial.setUserAttr(AUTOML_ATTRS.epochs, result.refitEpochs);
    trial.setUserAttr(AUTOML_ATTRS.seconds, Math.round(result.seconds * 1000) / 1000);
    const pipeline = trialPipeline(data, result.steps, [result.features]);
    const dir = path.join(context.trialsDir, `trial-${trial.number}`);
    await saveTrialModel(dir, result.model, result.spec, pipeline);
    trial.setUserAttr(AUTOML_ATTRS.model, path.basename(dir));
    return [result.accuracy, result.params];
  } finally {
    result.model.dispose();
  }
}

/** What `parsimony predict` needs besides the network: the data's names and the fitted feature steps. */
function trialPipeline(
  data: AutomlData,
  steps: FeaturePipeline['steps'],
  inputShape: FeaturePipeline['inputShape'],
): FeaturePipeline {
  return {
    format: 'parsimony-pipeline',
    version: 1,
    classNames: data.classNames,
    target: data.target,
    featureNames: data.featureNames,
    ...(data.table ? { table: data.table } : {}),
    steps,
    inputShape,
  };
}
