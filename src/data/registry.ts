/**
 * Datasets by name: the built-in `digits` and `fashion-mnist`, and `csv:<path>` for any CSV file
 * (so a command line can take `--dataset csv:data/flowers.csv`).
 */
import { existsSync } from 'node:fs';
import { DatasetNotFoundError, InvalidArgumentError } from '../core/errors.js';
import { type CsvOptions, loadCsv, loadCsvTable } from './csv.js';
import type { DatasetBundle } from './dataset.js';
import { DIGITS_PATH, DIGITS_PROVENANCE, loadDigits } from './digits.js';
import {
  FASHION_MNIST_FILES,
  FASHION_MNIST_PROVENANCE,
  type FashionMnistOptions,
  fashionMnistSearchDirs,
  findFashionMnist,
  loadFashionMnist,
} from './fashion-mnist.js';
import { prepareTableSplits, type TablePreparation } from './table-preparation.js';
import { type DataSplits, type SplitOptions, splitBundle } from './transforms.js';

/** The prefix that turns a file path into a dataset name. */
export const CSV_PREFIX = 'csv:';

export interface DatasetInfo {
  name: string;
  /** Total number of samples, train + test. */
  samples: number;
  /** Samples in the training pool (all of them when there is no fixed test part). */
  train: number;
  /** Samples in the fixed test part; 0 when there is none. */
  test: number;
  features: number;
  featureShape: number[];
  classes: number;
  /** Where it loads from on this machine; when unavailable, where it was looked for. */
  location: string;
  available: boolean;
  description: string;
  source: string;
  license?: string;
  /** How to make an unavailable dataset available. */
  hint?: string;
}

interface BuiltIn {
  name: string;
  describe: (options: LoadDatasetOptions) => DatasetInfo;
  load: (options: LoadDatasetOptions) => Promise<DatasetBundle>;
}

const BUILT_INS: readonly BuiltIn[] = [
  {
    name: 'digits',
    describe: () => ({
      name: 'digits',
      samples: 1797,
      train: 1797,
      test: 0,
      features: 64,
      featureShape: [8, 8, 1],
      classes: 10,
      location: DIGITS_PATH,
      available: existsSync(DIGITS_PATH),
      description: 'UCI handwritten digits: 8x8 images, grey levels 0..16 (embedded in the package)',
      source: DIGITS_PROVENANCE.source,
      license: DIGITS_PROVENANCE.license,
    }),
    load: async () => ({ train: loadDigits() }),
  },
  {
    name: 'fashion-mnist',
    describe: (options) => {
      const found = findFashionMnist(options.fashionMnist);
      return {
        name: 'fashion-mnist',
        samples: FASHION_MNIST_FILES.trainImages.count + FASHION_MNIST_FILES.testImages.count,
        train: FASHION_MNIST_FILES.trainImages.count,
        test: FASHION_MNIST_FILES.testImages.count,
        features: 784,
        featureShape: [28, 28, 1],
        classes: 10,
        location: found ?? fashionMnistSearchDirs(options.fashionMnist).join(' or '),
        available: found !== undefined,
        description: 'Zalando Fashion-MNIST: 28x28 images, grey levels 0..255, fixed test part',
        source: FASHION_MNIST_PROVENANCE.source,
        license: FASHION_MNIST_PROVENANCE.license,
        ...(found ? {} : { hint: 'apt-get install dataset-fashion-mnist, or load it with download enabled' }),
      };
    },
    load: (options) => loadFashionMnist(options.fashionMnist),
  },
];

/** Names of the built-in datasets. */
export const BUILTIN_DATASET_NAMES: readonly string[] = Object.freeze(BUILT_INS.map((b) => b.name));

export interface LoadDatasetOptions {
  /** Where to look for Fashion-MNIST, and whether to download it. */
  fashionMnist?: FashionMnistOptions;
  /** Options for `csv:` datasets. */
  csv?: CsvOptions;
  /** Target column of a `csv:` dataset (name or index); shorthand for `csv.target`. */
  target?: string | number;
}

/** The built-in datasets: sizes, where each loads from and whether it is available here. */
export function listDatasets(options: LoadDatasetOptions = {}): DatasetInfo[] {
  return BUILT_INS.map((b) => b.describe(options));
}

/**
 * Loads a dataset by name: a built-in name, or `csv:<path>`. Built-ins with a fixed test part
 * return it as `test`; the others return everything as `train`.
 * An unknown name is a DATASET_NOT_FOUND error listing the known names.
 */
export async function loadDataset(name: string, options: LoadDatasetOptions = {}): Promise<DatasetBundle> {
  const trimmed = name.trim();
  if (trimmed.toLowerCase().startsWith(CSV_PREFIX)) {
    const path = trimmed.slice(CSV_PREFIX.length);
    if (path === '') throw new InvalidArgumentError(`dataset "${name}": give a file after ${CSV_PREFIX}`);
    const csv = { ...options.csv };
    if (options.target !== undefined) csv.target = options.target;
    return { train: loadCsv(path, csv) };
  }
  const builtIn = BUILT_INS.find((b) => b.name === trimmed.toLowerCase());
  if (!builtIn)
    throw new DatasetNotFoundError(
      `unknown dataset "${name}"; known datasets: ${BUILTIN_DATASET_NAMES.join(', ')}, or ${CSV_PREFIX}<path> for a CSV file`,
    );
  return builtIn.load(options);
}

/** Splits of a dataset, with the table preparation a `csv:` dataset was prepared with. */
export interface PreparedSplits extends DataSplits {
  /** Categorical columns and missing cells of a `csv:` dataset, fitted on its training rows. */
  preparation?: TablePreparation;
  /** A `csv:` dataset's feature columns by header name ('' without a header), in file order. */
  featureNames?: string[];
}

/**
 * Loads a dataset by name and splits it (as `splitBundle`). A `csv:` dataset may hold categorical
 * columns and missing cells: its table preparation is fitted on the training rows only and applied
 * to every part (a file of numbers alone comes out as `loadDataset` and `splitBundle` give it).
 */
export async function loadDatasetSplits(
  name: string,
  split: SplitOptions = {},
  options: LoadDatasetOptions = {},
): Promise<PreparedSplits> {
  const trimmed = name.trim();
  if (!trimmed.toLowerCase().startsWith(CSV_PREFIX))
    return splitBundle(await loadDataset(name, options), split);
  const path = trimmed.slice(CSV_PREFIX.length);
  if (path === '') throw new InvalidArgumentError(`dataset "${name}": give a file after ${CSV_PREFIX}`);
  const csv = { ...options.csv };
  if (options.target !== undefined) csv.target = options.target;
  const table = loadCsvTable(path, csv);
  return { ...prepareTableSplits(table, split), featureNames: table.featureNames };
}
