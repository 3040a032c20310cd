/**
 * Seeded stratified splits, feature scalers fitted on training data only, and one-hot labels.
 *
 * Splits: `trainValTestSplit` divides one pool; `splitBundle` keeps a dataset's fixed test part
 * (Fashion-MNIST) and only carves validation out of its training part. The same seed always
 * gives the same split. With stratification every class is divided separately: each part gets
 * each class's exact share rounded down or up (within one sample), and the part's total is the
 * overall share rounded to the nearest sample.
 *
 * Scalers: fit on the training part, then transform every part with the same fitted values, so
 * nothing about validation or test data leaks into training. `getConfig()` is plain JSON and
 * `Scaler.fromConfig` rebuilds the scaler, e.g. to scale inputs at inference time.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { type Dataset, type DatasetBundle, subset, withData } from './dataset.js';

export interface SplitOptions {
  /** Fraction of samples for validation, in [0, 1). Default 0.2. */
  validation?: number;
  /** Fraction for test, in [0, 1). Default 0.2. Ignored by `splitBundle` when there is a fixed test part. */
  test?: number;
  /** Seed of the shuffle. Default 0: splits are reproducible unless asked otherwise. */
  seed?: number;
  /** Keep class proportions in every part. Default true. */
  stratify?: boolean;
}

export interface DataSplits {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /**
   * Which samples of the split dataset went where (indices into it, in the order of each part).
   * A fixed test part kept by `splitBundle` was not split: its `test` indices are empty.
   */
  indices: { train: Int32Array; validation: Int32Array; test: Int32Array };
}

/** Splits one dataset reproducibly into train, validation and test parts. */
export function trainValTestSplit(dataset: Dataset, options: SplitOptions = {}): DataSplits {
  const validation = options.validation ?? 0.2;
  const test = options.test ?? 0.2;
  for (const [name, value] of [
    ['validation', validation],
    ['test', test],
  ] as const)
    if (typeof value !== 'number' || !(value >= 0 && value < 1))
      throw new InvalidArgumentError(`split: ${name} fraction must be in [0, 1), got ${value}`);
  if (validation + test >= 1)
    throw new InvalidArgumentError(`split: validation + test must be < 1, got ${validation + test}`);
  const rng = new Random(options.seed ?? 0);

  const groups: number[][] = [];
  if (options.stratify ?? true) {
    for (let c = 0; c < dataset.classNames.length; c++) groups.push([]);
    const { labels } = dataset;
    for (let i = 0; i < labels.length; i++) groups[labels[i]].push(i);
  } else groups.push(Array.from({ length: dataset.numSamples }, (_, i) => i));

  const sizes = groups.map((g) => g.length);
  const testCounts = allocate(sizes, test, sizes, rng);
  const validationCounts = allocate(
    sizes,
    validation,
    sizes.map((s, c) => s - testCounts[c]),
    rng,
  );
  const parts: [number[], number[], number[]] = [[], [], []];
  groups.forEach((group, c) => {
    rng.shuffle(group);
    const nTest = testCounts[c];
    const nValidation = validationCounts[c];
    for (let k = 0; k < group.length; k++)
      parts[k < nTest ? 2 : k < nTest + nValidation ? 1 : 0].push(group[k]);
  });
  if (parts[0].length === 0 && dataset.numSamples > 0)
    throw new InvalidArgumentError(
      `split: no samples left to train on (${dataset.numSamples} samples, validation ${validation}, test ${test})`,
    );
  // Mix the classes within each part, still deterministically.
  const [train, val, tst] = parts.map((p) => Int32Array.from(rng.shuffle(p)));
  return {
    train: subset(dataset, train, `${dataset.name} (train)`),
    validation: subset(dataset, val, `${dataset.name} (validation)`),
    test: subset(dataset, tst, `${dataset.name} (test)`),
    indices: { train, validation: val, test: tst },
  };
}

/**
 * Splits a loaded bundle: a fixed test part is kept as the test part and only validation is
 * taken out of `train`; without one, `train` is split three ways as by `trainValTestSplit`.
 */
export function splitBundle(bundle: DatasetBundle, options: SplitOptions = {}): DataSplits {
  if (!bundle.test) return trainValTestSplit(bundle.train, options);
  const splits = trainValTestSplit(bundle.train, { ...options, test: 0 });
  return {
    train: splits.train,
    validation: splits.validation,
    test: bundle.test,
    indices: { ...splits.indices, test: new Int32Array(0) },
  };
}

/**
 * How many samples of each group go to a part: each group's exact share rounded down, then one
 * more for the groups with the largest remainders (ties in seeded random order) until the part
 * holds round(total * fraction), never taking more than `caps` allows.
 */
function allocate(sizes: number[], fraction: number, caps: number[], rng: Random): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const capacity = caps.reduce((a, b) => a + b, 0);
  const wanted = Math.min(Math.round(total * fraction), capacity);
  const exact = sizes.map((s) => s * fraction);
  const counts = exact.map((e, c) => Math.min(Math.floor(e), caps[c]));
  let missing = wanted - counts.reduce((a, b) => a + b, 0);
  if (missing <= 0) return counts;
  const order = rng
    .shuffle(sizes.map((_, c) => c))
    .sort((p, q) => exact[q] - Math.floor(exact[q]) - (exact[p] - Math.floor(exact[p])));
  // First round up where the exact share has a fraction; then, only if caps forced it, anywhere with room.
  for (const c of order)
    if (missing > 0 && counts[c] < caps[c] && counts[c] < Math.ceil(exact[c])) {
      counts[c]++;
      missing--;
    }
  for (let pass = 0; missing > 0 && pass < total; pass++)
    for (const c of order)
      if (missing > 0 && counts[c] < caps[c]) {
        counts[c]++;
        missing--;
      }
  return counts;
}

