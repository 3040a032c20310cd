/**
 * Gaussian-process regression for the GP sampler: kernel hyperparameters fitted by maximising the
 * log marginal likelihood plus weak priors (analytic gradients, bounded quasi-Newton), and a
 * posterior that predicts means and variances of the latent function, in batches or with gradients.
 *
 * Inputs are rows of the [0, 1]-normalised encoding; outputs are standardised by the caller.
 * Priors follow Optuna's published defaults: -(0.1/l + 0.1 l) on every inverse squared
 * lengthscale l, Gamma(2, 1) on the kernel scale and Gamma(1.1, 30) on the noise variance.
 */
import {
  cholesky,
  choleskyInverse,
  choleskySolve,
  choleskyWithJitter,
  solveLowerInPlace,
  solveLowerRowsInPlace,
  solveUpperInPlace,
  transpose,
} from '../../core/linalg.js';
import {
  type GroupLayout,
  groupDistance,
  matern52,
  matern52Derivative,
  pairwiseGroupDistances,
} from './kernel.js';
import { minimizeBounded } from './lbfgsb.js';

/** Smallest noise variance (of standardised outputs); also the fixed noise of deterministic objectives. */
export const MINIMUM_NOISE_VAR = 1e-6;
const LOG_2PI = Math.log(2 * Math.PI);

export interface KernelParams {
  readonly inverseSquaredLengthscales: Float64Array;
  readonly kernelScale: number;
  readonly noiseVar: number;
}

export interface GPData {
  readonly layout: GroupLayout;
  /** n rows of `layout.dim` columns, row-major. */
  readonly x: Float64Array;
  readonly n: number;
  /** Standardised outputs. */
  readonly y: Float64Array;
}

export interface FitOptions {
  /** Noise fixed at MINIMUM_NOISE_VAR instead of fitted. */
  deterministic?: boolean;
  /** Starting point, e.g. the previous trial's fit (ignored when its shape differs). */
  warmStart?: KernelParams;
  /** Iteration cap of the optimiser (default 200). */
  maxIterations?: number;
}

export function defaultKernelParams(groups: number, deterministic: boolean): KernelParams {
  return {
    inverseSquaredLengthscales: new Float64Array(groups).fill(1),
    kernelScale: 1,
    noiseVar: deterministic ? MINIMUM_NOISE_VAR : 1e-2,
  };
}

// Hyperparameters are optimised in log space within generous bounds (inputs live in [0, 1]).
const LOG_ILS_BOUNDS: [number, number] = [Math.log(1e-4), Math.log(1e5)];
const LOG_SCALE_BOUNDS: [number, number] = [Math.log(1e-3), Math.log(1e3)];
const LOG_NOISE_BOUNDS: [number, number] = [Math.log(1e-9), Math.log(10)];

function toRaw(params: KernelParams, deterministic: boolean): Float64Array {
  const G = params.inverseSquaredLengthscales.length;
  const raw = new Float64Array(G + (deterministic ? 1 : 2));
  for (let g = 0; g < G; g++) raw[g] = Math.log(params.inverseSquaredLengthscales[g]);
  raw[G] = Math.log(params.kernelScale);
  if (!deterministic) raw[G + 1] = Math.log(Math.max(params.noiseVar - MINIMUM_NOISE_VAR, 1e-9));
  return raw;
}

function fromRaw(raw: Float64Array, groups: number, deterministic: boolean): KernelParams {
  const ils = new Float64Array(groups);
  for (let g = 0; g < groups; g++) ils[g] = Math.exp(raw[g]);
  return {
    inverseSquaredLengthscales: ils,
    kernelScale: Math.exp(raw[groups]),
    noiseVar: deterministic ? MINIMUM_NOISE_VAR : MINIMUM_NOISE_VAR + Math.exp(raw[groups + 1]),
  };
}

/**
 * -(log marginal likelihood + log prior) at raw (log-space) hyperparameters, with its gradient
 * written to `grad`. Infinity when the kernel matrix is numerically singular.
 */
