/**
 * The one dataset type. Features are stored row-major in one contiguous Float32Array (`data`);
 * `features` holds per-row views into it, so code that wants rows gets rows and code that copies
 * batches copies one block. Values are kept as loaded (digits 0..16, images 0..255); scaling is
 * a fitted transform (see transforms.ts), never done silently by a loader.
 */
import { DataError } from '../core/errors.js';

export interface Provenance {
  /** What the data is and who made it. */
  source: string;
  /** Where it was loaded from (a file, a directory, "embedded"). */
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
  /** One view per row into `data`. */
  readonly features: readonly Float32Array[];
  /** Class index of each sample, in [0, classNames.length). */
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  readonly provenance: Provenance;
}

/**
 * A dataset as published: some come with a fixed test part (Fashion-MNIST) that must stay apart
 * from training and validation; others (digits, most CSV files) are one pool that
 * `trainValTestSplit` divides.
 */
export interface DatasetBundle {
  readonly train: Dataset;
  readonly test?: Dataset;
}

export interface DatasetInit {
  name: string;
  data: Float32Array;
  numFeatures: number;
  labels: Int32Array;
  classNames: readonly string[];
  featureShape?: readonly number[];
  provenance: Provenance;
}

export function createDataset(init: DatasetInit): Dataset {
  const { data, numFeatures, labels } = init;
  if (!Number.isInteger(numFeatures) || numFeatures <= 0)
    throw new DataError(`${init.name}: number of features must be a positive integer, got ${numFeatures}`);
  if (data.length % numFeatures !== 0)
    throw new DataError(`${init.name}: ${data.length} values do not divide into rows of ${numFeatures}`);
  const numSamples = data.length / numFeatures;
  if (labels.length !== numSamples)
    throw new DataError(`${init.name}: ${labels.length} labels for ${numSamples} samples`);
  const numClasses = init.classNames.length;
  for (let i = 0; i < labels.length; i++)
    if (labels[i] < 0 || labels[i] >= numClasses)
      throw new DataError(`${init.name}: label ${labels[i]} of sample ${i} is outside 0..${numClasses - 1}`);
  const shape = init.featureShape ?? [numFeatures];
  if (shape.reduce((a, b) => a * b, 1) !== numFeatures)
    throw new DataError(`${init.name}: feature shape [${shape}] does not hold ${numFeatures} features`);
  const features: Float32Array[] = new Array(numSamples);
  for (let i = 0; i < numSamples; i++) features[i] = data.subarray(i * numFeatures, (i + 1) * numFeatures);
  return Object.freeze({
    name: init.name,
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

/** The samples at `indices`, copied into a new dataset (same classes and provenance). */
export function subset(dataset: Dataset, indices: ArrayLike<number>, name = dataset.name): Dataset {
  const d = dataset.numFeatures;
  const data = new Float32Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
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

/** Number of samples of each class. */
export function classCounts(dataset: Dataset): number[] {
  const counts = new Array<number>(dataset.classNames.length).fill(0);
  for (const label of dataset.labels) counts[label]++;
  return counts;
}