export type ScalerConfig =
  | { type: 'standard'; mean: number[]; std: number[] }
  | { type: 'minmax'; min: number[]; max: number[] };

/**
 * A per-feature affine map fitted on training data: x' = (x - offset) / scale, with offset and
 * scale the mean and standard deviation ('standard') or the minimum and range ('minmax'). A
 * feature that is constant in the training data gets scale 1, so it maps to 0 instead of NaN.
 * Values outside the training range are not clipped.
 */
export class Scaler {
  readonly type: ScalerConfig['type'];
  readonly numFeatures: number;
  private readonly offset: Float64Array;
  private readonly inverseScale: Float64Array;
  private readonly config: ScalerConfig;

  private constructor(config: ScalerConfig) {
    this.config = config;
    this.type = config.type;
    const [offset, spread] =
      config.type === 'standard' ? [config.mean, config.std] : [config.min, config.max];
    this.numFeatures = offset.length;
    this.offset = Float64Array.from(offset);
    this.inverseScale = Float64Array.from(spread, (s, j) => {
      const scale = config.type === 'standard' ? s : s - offset[j];
      return scale > 0 ? 1 / scale : 1;
    });
  }

  /** Rebuilds a scaler from `getConfig()` output, checking it. */
  static fromConfig(config: ScalerConfig): Scaler {
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError('scaler config must be an object');
    let a: unknown;
    let b: unknown;
    if (config.type === 'standard') [a, b] = [config.mean, config.std];
    else if (config.type === 'minmax') [a, b] = [config.min, config.max];
    else
      throw new InvalidArgumentError(
        `scaler config: unknown type ${JSON.stringify((config as { type?: unknown }).type)}`,
      );
    const numbers = (v: unknown): v is number[] =>
      Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!numbers(a) || !numbers(b) || a.length !== b.length || a.length === 0)
      throw new InvalidArgumentError(
        'scaler config: expected two non-empty arrays of finite numbers of the same length',
      );
    if (config.type === 'standard' && b.some((s) => s < 0))
      throw new InvalidArgumentError('scaler config: a standard deviation is negative');
    if (config.type === 'minmax' && b.some((max, j) => max < a[j]))
      throw new InvalidArgumentError('scaler config: a maximum is below its minimum');
    return new Scaler(structuredClone(config));
  }

  /** @internal used by the fit functions. */
  static fitted(config: ScalerConfig): Scaler {
    return new Scaler(config);
  }

  /** The fitted values as plain JSON (a copy). */
  getConfig(): ScalerConfig {
    return structuredClone(this.config);
  }

  /** A scaled copy of the dataset (labels, classes and provenance shared). */
  transform(dataset: Dataset): Dataset {
    if (dataset.numFeatures !== this.numFeatures)
      throw new InvalidArgumentError(
        `scaler was fitted on ${this.numFeatures} features, dataset "${dataset.name}" has ${dataset.numFeatures}`,
      );
    return withData(dataset, this.transformData(dataset.data));
  }

  /** Scales row-major values (any number of rows of `numFeatures` values) into a new array. */
  transformData(values: Float32Array): Float32Array {
    const d = this.numFeatures;
    if (values.length % d !== 0)
      throw new InvalidArgumentError(`scaler: ${values.length} values do not divide into rows of ${d}`);
    const out = new Float32Array(values.length);
    const { offset, inverseScale } = this;
    for (let start = 0; start < values.length; start += d)
      for (let j = 0; j < d; j++) out[start + j] = (values[start + j] - offset[j]) * inverseScale[j];
    return out;
  }
}

/** Fits the mean and (population) standard deviation of each feature on `train`. */
export function fitStandardScaler(train: Dataset): Scaler {
  const { numFeatures: d, numSamples: n, data } = train;
  if (n === 0) throw new InvalidArgumentError(`cannot fit a scaler on "${train.name}": it has no samples`);
  const mean = new Float64Array(d);
  for (let start = 0; start < data.length; start += d) for (let j = 0; j < d; j++) mean[j] += data[start + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const m2 = new Float64Array(d);
  for (let start = 0; start < data.length; start += d)
    for (let j = 0; j < d; j++) {
      const diff = data[start + j] - mean[j];
      m2[j] += diff * diff;
    }
  return Scaler.fitted({ type: 'standard', mean: [...mean], std: Array.from(m2, (s) => Math.sqrt(s / n)) });
}

/** Fits the minimum and maximum of each feature on `train`; they map to 0 and 1. */
export function fitMinMaxScaler(train: Dataset): Scaler {
  const { numFeatures: d, numSamples: n, data } = train;
  if (n === 0) throw new InvalidArgumentError(`cannot fit a scaler on "${train.name}": it has no samples`);
  const min = Array.from(data.subarray(0, d));
  const max = Array.from(data.subarray(0, d));
  for (let start = d; start < data.length; start += d)
    for (let j = 0; j < d; j++) {
      const v = data[start + j];
      if (v < min[j]) min[j] = v;
      else if (v > max[j]) max[j] = v;
    }
  return Scaler.fitted({ type: 'minmax', min, max });
}

/** Labels as a labels.length x numClasses row-major matrix of 0 and 1. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): Float32Array {
  if (!Number.isInteger(numClasses) || numClasses <= 0)
    throw new InvalidArgumentError(`oneHot: number of classes must be a positive integer, got ${numClasses}`);
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses)
      throw new InvalidArgumentError(`oneHot: label ${c} at index ${i} is outside 0..${numClasses - 1}`);
    out[i * numClasses + c] = 1;
  }
  return out;
}
