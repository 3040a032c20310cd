/**
 * Feature preparation as search choices, fitted on the training split only and stored as plain
 * JSON beside the model, so prediction applies exactly the same steps:
 *
 * - scaling: standardisation or min-max (`Scaler`);
 * - then optionally PCA (k components, or the fewest components keeping a fraction of the
 *   variance) or recursive feature elimination: a softmax regression is fitted on the scaled
 *   training rows, the least important features are dropped (a tenth of those left, at least one,
 *   per round) and it is refitted, until the wanted number remain. Importance is the summed
 *   |weight| over classes, or the permutation importance (rise of the training log-loss when the
 *   feature's column is shuffled, seeded).
 *
 * A `FeaturePipeline` is the whole path from raw input to the model's input: the table
 * preparation of a CSV (categorical columns, missing cells; see table-preparation.ts), these
 * steps, and the shape the model reads.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { DataError, InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { createDataset, type Dataset, withData } from './dataset.js';
import { checkPreparation, type TablePreparation } from './table-preparation.js';
import { fitMinMaxScaler, fitStandardScaler, Scaler, type ScalerConfig } from './transforms.js';

export type FeatureStep =
  | { type: 'scale'; scaler: ScalerConfig }
  | {
      type: 'pca';
      /** Mean subtracted before projecting (of the scaled training rows). */
      mean: number[];
      /** components[i] is the i-th principal axis (unit length, d values). */
      components: number[][];
      /** Share of the training variance the kept components hold. */
      keptVariance: number;
    }
  | { type: 'select'; method: RfeMethod; indices: number[] };

export type ScalingChoice = 'standard' | 'minmax';
export type RfeMethod = 'weights' | 'permutation';

/** One configuration of the preparation (what a trial chooses). */
export interface FeatureChoices {
  scaler: ScalingChoice;
  reduction: 'none' | 'pca' | 'rfe';
  /** PCA: keep this many components ... */
  pcaComponents?: number;
  /** ... or the fewest that keep this share of the variance, in (0, 1]. */
  pcaVariance?: number;
  rfeMethod?: RfeMethod;
  /** RFE: features to keep (at least 1, at most the number there are). */
  rfeKeep?: number;
}

/** Fits the steps of `choices` on the training rows (and nothing else). */
export function fitFeatureSteps(train: Dataset, choices: FeatureChoices, seed = 0): FeatureStep[] {
  if (choices.scaler !== 'standard' && choices.scaler !== 'minmax')
    throw new InvalidArgumentError(`feature scaling must be standard or minmax, got "${choices.scaler}"`);
  const scaler = choices.scaler === 'standard' ? fitStandardScaler(train) : fitMinMaxScaler(train);
  const steps: FeatureStep[] = [{ type: 'scale', scaler: scaler.getConfig() }];
  const scaled = scaler.transformData(train.data);
  const d = train.numFeatures;
  if (choices.reduction === 'pca') steps.push(fitPca(scaled, d, choices));
  else if (choices.reduction === 'rfe') {
    const keep = choices.rfeKeep ?? d;
    if (!Number.isInteger(keep) || keep < 1 || keep > d)
      throw new InvalidArgumentError(`RFE: features to keep must be an integer in 1..${d}, got ${keep}`);
    const method = choices.rfeMethod ?? 'weights';
    if (method !== 'weights' && method !== 'permutation')
      throw new InvalidArgumentError(`RFE: method must be weights or permutation, got "${method}"`);
    const indices = eliminateFeatures(scaled, d, train.labels, train.classNames.length, keep, method, seed);
    steps.push({ type: 'select', method, indices });
  } else if (choices.reduction !== 'none')
    throw new InvalidArgumentError(`feature reduction must be none, pca or rfe, got "${choices.reduction}"`);
  return steps;
}

/** Number of features the steps produce from `d` inputs. */
export function stepsOutputSize(steps: readonly FeatureStep[], d: number): number {
  let size = d;
  for (const step of steps)
    if (step.type === 'pca') size = step.components.length;
    else if (step.type === 'select') size = step.indices.length;
  return size;
}

