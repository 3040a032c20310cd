/**
 * CMA-ES state and update (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016, default
 * strategy parameters with negative weights), on the unit box of a normalised search space.
 * Options: the separable variant (Ros & Hansen 2008: diagonal covariance, learning rates scaled
 * by (n + 2)/3) and a margin for discrete coordinates (after Hamano et al. 2022, see `Margin`).
 *
 * Eigendecomposition: ml-matrix's symmetric EigenvalueDecomposition (Householder tridiagonalisation
 * + QL, O(n^3)); for the n <= ~50 of hyperparameter searches it costs well under a millisecond per
 * generation, so it runs after every update rather than lazily as large-n implementations do.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Random } from '../../core/random.js';
import { normalQuantile } from '../gp/normal.js';

export interface DiscreteCoordinate {
  /** Encoded column. */
  readonly index: number;
  /**
   * Bounds of the grid cell containing an encoded value: where the decoded value changes to its
   * lower / upper neighbour (null at the ends of the range).
   */
  cell(value: number): { low: number | null; high: number | null };
}

export interface CmaConfig {
  mean: Float64Array;
  sigma: number;
  popsize: number;
  separable?: boolean;
  /** Discrete coordinates that get a margin (CMA-ES with margin). */
  discrete?: readonly DiscreteCoordinate[];
  /** Margin probability (default 1 / (n * popsize)). */
  margin?: number;
}

export interface Solution {
  x: Float64Array;
  value: number;
}

const TOL_FUN = 1e-12;
const TOL_X_FACTOR = 1e-12;
const TOL_X_UP = 1e4;
const TOL_CONDITION = 1e14;

export class CmaState {
  readonly dim: number;
  readonly popsize: number;
  readonly mu: number;
  readonly separable: boolean;
  readonly weights: Float64Array;
  readonly muEff: number;
  readonly cSigma: number;
  readonly dSigma: number;
  readonly cc: number;
  readonly c1: number;
  readonly cMu: number;
  readonly chiN: number;
  readonly margin: number;
  readonly discrete: readonly DiscreteCoordinate[];
  readonly tolX: number;
  readonly funHistoryLength: number;

  mean: Float64Array;
  sigma: number;
  /** Full covariance (n x n row-major), or its diagonal when separable. */
  cov: Float64Array;
  /** Eigenvectors as columns (n x n row-major); identity for the separable variant. */
  b: Float64Array;
  /** Square roots of the eigenvalues. */
  d: Float64Array;
  pSigma: Float64Array;
  pc: Float64Array;
  /** Per-coordinate scale keeping the margin of discrete coordinates (1 elsewhere). */
  a: Float64Array;
  generation = 0;
  /** Best value of each recent generation, for the tolfun criterion. */
  funHistory: number[] = [];
  lastRange = Number.POSITIVE_INFINITY;

