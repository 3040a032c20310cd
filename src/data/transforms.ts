/** Seeded stratified splits, scalers fitted on training data only, and one-hot encoding. */
import { InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { createDataset, type Dataset, subset } from './dataset.js';

export interface SplitOptions {
  /** Fraction of samples for validation (default 0.2). */
  validation?: number;
  /** Fraction for test (default 0.2; 0 when the dataset already has a fixed test part). */
  test?: number;
  seed?: number;
  /** Keep class proportions in every part (default true). */
  stratify?: boolean;
}

export interface DataSplits {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
}

/**
 * Splits a dataset reproducibly. With stratification each class is shuffled and cut separately,
 * so every part holds each class in proportion (within one sample per class).
 */
export function trainValTestSplit(dataset: Dataset, options: SplitOptions = {}): DataSplits {
  const validation = options.validation ?? 0.2;
  const test = options.test ?? 0.2;
  for (const [name, value] of [
    ['validation', validation],
    ['test', test],
  ] as const)
    if (!(value >= 0 && value < 1))
      throw new InvalidArgumentError(`split: ${name} must be in [0, 1), got ${value}`);
  if (validation + test >= 1)
    throw new InvalidArgumentError(`split: validation + test must be < 1, got ${validation + test}`);
  const rng = new Random(options.seed ?? 0);
  const groups: number[][] = [];
  if (options.stratify ?? true) {
    for (let c = 0; c < dataset.classNames.length; c++) groups.push([]);
    dataset.labels.forEach((label, i) => {
      groups[label].push(i);
    });
  } else groups.push(Array.from({ length: dataset.numSamples }, (_, i) => i));
  const parts: [number[], number[], number[]] = [[], [], []];
  for (const group of groups) {
    rng.shuffle(group);
    const nTest = Math.round(group.length * test);
    const nVal = Math.round(group.length * validation);
    parts[2].push(...group.slice(0, nTest));
    parts[1].push(...group.slice(nTest, nTest + nVal));
    parts[0].push(...group.slice(nTest + nVal));
  }
  // Mix the classes within each part, still deterministically.
  for (const p of parts) rng.shuffle(p);
  return {
    train: subset(dataset, parts[0], `${dataset.name} (train)`),
    validation: subset(dataset, parts[1], `${dataset.name} (validation)`),
    test: subset(dataset, parts[2], `${dataset.name} (test)`),
  };
}

export type ScalerConfig =
  | { type: 'standard'; mean: number[]; std: number[] }
  | { type: 'minmax'; min: number[]; max: number[] };

/** A per-feature affine map fitted on training data: x' = (x - offset) / scale. */
export class Scaler {
  private readonly offset: Float64Array;
  private readonly scale: Float64Array;
  private readonly config: ScalerConfig;

  private constructor(config: ScalerConfig) {
    this.config = config;
    if (config.type === 'standard') {
      this.offset = Float64Array.from(config.mean);
      // A constant column keeps scale 1, so it maps to 0 instead of NaN.
      this.scale = Float64Array.from(config.std, (s) => (s > 0 ? s : 1));
    } else {
      this.offset = Float64Array.from(config.min);
      this.scale = Float64Array.from(config.max, (max, i) => (max > config.min[i] ? max - config.min[i] : 1));
    }
  }

  static fromConfig(config: ScalerConfig): Scaler {
    const a = config.type === 'standard' ? config.mean : config.min;
    const b = config.type === 'standard' ? config.std : config.max;
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length)
      throw new InvalidArgumentError('scaler config: parameter arrays are missing or of different lengths');
    return new Scaler(config);
  }

  getConfig(): ScalerConfig {
    return structuredClone(this.config);
  }

  transform(dataset: Dataset): Dataset {
    const d = dataset.numFeatures;
    if (d !== this.offset.length)
      throw new InvalidArgumentError(`scaler was fitted on ${this.offset.length} features, dataset has ${d}`);
    const data = new Float32Array(dataset.data.length);
    for (let i = 0; i < data.length; i++) {
      const j = i % d;
      data[i] = (dataset.data[i] - this.offset[j]) / this.scale[j];
    }
    return createDataset({
      name: dataset.name,
      data,
      numFeatures: d,
      labels: dataset.labels,
      classNames: dataset.classNames,
      featureShape: dataset.featureShape,
      provenance: dataset.provenance,
    });
  }

  /** @internal */
  static fitted(config: ScalerConfig): Scaler {
    return new Scaler(config);
  }
}

/** Fits mean and standard deviation per feature on `train`. */
export function fitStandardScaler(train: Dataset): Scaler {
  const d = train.numFeatures;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  const n = train.numSamples;
  if (n === 0) throw new InvalidArgumentError('cannot fit a scaler on an empty dataset');
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += train.data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const diff = train.data[i * d + j] - mean[j];
      m2[j] += diff * diff;
    }
  return Scaler.fitted({ type: 'standard', mean: [...mean], std: [...m2].map((s) => Math.sqrt(s / n)) });
}

/** Fits minimum and maximum per feature on `train`, mapping them to 0 and 1. */
export function fitMinMaxScaler(train: Dataset): Scaler {
  const d = train.numFeatures;
  if (train.numSamples === 0) throw new InvalidArgumentError('cannot fit a scaler on an empty dataset');
  const min = new Array<number>(d).fill(Number.POSITIVE_INFINITY);
  const max = new Array<number>(d).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < train.data.length; i++) {
    const j = i % d;
    const v = train.data[i];
    if (v < min[j]) min[j] = v;
    if (v > max[j]) max[j] = v;
  }
  return Scaler.fitted({ type: 'minmax', min, max });
}

/** Labels as rows of a numSamples x numClasses matrix of 0 and 1. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses)
      throw new InvalidArgumentError(`oneHot: label ${c} at index ${i} is outside 0..${numClasses - 1}`);
    out[i * numClasses + c] = 1;
  }
  return out;
}
