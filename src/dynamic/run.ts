/**
 * The four kinds of dynamic network trained and measured on a dataset end to end (what
 * `parsimony dynamic` and bench/dynamic.ts run): multilayer perceptrons on the dataset's features,
 * split and standardised as everywhere else, accuracy on the held-out test part.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { subset } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { fitStandardScaler, splitBundle } from '../data/transforms.js';
import { initBackend } from '../models/backends/index.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import { sequential } from '../models/spec/builder.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { saveModel } from '../models/tfjs/save.js';
import {
  evaluate,
  type TrainingData,
  type TrainOptions,
  trainingData,
  trainModel,
} from '../train/trainer.js';
import {
  applyTemperature,
  expectedCalibrationError,
  negativeLogLikelihood,
  type StageCalibration,
} from './calibration.js';
import { ModelCascade } from './cascade.js';
import { DEFAULT_GRADIENT_SCALE, EarlyExitNetwork, withExitHeads } from './early-exit.js';
import {
  chooseThreshold,
  DEFAULT_THRESHOLDS,
  type ExitPoint,
  exitCurve,
  type StageOutputs,
} from './exits.js';
import { DEFAULT_WIDTHS, SlimmableNetwork, type WidthResult } from './slimmable.js';

export interface DynamicRunOptions {
  dataset: string;
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  /** Train on this many samples of the training part (seeded draw); default all. */
  trainSize?: number;
  seed?: number;
  /** Save the trained network here. */
  out?: string;
}

export interface DynamicData {
  train: TrainingData;
  validation: TrainingData;
  test: TrainingData;
  features: number;
  classes: number;
}

export async function dynamicData(options: DynamicRunOptions): Promise<DynamicData> {
  const seed = options.seed ?? 0;
  const splits = splitBundle(await loadDataset(options.dataset), { seed });
  let train = splits.train;
  if (options.trainSize !== undefined && options.trainSize < train.numSamples) {
    const order = new Random(seed).fork('train-size').permutation(train.numSamples);
    train = subset(train, order.subarray(0, options.trainSize));
  }
  const scaler = fitStandardScaler(train);
  const shape = [train.numFeatures];
  await initBackend();
  return {
    train: trainingData(scaler.transform(train), shape),
    validation: trainingData(scaler.transform(splits.validation), shape),
    test: trainingData(scaler.transform(splits.test), shape),
    features: train.numFeatures,
    classes: train.classNames.length,
  };
}

function trainOptions(options: DynamicRunOptions): TrainOptions {
  return {
    epochs: options.epochs ?? 10,
    batchSize: options.batchSize ?? 32,
    seed: options.seed ?? 0,
    optimizer: { type: 'adam', learningRate: options.learningRate ?? 0.003 },
  };
}

function checkList(name: string, values: readonly number[], integer: boolean): void {
  if (values.length === 0 || values.some((v) => !(v > 0) || (integer && !Number.isInteger(v))))
    throw new InvalidArgumentError(`${name} must be a list of positive ${integer ? 'integers' : 'numbers'}`);
}

// ---- slimmable ---------------------------------------------------------------------------------

export interface SlimRunResult {
  dataset: string;
  hidden: number[];
  widths: WidthResult[];
  seconds: number;
}

/** Hidden layers dense (no bias) + batch norm + ReLU, then a softmax layer. */
export function slimmableMlp(features: number, hidden: readonly number[], classes: number): ModelSpec {
  let b = sequential([features], { name: 'slimmable-mlp' });
  hidden.forEach((units, i) => {
    b = b
      .add('dense', { name: `hidden-${i + 1}`, units, useBias: false })
      .add('batchNorm', { name: `bn-${i + 1}` })
      .add('activation', { name: `relu-${i + 1}`, activation: 'relu' });
  });
  return b.add('dense', { name: 'classes', units: classes, activation: 'softmax' }).build();
}

