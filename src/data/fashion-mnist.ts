/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 60000 training and 10000 test images of 28x28
 * grey levels 0..255 in 10 classes, as four IDX files. The split is fixed by the publishers, so
 * `loadFashionMnist` returns a bundle `{ train, test }` (see DatasetBundle) rather than one pool.
 *
 * Where the files are looked for, in order (each directory must hold all four files, each
 * either gzipped `<name>.gz` or uncompressed `<name>`):
 *   1. `dir`, when given;
 *   2. `systemDir`, default /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist);
 *   3. `cacheDir`, default `$XDG_CACHE_HOME/parsimony/fashion-mnist` or `~/.cache/parsimony/fashion-mnist`.
 * With `download: true`, files missing from the cache are fetched from the publishers' URLs.
 *
 * Integrity: a download is written to a temporary file in the cache, its SHA-256 is checked, and
 * only then is it renamed into place (atomic on one file system); on a mismatch the temporary
 * file is deleted and a CHECKSUM_MISMATCH error is thrown. The digests in FASHION_MNIST_FILES are
 * of the decompressed IDX payload, not of the .gz container: gzip output depends on the
 * compressor and its settings (Debian's .gz files are recompressed and differ byte for byte from
 * the publishers' although their contents are identical), while the payload is the dataset
 * itself. They were computed from the files of Debian's dataset-fashion-mnist
 * 0.0~git20200523.55506a9-1. The publishers document MD5 digests of their .gz files; those are
 * listed too, for reference. Callers can supply their own digests (`checksums`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  ChecksumMismatchError,
  DataError,
  DatasetNotFoundError,
  DownloadFailedError,
  InvalidArgumentError,
} from '../core/errors.js';
import { createDataset, type Dataset, type DatasetBundle, type Provenance } from './dataset.js';
import { type IdxArray, idxToFloat32, isGzip, readIdxFileAsync } from './idx.js';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
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
]);

export type FashionMnistFileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

export interface FashionMnistFile {
  /** File name without `.gz`. */
  file: string;
  /** Number of images or labels it holds. */
  count: number;
  /** SHA-256 of the decompressed IDX file. */
  sha256: string;
  /** MD5 of the publishers' .gz file, as their README lists it (reference only). */
  gzipMd5: string;
}

export const FASHION_MNIST_FILES: Readonly<Record<FashionMnistFileKey, Readonly<FashionMnistFile>>> =
  Object.freeze({
    trainImages: {
      file: 'train-images-idx3-ubyte',
      count: 60000,
      sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
      gzipMd5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    },
    trainLabels: {
      file: 'train-labels-idx1-ubyte',
      count: 60000,
      sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
      gzipMd5: '25c81989df183df01b3e8a0aad5dffbe',
    },
    testImages: {
      file: 't10k-images-idx3-ubyte',
      count: 10000,
      sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
      gzipMd5: 'bef4ecab320f06d8554ea6380940ec79',
    },
    testLabels: {
      file: 't10k-labels-idx1-ubyte',
      count: 10000,
      sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
      gzipMd5: 'bb300cfdad3c16e7a12a480ee83cd310',
    },
  });

const FILE_KEYS = Object.keys(FASHION_MNIST_FILES) as FashionMnistFileKey[];

export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
/** The publishers' download location (plain HTTP; integrity comes from the SHA-256 check). */
export const FASHION_MNIST_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

export const FASHION_MNIST_PROVENANCE: Omit<Provenance, 'location'> = Object.freeze({
  source: 'Fashion-MNIST, Zalando Research (Xiao, Rasul and Vollgraf 2017)',
  citation:
    'Xiao, H., Rasul, K. and Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset for ' +
    'Benchmarking Machine Learning Algorithms. arXiv:1708.07747',
  license: 'MIT',
});

/** The part of the fetch API the downloader uses; pass another one to test or to go through a proxy. */
export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