export function negativeLogPosterior(
  data: GPData,
  distances: Float64Array,
  raw: Float64Array,
  grad: Float64Array,
  deterministic: boolean,
): number {
  const { n, y } = data;
  const G = data.layout.groups;
  const params = fromRaw(raw, G, deterministic);
  const ils = params.inverseSquaredLengthscales;
  const s = params.kernelScale;
  const noise = params.noiseVar;
  const P = (n * (n - 1)) / 2;
  // Kernel matrix and, per pair, the correlation and its q-derivative (reused for the gradient).
  const k = new Float64Array(n * n);
  const corr = new Float64Array(P);
  const dcorr = new Float64Array(P);
  let p = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let q = 0;
      const base = p * G;
      for (let g = 0; g < G; g++) q += ils[g] * distances[base + g];
      const c = matern52(q);
      corr[p] = c;
      dcorr[p] = matern52Derivative(q);
      k[i * n + j] = s * c;
      k[j * n + i] = s * c;
      p++;
    }
  }
  for (let i = 0; i < n; i++) k[i * n + i] = s + noise;
  const l = cholesky(k, n);
  grad.fill(0);
  if (!l) return Number.POSITIVE_INFINITY;
  const alpha = choleskySolve(l, n, y);
  let logDetHalf = 0;
  for (let i = 0; i < n; i++) logDetHalf += Math.log(l[i * n + i]);
  let yAlpha = 0;
  for (let i = 0; i < n; i++) yAlpha += y[i] * alpha[i];
  const logLik = -0.5 * yAlpha - logDetHalf - 0.5 * n * LOG_2PI;

  // d logLik / d theta = 1/2 tr((alpha alpha^T - K^{-1}) dK/dtheta), summed over pairs and diagonal.
  const kinv = choleskyInverse(l, n);
  let gScale = 0;
  let diagW = 0;
  for (let i = 0; i < n; i++) diagW += alpha[i] * alpha[i] - kinv[i * n + i];
  p = 0;
  for (let i = 1; i < n; i++) {
    const ai = alpha[i];
    for (let j = 0; j < i; j++) {
      const w = ai * alpha[j] - kinv[i * n + j];
      gScale += w * corr[p];
      const wd = w * dcorr[p];
      const base = p * G;
      for (let g = 0; g < G; g++) grad[g] += wd * distances[base + g];
      p++;
    }
  }
  // Pairs appear twice in the trace, which cancels the 1/2.
  for (let g = 0; g < G; g++) grad[g] *= s * ils[g];
  grad[G] = s * gScale + 0.5 * s * diagW;
  if (!deterministic) grad[G + 1] = 0.5 * diagW * (noise - MINIMUM_NOISE_VAR);

  // Log prior and its gradient (with respect to the logs).
  let logPrior = 0;
  for (let g = 0; g < G; g++) {
    logPrior -= 0.1 / ils[g] + 0.1 * ils[g];
    grad[g] += 0.1 / ils[g] - 0.1 * ils[g];
  }
  logPrior += Math.log(s) - s;
  grad[G] += 1 - s;
  if (!deterministic) {
    logPrior += 0.1 * Math.log(noise) - 30 * noise;
    grad[G + 1] += (0.1 / noise - 30) * (noise - MINIMUM_NOISE_VAR);
  }
  for (let t = 0; t < grad.length; t++) grad[t] = -grad[t];
  return -(logLik + logPrior);
}

/** Maximum a posteriori kernel hyperparameters for `data`. */
export function fitKernelParams(data: GPData, options: FitOptions = {}): KernelParams {
  const deterministic = options.deterministic ?? false;
  const G = data.layout.groups;
  const distances = pairwiseGroupDistances(data.layout, data.x, data.n);
  const dim = G + (deterministic ? 1 : 2);
  const lower = new Float64Array(dim);
  const upper = new Float64Array(dim);
  for (let g = 0; g < G; g++) [lower[g], upper[g]] = LOG_ILS_BOUNDS;
  [lower[G], upper[G]] = LOG_SCALE_BOUNDS;
  if (!deterministic) [lower[G + 1], upper[G + 1]] = LOG_NOISE_BOUNDS;
  const objective = (raw: Float64Array, grad: Float64Array) =>
    negativeLogPosterior(data, distances, raw, grad, deterministic);

  const starts: KernelParams[] = [];
  const warm = options.warmStart;
  if (warm && warm.inverseSquaredLengthscales.length === G) starts.push(warm);
  starts.push(defaultKernelParams(G, deterministic));
  for (const start of starts) {
    const result = minimizeBounded(objective, toRaw(start, deterministic), lower, upper, {
      maxIterations: options.maxIterations ?? 200,
      // The loss is a sum over trials; 1e-2 on its log-space gradient is far below what moves predictions.
      gradientTolerance: 1e-2,
      relativeTolerance: 1e-9,
    });
    if (Number.isFinite(result.value)) return fromRaw(result.x, G, deterministic);
  }
  // Nothing finite (degenerate data): fall back to the priors' defaults with generous noise.
  return { ...defaultKernelParams(G, false), noiseVar: 1e-2 };
}

/** The GP conditioned on data with fixed hyperparameters. */
export class GPPosterior {
  readonly data: GPData;
  readonly params: KernelParams;
  private readonly l: Float64Array;
  /** L^T, so back substitutions read contiguous rows. */
  private readonly lt: Float64Array;
  private readonly alpha: Float64Array;

