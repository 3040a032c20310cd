/**
 * Warm starts from past studies: a study records the meta-features of its dataset (size,
 * features, classes, class balance, two cheap landmarkers), and a new study on a similar dataset
 * enqueues the best configurations of the nearest past studies in the same storage that searched
 * the same space, so they run before anything the sampler proposes.
 *
 * Not done yet: using the past trials as a prior for TPE (only their best configurations are
 * enqueued).
 */
import type { Distribution, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { Random } from '../core/random.js';
import type { Study } from '../core/study.js';
import type { Dataset } from '../data/dataset.js';

/** Study user attribute holding the meta-features of the study's dataset. */
export const META_FEATURES_ATTR = 'datasetMetaFeatures';
/** Trial user attributes of an enqueued warm-start configuration. */
export const WARM_START_FROM_ATTR = 'warmStartFrom';
export const WARM_START_DISTANCE_ATTR = 'warmStartDistance';

export interface DatasetMetaFeatures {
  samples: number;
  features: number;
  classes: number;
  /** Smallest class count over the largest (1 = balanced). */
  classBalance: number;
  /** Entropy of the class distribution over log(classes) (1 = uniform). */
  classEntropy: number;
  /** Landmarker: accuracy of the nearest class centroid (standardised features) on a seeded holdout. */
  nearestCentroidAccuracy: number;
  /** Landmarker: accuracy of one nearest neighbour on a seeded subsample (at most 1000 + 300 samples). */
  oneNearestNeighbourAccuracy: number;
}

const LANDMARK_TRAIN = 1000;
const LANDMARK_TEST = 300;

/** Meta-features of a dataset; the landmarkers use a seeded split (default seed 0). */
export function datasetMetaFeatures(dataset: Dataset, options: { seed?: number } = {}): DatasetMetaFeatures {
  const n = dataset.labels.length;
  const d = dataset.numFeatures;
  const k = dataset.classNames.length;
  if (n < 2)
    throw new InvalidArgumentError(`meta-features: ${dataset.name} has ${n} samples, need at least 2`);
  const counts = new Array<number>(k).fill(0);
  for (const label of dataset.labels) counts[label]++;
  const present = counts.filter((c) => c > 0);
  let entropy = 0;
  for (const c of present) entropy -= (c / n) * Math.log(c / n);
  // Standardise each feature so the landmarkers do not depend on the features' units.
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += dataset.data[i * d + j] / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) std[j] += (dataset.data[i * d + j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  const value = (i: number, j: number) => (dataset.data[i * d + j] - mean[j]) / std[j];
  const order = new Random(options.seed ?? 0).fork('meta-features').permutation(n);
  const testCount = Math.max(1, Math.min(LANDMARK_TEST, Math.floor(n * 0.25)));
  const testRows = order.subarray(0, testCount);
  const trainRows = order.subarray(testCount, testCount + Math.min(LANDMARK_TRAIN, n - testCount));
  // Nearest centroid.
  const centroids = new Float64Array(k * d);
  const seen = new Array<number>(k).fill(0);
  for (const i of trainRows) {
    seen[dataset.labels[i]]++;
    for (let j = 0; j < d; j++) centroids[dataset.labels[i] * d + j] += value(i, j);
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) centroids[c * d + j] /= seen[c] || 1;
  let centroidHits = 0;
  let neighbourHits = 0;
  for (const i of testRows) {
    let bestClass = -1;
    let bestDistance = Infinity;
    for (let c = 0; c < k; c++) {
      if (seen[c] === 0) continue;
      let s = 0;
      for (let j = 0; j < d; j++) s += (value(i, j) - centroids[c * d + j]) ** 2;
      if (s < bestDistance) [bestDistance, bestClass] = [s, c];
    }
    if (bestClass === dataset.labels[i]) centroidHits++;
    let nearest = -1;
    bestDistance = Infinity;
    for (const r of trainRows) {
      let s = 0;
      for (let j = 0; j < d && s < bestDistance; j++) s += (value(i, j) - value(r, j)) ** 2;
      if (s < bestDistance) [bestDistance, nearest] = [s, r];
    }
    if (nearest >= 0 && dataset.labels[nearest] === dataset.labels[i]) neighbourHits++;
  }
  return {
    samples: n,
    features: d,
    classes: k,
    classBalance: present.length < k ? 0 : Math.min(...counts) / Math.max(...counts),
    classEntropy: k > 1 ? entropy / Math.log(k) : 0,
    nearestCentroidAccuracy: centroidHits / testCount,
    oneNearestNeighbourAccuracy: neighbourHits / testCount,
  };
}

/**
 * Distance between two datasets' meta-features: sizes compare on a log10 scale, the ratios and
 * accuracies (all in [0, 1]) as they are.
 */
export function metaFeatureDistance(a: DatasetMetaFeatures, b: DatasetMetaFeatures): number {
  const log = (x: number) => Math.log10(Math.max(1, x));
  const terms = [
    log(a.samples) - log(b.samples),
    log(a.features) - log(b.features),
    log(a.classes) - log(b.classes),
    a.classBalance - b.classBalance,
    a.classEntropy - b.classEntropy,
    a.nearestCentroidAccuracy - b.nearestCentroidAccuracy,
    a.oneNearestNeighbourAccuracy - b.oneNearestNeighbourAccuracy,
  ];
  return Math.sqrt(terms.reduce((s, t) => s + t * t, 0));
}

function isMetaFeatures(value: unknown): value is DatasetMetaFeatures {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return [
    'samples',
    'features',
    'classes',
    'classBalance',
    'classEntropy',
    'nearestCentroidAccuracy',
    'oneNearestNeighbourAccuracy',
  ].every((key) => typeof v[key] === 'number' && Number.isFinite(v[key]));
}

export interface WarmStartOptions {
  metaFeatures: DatasetMetaFeatures;
  /** The new study's search space: past trials must have exactly these parameters, each inside it. */
  space: Readonly<Record<string, Distribution>>;
  /** How many of the nearest past studies to draw from (default 3). */
  maxStudies?: number;
  /** Best configurations enqueued per past study (default 1). */
  perStudy?: number;
  /** Past studies farther than this are not used (default: no limit). */
  maxDistance?: number;
}

export interface WarmStartSource {
  studyName: string;
  distance: number;
  enqueued: Record<string, ParamValue>[];
}

function fitsSpace(trial: FrozenTrial, space: Readonly<Record<string, Distribution>>): boolean {
  const names = Object.keys(space);
  if (Object.keys(trial.params).length !== names.length) return false;
  for (const name of names) {
    if (!(name in trial.params)) return false;
    try {
      if (!space[name].contains(space[name].toInternal(trial.params[name]))) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Records the meta-features on `study` and enqueues the best configurations of the nearest past
 * studies (single objective, same direction, same space) in its storage, nearest first.
 */
export async function warmStartStudy(study: Study, options: WarmStartOptions): Promise<WarmStartSource[]> {
  if (!isMetaFeatures(options.metaFeatures))
    throw new InvalidArgumentError('warm start: metaFeatures must come from datasetMetaFeatures');
  const maxStudies = options.maxStudies ?? 3;
  const perStudy = options.perStudy ?? 1;
  for (const [name, value] of [
    ['maxStudies', maxStudies],
    ['perStudy', perStudy],
  ] as const)
    if (!(Number.isInteger(value) && value > 0))
      throw new InvalidArgumentError(`warm start: ${name} must be a positive integer, got ${value}`);
  if (study.directions.length !== 1)
    throw new InvalidArgumentError('warm start: only single-objective studies can be warm-started');
  const direction = study.directions[0];
  await study.setUserAttr(META_FEATURES_ATTR, { ...options.metaFeatures });
  const candidates: { studyId: number; studyName: string; distance: number }[] = [];
  for (const past of await study.storage.getAllStudies()) {
    if (past.studyId === study.studyId) continue;
    if (past.directions.length !== 1 || past.directions[0] !== direction) continue;
    const meta = past.userAttrs[META_FEATURES_ATTR];
    if (!isMetaFeatures(meta)) continue;
    const distance = metaFeatureDistance(options.metaFeatures, meta);
    if (options.maxDistance !== undefined && distance > options.maxDistance) continue;
    candidates.push({ studyId: past.studyId, studyName: past.studyName, distance });
  }
  candidates.sort((a, b) => a.distance - b.distance || a.studyId - b.studyId);
  const sign = direction === 'maximize' ? -1 : 1;
  const sources: WarmStartSource[] = [];
  for (const past of candidates) {
    if (sources.length >= maxStudies) break;
    const trials = (await study.storage.getAllTrials(past.studyId, { states: ['COMPLETE'] }))
      .filter((t) => t.values !== null && Number.isFinite(t.values[0]) && fitsSpace(t, options.space))
      .sort((a, b) => sign * ((a.values as number[])[0] - (b.values as number[])[0]) || a.number - b.number);
    if (trials.length === 0) continue;
    const enqueued: Record<string, ParamValue>[] = [];
    for (const t of trials.slice(0, perStudy)) {
      const params = { ...t.params };
      await study.enqueueTrial(params, {
        skipIfExists: true,
        userAttrs: { [WARM_START_FROM_ATTR]: past.studyName, [WARM_START_DISTANCE_ATTR]: past.distance },
      });
      enqueued.push(params);
    }
    sources.push({ studyName: past.studyName, distance: past.distance, enqueued });
  }
  return sources;
}
