/**
 * The Parzen estimator of TPE: a weighted mixture of product kernels, one per observation plus an
 * optional prior kernel. Numeric dimensions use truncated normals (log space for log
 * distributions; parameters on a grid get the kernel's mass over their grid cell), categorical
 * dimensions a smoothed one-hot distribution. Bandwidths follow Optuna 3.x: neighbour distances
 * (univariate) or a share of the range shrinking with n (multivariate), the prior kernel spanning
 * the whole range, and the "magic clip" floor of range / min(100, 1 + kernels); optionally Scott's
 * rule on the observations' spread for joint kernels and a floor proportional to the range.
 *
 * Everything is stored column-wise in Float64Arrays; `logPdf` skips kernels whose contribution is
 * provably negligible and allocates nothing per sample.
 */
import type { Distribution } from '../../core/distributions.js';
import { clampToDistribution } from '../../core/distributions.js';
import type { Random } from '../../core/random.js';
import { LOG_SQRT_2PI, logNdtrDiff, logTruncatedMass, sampleStandardTruncNorm } from './truncnorm.js';

/** How one parameter looks to the estimator (the "model space"). */
export interface ModelDimension {
  readonly categorical: boolean;
  /** Bounds of the kernels' support (log space for log distributions, widened by half a step on grids). */
  readonly low: number;
  readonly high: number;
  /** Grid step in model space, 0 for continuous dimensions. */
  readonly step: number;
  /** Number of choices of a categorical dimension. */
  readonly nChoices: number;
}

export interface ParzenEstimatorOptions {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  multivariate: boolean;
  /**
   * Joint (multivariate) bandwidths: 'optuna' takes a share of the range that shrinks with the
   * number of observations (Optuna 3.x); 'scott' applies Scott's rule to the observations' own
   * spread, so kernels narrow as the observations concentrate. Default 'optuna'.
   */
  bandwidth?: 'optuna' | 'scott';
  /** Bandwidth floor as a fraction of the range; replaces the magic clip when given. */
  minBandwidthFactor?: number;
}

const EPS = 1e-12;
/** Share of the range for multivariate bandwidths at one observation (as in BOHB and Optuna). */
const SIGMA0_MAGNITUDE = 0.2;

/** The model-space description of a distribution. */
export function modelDimension(d: Distribution): ModelDimension {
  if (d.type === 'categorical')
    return { categorical: true, low: 0, high: 0, step: 0, nChoices: d.choices.length };
  if (d.log) {
    // Log integers widen by half a unit so the end points are as likely as their neighbours.
    const low = d.type === 'int' ? Math.log(d.low - 0.5) : Math.log(d.low);
    const high = d.type === 'int' ? Math.log(d.high + 0.5) : Math.log(d.high);
    return { categorical: false, low, high, step: 0, nChoices: 0 };
  }
  const step = d.step ?? 0;
  return { categorical: false, low: d.low - step / 2, high: d.high + step / 2, step, nChoices: 0 };
}

/** Internal value (a number, categorical index) to model space. */
export function toModel(d: Distribution, internal: number): number {
  return d.type !== 'categorical' && d.log ? Math.log(internal) : internal;
}

/** Model-space value back to an internal value on the distribution's grid and within its bounds. */
export function fromModel(d: Distribution, x: number): number {
  if (d.type === 'categorical') return Math.min(Math.max(Math.round(x), 0), d.choices.length - 1);
  return clampToDistribution(d, d.log ? Math.exp(x) : x);
}