  constructor(data: GPData, params: KernelParams) {
    this.data = data;
    this.params = params;
    const { n } = data;
    const k = new Float64Array(n * n);
    const dim = data.layout.dim;
    for (let i = 0; i < n; i++) {
      k[i * n + i] = params.kernelScale + params.noiseVar;
      for (let j = 0; j < i; j++) {
        const v = params.kernelScale * matern52(this.scaledDistance(data.x, i * dim, data.x, j * dim));
        k[i * n + j] = v;
        k[j * n + i] = v;
      }
    }
    this.l = choleskyWithJitter(k, n).l;
    this.lt = transpose(this.l, n);
    this.alpha = choleskySolve(this.l, n, data.y);
  }

  /** The same hyperparameters conditioned on extra observations (e.g. running trials' believed values). */
  withObservations(x: Float64Array, y: Float64Array): GPPosterior {
    const dim = this.data.layout.dim;
    const m = y.length;
    const xs = new Float64Array((this.data.n + m) * dim);
    xs.set(this.data.x);
    xs.set(x.subarray(0, m * dim), this.data.n * dim);
    const ys = new Float64Array(this.data.n + m);
    ys.set(this.data.y);
    ys.set(y, this.data.n);
    return new GPPosterior({ layout: this.data.layout, x: xs, n: this.data.n + m, y: ys }, this.params);
  }

  /** Posterior means and latent variances at m rows of `x`. */
  predict(x: Float64Array, m: number): { mean: Float64Array; variance: Float64Array } {
    const { n } = this.data;
    const dim = this.data.layout.dim;
    const kx = new Float64Array(m * n);
    const mean = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      let mu = 0;
      for (let i = 0; i < n; i++) {
        const v = this.params.kernelScale * matern52(this.scaledDistance(x, r * dim, this.data.x, i * dim));
        kx[r * n + i] = v;
        mu += v * this.alpha[i];
      }
      mean[r] = mu;
    }
    solveLowerRowsInPlace(this.l, n, kx, m);
    const variance = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += kx[r * n + i] * kx[r * n + i];
      variance[r] = Math.max(this.params.kernelScale - ss, 0);
    }
    return { mean, variance };
  }

  /** Mean and latent variance at one point with their gradients with respect to its columns. */
  predictWithGradient(
    x: Float64Array,
    dMean: Float64Array,
    dVariance: Float64Array,
  ): { mean: number; variance: number } {
    const { n, layout } = this.data;
    const dim = layout.dim;
    const ils = this.params.inverseSquaredLengthscales;
    const s = this.params.kernelScale;
    const kx = new Float64Array(n);
    const dk = new Float64Array(n); // d k_i / d q_i
    let mean = 0;
    for (let i = 0; i < n; i++) {
      const q = this.scaledDistance(x, 0, this.data.x, i * dim);
      kx[i] = s * matern52(q);
      dk[i] = s * matern52Derivative(q);
      mean += kx[i] * this.alpha[i];
    }
    const v = Float64Array.from(kx);
    solveLowerInPlace(this.l, n, v);
    let ss = 0;
    for (let i = 0; i < n; i++) ss += v[i] * v[i];
    const beta = solveUpperInPlace(this.lt, n, v); // K^{-1} k(x)
    dMean.fill(0);
    dVariance.fill(0);
    for (let g = 0; g < layout.groups; g++) {
      // dq/dx_c = ils_g * 2 (x_c - x_ic) for numeric columns, ils_g * (x_c - x_ic) for one-hot ones.
      const factor = ils[g] * (layout.categorical[g] ? 1 : 2);
      for (let c = layout.start[g]; c < layout.start[g] + layout.width[g]; c++) {
        let gm = 0;
        let gv = 0;
        for (let i = 0; i < n; i++) {
          const dq = factor * (x[c] - this.data.x[i * dim + c]);
          gm += this.alpha[i] * dk[i] * dq;
          gv += beta[i] * dk[i] * dq;
        }
        dMean[c] = gm;
        dVariance[c] = -2 * gv;
      }
    }
    return { mean, variance: Math.max(s - ss, 0) };
  }

  private scaledDistance(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number): number {
    const { layout } = this.data;
    const ils = this.params.inverseSquaredLengthscales;
    let q = 0;
    for (let g = 0; g < layout.groups; g++) {
      if (layout.categorical[g]) q += ils[g] * groupDistance(layout, g, a, aOff, b, bOff);
      else {
        const d = a[aOff + layout.start[g]] - b[bOff + layout.start[g]];
        q += ils[g] * d * d;
      }
    }
    return q;
  }
}
