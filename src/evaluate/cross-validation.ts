/**
 * Model assessment by resampling: stratified k-fold cross-validation of a spec, learning curves
 * (training-set size against training and validation accuracy, with a verdict on under- or
 * overfitting) and the choice of an MLP's depth by k-fold CV with the one-standard-error rule
 * (Breiman et al. 1984; Hastie, Tibshirani & Friedman, ESL §7.10). Every fold trains a fresh
 * model with the project's trainer; features are standardised with statistics of the training
 * part of each fold only, so no validation sample leaks into the preparation.
 */
import { DataError, InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { CsvTable } from '../data/csv.js';
import { type Dataset, subset } from '../data/dataset.js';
import {
  applyTablePreparation,
  fitTablePreparation,
  type TablePreparationOptions,
} from '../data/table-preparation.js';
import { fitStandardScaler } from '../data/transforms.js';
import { sequential } from '../models/spec/builder.js';
import type { LayerSpec, ModelSpec } from '../models/spec/types.js';
import type { OptimizerConfig } from '../train/optimizers.js';

/** How each model is trained (the same for every fold, fraction and depth). */
export interface FoldTrainingOptions {
  /** Training epochs per model (default 10). */
  epochs?: number;
  batchSize?: number;
  /** Default Adam with learning rate 0.01. */
  optimizer?: OptimizerConfig;
  /** Standardise features with the training part's mean and deviation (default true). */
  standardize?: boolean;
  /** Seeds the folds, the initialisation and the shuffling (default 0). */
  seed?: number;
}

export interface CrossValidateOptions extends FoldTrainingOptions {
  /** Number of folds, at least 2 and at most the smallest class's sample count (default 5). */
  folds?: number;
  /** Called after each fold's model is trained and scored. */
  onFold?: (fold: FoldResult) => void;
}

export interface FoldResult {
  /** 0-based. */
  fold: number;
  trainSize: number;
  validationSize: number;
  trainAccuracy: number;
  validationAccuracy: number;
  seconds: number;
}

export interface CrossValidationResult {
  folds: FoldResult[];
  /** Mean validation accuracy over the folds. */
  mean: number;
  /** Sample standard deviation (n - 1) of the folds' validation accuracies. */
  std: number;
  /** std / sqrt(folds): the standard error of the mean, used by the one-standard-error rule. */
  standardError: number;
  meanTrainAccuracy: number;
}

function smallestClassCount(labels: Int32Array, numClasses: number): { count: number; label: number } {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of labels) counts[label]++;
  let best = { count: Number.POSITIVE_INFINITY, label: -1 };
  counts.forEach((count, label) => {
    // A class without samples cannot be stratified and does not limit the folds.
    if (count > 0 && count < best.count) best = { count, label };
  });
  return best;
}

/**
 * Checks a fold count against the data: at least 2, and at most the smallest class's sample count
 * (with more folds, some fold would hold no sample of that class).
 */
export function checkFolds(folds: number, labels: Int32Array, classNames: readonly string[]): void {
  if (!Number.isInteger(folds) || folds < 2)
    throw new InvalidArgumentError(`folds must be an integer of at least 2, got ${folds}`);
  const smallest = smallestClassCount(labels, classNames.length);
  if (folds > smallest.count)
    throw new DataError(
      `folds (${folds}) exceed the ${smallest.count} samples of the smallest class "${classNames[smallest.label]}"; use at most ${smallest.count} folds`,
    );
}

/**
 * Stratified fold assignment: each class's samples are shuffled (seeded) and the classes laid end
 * to end; position p goes to fold p mod k. Every class then has floor or ceil of its count / k
 * samples in each fold, and the fold sizes differ by at most one. Returns, per fold, the indices
 * of its samples in ascending order; the folds are disjoint and together cover every sample.
 */
export function stratifiedFolds(
  labels: Int32Array,
  numClasses: number,
  folds: number,
  seed = 0,
): Int32Array[] {
  if (!Number.isInteger(folds) || folds < 2)
    throw new InvalidArgumentError(`folds must be an integer of at least 2, got ${folds}`);
  const rng = new Random(seed).fork('folds');
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((label, i) => {
    byClass[label].push(i);
  });
  const members: number[][] = Array.from({ length: folds }, () => []);
  let position = 0;
  for (const indices of byClass)
    for (const i of rng.shuffle(indices)) {
      members[position % folds].push(i);
      position++;
    }
  return members.map((m) => Int32Array.from(m.sort((a, b) => a - b)));
}