export class ParzenEstimator {
  readonly dims: readonly ModelDimension[];
  /** Number of kernels (observations plus the prior kernel, when used). */
  readonly nKernels: number;
  private readonly logWeights: Float64Array;
  private readonly cumWeights: Float64Array;
  // Numeric dimensions: centre, 1/bandwidth and log normaliser (incl. truncation) per kernel.
  private readonly mus: (Float64Array | null)[];
  private readonly sigmas: (Float64Array | null)[];
  private readonly invSigmas: (Float64Array | null)[];
  private readonly logNorms: (Float64Array | null)[];
  // Categorical dimensions: the kernel's own category (-1 for the prior) and its log probabilities.
  private readonly catObs: (Int32Array | null)[];
  private readonly catLogHit: (Float64Array | null)[];
  private readonly catLogMiss: (Float64Array | null)[];
  /** One numeric dimension with observation kernels sorted by centre (see the constructor). */
  private readonly sorted: boolean;
  private readonly hasPrior: boolean;
  /**
   * Sorted case: observation kernels in blocks of BLOCK, each with its centre range, largest log
   * weight + log normaliser and 1 / (2 sigma_max^2), to bound a whole block's contribution at once.
   */
  private blockLow: Float64Array = new Float64Array(0);
  private blockHigh: Float64Array = new Float64Array(0);
  private blockC: Float64Array = new Float64Array(0);
  private blockCurv: Float64Array = new Float64Array(0);
  private blockActive: Uint8Array = new Uint8Array(0);
  private base: Float64Array | null = null;
  private flat: { mu: Float64Array; inv: Float64Array } | null = null;

  /**
   * @param observations model-space values, one array per dimension, all of the same length
   * @param weights one non-negative weight per observation (normalised here together with the prior)
   */
  constructor(
    dims: readonly ModelDimension[],
    observations: readonly Float64Array[],
    weights: ArrayLike<number>,
    options: ParzenEstimatorOptions,
  ) {
    this.dims = dims;
    const n = dims.length > 0 ? observations[0].length : weights.length;
    const withPrior = options.considerPrior || n === 0;
    const nk = n + (withPrior ? 1 : 0);
    this.nKernels = nk;
    this.hasPrior = withPrior;
    // A single numeric dimension keeps its observation kernels sorted by centre (the prior last):
    // bandwidths come from neighbours and `logPdf` only visits kernels near each point.
    this.sorted = dims.length === 1 && !dims[0].categorical && !options.multivariate;
    if (this.sorted && n > 1) {
      const obs = observations[0];
      const order = argsort(obs);
      const sortedObs = new Float64Array(n);
      const sortedWeights = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        sortedObs[i] = obs[order[i]];
        sortedWeights[i] = weights[order[i]];
      }
      observations = [sortedObs];
      weights = sortedWeights;
    }

    const w = new Float64Array(nk);
    let total = 0;
    for (let i = 0; i < n; i++) total += w[i] = weights[i];
    if (withPrior) total += w[n] = options.priorWeight;
    this.logWeights = new Float64Array(nk);
    this.cumWeights = new Float64Array(nk);
    let acc = 0;
    if (!(total > 0)) w.fill((total = 1) / nk);
    const logTotal = Math.log(total);
    for (let k = 0; k < nk; k++) {
      // Default weights are mostly 1: skip their logs.
      this.logWeights[k] = w[k] === 1 ? -logTotal : Math.log(w[k]) - logTotal;
      acc += w[k] / total;
      this.cumWeights[k] = acc;
    }