export async function runSlimmable(
  options: DynamicRunOptions & { hidden?: number[]; widths?: number[]; inplaceDistillation?: boolean },
): Promise<SlimRunResult> {
  const hidden = options.hidden ?? [128, 64];
  checkList('hidden', hidden, true);
  const data = await dynamicData(options);
  const started = performance.now();
  const network = await SlimmableNetwork.create(slimmableMlp(data.features, hidden, data.classes), {
    widths: options.widths ?? DEFAULT_WIDTHS,
    seed: options.seed ?? 0,
  });
  try {
    await network.train(data.train, trainOptions(options), {
      inplaceDistillation: options.inplaceDistillation ?? false,
    });
    const widths = await network.evaluateWidths(data.test);
    if (options.out) await network.save(options.out);
    return { dataset: options.dataset, hidden, widths, seconds: (performance.now() - started) / 1000 };
  } finally {
    network.dispose();
  }
}

// ---- early exit --------------------------------------------------------------------------------

export interface ThresholdRunResult {
  /** The accuracy asked for on validation data. */
  targetAccuracy: number;
  threshold: number;
  met: boolean;
  validation: ExitPoint;
  test: ExitPoint;
}

/** One stage's temperature (fitted on validation data) and its NLL and ECE before and after. */
export interface StageCalibrationResult {
  temperature: number;
  validation: { nllBefore: number; nllAfter: number; eceBefore: number; eceAfter: number };
  test: { nllBefore: number; nllAfter: number; eceBefore: number; eceAfter: number };
}

export interface EarlyExitRunResult {
  dataset: string;
  hidden: number[];
  /** MACs and parameters up to each head, and its test accuracy when every sample leaves there. */
  heads: { output: string; params: number; macs: number; testAccuracy: number }[];
  /** Per head, with `calibrate` (the default); else absent and confidences are raw. */
  calibration?: StageCalibrationResult[];
  /** On the test part, at the calibrated confidences when calibrated. */
  curve: ExitPoint[];
  chosen: ThresholdRunResult;
  /** When calibrated: the threshold chosen the same way on the raw confidences, for comparison. */
  uncalibrated?: ThresholdRunResult;
  seconds: number;
}

/**
 * Fits the stages' temperatures on validation outputs (`calibrate` does the fitting and keeps
 * them) and measures NLL and ECE on validation and test outputs before and after.
 */
function calibrationResults(
  fitted: readonly StageCalibration[],
  rawTest: readonly StageOutputs[],
  test: TrainingData,
): StageCalibrationResult[] {
  return fitted.map((f, s) => {
    const before = rawTest[s].probabilities;
    const after = applyTemperature(before, test.numClasses, f.temperature);
    return {
      temperature: f.temperature,
      validation: {
        nllBefore: f.nllBefore,
        nllAfter: f.nllAfter,
        eceBefore: f.eceBefore,
        eceAfter: f.eceAfter,
      },
      test: {
        nllBefore: negativeLogLikelihood(before, test.labels, test.numClasses),
        nllAfter: negativeLogLikelihood(after, test.labels, test.numClasses),
        eceBefore: expectedCalibrationError(before, test.labels, test.numClasses),
        eceAfter: expectedCalibrationError(after, test.labels, test.numClasses),
      },
    };
  });
}

/**
 * The threshold chosen on validation outputs for the target and its test point; the same
 * selection whether the outputs are calibrated or raw.
 */
function chooseOn(
  validation: readonly StageOutputs[],
  test: readonly StageOutputs[],
  data: DynamicData,
  target: number,
  thresholds: readonly number[],
): ThresholdRunResult {
  const choice = chooseThreshold(validation, data.validation.labels, data.classes, target, thresholds);
  const [point] = exitCurve(test, data.test.labels, data.classes, [choice.chosen.threshold]);
  return {
    targetAccuracy: target,
    threshold: choice.chosen.threshold,
    met: choice.met,
    validation: choice.chosen,
    test: point,
  };
}

/** Default target: half a point below the most accurate (most expensive) way, on validation data. */
const defaultTarget = (fullAccuracy: number) => Math.max(0, fullAccuracy - 0.005);