/** The indices of every sample outside the given fold, ascending. */
function complement(n: number, fold: Int32Array): Int32Array {
  const inFold = new Uint8Array(n);
  for (const i of fold) inFold[i] = 1;
  const out = new Int32Array(n - fold.length);
  let k = 0;
  for (let i = 0; i < n; i++) if (!inFold[i]) out[k++] = i;
  return out;
}

function inputShape(spec: ModelSpec, data: Dataset): number[] {
  if (spec.inputs.length !== 1)
    throw new InvalidArgumentError(`${spec.name ?? 'model'}: cross-validation needs a model with one input`);
  const shape = spec.inputs[0].shape;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.numFeatures)
    throw new DataError(
      `${spec.name ?? 'model'}: input shape [${shape.join(',')}] holds ${size} values, but dataset ${data.name} has ${data.numFeatures} features`,
    );
  return [...shape];
}

/** Trains a fresh model of the spec on `train` and scores it on `train` and `validation`. */
export async function trainAndScore(
  spec: ModelSpec,
  train: Dataset,
  validation: Dataset,
  options: FoldTrainingOptions,
): Promise<{ trainAccuracy: number; validationAccuracy: number; seconds: number }> {
  const { buildTfjsModel } = await import('../models/tfjs/build.js');
  const { evaluate, trainModel, trainingData } = await import('../train/trainer.js');
  const shape = inputShape(spec, train);
  let fitted = train;
  let held = validation;
  if (options.standardize ?? true) {
    const scaler = fitStandardScaler(train);
    fitted = scaler.transform(train);
    held = scaler.transform(validation);
  }
  const seed = options.seed ?? 0;
  const model = await buildTfjsModel(spec, { seed });
  try {
    const started = performance.now();
    await trainModel(model, trainingData(fitted, shape), {
      epochs: options.epochs ?? 10,
      batchSize: options.batchSize,
      optimizer: options.optimizer ?? { type: 'adam', learningRate: 0.01 },
      seed,
    });
    const seconds = (performance.now() - started) / 1000;
    const trainAccuracy = (await evaluate(model, trainingData(fitted, shape))).accuracy;
    const validationAccuracy = (await evaluate(model, trainingData(held, shape))).accuracy;
    return { trainAccuracy, validationAccuracy, seconds };
  } finally {
    model.dispose();
  }
}

function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/**
 * Stratified k-fold cross-validation: k models of the spec, each trained on k - 1 folds and scored
 * on the fold left out. Call `initBackend()` first.
 */
export async function crossValidate(
  spec: ModelSpec,
  data: Dataset,
  options: CrossValidateOptions = {},
): Promise<CrossValidationResult> {
  const k = options.folds ?? 5;
  checkFolds(k, data.labels, data.classNames);
  inputShape(spec, data);
  const seed = options.seed ?? 0;
  const folds = stratifiedFolds(data.labels, data.classNames.length, k, seed);
  const results: FoldResult[] = [];
  for (let f = 0; f < k; f++) {
    const train = subset(data, complement(data.numSamples, folds[f]), `${data.name} (fold ${f + 1} train)`);
    const validation = subset(data, folds[f], `${data.name} (fold ${f + 1})`);
    // Each fold's model gets its own initialisation seed, derived from the run's seed.
    const scored = await trainAndScore(spec, train, validation, { ...options, seed: seed * 1009 + f });
    const result: FoldResult = {
      fold: f,
      trainSize: train.numSamples,
      validationSize: validation.numSamples,
      ...scored,
    };
    results.push(result);
    options.onFold?.(result);
  }
  return summarize(results);
}

/**
 * Cross-validation of a CSV table with categorical columns or missing cells: in each fold the
 * table preparation (imputation, indicators, one-hot/ordinal codes) is fitted on the training
 * folds only and applied to the held-out fold. The feature count can differ between folds (a
 * level absent from a fold's training rows has no one-hot column), so the spec is built per fold
 * from it by `specFor(numFeatures)`.
 */
export async function crossValidateTable(
  specFor: (numFeatures: number) => ModelSpec,
  table: CsvTable,
  options: CrossValidateOptions & TablePreparationOptions = {},
): Promise<CrossValidationResult> {
  const k = options.folds ?? 5;
  checkFolds(k, table.labels, table.classNames);
  const seed = options.seed ?? 0;
  const folds = stratifiedFolds(table.labels, table.classNames.length, k, seed);
  const results: FoldResult[] = [];
  for (let f = 0; f < k; f++) {
    const trainRows = complement(table.labels.length, folds[f]);
    const preparation = fitTablePreparation(table, trainRows, options);
    const train = applyTablePreparation(preparation, table, trainRows, `${table.name} (fold ${f + 1} train)`);
    const validation = applyTablePreparation(preparation, table, folds[f], `${table.name} (fold ${f + 1})`);
    const scored = await trainAndScore(specFor(train.numFeatures), train, validation, {
      ...options,
      seed: seed * 1009 + f,
    });
    const result: FoldResult = {
      fold: f,
      trainSize: train.numSamples,
      validationSize: validation.numSamples,
      ...scored,
    };
    results.push(result);
    options.onFold?.(result);
  }
  return summarize(results);
}