    const sigma0 = options.multivariate
      ? SIGMA0_MAGNITUDE * Math.max(n, 1) ** (-1 / (dims.length + 4))
      : Number.NaN;
    this.mus = [];
    this.sigmas = [];
    this.invSigmas = [];
    this.logNorms = [];
    this.catObs = [];
    this.catLogHit = [];
    this.catLogMiss = [];
    for (let j = 0; j < dims.length; j++) {
      const dim = dims[j];
      const obs = observations[j];
      if (dim.categorical) {
        const c = dim.nChoices;
        const base = options.priorWeight / (withPrior ? n + 1 : n);
        const hit = new Float64Array(nk);
        const miss = new Float64Array(nk);
        const own = new Int32Array(nk);
        const logRow = Math.log(base * c + 1);
        for (let k = 0; k < n; k++) {
          own[k] = obs[k];
          hit[k] = Math.log(base + 1) - logRow;
          miss[k] = Math.log(base) - logRow;
        }
        if (withPrior) {
          own[n] = -1;
          hit[n] = miss[n] = -Math.log(c);
        }
        this.catObs.push(own);
        this.catLogHit.push(hit);
        this.catLogMiss.push(miss);
        this.mus.push(null);
        this.sigmas.push(null);
        this.invSigmas.push(null);
        this.logNorms.push(null);
        continue;
      }
      const { low, high } = dim;
      const range = high - low;
      const mu = new Float64Array(nk);
      const sigma = new Float64Array(nk);
      for (let k = 0; k < n; k++) mu[k] = obs[k];
      if (withPrior) mu[n] = 0.5 * (low + high);
      if (options.multivariate && options.bandwidth === 'scott' && n >= 2) {
        sigma.fill(scottBandwidth(mu, w, n, dims.length));
      } else if (options.multivariate) sigma.fill(sigma0 * range);
      else if (this.sorted || n <= 1)
        neighbourBandwidths(
          mu.subarray(0, n),
          withPrior ? mu[n] : null,
          sigma,
          low,
          high,
          options.considerEndpoints,
        );
      else {
        // Several dimensions with univariate bandwidths: work on a sorted copy, then scatter back.
        const order = argsort(mu.subarray(0, n));
        const sortedMu = new Float64Array(n);
        for (let i = 0; i < n; i++) sortedMu[i] = mu[order[i]];
        const sortedSigma = new Float64Array(n);
        neighbourBandwidths(
          sortedMu,
          withPrior ? mu[n] : null,
          sortedSigma,
          low,
          high,
          options.considerEndpoints,
        );
        for (let i = 0; i < n; i++) sigma[order[i]] = sortedSigma[i];
      }
      if (withPrior) sigma[n] = range;
      const minSigma =
        options.minBandwidthFactor !== undefined
          ? options.minBandwidthFactor * range
          : options.considerMagicClip
            ? range / Math.min(100, 1 + nk)
            : EPS;
      const inv = new Float64Array(nk);
      const logNorm = new Float64Array(nk);
      // Continuous kernels carry the density's 1/(sigma sqrt(2 pi)); grid kernels use cell masses.
      const density = dim.step > 0 ? 0 : 1;
      let lastSigma = Number.NaN;
      let lastLog = 0;
      for (let k = 0; k < nk; k++) {
        const s = Math.min(Math.max(sigma[k], minSigma), range);
        sigma[k] = s;
        inv[k] = 1 / s;
        const a = (low - mu[k]) * inv[k];
        const b = (high - mu[k]) * inv[k];
        const logZ = logTruncatedMass(a, b);
        if (s !== lastSigma) {
          lastSigma = s;
          lastLog = Math.log(s) + LOG_SQRT_2PI;
        }
        logNorm[k] = -logZ - density * lastLog;
      }
      if (this.sorted) this.buildBlocks(mu, sigma, logNorm, n);
      this.mus.push(mu);
      this.sigmas.push(sigma);
      this.invSigmas.push(inv);
      this.logNorms.push(logNorm);
      this.catObs.push(null);
      this.catLogHit.push(null);
      this.catLogMiss.push(null);
    }
  }

  /** Draws `count` points; returns one model-space array per dimension (grid values on grids). */
  sample(rng: Random, count: number): Float64Array[] {
    const out = this.dims.map(() => new Float64Array(count));
    const nk = this.nKernels;
    for (let i = 0; i < count; i++) {
      const u = rng.next();
      let k = 0;
      // Binary search in the cumulative weights; the last kernel absorbs rounding.
      let lo = 0;
      let hi = nk - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.cumWeights[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      k = lo;
      for (let j = 0; j < this.dims.length; j++) {
        const dim = this.dims[j];
        if (dim.categorical) {
          const own = this.catObs[j]![k];
          const hit = Math.exp(this.catLogHit[j]![k]);
          const miss = Math.exp(this.catLogMiss[j]![k]);
          let r = rng.next();
          let choice = dim.nChoices - 1;
          for (let c = 0; c < dim.nChoices; c++) {
            r -= c === own ? hit : miss;
            if (r < 0) {
              choice = c;
              break;
            }
          }
          out[j][i] = choice;
          continue;
        }
        const mu = this.mus[j]![k];
        const s = this.sigmas[j]![k];
        let x = mu + s * sampleStandardTruncNorm(rng, (dim.low - mu) / s, (dim.high - mu) / s);
        if (dim.step > 0) {
          // Snap to the grid cell that contains x; cells are centred on low + step/2 + m*step.
          const first = dim.low + dim.step / 2;
          const last = dim.high - dim.step / 2;
          x = Math.min(Math.max(first + Math.round((x - first) / dim.step) * dim.step, first), last);
        }
        out[j][i] = x;
      }
    }
    return out;
  }

  private buildBlocks(mu: Float64Array, sigma: Float64Array, logNorm: Float64Array, n: number): void {
    const nb = Math.ceil(n / BLOCK);
    this.blockLow = new Float64Array(nb);
    this.blockHigh = new Float64Array(nb);
    this.blockC = new Float64Array(nb);
    this.blockCurv = new Float64Array(nb);
    this.blockActive = new Uint8Array(nb);
    for (let b = 0; b < nb; b++) {
      const start = b * BLOCK;
      const end = Math.min(start + BLOCK, n);
      let c = Number.NEGATIVE_INFINITY;
      let s = 0;
      for (let k = start; k < end; k++) {
        c = Math.max(c, this.logWeights[k] + logNorm[k]);
        s = Math.max(s, sigma[k]);
      }
      this.blockLow[b] = mu[start];
      this.blockHigh[b] = mu[end - 1];
      this.blockC[b] = c;
      this.blockCurv[b] = 0.5 / (s * s);
    }
  }

  /**
   * log density at x of a sorted one-dimensional continuous mixture. The block holding x is
   * evaluated first; any other block whose bound (its heaviest kernel with its widest bandwidth at
   * its nearest centre) lies LSE_CUTOFF below the running maximum is skipped, so narrow far kernels
   * cost one comparison per block.
   */
  private logPdfSorted(x: number, acc: Float64Array): number {
    const mu = this.mus[0]!;
    const inv = this.invSigmas[0]!;
    const base = this.kernelBase();
    const n = this.nKernels - (this.hasPrior ? 1 : 0);
    const nb = this.blockC.length;
    let max = Number.NEGATIVE_INFINITY;
    let prior = Number.NEGATIVE_INFINITY;
    if (this.hasPrior) {
      const z = (x - mu[n]) * inv[n];
      max = prior = base[n] - 0.5 * z * z;
    }
    let lo = 0;
    let hi = nb - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.blockHigh[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    const home = lo;
    for (let step = 0; step < nb; step++) {
      // The home block first, so the maximum is realistic before other blocks are bounded.
      const b = step === 0 ? home : step <= home ? step - 1 : step;
      const d =
        x < this.blockLow[b] ? this.blockLow[b] - x : x > this.blockHigh[b] ? x - this.blockHigh[b] : 0;
      if (step > 0 && this.blockC[b] - this.blockCurv[b] * d * d < max - LSE_CUTOFF) {
        this.blockActive[b] = 0;
        continue;
      }
      this.blockActive[b] = 1;
      const end = Math.min((b + 1) * BLOCK, n);
      for (let k = b * BLOCK; k < end; k++) {
        const z = (x - mu[k]) * inv[k];
        const v = base[k] - 0.5 * z * z;
        acc[k] = v;
        if (v > max) max = v;
      }
    }
    if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) return max;
    const floor = max - LSE_CUTOFF;
    let sum = prior > floor ? Math.exp(prior - max) : 0;
    for (let b = 0; b < nb; b++) {
      if (this.blockActive[b] === 0) continue;
      const end = Math.min((b + 1) * BLOCK, n);
      for (let k = b * BLOCK; k < end; k++) if (acc[k] > floor) sum += Math.exp(acc[k] - max);
    }
    return max + Math.log(sum);
  }

  /** log density (log mass on grids, log probability for categoricals) of each point. */
  logPdf(points: readonly Float64Array[], out?: Float64Array): Float64Array {
    const count = points.length > 0 ? points[0].length : 0;
    const result = out ?? new Float64Array(count);
    const nk = this.nKernels;
    const acc = new Float64Array(nk);
    if (this.sorted && this.dims[0].step === 0) {
      for (let i = 0; i < count; i++) result[i] = this.logPdfSorted(points[0][i], acc);
      return result;
    }
    // Kernel by kernel: every term left to add is <= 0 (the positive log normalisers are in
    // `base`), so a kernel already LSE_CUTOFF below the best one so far is dropped early.
    const d = this.dims.length;
    const base = this.kernelBase();
    const first = this.hasPrior ? nk - 1 : 0;
    if (this.dims.every((dim) => !dim.categorical && dim.step === 0)) {
      // All continuous (the common case): centres and inverse bandwidths interleaved per kernel,
      // so the inner loop reads memory in order.
      const { mu, inv } = this.flatKernels();
      continuousLogPdf(points, count, d, nk, first, base, mu, inv, acc, result);
      return result;
    }
    for (let i = 0; i < count; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let step = 0; step < nk; step++) {
        // The wide prior kernel first gives a realistic maximum to compare against.
        const k = step === 0 ? first : step <= first ? step - 1 : step;
        let v = base[k];
        for (let j = 0; j < d && v > max - LSE_CUTOFF; j++) {
          const dim = this.dims[j];
          const x = points[j][i];
          if (dim.categorical) {
            v += this.catObs[j]![k] === x ? this.catLogHit[j]![k] : this.catLogMiss[j]![k];
          } else if (dim.step === 0) {
            const z = (x - this.mus[j]![k]) * this.invSigmas[j]![k];
            v -= 0.5 * z * z;
          } else {
            const mu = this.mus[j]![k];
            const inv = this.invSigmas[j]![k];
            const lower = Math.max(x - dim.step / 2, dim.low);
            const upper = Math.min(x + dim.step / 2, dim.high);
            v += logNdtrDiff((lower - mu) * inv, (upper - mu) * inv);
          }
        }
        acc[k] = v;
        if (v > max) max = v;
      }
      result[i] = logSumExpFrom(acc, max);
    }
    return result;
  }

  /** Centres and inverse bandwidths of all-continuous kernels, kernel-major (built once). */
  private flatKernels(): { mu: Float64Array; inv: Float64Array } {
    if (this.flat) return this.flat;
    const d = this.dims.length;
    const nk = this.nKernels;
    const mu = new Float64Array(nk * d);
    const inv = new Float64Array(nk * d);
    for (let j = 0; j < d; j++) {
      const m = this.mus[j]!;
      const iv = this.invSigmas[j]!;
      for (let k = 0; k < nk; k++) {
        mu[k * d + j] = m[k];
        inv[k * d + j] = iv[k];
      }
    }
    this.flat = { mu, inv };
    return this.flat;
  }

  /** Per kernel: log weight plus the log normalisers of all numeric dimensions (built once). */
  private kernelBase(): Float64Array {
    if (this.base) return this.base;
    const base = Float64Array.from(this.logWeights);
    for (let j = 0; j < this.dims.length; j++) {
      const logNorm = this.logNorms[j];
      if (logNorm) for (let k = 0; k < base.length; k++) base[k] += logNorm[k];
    }
    this.base = base;
    return base;
  }
}

