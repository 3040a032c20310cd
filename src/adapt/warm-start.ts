/**
 * Warm starts from past studies: a study records the meta-features of its dataset (size,
 * features, classes, class balance, two cheap landmarkers), and a new study on a similar dataset
 * enqueues the best configurations of the nearest past studies in the same storage that searched
 * the same space, so they run before anything the sampler proposes.
 *
 * `warmStartPrior` turns the same nearest past studies into a prior for TPE: every completed
 * trial of each (not only the best) joins TPE's good or bad density, weighted by how similar the
 * past dataset is, so the sampler models the space from the new study's first trial.
 */
import type { Distribution, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { Random } from '../core/random.js';
import type { Storage } from '../core/storage.js';
import type { Study } from '../core/study.js';
import type { Dataset } from '../data/dataset.js';
import type { TpePrior } from '../samplers/tpe/tpe-sampler.js';

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
  /** Names of studies never to draw from (e.g. one on the same data, for a fair comparison). */
  exclude?: readonly string[];
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

interface PastStudy {
  studyId: number;
  studyName: string;
  distance: number;
  /** Completed trials with exactly the space's parameters, best first. */
  trials: FrozenTrial[];
}

/**
 * The past studies in `storage` with recorded meta-features, one objective in `direction` and
 * completed trials over `space`, nearest first (at most `maxStudies`).
 */
async function nearestPastStudies(
  storage: Storage,
  options: WarmStartOptions,
  direction: 'minimize' | 'maximize',
  excludeStudyId?: number,
): Promise<PastStudy[]> {
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
  const candidates: { studyId: number; studyName: string; distance: number }[] = [];
  for (const past of await storage.getAllStudies()) {
    if (past.studyId === excludeStudyId || options.exclude?.includes(past.studyName)) continue;
    if (past.directions.length !== 1 || past.directions[0] !== direction) continue;
    const meta = past.userAttrs[META_FEATURES_ATTR];
    if (!isMetaFeatures(meta)) continue;
    const distance = metaFeatureDistance(options.metaFeatures, meta);
    if (options.maxDistance !== undefined && distance > options.maxDistance) continue;
    candidates.push({ studyId: past.studyId, studyName: past.studyName, distance });
  }
  candidates.sort((a, b) => a.distance - b.distance || a.studyId - b.studyId);
  const sign = direction === 'maximize' ? -1 : 1;
  const out: PastStudy[] = [];
  for (const past of candidates) {
    if (out.length >= maxStudies) break;
    const trials = (await storage.getAllTrials(past.studyId, { states: ['COMPLETE'] }))
      .filter((t) => t.values !== null && Number.isFinite(t.values[0]) && fitsSpace(t, options.space))
      .sort((a, b) => sign * ((a.values as number[])[0] - (b.values as number[])[0]) || a.number - b.number);
    if (trials.length > 0) out.push({ ...past, trials });
  }
  return out;
}

/**
 * Records the meta-features on `study` and enqueues the best configurations of the nearest past
 * studies (single objective, same direction, same space) in its storage, nearest first.
 */
export async function warmStartStudy(study: Study, options: WarmStartOptions): Promise<WarmStartSource[]> {
  if (study.directions.length !== 1)
    throw new InvalidArgumentError('warm start: only single-objective studies can be warm-started');
  const direction = study.directions[0];
  const pasts = await nearestPastStudies(study.storage, options, direction, study.studyId);
  await study.setUserAttr(META_FEATURES_ATTR, { ...options.metaFeatures });
  const perStudy = options.perStudy ?? 1;
  const sources: WarmStartSource[] = [];
  for (const past of pasts) {
    const enqueued: Record<string, ParamValue>[] = [];
    for (const t of past.trials.slice(0, perStudy)) {
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

export interface WarmStartPriorOptions extends WarmStartOptions {
  /** The new study's direction (default maximize). */
  direction?: 'minimize' | 'maximize';
  /**
   * Weight of one past observation relative to one of the new study's, for a past dataset at
   * meta-feature distance d: `weightScale / (1 + d)` (default weightScale 1).
   */
  weightScale?: number;
}

/**
 * A TPE prior from the nearest past studies in `storage` (for `new TPESampler({ prior })`): all
 * their completed trials over `space`, each study weighted by its similarity. Empty `studies`
 * when there is no usable past study (TPE then starts as usual, after its random startup trials).
 */
export async function warmStartPrior(
  storage: Storage,
  options: WarmStartPriorOptions,
): Promise<TpePrior & { sources: { studyName: string; distance: number; trials: number }[] }> {
  const direction = options.direction ?? 'maximize';
  const scale = options.weightScale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new InvalidArgumentError(`warm start: weightScale must be > 0, got ${scale}`);
  const pasts = await nearestPastStudies(storage, options, direction);
  return {
    space: { ...options.space },
    studies: pasts.map((past) => ({
      direction,
      weight: scale / (1 + past.distance),
      observations: past.trials.map((t) => ({ params: t.params, value: (t.values as number[])[0] })),
    })),
    // Without any past study, TPE keeps its usual random startup.
    ...(pasts.length === 0 ? { startupTrials: Number.MAX_SAFE_INTEGER } : {}),
    sources: pasts.map((p) => ({ studyName: p.studyName, distance: p.distance, trials: p.trials.length })),
  };
}
