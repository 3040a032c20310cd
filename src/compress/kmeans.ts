/**
 * One-dimensional k-means for weight sharing (Deep Compression): a layer's weights become indices
 * into a codebook of k shared values. Initialisations as Han et al. compare them:
 * - linear: k values evenly spaced between the smallest and largest weight (their best for accuracy,
 *   because it keeps the few large weights that matter);
 * - density: k values evenly spaced along the weights' cumulative distribution;
 * - kmeans++: seeded D^2 sampling.
 * Assignment is a binary search over the sorted centroids, so each Lloyd iteration is n log k.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';

export type KMeansInit = 'linear' | 'density' | 'kmeans++';
export const KMEANS_INITS: readonly KMeansInit[] = ['linear', 'density', 'kmeans++'];

export interface KMeansOptions {
  k: number;
  init?: KMeansInit;
  maxIterations?: number;
  /** Seeds kmeans++ (default 0). */
  seed?: number;
}

export interface KMeansResult {
  /** Sorted ascending. */
  centroids: Float32Array;
  /** Index into centroids for every value. */
  assignments: Int32Array;
  iterations: number;
}

function initialCentroids(values: Float32Array, k: number, init: KMeansInit, seed: number): Float64Array {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const centroids = new Float64Array(k);
  if (init === 'linear') {
    for (let j = 0; j < k; j++) centroids[j] = k === 1 ? (min + max) / 2 : min + ((max - min) * j) / (k - 1);
    return centroids;
  }
  if (init === 'density') {
    const sorted = Float32Array.from(values).sort();
    for (let j = 0; j < k; j++) {
      const at = ((j + 0.5) / k) * (sorted.length - 1);
      centroids[j] = sorted[Math.round(at)];
    }
    return centroids;
  }
  const rng = new Random(seed);
  const n = values.length;
  centroids[0] = values[rng.int(0, n - 1)];
  const distance = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = (values[i] - centroids[j - 1]) ** 2;
      if (d < distance[i]) distance[i] = d;
      total += distance[i];
    }
    if (total === 0) {
      centroids[j] = centroids[j - 1];
      continue;
    }
    let target = rng.next() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= distance[i];
      if (target <= 0) {
        pick = i;
        break;
      }
    }
    centroids[j] = values[pick];
  }
  return centroids;
}

/** Index of the nearest of the sorted centroids. */
export function nearestCentroid(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    // Boundary between mid and mid + 1 is their midpoint.
    if (v > (sorted[mid] + sorted[mid + 1]) / 2) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function kMeans1d(values: Float32Array, options: KMeansOptions): KMeansResult {
  const { k } = options;
  if (!(Number.isInteger(k) && k >= 1))
    throw new InvalidArgumentError(`k-means: k must be a positive integer, got ${k}`);
  if (values.length === 0)
    return { centroids: new Float32Array(0), assignments: new Int32Array(0), iterations: 0 };
  const init = options.init ?? 'linear';
  if (!KMEANS_INITS.includes(init))
    throw new InvalidArgumentError(`k-means: unknown init ${init} (${KMEANS_INITS.join(', ')})`);
  const maxIterations = options.maxIterations ?? 50;
  let centroids = initialCentroids(values, k, init, options.seed ?? 0).sort();
  const assignments = new Int32Array(values.length);
  const sums = new Float64Array(k);
  const counts = new Float64Array(k);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    sums.fill(0);
    counts.fill(0);
    let changed = false;
    for (let i = 0; i < values.length; i++) {
      const j = nearestCentroid(centroids, values[i]);
      if (iterations === 0 || j !== assignments[i]) changed = true;
      assignments[i] = j;
      sums[j] += values[i];
      counts[j]++;
    }
    if (!changed) break;
    // Empty clusters keep their value; the update keeps the order, so centroids stay sorted.
    const next = new Float64Array(k);
    for (let j = 0; j < k; j++) next[j] = counts[j] > 0 ? sums[j] / counts[j] : centroids[j];
    centroids = next.sort();
  }
  // Final assignment against the final centroids.
  const final = Float32Array.from(centroids);
  for (let i = 0; i < values.length; i++) assignments[i] = nearestCentroid(final, values[i]);
  return { centroids: final, assignments, iterations };
}