  constructor(config: CmaConfig) {
    const n = config.mean.length;
    if (n < 1)
      // not a user error: the sampler never builds an empty search space
      throw new RangeError('CMA-ES needs at least one dimension');
    this.dim = n;
    this.popsize = config.popsize;
    this.separable = config.separable ?? false;
    this.discrete = config.discrete ?? [];
    const lambda = this.popsize;
    const mu = Math.floor(lambda / 2);
    this.mu = mu;

    const raw = Array.from({ length: lambda }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
    let sumPos = 0;
    let sumPos2 = 0;
    let sumNeg = 0;
    let sumNeg2 = 0;
    for (let i = 0; i < lambda; i++) {
      if (raw[i] > 0) {
        sumPos += raw[i];
        sumPos2 += raw[i] * raw[i];
      } else {
        sumNeg += raw[i];
        sumNeg2 += raw[i] * raw[i];
      }
    }
    const muEff = (sumPos * sumPos) / sumPos2;
    const muEffNeg = sumNeg2 > 0 ? (sumNeg * sumNeg) / sumNeg2 : 0;
    this.muEff = muEff;
    const alphaCov = 2;
    let c1 = alphaCov / ((n + 1.3) ** 2 + muEff);
    let cMu = Math.min(
      1 - c1,
      (alphaCov * (muEff - 2 + 1 / muEff)) / ((n + 2) ** 2 + (alphaCov * muEff) / 2),
    );
    if (this.separable) {
      // Diagonal-only learning can go (n + 2)/3 times faster.
      c1 = Math.min(1, (c1 * (n + 2)) / 3);
      cMu = Math.min(1 - c1, (cMu * (n + 2)) / 3);
    }
    this.c1 = c1;
    this.cMu = cMu;
    this.cSigma = (muEff + 2) / (n + muEff + 5);
    this.dSigma = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (n + 1)) - 1) + this.cSigma;
    this.cc = (4 + muEff / n) / (n + 4 + (2 * muEff) / n);
    this.chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));

    // Positive weights sum to 1; negative ones (active CMA, full covariance only) are scaled so the
    // covariance stays positive definite.
    const alphaMuNeg = 1 + c1 / cMu;
    const alphaMuEffNeg = 1 + (2 * muEffNeg) / (muEff + 2);
    const alphaPosDefNeg = (1 - c1 - cMu) / (n * cMu);
    const negScale = Math.min(alphaMuNeg, alphaMuEffNeg, alphaPosDefNeg) / -sumNeg;
    this.weights = Float64Array.from(raw, (w) =>
      w >= 0 ? w / sumPos : this.separable || sumNeg === 0 ? 0 : w * negScale,
    );

    this.margin = config.margin ?? 1 / (n * lambda);
    this.mean = Float64Array.from(config.mean);
    this.sigma = config.sigma;
    this.tolX = TOL_X_FACTOR * config.sigma;
    this.funHistoryLength = 10 + Math.ceil((30 * n) / lambda);
    this.cov = this.separable ? new Float64Array(n).fill(1) : identity(n);
    this.b = identity(n);
    this.d = new Float64Array(n).fill(1);
    this.pSigma = new Float64Array(n);
    this.pc = new Float64Array(n);
    this.a = new Float64Array(n).fill(1);
    this.applyMargin();
  }

  /** A deep copy; tell() mutates, so callers keep copies of states they want to reuse. */
  clone(): CmaState {
    const copy = Object.create(CmaState.prototype) as CmaState;
    Object.assign(copy, this);
    copy.mean = Float64Array.from(this.mean);
    copy.cov = Float64Array.from(this.cov);
    copy.b = Float64Array.from(this.b);
    copy.d = Float64Array.from(this.d);
    copy.pSigma = Float64Array.from(this.pSigma);
    copy.pc = Float64Array.from(this.pc);
    copy.a = Float64Array.from(this.a);
    copy.funHistory = [...this.funHistory];
    return copy;
  }

  /**
   * One candidate in [0, 1]^n: x = m + sigma * A * B D z. Draws that leave the box are redrawn (up
   * to 100 times, as the cmaes library does) and finally clipped.
   */
  sample(rng: Random): Float64Array {
    const n = this.dim;
    const x = new Float64Array(n);
    for (let attempt = 0; attempt < 100; attempt++) {
      const y = this.sampleStep(rng);
      let inside = true;
      for (let i = 0; i < n; i++) {
        x[i] = this.mean[i] + this.sigma * this.a[i] * y[i];
        if (x[i] < 0 || x[i] > 1) inside = false;
      }
      if (inside) return x;
    }
    for (let i = 0; i < n; i++) x[i] = Math.min(1, Math.max(0, x[i]));
    return x;
  }

  private sampleStep(rng: Random): Float64Array {
    const n = this.dim;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = this.d[i] * rng.normal();
    if (this.separable) return z;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.b[i * n + j] * z[j];
      y[i] = s;
    }
    return y;
  }

  /** Updates the distribution with exactly `popsize` evaluated solutions (lower is better). */
  tell(solutions: readonly Solution[]): void {
    const n = this.dim;
    const lambda = this.popsize;
    if (solutions.length !== lambda)
      // not a user error: the sampler tells whole generations only
      throw new RangeError(`tell needs ${lambda} solutions, got ${solutions.length}`);
    const sorted = [...solutions].sort((p, q) => p.value - q.value);
    this.generation++;

    // Steps in the unscaled space: y = (x - m) / (sigma * A).
    const ys = sorted.map((s) =>
      Float64Array.from(s.x, (v, i) => (v - this.mean[i]) / (this.sigma * this.a[i])),
    );
    const yw = new Float64Array(n);
    for (let k = 0; k < this.mu; k++) for (let i = 0; i < n; i++) yw[i] += this.weights[k] * ys[k][i];
    for (let i = 0; i < n; i++) this.mean[i] += this.sigma * this.a[i] * yw[i];

    // C^{-1/2} y = B D^{-1} B^T y.
    const invSqrt = (v: Float64Array): Float64Array => {
      if (this.separable) return Float64Array.from(v, (x, i) => x / this.d[i]);
      const t = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += this.b[i * n + j] * v[i];
        t[j] = s / this.d[j];
      }
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += this.b[i * n + j] * t[j];
        out[i] = s;
      }
      return out;
    };

    const cs = this.cSigma;
    const whitened = invSqrt(yw);
    const csFactor = Math.sqrt(cs * (2 - cs) * this.muEff);
    let psNorm2 = 0;
    for (let i = 0; i < n; i++) {
      this.pSigma[i] = (1 - cs) * this.pSigma[i] + csFactor * whitened[i];
      psNorm2 += this.pSigma[i] ** 2;
    }
    const psNorm = Math.sqrt(psNorm2);
    const hSigma =
      psNorm / Math.sqrt(1 - (1 - cs) ** (2 * this.generation)) < (1.4 + 2 / (n + 1)) * this.chiN ? 1 : 0;
    const ccFactor = Math.sqrt(this.cc * (2 - this.cc) * this.muEff);
    for (let i = 0; i < n; i++) this.pc[i] = (1 - this.cc) * this.pc[i] + hSigma * ccFactor * yw[i];

    // Negative weights act on steps rescaled to length sqrt(n) in the whitened space.
    const wo = Float64Array.from(this.weights);
    for (let k = 0; k < lambda; k++) {
      if (wo[k] >= 0) continue;
      const v = invSqrt(ys[k]);
      let norm2 = 0;
      for (let i = 0; i < n; i++) norm2 += v[i] * v[i];
      wo[k] *= norm2 > 0 ? n / norm2 : 0;
    }
    let sumW = 0;
    for (let k = 0; k < lambda; k++) sumW += this.weights[k];
    const delta = (1 - hSigma) * this.cc * (2 - this.cc);
    const decay = 1 + this.c1 * delta - this.c1 - this.cMu * sumW;
    if (this.separable) {
      for (let i = 0; i < n; i++) {
        let rankMu = 0;
        for (let k = 0; k < lambda; k++) rankMu += wo[k] * ys[k][i] * ys[k][i];
        this.cov[i] = Math.max(decay * this.cov[i] + this.c1 * this.pc[i] ** 2 + this.cMu * rankMu, 1e-300);
      }
    } else {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let rankMu = 0;
          for (let k = 0; k < lambda; k++) rankMu += wo[k] * ys[k][i] * ys[k][j];
          const v = decay * this.cov[i * n + j] + this.c1 * this.pc[i] * this.pc[j] + this.cMu * rankMu;
          this.cov[i * n + j] = v;
          this.cov[j * n + i] = v;
        }
      }
    }
    this.sigma *= Math.exp(Math.min(1, (cs / this.dSigma) * (psNorm / this.chiN - 1)));
    this.decompose();
    this.applyMargin();

    this.funHistory.push(sorted[0].value);
    if (this.funHistory.length > this.funHistoryLength) this.funHistory.shift();
    this.lastRange = sorted[lambda - 1].value - sorted[0].value;
  }

  /** The termination criteria of the cmaes library (tolfun, tolx, tolxup, no effect, conditioning). */
  shouldStop(): boolean {
    const n = this.dim;
    if (this.funHistory.length >= this.funHistoryLength) {
      const range = Math.max(...this.funHistory) - Math.min(...this.funHistory);
      if (range < TOL_FUN && this.lastRange < TOL_FUN) return true;
    }
    let allSmall = true;
    for (let i = 0; i < n; i++) {
      const cii = this.separable ? this.cov[i] : this.cov[i * n + i];
      if (!(this.sigma * Math.abs(this.pc[i]) < this.tolX && this.sigma * Math.sqrt(cii) < this.tolX)) {
        allSmall = false;
        break;
      }
    }
    if (allSmall) return true;
    const dMax = Math.max(...this.d);
    const dMin = Math.min(...this.d);
    if (this.sigma * dMax > TOL_X_UP) return true;
    // No effect along the principal axis of this generation, or along any coordinate.
    const axis = this.generation % n;
    let noEffectAxis = true;
    for (let i = 0; i < n; i++) {
      const step =
        0.1 * this.sigma * this.d[axis] * (this.separable ? (i === axis ? 1 : 0) : this.b[i * n + axis]);
      if (this.mean[i] + step !== this.mean[i]) {
        noEffectAxis = false;
        break;
      }
    }
    if (noEffectAxis) return true;
    for (let i = 0; i < n; i++) {
      const cii = this.separable ? this.cov[i] : this.cov[i * n + i];
      if (this.mean[i] + 0.2 * this.sigma * Math.sqrt(cii) === this.mean[i]) return true;
    }
    return (dMax / dMin) ** 2 > TOL_CONDITION;
  }

  private decompose(): void {
    const n = this.dim;
    if (this.separable) {
      for (let i = 0; i < n; i++) this.d[i] = Math.sqrt(this.cov[i]);
      return;
    }
    const rows = Array.from({ length: n }, (_, i) => Array.from(this.cov.subarray(i * n, (i + 1) * n)));
    const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    const vectors = evd.eigenvectorMatrix;
    for (let j = 0; j < n; j++) {
      this.d[j] = Math.sqrt(Math.max(values[j], 1e-300));
      for (let i = 0; i < n; i++) this.b[i * n + j] = vectors.get(i, j);
    }
    // Rebuild C from its decomposition so it stays exactly symmetric positive definite.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += this.b[i * n + k] * this.d[k] * this.d[k] * this.b[j * n + k];
        this.cov[i * n + j] = s;
        this.cov[j * n + i] = s;
      }
    }
  }

  /**
   * Margin for discrete coordinates, after Hamano et al. (2022). With sd the coordinate's sampling
   * standard deviation, a mean in an end cell of the grid is moved towards its only neighbour until
   * the probability of sampling that neighbour is the margin; a mean in an inner cell gets a scale
   * A >= 1 large enough that each neighbour keeps probability margin / 2. Discrete coordinates so
   * never freeze on one value, which plain CMA-ES does once sigma shrinks below the grid spacing.
   */
  private applyMargin(): void {
    if (this.discrete.length === 0) return;
    const n = this.dim;
    const qEdge = normalQuantile(1 - this.margin);
    const qInner = normalQuantile(1 - this.margin / 2);
    for (const coord of this.discrete) {
      const i = coord.index;
      const cii = this.separable ? this.cov[i] : this.cov[i * n + i];
      const sd = this.sigma * Math.sqrt(cii);
      const m = this.mean[i];
      const { low, high } = coord.cell(m);
      this.a[i] = 1;
      if (low === null && high === null) continue;
      if (low === null || high === null) {
        if (high !== null && high - m > sd * qEdge) this.mean[i] = high - sd * qEdge;
        if (low !== null && m - low > sd * qEdge) this.mean[i] = low + sd * qEdge;
        continue;
      }
      const far = Math.max(high - m, m - low);
      if (far > sd * qInner) this.a[i] = far / (sd * qInner);
    }
  }
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}