export interface FashionMnistOptions {
  /** A directory to look in first. */
  dir?: string;
  /** The system-wide directory; `false` skips it. Default /usr/share/datasets/fashion-mnist. */
  systemDir?: string | false;
  /** Where downloads go and are looked for. Default: see `defaultFashionMnistCacheDir`. */
  cacheDir?: string;
  /** Fetch files missing from the cache (needs a network). Default false. */
  download?: boolean;
  /** Download location of the four .gz files. Default FASHION_MNIST_BASE_URL. */
  baseUrl?: string;
  /** Replaces the global fetch. */
  fetch?: FetchLike;
  /** SHA-256 of the decompressed files, replacing those of FASHION_MNIST_FILES. */
  checksums?: Partial<Record<FashionMnistFileKey, string>>;
  /** Time limit of each download in milliseconds. Default 300000. */
  timeoutMs?: number;
}

/** `$XDG_CACHE_HOME/parsimony/fashion-mnist`, or `~/.cache/parsimony/fashion-mnist`. */
export function defaultFashionMnistCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'parsimony', 'fashion-mnist');
}

/** The directories looked in, in order. */
export function fashionMnistSearchDirs(options: FashionMnistOptions = {}): string[] {
  const dirs: string[] = [];
  if (options.dir) dirs.push(options.dir);
  const systemDir = options.systemDir ?? FASHION_MNIST_SYSTEM_DIR;
  if (systemDir !== false) dirs.push(systemDir);
  dirs.push(options.cacheDir ?? defaultFashionMnistCacheDir());
  return [...new Set(dirs)];
}

/** The first directory holding all four files, or undefined. Cheap: only looks at file names. */
export function findFashionMnist(options: FashionMnistOptions = {}): string | undefined {
  return fashionMnistSearchDirs(options).find((dir) => FILE_KEYS.every((key) => fashionMnistFile(dir, key)));
}

/** The path of one of the four files in `dir` (`.gz` preferred), or undefined. */
export function fashionMnistFile(dir: string, key: FashionMnistFileKey): string | undefined {
  const base = join(dir, FASHION_MNIST_FILES[key].file);
  for (const path of [`${base}.gz`, base]) if (isFile(path)) return path;
  return undefined;
}

/**
 * Loads Fashion-MNIST as `{ train, test }`: pixel values 0..255 as float32, feature shape
 * [28, 28, 1], the publishers' class names. The four files are read and decompressed in parallel.
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<DatasetBundle> {
  let dir = findFashionMnist(options);
  if (!dir) {
    const searched = fashionMnistSearchDirs(options);
    if (!options.download)
      throw new DatasetNotFoundError(
        `Fashion-MNIST files not found in ${searched.join(', ')}: install the Debian package ` +
          'dataset-fashion-mnist, give a directory holding the four IDX files, or allow the download',
      );
    dir = options.cacheDir ?? defaultFashionMnistCacheDir();
    await downloadFashionMnist(dir, options);
  }
  const found = dir;
  const paths = FILE_KEYS.map((key) => {
    const path = fashionMnistFile(found, key);
    if (!path) throw new DataError(`${found}: ${FASHION_MNIST_FILES[key].file} disappeared while loading`);
    return path;
  });
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(paths.map(readIdxFileAsync));
  const provenance = { ...FASHION_MNIST_PROVENANCE, location: found };
  return {
    train: toDataset('fashion-mnist', trainImages, paths[0], trainLabels, paths[1], provenance),
    test: toDataset('fashion-mnist (test)', testImages, paths[2], testLabels, paths[3], provenance),
  };
}

export interface DownloadResult {
  dir: string;
  /** Paths of the files fetched by this call (files already present are not fetched again). */
  downloaded: string[];
}

/**
 * Fetches the files missing from `dir` (created if needed), verifying each before it is moved
 * into place. Errors: DOWNLOAD_FAILED (network, HTTP status), CHECKSUM_MISMATCH.
 */
