/**
 * The objective of the size search, run in a worker thread (one trial per core): suggest an MLP,
 * write it as a model spec, measure its complexity from the spec alone (rejecting it before any
 * training when it breaks the parameter budget), build and train it on the seeded split, report
 * [validation accuracy, parameters] each epoch so the Pareto pruner can stop weak trials, and
 * return the same pair.
 */
import path from 'node:path';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { distillationLoss } from '../compress/distill/loss.js';
import { checkTeacherStudent, logitsSpec } from '../compress/distill/teacher.js';
import { buildModelWithWeights, loadModelWeights } from '../compress/model-weights.js';
import { InvalidArgumentError, TrialPruned } from '../core/errors.js';
import type { FeaturePipeline } from '../data/feature-pipeline.js';
import { loadDatasetSplits } from '../data/registry.js';
import { fitStandardScaler } from '../data/transforms.js';
import { initBackend } from '../models/backends/index.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import {
  evaluate,
  type TrainingData,
  type TrainingHooks,
  trainingData,
  trainModel,
} from '../train/trainer.js';
import { SIZE_SEARCH_SPLIT } from './defaults.js';
import { mlpSpec, type SuggestingTrial, suggestMlpConfig } from './mlp-space.js';
import { saveTrialModel } from './model-output.js';

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
  /**
   * Teacher-guided size search: every trial's network is trained with the distillation loss
   * from this saved model (its input must be the search's standardised, flattened features).
   */
  teacher?: TeacherContext;
  /** Where each finished trial saves its model directory (`trial-<n>/`, with pipeline.json). */
  modelsDir?: string;
}

export interface TeacherContext {
  /** A saved model directory (with parsimony-model.json). */
  dir: string;
  temperature: number;
  alpha: number;
  /**
   * Temperature and alpha as trial parameters (`distillTemperature` on a log scale in [1, 10],
   * `distillAlpha` in [0, 1]) instead of the fixed values above.
   */
  searchSettings?: boolean;
}

/** The trial's distillation settings: the fixed ones, or suggested when they are searched. */
export function trialTeacherSettings(trial: SuggestingTrial, context: TeacherContext): TeacherContext {
  if (!context.searchSettings) return context;
  return {
    ...context,
    temperature: trial.suggestFloat('distillTemperature', 1, 10, { log: true }),
    alpha: trial.suggestFloat('distillAlpha', 0, 1),
  };
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
  /** How raw rows become the network's input, saved with each model. */
  pipeline: Omit<FeaturePipeline, 'inputShape'>;
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
    const splits = await loadDatasetSplits(context.dataset, { seed: context.seed, ...SIZE_SEARCH_SPLIT });
    const scaler = fitStandardScaler(splits.train);
    const flat = [splits.train.numFeatures];
    const pipeline: Omit<FeaturePipeline, 'inputShape'> = {
      format: 'parsimony-pipeline',
      version: 1,
      classNames: [...splits.train.classNames],
      target: null,
      featureNames: splits.featureNames ?? [],
      ...(splits.preparation ? { table: splits.preparation } : {}),
      steps: [{ type: 'scale', scaler: scaler.getConfig() }],
    };
    return {
      pipeline,
      inputs: splits.train.numFeatures,
      classes: splits.train.classNames.length,
      train: trainingData(scaler.transform(splits.train), flat),
      validation: trainingData(scaler.transform(splits.validation), flat),
      test: trainingData(scaler.transform(splits.test), flat),
    };
  })();
  return prepared;
}

let teacherModel: Promise<{ model: TfLayers.LayersModel; spec: ModelSpec }> | undefined;
let teacherDir = '';

/** The teacher as a logits model, loaded once per thread. */
function loadTeacher(dir: string): Promise<{ model: TfLayers.LayersModel; spec: ModelSpec }> {
  if (teacherModel && teacherDir === dir) return teacherModel;
  teacherDir = dir;
  teacherModel = (async () => {
    await initBackend();
    const weights = await loadModelWeights(dir);
    const model = await buildModelWithWeights({ ...weights, spec: logitsSpec(weights.spec) });
    return { model, spec: weights.spec };
  })();
  return teacherModel;
}

/** Trainer hooks adding (1 - alpha) T^2 KL(teacher || student) to alpha * cross-entropy. */
export async function teacherHooks(context: TeacherContext, student: ModelSpec): Promise<TrainingHooks> {
  const tf = await import('@tensorflow/tfjs-core');
  const teacher = await loadTeacher(context.dir);
  checkTeacherStudent(teacher.spec, student, 'teacher-guided search');
  const studentInput = student.inputs[0].shape.join(',');
  const teacherInput = teacher.spec.inputs[0].shape.join(',');
  if (studentInput !== teacherInput)
    throw new InvalidArgumentError(
      `teacher-guided search: the teacher reads [${teacherInput}], the searched networks [${studentInput}]`,
    );
  const { temperature, alpha } = context;
  return {
    crossEntropyWeight: alpha,
    extraLoss: ({ x, output, targets }) =>
      tf.mul(
        distillationLoss(tf, output, teacher.model.apply(x, { training: false }) as typeof output, targets, {
          temperature,
          alpha: 0,
        }),
        1 - alpha,
      ),
  };
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
  // With a teacher the network trains on logits (its softmax removed); the cost is the same.
  const teacher = context.teacher ? trialTeacherSettings(trial, context.teacher) : undefined;
  const hooks = teacher ? await teacherHooks(teacher, spec) : undefined;
  const model = await buildTfjsModel(context.teacher ? logitsSpec(spec) : spec, { seed });
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
      ...(hooks ? { hooks } : {}),
      // Both objectives, so the multi-objective pruner ranks the curve by accuracy and size.
      reportValue: (m) => [m.valAccuracy ?? 0, complexity.params],
    });
    const best = result.history[result.bestEpoch ?? result.history.length - 1];
    const test = await evaluate(model, data.test);
    trial.setUserAttr(MLP_ATTRS.testAccuracy, test.accuracy);
    trial.setUserAttr(MLP_ATTRS.epochs, result.history.length);
    trial.setUserAttr(MLP_ATTRS.seconds, Math.round(result.seconds * 1000) / 1000);
    // A teacher-guided network was trained on logits; it is saved as searched, with its softmax.
    if (context.modelsDir && !context.teacher)
      await saveTrialModel(path.join(context.modelsDir, `trial-${trial.number}`), model, spec, {
        ...data.pipeline,
        inputShape: [data.inputs],
      });
    return [best.valAccuracy ?? 0, complexity.params];
  } finally {
    model.dispose();
  }
}