function summarize(results: FoldResult[]): CrossValidationResult {
  const { mean, std } = meanAndStd(results.map((r) => r.validationAccuracy));
  return {
    folds: results,
    mean,
    std,
    standardError: std / Math.sqrt(results.length),
    meanTrainAccuracy: meanAndStd(results.map((r) => r.trainAccuracy)).mean,
  };
}

// ---------------------------------------------------------------------------------------------
// Learning curves

export interface LearningCurvePoint {
  fraction: number;
  trainSize: number;
  trainAccuracy: number;
  validationAccuracy: number;
}

export type FitVerdict = 'underfitting' | 'overfitting' | 'good-fit';

export interface VerdictOptions {
  /** Largest train-minus-validation accuracy gap still called a good fit (default 0.05). */
  maxGap?: number;
  /** Training accuracy below which the model is too weak to fit its own data (default 0.9). */
  minTrainAccuracy?: number;
  /** Rise of validation accuracy over the last step that counts as still rising (default 0.01). */
  minRise?: number;
}

export interface CurveVerdict {
  verdict: FitVerdict;
  /** Train minus validation accuracy at the largest fraction. */
  gap: number;
  trainAccuracy: number;
  validationAccuracy: number;
  /** Validation accuracy rose by at least `minRise` over the last step: more data would likely help. */
  stillRising: boolean;
  /** One sentence: the rule that fired, with the numbers. */
  reason: string;
}

/**
 * The verdict of a learning curve, read at its largest training fraction:
 * - overfitting (high variance) when training accuracy exceeds validation accuracy by more than
 *   `maxGap` — the model fits its training samples much better than new ones;
 * - otherwise underfitting (high bias) when training accuracy is below `minTrainAccuracy` — the
 *   curves have met, but low: more data will not help, more capacity or training may;
 * - otherwise a good fit.
 * `stillRising` adds whether validation accuracy was still climbing at the end of the curve.
 */
export function learningCurveVerdict(
  points: readonly LearningCurvePoint[],
  options: VerdictOptions = {},
): CurveVerdict {
  if (points.length === 0) throw new InvalidArgumentError('learning curve: no points to judge');
  const maxGap = options.maxGap ?? 0.05;
  const minTrain = options.minTrainAccuracy ?? 0.9;
  const minRise = options.minRise ?? 0.01;
  const sorted = [...points].sort((a, b) => a.fraction - b.fraction);
  const last = sorted[sorted.length - 1];
  const previous = sorted.length > 1 ? sorted[sorted.length - 2] : undefined;
  const gap = last.trainAccuracy - last.validationAccuracy;
  const stillRising =
    previous !== undefined && last.validationAccuracy - previous.validationAccuracy >= minRise;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  let verdict: FitVerdict;
  let reason: string;
  if (gap > maxGap) {
    verdict = 'overfitting';
    reason = `training accuracy ${pct(last.trainAccuracy)} exceeds validation ${pct(last.validationAccuracy)} by ${pct(gap)} > ${pct(maxGap)}`;
  } else if (last.trainAccuracy < minTrain) {
    verdict = 'underfitting';
    reason = `training accuracy ${pct(last.trainAccuracy)} is below ${pct(minTrain)} with a gap of only ${pct(gap)}`;
  } else {
    verdict = 'good-fit';
    reason = `training accuracy ${pct(last.trainAccuracy)} is at least ${pct(minTrain)} and within ${pct(maxGap)} of validation ${pct(last.validationAccuracy)}`;
  }
  return {
    verdict,
    gap,
    trainAccuracy: last.trainAccuracy,
    validationAccuracy: last.validationAccuracy,
    stillRising,
    reason,
  };
}

export interface LearningCurveOptions extends FoldTrainingOptions, VerdictOptions {
  /** Fractions of the training part, in (0, 1] (default 0.1, 0.25, 0.5, 0.75, 1). */
  fractions?: readonly number[];
  /** Fraction held out for validation, stratified (default 0.2). */
  validation?: number;
  onPoint?: (point: LearningCurvePoint) => void;
}