/** The all-continuous joint case of `ParzenEstimator.logPdf`, kept small so it optimises well. */
function continuousLogPdf(
  points: readonly Float64Array[],
  count: number,
  d: number,
  nk: number,
  first: number,
  base: Float64Array,
  mu: Float64Array,
  inv: Float64Array,
  acc: Float64Array,
  result: Float64Array,
): void {
  const x = new Float64Array(d);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < d; j++) x[j] = points[j][i];
    let max = Number.NEGATIVE_INFINITY;
    for (let step = 0; step < nk; step++) {
      // The wide prior kernel (index `first`) goes first for a realistic maximum.
      const k = step === 0 ? first : step <= first ? step - 1 : step;
      let v = base[k];
      const offset = k * d;
      for (let j = 0; j < d; j++) {
        const z = (x[j] - mu[offset + j]) * inv[offset + j];
        v -= 0.5 * z * z;
        if (v < max - LSE_CUTOFF) break;
      }
      acc[k] = v;
      if (v > max) max = v;
    }
    result[i] = logSumExpFrom(acc, max);
  }
}

/**
 * Univariate bandwidths (Optuna 3.x) for observation centres sorted ascending: each kernel's sigma
 * is the larger gap to its neighbours, the prior centre counting as a neighbour and the search
 * bounds as outer neighbours; without `considerEndpoints` the outermost kernels use their inner gap
 * only. Duplicated centres share the gaps to their distinct neighbours instead of collapsing to zero.
 */
