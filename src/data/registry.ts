/** Built-in datasets by name, plus `csv:<path>` for any CSV file. */
import { ParsimonyError } from '../core/errors.js';
import { loadCsv } from './csv.js';
import type { DatasetBundle } from './dataset.js';
import { DIGITS_PATH, loadDigits } from './digits.js';
import {
  defaultCacheDir,
  FASHION_MNIST_SYSTEM_DIR,
  type FashionMnistOptions,
  findFashionMnist,
  loadFashionMnist,
} from './fashion-mnist.js';

export interface DatasetInfo {
  name: string;
  description: string;
  samples: number;
  train: number;
  test: number;
  features: number;
  classes: number;
  /** Where it loads from on this machine (or would, once installed). */
  location: string;
  available: boolean;
}

export function listDatasets(): DatasetInfo[] {
  const fashion = findFashionMnist();
  return [
    {
      name: 'digits',
      description: 'UCI handwritten digits, 8x8 grey levels 0..16 (embedded)',
      samples: 1797,
      train: 1797,
      test: 0,
      features: 64,
      classes: 10,
      location: DIGITS_PATH,
      available: true,
    },
    {
      name: 'fashion-mnist',
      description: 'Zalando Fashion-MNIST, 28x28 grey levels 0..255, fixed test part',
      samples: 70000,
      train: 60000,
      test: 10000,
      features: 784,
      classes: 10,
      location: fashion ?? `${FASHION_MNIST_SYSTEM_DIR} or ${defaultCacheDir()}`,
      available: fashion !== undefined,
    },
  ];
}

export interface LoadDatasetOptions {
  fashionMnist?: FashionMnistOptions;
  /** Target column for `csv:` datasets (name or index; default the last column). */
  target?: string | number;
}

export async function loadDataset(name: string, options: LoadDatasetOptions = {}): Promise<DatasetBundle> {
  if (name === 'digits') return { train: loadDigits() };
  if (name === 'fashion-mnist') return loadFashionMnist(options.fashionMnist);
  if (name.startsWith('csv:')) return { train: loadCsv(name.slice(4), { target: options.target }) };
  throw new ParsimonyError(
    'DATASET_NOT_FOUND',
    `unknown dataset "${name}" (built-in: ${listDatasets()
      .map((d) => d.name)
      .join(', ')}; or csv:<path>)`,
  );
}