export interface LearningCurveResult {
  points: LearningCurvePoint[];
  validationSize: number;
  verdict: CurveVerdict;
}

/**
 * Learning curve: one stratified validation part is held out, and models are trained on nested,
 * stratified subsets of the rest (each fraction's subset contains the smaller ones'), so the curve
 * changes only by the samples added. Call `initBackend()` first.
 */
export async function learningCurve(
  spec: ModelSpec,
  data: Dataset,
  options: LearningCurveOptions = {},
): Promise<LearningCurveResult> {
  const fractions = [...(options.fractions ?? [0.1, 0.25, 0.5, 0.75, 1])].sort((a, b) => a - b);
  if (fractions.length === 0) throw new InvalidArgumentError('learning curve: fractions is empty');
  for (const f of fractions)
    if (!(f > 0 && f <= 1)) throw new InvalidArgumentError(`learning curve: fraction ${f} is not in (0, 1]`);
  const validationFraction = options.validation ?? 0.2;
  if (!(validationFraction > 0 && validationFraction < 1))
    throw new InvalidArgumentError(
      `learning curve: validation fraction ${validationFraction} is not in (0, 1)`,
    );
  inputShape(spec, data);
  const seed = options.seed ?? 0;
  const rng = new Random(seed).fork('learning-curve');
  // Per class: shuffled, the first share goes to validation, the rest is the training pool.
  const numClasses = data.classNames.length;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  data.labels.forEach((label, i) => {
    byClass[label].push(i);
  });
  const validationIndices: number[] = [];
  const pools: number[][] = [];
  for (const indices of byClass) {
    const shuffled = rng.shuffle(indices);
    const held = indices.length > 1 ? Math.max(1, Math.round(indices.length * validationFraction)) : 0;
    validationIndices.push(...shuffled.slice(0, held));
    pools.push(shuffled.slice(held));
  }
  const validation = subset(
    data,
    validationIndices.sort((a, b) => a - b),
    `${data.name} (validation)`,
  );
  const points: LearningCurvePoint[] = [];
  for (const fraction of fractions) {
    const chosen: number[] = [];
    for (const pool of pools)
      chosen.push(...pool.slice(0, Math.max(pool.length > 0 ? 1 : 0, Math.round(pool.length * fraction))));
    const train = subset(
      data,
      chosen.sort((a, b) => a - b),
      `${data.name} (${fraction} of train)`,
    );
    const scored = await trainAndScore(spec, train, validation, options);
    const point: LearningCurvePoint = {
      fraction,
      trainSize: train.numSamples,
      trainAccuracy: scored.trainAccuracy,
      validationAccuracy: scored.validationAccuracy,
    };
    points.push(point);
    options.onPoint?.(point);
  }
  return { points, validationSize: validation.numSamples, verdict: learningCurveVerdict(points, options) };
}

// ---------------------------------------------------------------------------------------------
// Depth by cross-validation

export interface DepthScore {
  depth: number;
  mean: number;
  standardError: number;
}

/**
 * The one-standard-error rule: among the depths, find the best mean accuracy; choose the smallest
 * depth whose mean is at least the best mean minus the best depth's standard error. Simpler models
 * that are statistically indistinguishable from the best are preferred.
 */
export function oneStandardErrorChoice(scores: readonly DepthScore[]): {
  depth: number;
  bestDepth: number;
  threshold: number;
} {
  if (scores.length === 0) throw new InvalidArgumentError('one-standard-error rule: no depths scored');
  const best = scores.reduce((a, b) => (b.mean > a.mean || (b.mean === a.mean && b.depth < a.depth) ? b : a));
  const threshold = best.mean - best.standardError;
  const within = scores.filter((s) => s.mean >= threshold).sort((a, b) => a.depth - b.depth);
  return { depth: within[0].depth, bestDepth: best.depth, threshold };
}

/** An MLP with `depth` hidden dense layers of `units` each (ReLU), softmax on top. */
export function mlpOfDepth(
  inputShape: readonly number[],
  classes: number,
  depth: number,
  options: { units?: number; activation?: 'relu' | 'tanh' | 'gelu'; dropout?: number } = {},
): ModelSpec {
  if (!Number.isInteger(depth) || depth < 0)
    throw new InvalidArgumentError(`depth must be a non-negative integer, got ${depth}`);
  const units = options.units ?? 64;
  const b = sequential(inputShape, { name: `mlp-${depth}x${units}` });
  if (inputShape.length > 1) b.add('flatten');
  for (let i = 0; i < depth; i++) {
    b.add('dense', { units, activation: options.activation ?? 'relu' });
    if ((options.dropout ?? 0) > 0) b.add('dropout', { rate: options.dropout ?? 0 });
  }
  return b.add('dense', { units: classes, activation: 'softmax' }).build();
}