function neighbourBandwidths(
  sorted: Float64Array,
  priorMu: number | null,
  sigma: Float64Array,
  low: number,
  high: number,
  considerEndpoints: boolean,
): void {
  const n = sorted.length;
  if (n === 0) return;
  // Merge the prior centre into the sequence of centres.
  const m = n + (priorMu === null ? 0 : 1);
  const centres = new Float64Array(m);
  let p = priorMu === null ? n : 0;
  if (priorMu !== null) while (p < n && sorted[p] < priorMu) p++;
  for (let i = 0, c = 0; i < m; i++) centres[i] = i === p ? priorMu! : sorted[c++];
  let first = 0;
  while (first < m) {
    let last = first;
    while (last + 1 < m && centres[last + 1] === centres[first]) last++;
    const v = centres[first];
    const left = v - (first > 0 ? centres[first - 1] : low);
    const right = (last < m - 1 ? centres[last + 1] : high) - v;
    let s = Math.max(left, right);
    if (!considerEndpoints && m >= 2) {
      if (first === 0 && last < m - 1) s = right;
      else if (last === m - 1 && first > 0) s = left;
    }
    for (let i = first; i <= last; i++) if (i !== p) sigma[i < p ? i : i - 1] = s;
    first = last + 1;
  }
}

/**
 * Scott's rule for one dimension of a d-dimensional product kernel: 1.059 n^(-1/(d+4)) times the
 * weighted standard deviation, or IQR / 1.349 when that is smaller (robust to outlying kernels).
 */