export async function runEarlyExit(
  options: DynamicRunOptions & {
    hidden?: number[];
    targetAccuracy?: number;
    thresholds?: number[];
    gradientScale?: number;
    /** Fit one temperature per head on validation data before choosing the threshold (default true). */
    calibrate?: boolean;
  },
): Promise<EarlyExitRunResult> {
  const hidden = options.hidden ?? [128, 128, 128];
  checkList('hidden', hidden, true);
  if (hidden.length < 2) throw new InvalidArgumentError('early exit needs at least two hidden layers');
  const data = await dynamicData(options);
  const started = performance.now();
  let b = sequential([data.features], { name: 'early-exit-mlp' });
  hidden.forEach((units, i) => {
    b = b.add('dense', { name: `block-${i + 1}`, units, activation: 'relu' });
  });
  const base = b.add('dense', { name: 'classes', units: data.classes, activation: 'softmax' }).build();
  const heads = hidden.slice(0, -1).map((_, i) => `block-${i + 1}`);
  const network = await EarlyExitNetwork.create(withExitHeads(base, heads), { seed: options.seed ?? 0 });
  try {
    await network.train(data.train, trainOptions(options), {
      gradientScale: options.gradientScale ?? DEFAULT_GRADIENT_SCALE,
    });
    const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
    const rawValidation = await network.headOutputs(data.validation, 512, false);
    const rawTest = await network.headOutputs(data.test, 512, false);
    const [full] = exitCurve(rawValidation, data.validation.labels, data.classes, [1]);
    const target = options.targetAccuracy ?? defaultTarget(full.accuracy);
    const calibrate = options.calibrate ?? true;
    const fitted = calibrate ? await network.calibrate(data.validation) : undefined;
    const choice = await network.chooseThreshold(data.validation, target, thresholds);
    const testOutputs = await network.headOutputs(data.test);
    const curve = exitCurve(testOutputs, data.test.labels, data.classes, thresholds);
    const [test] = exitCurve(testOutputs, data.test.labels, data.classes, [choice.chosen.threshold]);
    if (options.out) await network.save(options.out);
    return {
      dataset: options.dataset,
      hidden,
      heads: network.costs.map((c, h) => ({
        output: c.output,
        params: c.params,
        macs: c.activeMacs,
        testAccuracy: exitCurve([testOutputs[h]], data.test.labels, data.classes, [1])[0].accuracy,
      })),
      ...(fitted ? { calibration: calibrationResults(fitted, rawTest, data.test) } : {}),
      curve,
      chosen: {
        targetAccuracy: target,
        threshold: choice.chosen.threshold,
        met: choice.met,
        validation: choice.chosen,
        test,
      },
      ...(fitted ? { uncalibrated: chooseOn(rawValidation, rawTest, data, target, thresholds) } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    network.dispose();
  }
}

// ---- mixture of experts ------------------------------------------------------------------------

export interface MoeRunResult {
  dataset: string;
  experts: number;
  units: number;
  topK: number;
  params: number;
  activeParams: number;
  macs: number;
  activeMacs: number;
  testAccuracy: number;
  /** Share of the test samples whose first choice is each expert. */
  expertShares: number[];
  /** After each epoch, the share of the training samples whose first choice is each expert. */
  trainingShares: number[][];
  seconds: number;
}

export function moeMlp(
  features: number,
  classes: number,
  moe: { experts: number; units: number; topK: number; balanceWeight?: number; gateNoise?: number },
): ModelSpec {
  return sequential([features], { name: 'moe-mlp' })
    .add('mixtureOfExperts', { name: 'experts', activation: 'relu', ...moe })
    .add('dense', { name: 'classes', units: classes, activation: 'softmax' })
    .build();
}

export async function runMixtureOfExperts(
  options: DynamicRunOptions & {
    experts?: number;
    units?: number;
    topK?: number;
    balanceWeight?: number;
    gateNoise?: number;
  },
): Promise<MoeRunResult> {
  const data = await dynamicData(options);
  const started = performance.now();
  const moe = {
    experts: options.experts ?? 4,
    units: options.units ?? 128,
    topK: options.topK ?? 1,
    ...(options.balanceWeight === undefined ? {} : { balanceWeight: options.balanceWeight }),
    ...(options.gateNoise === undefined ? {} : { gateNoise: options.gateNoise }),
  };
  const spec = moeMlp(data.features, data.classes, moe);
  const a = analyzeModel(spec);
  const model = await buildTfjsModel(spec, { seed: options.seed ?? 0 });
  const tf = await import('@tensorflow/tfjs-core');
  // The gate's noiseless first choice per sample (what inference routes by), counted per expert.
  const shares = (part: TrainingData) =>
    tf.tidy(() => {
      const [kernel, bias] = model.getLayer('experts').getWeights();
      const x = tf.tensor2d(part.x, [part.labels.length, data.features]);
      const first = tf.argMax(tf.add(tf.matMul(x, kernel as TfCore.Tensor2D), bias), -1).dataSync();
      const counts = new Array<number>(moe.experts).fill(0);
      for (const e of first) counts[e] += 1 / first.length;
      return counts;
    });
  try {
    const trainingShares: number[][] = [];
    await trainModel(model, data.train, {
      ...trainOptions(options),
      onEpoch: () => trainingShares.push(shares(data.train)),
    });
    const testAccuracy = (await evaluate(model, data.test)).accuracy;
    const expertShares = shares(data.test);
    if (options.out) await saveModel(model, spec, options.out);
    return {
      dataset: options.dataset,
      ...moe,
      params: a.params,
      activeParams: a.activeParams,
      macs: a.macs,
      activeMacs: a.activeMacs,
      testAccuracy,
      expertShares,
      trainingShares,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}

// ---- cascade -----------------------------------------------------------------------------------

export interface CascadeRunResult {
  dataset: string;
  /** Hidden units of each member (one hidden layer each), and each member alone. */
  members: { hidden: number; macs: number; testAccuracy: number }[];
  /** Per member, with `calibrate` (the default). */
  calibration?: StageCalibrationResult[];
  /** On the test part, at the calibrated confidences when calibrated. */
  curve: ExitPoint[];
  chosen: ThresholdRunResult;
  /** When calibrated: the threshold chosen the same way on the raw confidences, for comparison. */
  uncalibrated?: ThresholdRunResult;
  seconds: number;
}

export async function runCascade(
  options: DynamicRunOptions & {
    members?: number[];
    targetAccuracy?: number;
    thresholds?: number[];
    /** Fit one temperature per member on validation data before choosing the threshold (default true). */
    calibrate?: boolean;
  },
): Promise<CascadeRunResult> {
  const sizes = options.members ?? [8, 32, 128];
  checkList('members', sizes, true);
  const data = await dynamicData(options);
  const started = performance.now();
  const specs = sizes.map((hidden) =>
    sequential([data.features], { name: `mlp-${hidden}` })
      .add('dense', { units: hidden, activation: 'relu' })
      .add('dense', { units: data.classes, activation: 'softmax' })
      .build(),
  );
  const cascade = await ModelCascade.train(specs, data.train, trainOptions(options));
  try {
    const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
    const rawValidation = await cascade.memberOutputs(data.validation, 512, false);
    const rawTest = await cascade.memberOutputs(data.test, 512, false);
    const testOutputs = rawTest;
    const members = sizes.map((hidden, i) => {
      const [alone] = chooseThreshold(
        [{ ...testOutputs[i], cumulativeMacs: cascade.memberMacs[i] }],
        data.test.labels,
        data.classes,
        0,
        [1],
      ).curve;
      return { hidden, macs: cascade.memberMacs[i], testAccuracy: alone.accuracy };
    });
    const [largest] = exitCurve(rawValidation, data.validation.labels, data.classes, [1]);
    const target = options.targetAccuracy ?? defaultTarget(largest.accuracy);
    const fitted = (options.calibrate ?? true) ? await cascade.calibrate(data.validation) : undefined;
    const choice = await cascade.chooseThreshold(data.validation, target, thresholds);
    const curve = await cascade.curve(data.test, thresholds);
    const [test] = await cascade.curve(data.test, [cascade.threshold]);
    if (options.out) await cascade.save(options.out);
    return {
      dataset: options.dataset,
      members,
      ...(fitted ? { calibration: calibrationResults(fitted, rawTest, data.test) } : {}),
      curve,
      chosen: {
        targetAccuracy: target,
        threshold: cascade.threshold,
        met: choice.met,
        validation: choice.chosen,
        test,
      },
      ...(fitted ? { uncalibrated: chooseOn(rawValidation, rawTest, data, target, thresholds) } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    cascade.dispose();
  }
}
