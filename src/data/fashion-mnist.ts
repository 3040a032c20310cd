/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 60000 training and 10000 test images, 28x28, 10
 * classes. Looked for in a directory the caller names, then Debian's dataset-fashion-mnist
 * directory, then the user's cache. With `download: true` the four files are fetched into the
 * cache; each is checked against the SHA-256 of its decompressed IDX payload before it is kept, so
 * a re-compressed mirror (as Debian's) verifies the same as the original.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, FileNotFoundError, ParsimonyError } from '../core/errors.js';
import { createDataset, type Dataset, type DatasetBundle } from './dataset.js';
import { readIdxFile } from './idx.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** SHA-256 of each decompressed file, measured on Debian's dataset-fashion-mnist 2020 files. */
export const FASHION_MNIST_FILES = {
  trainImages: {
    file: 'train-images-idx3-ubyte',
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  },
  trainLabels: {
    file: 'train-labels-idx1-ubyte',
    sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  },
  testImages: {
    file: 't10k-images-idx3-ubyte',
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  },
  testLabels: {
    file: 't10k-labels-idx1-ubyte',
    sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
  },
} as const;
type FileKey = keyof typeof FASHION_MNIST_FILES;

export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

export const FASHION_MNIST_PROVENANCE = {
  source: 'Fashion-MNIST, Zalando Research (Xiao, Rasul and Vollgraf 2017)',
  citation: 'Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST. arXiv:1708.07747',
  license: 'MIT',
};

export type FetchBytes = (url: string) => Promise<Uint8Array>;

export interface FashionMnistOptions {
  /** Only this directory is used when given. */
  dir?: string;
  /** Default `$XDG_CACHE_HOME/parsimony/fashion-mnist` or `~/.cache/parsimony/fashion-mnist`. */
  cacheDir?: string;
  /** Fetch missing files into the cache (needs a network). Default false. */
  download?: boolean;
  baseUrl?: string;
  /** Replaces the network fetch (tests, proxies). */
  fetchBytes?: FetchBytes;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'parsimony', 'fashion-mnist');
}

/** The directory holding all four files, or undefined. */
export function findFashionMnist(
  options: Pick<FashionMnistOptions, 'dir' | 'cacheDir'> = {},
): string | undefined {
  const dirs = options.dir
    ? [options.dir]
    : [FASHION_MNIST_SYSTEM_DIR, options.cacheDir ?? defaultCacheDir()];
  return dirs.find((dir) => (Object.keys(FASHION_MNIST_FILES) as FileKey[]).every((k) => fileIn(dir, k)));
}

export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<DatasetBundle> {
  let dir = findFashionMnist(options);
  if (!dir) {
    if (options.dir && !options.download)
      throw new FileNotFoundError(
        options.dir,
        'Fashion-MNIST files (train/t10k images and labels) in directory',
      );
    if (!options.download)
      throw new ParsimonyError(
        'DATASET_NOT_FOUND',
        `Fashion-MNIST not found in ${FASHION_MNIST_SYSTEM_DIR} or ${options.cacheDir ?? defaultCacheDir()}: ` +
          'install Debian package dataset-fashion-mnist, pass a directory, or allow download',
      );
    dir = options.dir ?? options.cacheDir ?? defaultCacheDir();
    await downloadFashionMnist(dir, options);
  }
  const part = (images: FileKey, labels: FileKey, name: string): Dataset => {
    const x = readIdxFile(fileIn(dir!, images)!);
    const y = readIdxFile(fileIn(dir!, labels)!);
    if (x.dims.length !== 3 || x.dims[1] !== 28 || x.dims[2] !== 28)
      throw new DataError(
        `${fileIn(dir!, images)}: expected N x 28 x 28 images, got [${x.dims.join(' x ')}]`,
      );
    if (y.dims.length !== 1 || y.dims[0] !== x.dims[0])
      throw new DataError(`${fileIn(dir!, labels)}: ${y.dims[0]} labels for ${x.dims[0]} images`);
    return createDataset({
      name,
      data: Float32Array.from(x.data),
      numFeatures: 784,
      labels: Int32Array.from(y.data),
      classNames: FASHION_MNIST_CLASSES,
      featureShape: [28, 28, 1],
      provenance: { ...FASHION_MNIST_PROVENANCE, location: dir! },
    });
  };
  return {
    train: part('trainImages', 'trainLabels', 'fashion-mnist'),
    test: part('testImages', 'testLabels', 'fashion-mnist (test)'),
  };
}

/** Downloads the missing files into `dir`, verifying each before it is moved into place. */
export async function downloadFashionMnist(dir: string, options: FashionMnistOptions = {}): Promise<void> {
  const fetchBytes = options.fetchBytes ?? fetchWithGlobalFetch;
  const baseUrl = options.baseUrl ?? FASHION_MNIST_BASE_URL;
  mkdirSync(dir, { recursive: true });
  for (const key of Object.keys(FASHION_MNIST_FILES) as FileKey[]) {
    if (fileIn(dir, key)) continue;
    const { file, sha256 } = FASHION_MNIST_FILES[key];
    const url = `${baseUrl}${file}.gz`;
    let bytes: Uint8Array;
    try {
      bytes = await fetchBytes(url);
    } catch (error) {
      throw new ParsimonyError('DOWNLOAD_FAILED', `cannot download ${url}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const target = join(dir, `${file}.gz`);
    const partial = `${target}.partial-${process.pid}`;
    writeFileSync(partial, bytes);
    const actual = payloadSha256(bytes);
    if (actual !== sha256) {
      rmSync(partial, { force: true });
      throw new ParsimonyError(
        'CHECKSUM_MISMATCH',
        `${url}: SHA-256 ${actual} does not match the expected ${sha256}; the file was discarded`,
      );
    }
    renameSync(partial, target);
  }
}

/** SHA-256 of the decompressed payload (gzip is undone first when present). */
export function payloadSha256(bytes: Uint8Array): string {
  let payload = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      payload = gunzipSync(bytes);
    } catch {
      payload = bytes; // corrupt gzip: hash what arrived, which cannot match
    }
  }
  return createHash('sha256').update(payload).digest('hex');
}

function fileIn(dir: string, key: FileKey): string | undefined {
  const base = join(dir, FASHION_MNIST_FILES[key].file);
  if (existsSync(`${base}.gz`)) return `${base}.gz`;
  if (existsSync(base)) return base;
  return undefined;
}

async function fetchWithGlobalFetch(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}