/** Applies fitted steps to row-major values of `d` features; returns the new values and width. */
export function applyFeatureSteps(
  steps: readonly FeatureStep[],
  values: Float32Array,
  d: number,
): { data: Float32Array; features: number } {
  let data = values;
  let width = d;
  for (const step of steps) {
    if (step.type === 'scale') {
      data = Scaler.fromConfig(step.scaler).transformData(data);
      continue;
    }
    const rows = data.length / width;
    if (step.type === 'pca') {
      const k = step.components.length;
      if (step.mean.length !== width)
        throw new DataError(`feature pipeline: PCA was fitted on ${step.mean.length} features, got ${width}`);
      const out = new Float32Array(rows * k);
      const centred = new Float64Array(width);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < width; j++) centred[j] = data[r * width + j] - step.mean[j];
        for (let c = 0; c < k; c++) {
          const axis = step.components[c];
          let sum = 0;
          for (let j = 0; j < width; j++) sum += centred[j] * axis[j];
          out[r * k + c] = sum;
        }
      }
      data = out;
      width = k;
    } else {
      const k = step.indices.length;
      if (step.indices.some((i) => i >= width))
        throw new DataError(`feature pipeline: a selected feature index is outside 0..${width - 1}`);
      const out = new Float32Array(rows * k);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < k; c++) out[r * k + c] = data[r * width + step.indices[c]];
      data = out;
      width = k;
    }
  }
  return { data, features: width };
}

/** A dataset through the steps (labels and classes kept; feature shape becomes [features]). */
export function transformDataset(steps: readonly FeatureStep[], dataset: Dataset): Dataset {
  const { data, features } = applyFeatureSteps(steps, dataset.data, dataset.numFeatures);
  if (features === dataset.numFeatures && steps.every((s) => s.type === 'scale'))
    return withData(dataset, data);
  return createDataset({
    name: dataset.name,
    data,
    numFeatures: features,
    labels: dataset.labels,
    classNames: dataset.classNames,
    provenance: dataset.provenance,
  });
}

function fitPca(scaled: Float32Array, d: number, choices: FeatureChoices): FeatureStep {
  const n = scaled.length / d;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += scaled[r * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const covariance = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const centred = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) centred[j] = scaled[r * d + j] - mean[j];
    for (let i = 0; i < d; i++) {
      const ci = centred[i];
      if (ci === 0) continue;
      const row = covariance[i];
      for (let j = i; j < d; j++) row[j] += ci * centred[j];
    }
  }
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      covariance[i][j] /= Math.max(1, n - 1);
      covariance[j][i] = covariance[i][j];
    }
  const evd = new EigenvalueDecomposition(new Matrix(covariance), { assumeSymmetric: true });
  const values = evd.realEigenvalues.map((v) => Math.max(0, v));
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a]);
  const total = values.reduce((a, b) => a + b, 0);
  let k: number;
  if (choices.pcaComponents !== undefined) {
    k = choices.pcaComponents;
    if (!Number.isInteger(k) || k < 1)
      throw new InvalidArgumentError(`PCA: components must be a positive integer, got ${k}`);
    k = Math.min(k, d);
  } else {
    const fraction = choices.pcaVariance ?? 0.95;
    if (!(fraction > 0 && fraction <= 1))
      throw new InvalidArgumentError(`PCA: kept variance must be in (0, 1], got ${fraction}`);
    k = d;
    let sum = 0;
    for (let i = 0; i < d; i++) {
      sum += values[order[i]];
      if (total === 0 || sum >= fraction * total - 1e-12) {
        k = i + 1;
        break;
      }
    }
  }
  const components = order.slice(0, k).map((c) => {
    const axis = vectors.getColumn(c);
    // A sign convention (largest entry positive) so the same data always gives the same axes.
    let largest = 0;
    for (let j = 1; j < d; j++) if (Math.abs(axis[j]) > Math.abs(axis[largest])) largest = j;
    return axis[largest] < 0 ? axis.map((v) => -v) : axis;
  });
  const kept = order.slice(0, k).reduce((a, c) => a + values[c], 0);
  return { type: 'pca', mean: [...mean], components, keptVariance: total > 0 ? kept / total : 1 };
}