/**
 * The spec with `depth` hidden dense layers: a chain of dense layers (with optional flatten,
 * dropout and activation layers) keeps its first `depth` hidden layers and repeats the last
 * hidden one's units and activation to go deeper. Other layer types have no obvious depth.
 */
export function withHiddenDepth(spec: ModelSpec, depth: number): ModelSpec {
  if (!Number.isInteger(depth) || depth < 0)
    throw new InvalidArgumentError(`depth must be a non-negative integer, got ${depth}`);
  if (spec.inputs.length !== 1 || spec.outputs.length !== 1)
    throw new InvalidArgumentError(
      `${spec.name ?? 'model'}: changing the depth needs one input and one output`,
    );
  let previous = spec.inputs[0].name;
  for (const layer of spec.layers) {
    if (layer.inputs.length !== 1 || layer.inputs[0] !== previous)
      throw new InvalidArgumentError(
        `${spec.name ?? 'model'}: layer "${layer.name}" breaks the chain; depth variants need a sequential dense model`,
      );
    if (!['dense', 'dropout', 'flatten', 'activation'].includes(layer.type))
      throw new InvalidArgumentError(
        `${spec.name ?? 'model'}: layer "${layer.name}" is ${layer.type}; depth variants need a model of dense layers (use mlp)`,
      );
    previous = layer.name;
  }
  const dense = spec.layers.filter((l): l is Extract<LayerSpec, { type: 'dense' }> => l.type === 'dense');
  if (dense.length === 0) throw new InvalidArgumentError(`${spec.name ?? 'model'}: no dense layer`);
  const output = dense[dense.length - 1];
  const hidden = dense.slice(0, -1);
  const dropout = spec.layers.find((l): l is Extract<LayerSpec, { type: 'dropout' }> => l.type === 'dropout');
  const template = hidden[hidden.length - 1] ?? { units: 64, activation: 'relu' as const };
  const b = sequential(spec.inputs[0].shape, { name: `${spec.name ?? 'model'}-depth${depth}` });
  if (spec.layers.some((l) => l.type === 'flatten')) b.add('flatten');
  for (let i = 0; i < depth; i++) {
    const source = hidden[i] ?? template;
    b.add('dense', { units: source.units, activation: source.activation ?? 'linear' });
    if (dropout) b.add('dropout', { rate: dropout.rate });
  }
  return b.add('dense', { units: output.units, activation: output.activation ?? 'linear' }).build();
}

export interface ChooseDepthOptions extends CrossValidateOptions {
  /** Hidden-layer counts to compare (default 1, 2, 3). */
  depths?: readonly number[];
  onDepth?: (depth: number, result: CrossValidationResult) => void;
}

export interface DepthChoice {
  depth: number;
  bestDepth: number;
  threshold: number;
  results: { depth: number; spec: ModelSpec; cv: CrossValidationResult }[];
}

/**
 * Chooses the number of hidden layers by stratified k-fold CV (the same folds for every depth)
 * and the one-standard-error rule. `specOfDepth` builds the model of a depth, e.g.
 * `(d) => mlpOfDepth(shape, classes, d)` or `(d) => withHiddenDepth(spec, d)`.
 */
export async function chooseDepth(
  specOfDepth: (depth: number) => ModelSpec,
  data: Dataset,
  options: ChooseDepthOptions = {},
): Promise<DepthChoice> {
  const depths = [...new Set(options.depths ?? [1, 2, 3])].sort((a, b) => a - b);
  if (depths.length === 0) throw new InvalidArgumentError('depths is empty');
  for (const d of depths)
    if (!Number.isInteger(d) || d < 0)
      throw new InvalidArgumentError(`depth must be a non-negative integer, got ${d}`);
  checkFolds(options.folds ?? 5, data.labels, data.classNames);
  const results: DepthChoice['results'] = [];
  for (const depth of depths) {
    const spec = specOfDepth(depth);
    const cv = await crossValidate(spec, data, options);
    results.push({ depth, spec, cv });
    options.onDepth?.(depth, cv);
  }
  const choice = oneStandardErrorChoice(
    results.map((r) => ({ depth: r.depth, mean: r.cv.mean, standardError: r.cv.standardError })),
  );
  return { ...choice, results };
}