function scottBandwidth(mu: Float64Array, w: Float64Array, n: number, d: number): number {
  let sw = 0;
  let mean = 0;
  for (let k = 0; k < n; k++) {
    sw += w[k];
    mean += w[k] * mu[k];
  }
  mean /= sw;
  let variance = 0;
  for (let k = 0; k < n; k++) variance += w[k] * (mu[k] - mean) ** 2;
  const sd = Math.sqrt(variance / sw);
  const scratch = mu.slice(0, n);
  const quantile = (p: number) => {
    const pos = p * (n - 1);
    const i = Math.floor(pos);
    const lower = select(scratch, i);
    if (i + 1 >= n || pos === i) return lower;
    // After selection everything right of i is >= the i-th value: the next order statistic is their minimum.
    let next = Number.POSITIVE_INFINITY;
    for (let k = i + 1; k < n; k++) if (scratch[k] < next) next = scratch[k];
    return lower + (pos - i) * (next - lower);
  };
  const iqr = (quantile(0.75) - quantile(0.25)) / 1.349;
  return 1.059 * (iqr > 0 ? Math.min(sd, iqr) : sd) * n ** (-1 / (d + 4));
}

/** The k-th smallest value (0-based), partially reordering `values` in place (Hoare's quickselect). */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    // Median of three as pivot keeps sorted and reversed inputs linear.
    const mid = (lo + hi) >> 1;
    const a = values[lo];
    const b = values[mid];
    const c = values[hi];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}

/**
 * Indices that sort `keys` ascending, ties in index order: insertion-sorted runs merged bottom-up.
 * Several times faster than Array.prototype.sort with a comparator on the sizes TPE sees.
 */
export function argsort(keys: ArrayLike<number>): Int32Array {
  const n = keys.length;
  let a = new Int32Array(n);
  let b = new Int32Array(n);
  const RUN = 16;
  for (let i = 0; i < n; i++) a[i] = i;
  for (let start = 0; start < n; start += RUN) {
    const end = Math.min(start + RUN, n);
    for (let i = start + 1; i < end; i++) {
      const v = a[i];
      const key = keys[v];
      let j = i - 1;
      while (j >= start && keys[a[j]] > key) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
  }
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) b[k++] = keys[a[j]] < keys[a[i]] ? a[j++] : a[i++];
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}

/** Kernels per block in the sorted univariate case. */
const BLOCK = 16;

/** Terms more than this far below the largest add under 1e-17 each to a log-sum-exp. */
const LSE_CUTOFF = 40;

function logSumExpFrom(values: Float64Array, max: number): number {
  if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) return max;
  // Skipping negligible terms saves most of the exp calls when kernels are narrow.
  const floor = max - LSE_CUTOFF;
  let sum = 0;
  for (let k = 0; k < values.length; k++) if (values[k] > floor) sum += Math.exp(values[k] - max);
  return max + Math.log(sum);
}