/** Softmax regression weights ((d + 1) x classes, bias last) by full-batch gradient descent with L2. */
function fitSoftmaxRegression(
  x: Float32Array,
  d: number,
  columns: readonly number[],
  labels: Int32Array,
  classes: number,
): Float64Array {
  const n = labels.length;
  const k = columns.length;
  const w = new Float64Array((k + 1) * classes);
  const gradient = new Float64Array(w.length);
  const logits = new Float64Array(classes);
  const learningRate = 0.5;
  const l2 = 1e-3;
  for (let iteration = 0; iteration < 150; iteration++) {
    gradient.fill(0);
    for (let r = 0; r < n; r++) {
      const row = r * d;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        let z = w[k * classes + c];
        for (let j = 0; j < k; j++) z += x[row + columns[j]] * w[j * classes + c];
        logits[c] = z;
        if (z > max) max = z;
      }
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        logits[c] = Math.exp(logits[c] - max);
        sum += logits[c];
      }
      for (let c = 0; c < classes; c++) {
        const error = logits[c] / sum - (labels[r] === c ? 1 : 0);
        for (let j = 0; j < k; j++) gradient[j * classes + c] += error * x[row + columns[j]];
        gradient[k * classes + c] += error;
      }
    }
    for (let i = 0; i < w.length; i++) {
      const decay = i < k * classes ? l2 * w[i] : 0;
      w[i] -= learningRate * (gradient[i] / n + decay);
    }
  }
  return w;
}

function logLoss(
  x: Float32Array,
  d: number,
  columns: readonly number[],
  labels: Int32Array,
  classes: number,
  w: Float64Array,
  permuted?: { column: number; order: Int32Array },
): number {
  const n = labels.length;
  const k = columns.length;
  const logits = new Float64Array(classes);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let z = w[k * classes + c];
      for (let j = 0; j < k; j++) {
        const source = permuted && j === permuted.column ? permuted.order[r] : r;
        z += x[source * d + columns[j]] * w[j * classes + c];
      }
      logits[c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[c] - max);
    loss += Math.log(sum) + max - logits[labels[r]];
  }
  return loss / n;
}

/** The kept feature indices (ascending) after recursive elimination down to `keep`. */
export function eliminateFeatures(
  x: Float32Array,
  d: number,
  labels: Int32Array,
  classes: number,
  keep: number,
  method: RfeMethod,
  seed = 0,
): number[] {
  let columns = Array.from({ length: d }, (_, j) => j);
  const rng = new Random(seed).fork('rfe');
  while (columns.length > keep) {
    const w = fitSoftmaxRegression(x, d, columns, labels, classes);
    let importance: number[];
    if (method === 'weights') {
      importance = columns.map((_, j) => {
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += Math.abs(w[j * classes + c]);
        return sum;
      });
    } else {
      const base = logLoss(x, d, columns, labels, classes, w);
      importance = columns.map(
        (_, j) =>
          logLoss(x, d, columns, labels, classes, w, {
            column: j,
            order: rng.permutation(labels.length),
          }) - base,
      );
    }
    const drop = Math.min(columns.length - keep, Math.max(1, Math.floor(columns.length / 10)));
    const ranked = columns.map((_, j) => j).sort((a, b) => importance[a] - importance[b] || a - b);
    const dropped = new Set(ranked.slice(0, drop));
    columns = columns.filter((_, j) => !dropped.has(j));
  }
  return columns;
}

/** Everything between a raw input row and the model: saved as pipeline.json in a model directory. */
export interface FeaturePipeline {
  format: 'parsimony-pipeline';
  version: 1;
  /** Class names as the training data spelled them, in the model's output order. */
  classNames: string[];
  /** The target column's name in the training CSV ('' without a header), or its index. */
  target: string | number | null;
  /** Raw feature columns of the training CSV, by name ('' without a header), in order. */
  featureNames: string[];
  /** Categorical columns and missing cells of a CSV (absent for images and IDX data). */
  table?: TablePreparation;
  steps: FeatureStep[];
  /** Shape of one sample as the model reads it. */
  inputShape: number[];
}

export const PIPELINE_FILE = 'pipeline.json';

/** Checks a pipeline read from JSON (a one-line error naming the field). */
export function checkPipeline(value: unknown, source = PIPELINE_FILE): asserts value is FeaturePipeline {
  const p = value as Partial<FeaturePipeline> | null;
  if (p?.format !== 'parsimony-pipeline' || p.version !== 1)
    throw new DataError(`${source}: format must be "parsimony-pipeline", version 1`);
  if (!Array.isArray(p.classNames) || p.classNames.length < 2)
    throw new DataError(`${source}: classNames must list at least two classes`);
  if (!Array.isArray(p.featureNames) || !Array.isArray(p.steps) || !Array.isArray(p.inputShape))
    throw new DataError(`${source}: featureNames, steps and inputShape must be arrays`);
  if (p.table) checkPreparation(p.table);
  for (const [i, step] of p.steps.entries())
    if (!['scale', 'pca', 'select'].includes((step as FeatureStep)?.type))
      throw new DataError(`${source}: step ${i + 1}: type must be scale, pca or select`);
}
