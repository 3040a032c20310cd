/**
 * The one dataset type.
 *
 * Features are stored row-major in one contiguous Float32Array (`data`); `features` holds one
 * `subarray` view per row into it, so code that wants rows gets rows and code that copies a batch
 * copies one block (`data.subarray(start * numFeatures, end * numFeatures)`). Values are kept as
 * loaded (digits 0..16, Fashion-MNIST 0..255, CSV as written): scaling is a transform fitted on
 * training data (see transforms.ts), never done silently by a loader.
 *
 * Labels are class indices into `classNames`. A dataset is frozen; its typed arrays are shared,
 * not copied, by transforms that only change the other part (a scaler shares the labels).
 */
import { DataError, InvalidArgumentError } from '../core/errors.js';

export interface Provenance {
  /** What the data is and who made it. */
  source: string;
  /** Where it was loaded from: a file, a directory. */
  location: string;
  citation?: string;
  license?: string;
}

export interface Dataset {
  readonly name: string;
  readonly numSamples: number;
  readonly numFeatures: number;
  /** Shape of one sample, e.g. [8, 8, 1] for digits, [28, 28, 1] for Fashion-MNIST, [d] for tables. */
  readonly featureShape: readonly number[];
  /** numSamples x numFeatures values, row-major. */
  readonly data: Float32Array;
  /** One view per row into `data` (writing through a view writes `data`). */
  readonly features: readonly Float32Array[];
  /** Class index of each sample, in [0, classNames.length). */
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  readonly provenance: Readonly<Provenance>;
}

/**
 * A dataset as published. Some come with a fixed test part that must stay apart from training
 * and validation (Fashion-MNIST: `train` holds the 60000 training images, `test` the 10000 test
 * images); others (digits, CSV files) are one pool, given as `train` alone, that
 * `trainValTestSplit` divides. `splitBundle` handles both: it keeps a fixed test part and only
 * carves validation out of `train`.
 */
export interface DatasetBundle {
  readonly train: Dataset;
  readonly test?: Dataset;
}

export interface DatasetInit {
  name: string;
  /** Row-major values; taken over, not copied. */
  data: Float32Array;
  numFeatures: number;
  labels: Int32Array;
  classNames: readonly string[];
  /** Defaults to [numFeatures]. */
  featureShape?: readonly number[];
  provenance: Provenance;
}

/** Builds a dataset, checking that the sizes agree and every label names a class. */
export function createDataset(init: DatasetInit): Dataset {
  const { data, numFeatures, labels, name } = init;
  if (!(data instanceof Float32Array)) throw new InvalidArgumentError(`${name}: data must be a Float32Array`);
  if (!(labels instanceof Int32Array))
    throw new InvalidArgumentError(`${name}: labels must be an Int32Array`);
  if (!Number.isInteger(numFeatures) || numFeatures <= 0)
    throw new DataError(`${name}: number of features must be a positive integer, got ${numFeatures}`);
  if (data.length % numFeatures !== 0)
    throw new DataError(`${name}: ${data.length} values do not divide into rows of ${numFeatures}`);
  const numSamples = data.length / numFeatures;
  if (labels.length !== numSamples)
    throw new DataError(`${name}: ${labels.length} labels for ${numSamples} samples`);
  const numClasses = init.classNames.length;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label < 0 || label >= numClasses)
      throw new DataError(`${name}: label ${label} of sample ${i} is outside 0..${numClasses - 1}`);
  }
  const shape = init.featureShape ?? [numFeatures];
  if (shape.some((s) => !Number.isInteger(s) || s <= 0) || shape.reduce((a, b) => a * b, 1) !== numFeatures)
    throw new DataError(`${name}: feature shape [${shape.join(', ')}] does not hold ${numFeatures} features`);
  const features: Float32Array[] = new Array(numSamples);
  for (let i = 0; i < numSamples; i++) features[i] = data.subarray(i * numFeatures, (i + 1) * numFeatures);
  return Object.freeze({
    name,
    numSamples,
    numFeatures,
    featureShape: Object.freeze([...shape]),
    data,
    features: Object.freeze(features),
    labels,
    classNames: Object.freeze([...init.classNames]),
    provenance: Object.freeze({ ...init.provenance }),
  });
}

/** The same samples with new feature values (same labels, classes, shape and provenance). */
export function withData(dataset: Dataset, data: Float32Array, name = dataset.name): Dataset {
  if (data.length !== dataset.data.length)
    throw new InvalidArgumentError(
      `${dataset.name}: expected ${dataset.data.length} values, got ${data.length}`,
    );
  return createDataset({
    name,
    data,
    numFeatures: dataset.numFeatures,
    labels: dataset.labels,
    classNames: dataset.classNames,
    featureShape: dataset.featureShape,
    provenance: dataset.provenance,
  });
}

/** The samples at `indices`, in that order, copied into a new dataset (same classes and provenance). */
export function subset(dataset: Dataset, indices: ArrayLike<number>, name = dataset.name): Dataset {
  const d = dataset.numFeatures;
  const n = dataset.numSamples;
  const data = new Float32Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= n)
      throw new InvalidArgumentError(`${dataset.name}: sample index ${i} is outside 0..${n - 1}`);
    data.set(dataset.data.subarray(i * d, (i + 1) * d), k * d);
    labels[k] = dataset.labels[i];
  }
  return createDataset({
    name,
    data,
    numFeatures: d,
    labels,
    classNames: dataset.classNames,
    featureShape: dataset.featureShape,
    provenance: dataset.provenance,
  });
}

/** Number of samples of each class, indexed like `classNames`. */
export function classCounts(dataset: Pick<Dataset, 'labels' | 'classNames'>): number[] {
  const counts = new Array<number>(dataset.classNames.length).fill(0);
  for (const label of dataset.labels) counts[label]++;
  return counts;
}
