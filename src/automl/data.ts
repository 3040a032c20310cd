/**
 * The data of an AutoML run: a CSV table (categorical columns and missing cells prepared on the
 * training rows), a CSV of images (`imageShape`), or a built-in image dataset (digits, or
 * Fashion-MNIST from its IDX files). Split with the run's seed into train, validation and test;
 * every check that would make the whole run fail is made here, before anything is written.
 */
import { DataError, InvalidArgumentError } from '../core/errors.js';
import { type CsvTable, loadCsvTable } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { BUILTIN_DATASET_NAMES, CSV_PREFIX, loadDataset } from '../data/registry.js';
import { prepareTableSplits, type TablePreparation } from '../data/table-preparation.js';
import { splitBundle } from '../data/transforms.js';

export type ImageShape = [number, number, number];

/** Where the data comes from: a CSV file (a table, or images with `imageShape`) or a built-in dataset. */
export type AutomlSource =
  | { kind: 'dataset'; name: string }
  | { kind: 'csv'; path: string; target: string; imageShape?: ImageShape };

export interface AutomlData {
  /** Tables search MLPs over prepared features; images search convolutional networks. */
  kind: 'table' | 'image';
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** The CSV's table preparation (fitted on the training rows), absent for built-in datasets. */
  table?: TablePreparation;
  featureNames: string[];
  target: string | number | null;
  classNames: string[];
  /** One sample as the model reads it: [h, w, c] for images, [features] for tables. */
  inputShape: number[];
  /** The name results are filed under. */
  name: string;
}

/** Datasets above this many training samples hold out a smaller share for validation. */
const LARGE = 20_000;

/** `data.csv`, `csv:data.csv` or a built-in name, as the command line gives it. */
export function parseSource(data: string, target?: string, imageShape?: ImageShape): AutomlSource {
  const trimmed = data.trim();
  const builtIn = BUILTIN_DATASET_NAMES.includes(trimmed.toLowerCase());
  if (builtIn) {
    if (imageShape)
      throw new InvalidArgumentError(
        `--image-shape is for CSV files; ${trimmed} has its own shape (see \`parsimony datasets\`)`,
      );
    return { kind: 'dataset', name: trimmed.toLowerCase() };
  }
  const path = trimmed.toLowerCase().startsWith(CSV_PREFIX) ? trimmed.slice(CSV_PREFIX.length) : trimmed;
  if (target === undefined || target.trim() === '')
    throw new InvalidArgumentError(
      `${path}: give the target column with --target (its name or 0-based index)`,
    );
  return { kind: 'csv', path, target, ...(imageShape ? { imageShape } : {}) };
}

/** "28x28x1" -> [28, 28, 1]; one line naming the flag otherwise. */
export function parseImageShape(text: string): ImageShape {
  const parts = text.trim().toLowerCase().split('x');
  const numbers = parts.map(Number);
  if (parts.length !== 3 || numbers.some((n) => !Number.isInteger(n) || n <= 0))
    throw new InvalidArgumentError(
      `--image-shape must be height x width x channels, such as 28x28x1, got "${text}"`,
    );
  return numbers as ImageShape;
}

function checkTarget(table: Pick<CsvTable, 'source' | 'classNames'>, target: string): void {
  if (table.classNames.length < 2)
    throw new DataError(
      `${table.source}: target column "${target}" holds one value (${JSON.stringify(table.classNames[0])}) in every row: nothing to learn`,
    );
}

export async function loadAutomlData(source: AutomlSource, seed: number): Promise<AutomlData> {
  if (source.kind === 'dataset') {
    const bundle = await loadDataset(source.name);
    const large = bundle.train.numSamples > LARGE;
    const splits = splitBundle(bundle, { seed, validation: large ? 0.1 : 0.2, test: 0.2 });
    const shape = [...bundle.train.featureShape];
    return {
      kind: shape.length === 3 ? 'image' : 'table',
      train: splits.train,
      validation: splits.validation,
      test: splits.test,
      featureNames: [],
      target: null,
      classNames: [...bundle.train.classNames],
      inputShape: shape,
      name: source.name,
    };
  }
  const table = loadCsvTable(source.path, { target: source.target });
  checkTarget(table, source.target);
  const large = table.labels.length > LARGE;
  const splits = prepareTableSplits(table, { seed, validation: large ? 0.1 : 0.2, test: 0.2 });
  for (const part of ['train', 'validation', 'test'] as const)
    if (splits[part].numSamples === 0)
      throw new DataError(
        `${table.source}: ${table.labels.length} rows are too few to split into train, validation (20%) and test (20%): the ${part} part would be empty`,
      );
  const features = splits.train.numFeatures;
  let inputShape = [features];
  if (source.imageShape) {
    const size = source.imageShape.reduce((a, b) => a * b, 1);
    if (size !== table.featureNames.length || size !== features)
      throw new DataError(
        `${table.source}: --image-shape ${source.imageShape.join('x')} holds ${size} values, but the file has ${table.featureNames.length} feature columns${features !== table.featureNames.length ? ` (${features} after preparing categorical and missing cells)` : ''}`,
      );
    inputShape = [...source.imageShape];
  }
  return {
    kind: source.imageShape ? 'image' : 'table',
    train: splits.train,
    validation: splits.validation,
    test: splits.test,
    table: splits.preparation,
    featureNames: table.featureNames,
    target: source.target,
    classNames: table.classNames,
    inputShape,
    name: table.name,
  };
}
