/**
 * The objective of the size search, run in a worker thread (one trial per core): suggest an MLP,
 * write it as a model spec, measure its complexity from the spec alone (rejecting it before any
 * training when it breaks the parameter budget), build and train it on the seeded split, report
 * [validation accuracy, parameters] each epoch so the Pareto pruner can stop weak trials, and
 * return the same pair.
 */
import { TrialPruned } from '../core/errors.js';
import { loadDataset } from '../data/registry.js';
import { fitStandardScaler, splitBundle } from '../data/transforms.js';
import { initBackend } from '../models/backends/index.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { evaluate, type TrainingData, trainingData, trainModel } from '../train/trainer.js';
import { SIZE_SEARCH_SPLIT } from './defaults.js';
import { mlpSpec, type SuggestingTrial, suggestMlpConfig } from './mlp-space.js';

export { mlpSpec };

/** What every thread needs to know about the search (passed as the thread context). */
export interface MlpSearchContext {
  dataset: string;
  /** Seed of the data split and of every trial's initialisation, shuffling and dropout. */
  seed: number;
  maxEpochs: number;
  /** Epochs without validation improvement before a trial stops early. */
  patience: number;
  maxUnits: number;
  maxLayers: number;
  /** Optional parameter budget: larger configurations are rejected before any training. */
  maxParams?: number;
}

export interface SearchTrial extends SuggestingTrial {
  readonly number: number;
  report(value: number | number[], step: number): void;
  shouldPrune(): boolean;
  setUserAttr(key: string, value: unknown): void;
}

/** User attributes every finished trial of the size search carries. */
export const MLP_ATTRS = {
  params: 'params',
  connections: 'connections',
  macs: 'macs',
  testAccuracy: 'testAccuracy',
  epochs: 'epochs',
  seconds: 'trainSeconds',
  overBudget: 'overBudget',
} as const;

interface Prepared {
  inputs: number;
  classes: number;
  train: TrainingData;
  validation: TrainingData;
  test: TrainingData;
}

let prepared: Promise<Prepared> | undefined;
let preparedKey = '';

/** Loads, splits and standardises the data once per thread; every trial sees the same split. */
function prepare(context: MlpSearchContext): Promise<Prepared> {
  const key = `${context.dataset}:${context.seed}`;
  if (prepared && preparedKey === key) return prepared;
  preparedKey = key;
  prepared = (async () => {
    await initBackend();
    const splits = splitBundle(await loadDataset(context.dataset), {
      seed: context.seed,
      ...SIZE_SEARCH_SPLIT,
    });
    const scaler = fitStandardScaler(splits.train);
    const flat = [splits.train.numFeatures];
    return {
      inputs: splits.train.numFeatures,
      classes: splits.train.classNames.length,
      train: trainingData(scaler.transform(splits.train), flat),
      validation: trainingData(scaler.transform(splits.validation), flat),
      test: trainingData(scaler.transform(splits.test), flat),
    };
  })();
  return prepared;
}

export async function objective(trial: SearchTrial, context: MlpSearchContext): Promise<number[]> {
  const config = suggestMlpConfig(trial, {
    maxLayers: context.maxLayers,
    minUnits: 8,
    maxUnits: context.maxUnits,
  });
  const data = await prepare(context);
  const spec = mlpSpec(config, data.inputs, data.classes);
  const complexity = analyzeModel(spec);
  trial.setUserAttr(MLP_ATTRS.params, complexity.params);
  trial.setUserAttr(MLP_ATTRS.connections, complexity.connections);
  trial.setUserAttr(MLP_ATTRS.macs, complexity.macs);
  if (context.maxParams !== undefined && complexity.params > context.maxParams) {
    // Rejected from the spec alone: nothing is built or trained.
    trial.setUserAttr(MLP_ATTRS.overBudget, true);
    throw new TrialPruned(`${complexity.params} parameters exceed the budget of ${context.maxParams}`);
  }
  const seed = context.seed * 100_003 + trial.number;
  const model = await buildTfjsModel(spec, { seed });
  try {
    const result = await trainModel(model, data.train, {
      epochs: context.maxEpochs,
      batchSize: config.batchSize,
      optimizer: { type: 'adam', learningRate: config.learningRate },
      regularization: { l2: config.l2 },
      validation: data.validation,
      earlyStopping: { monitor: 'valAccuracy', patience: context.patience, restoreBestWeights: true },
      seed,
      trial,
      // Both objectives, so the multi-objective pruner ranks the curve by accuracy and size.
      reportValue: (m) => [m.valAccuracy ?? 0, complexity.params],
    });
    const best = result.history[result.bestEpoch ?? result.history.length - 1];
    const test = await evaluate(model, data.test);
    trial.setUserAttr(MLP_ATTRS.testAccuracy, test.accuracy);
    trial.setUserAttr(MLP_ATTRS.epochs, result.history.length);
    trial.setUserAttr(MLP_ATTRS.seconds, Math.round(result.seconds * 1000) / 1000);
    return [best.valAccuracy ?? 0, complexity.params];
  } finally {
    model.dispose();
  }
}