export async function downloadFashionMnist(
  dir: string,
  options: FashionMnistOptions = {},
): Promise<DownloadResult> {
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const base = options.baseUrl ?? FASHION_MNIST_BASE_URL;
  const baseUrl = base.endsWith('/') ? base : `${base}/`;
  const timeoutMs = options.timeoutMs ?? 300_000;
  if (!(timeoutMs > 0)) throw new InvalidArgumentError(`download timeout must be positive, got ${timeoutMs}`);
  await mkdir(dir, { recursive: true });
  const downloaded: string[] = [];
  for (const key of FILE_KEYS) {
    if (fashionMnistFile(dir, key)) continue;
    const { file } = FASHION_MNIST_FILES[key];
    const expected = (options.checksums?.[key] ?? FASHION_MNIST_FILES[key].sha256).toLowerCase();
    const url = `${baseUrl}${file}.gz`;
    const bytes = await fetchBytes(fetchImpl, url, timeoutMs);
    const target = join(dir, `${file}.gz`);
    const temp = join(dir, `.${file}.gz.${process.pid}-${randomBytes(4).toString('hex')}.part`);
    try {
      await writeFile(temp, bytes);
      const actual = idxPayloadSha256(bytes);
      if (actual !== expected)
        throw new ChecksumMismatchError(
          `${url}: SHA-256 of the decompressed file is ${actual}, expected ${expected}; ` +
            'the download was discarded',
        );
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
    downloaded.push(target);
  }
  return { dir, downloaded };
}

/** SHA-256 (hex) of IDX bytes, after undoing gzip when the bytes are gzipped. */
export function idxPayloadSha256(bytes: Uint8Array): string {
  let payload = bytes;
  if (isGzip(bytes)) {
    try {
      payload = gunzipSync(bytes);
    } catch {
      payload = bytes; // corrupt gzip: hash what arrived, which cannot match
    }
  }
  return createHash('sha256').update(payload).digest('hex');
}

async function fetchBytes(fetchImpl: FetchLike, url: string, timeoutMs: number): Promise<Uint8Array> {
  try {
    const response = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok)
      // not a user error: caught below and reported as DOWNLOAD_FAILED
      throw new Error(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    const reason = error instanceof Error ? describeFetchError(error) : String(error);
    throw new DownloadFailedError(`cannot download ${url}: ${reason}`, { cause: error });
  }
}

/** undici reports "fetch failed" and hides the reason (DNS, refused connection) in `cause`. */
function describeFetchError(error: Error): string {
  if (error.name === 'TimeoutError') return 'timed out';
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

function toDataset(
  name: string,
  images: IdxArray,
  imagesPath: string,
  labels: IdxArray,
  labelsPath: string,
  provenance: Provenance,
): Dataset {
  const { dims } = images;
  if (images.dtype !== 'uint8' || dims.length !== 3 || dims[1] !== 28 || dims[2] !== 28)
    throw new DataError(
      `${imagesPath}: expected N x 28 x 28 uint8 images, got ${dims.join(' x ')} ${images.dtype}`,
    );
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1)
    throw new DataError(
      `${labelsPath}: expected a vector of uint8 labels, got ${labels.dims.join(' x ')} ${labels.dtype}`,
    );
  if (labels.dims[0] !== dims[0])
    throw new DataError(`${labelsPath}: ${labels.dims[0]} labels for the ${dims[0]} images of ${imagesPath}`);
  const classes = FASHION_MNIST_CLASSES.length;
  const labelValues = new Int32Array(labels.data.length);
  for (let i = 0; i < labelValues.length; i++) {
    const label = labels.data[i];
    if (label >= classes)
      throw new DataError(`${labelsPath}: label ${label} of item ${i} is outside 0..${classes - 1}`);
    labelValues[i] = label;
  }
  return createDataset({
    name,
    data: idxToFloat32(images),
    numFeatures: 28 * 28,
    labels: labelValues,
    classNames: FASHION_MNIST_CLASSES,
    featureShape: [28, 28, 1],
    provenance,
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
