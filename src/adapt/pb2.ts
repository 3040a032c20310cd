/**
 * PB2's explore (Parker-Holder et al. 2020, "Provably efficient online hyperparameter
 * optimization with population-based bandits"): instead of perturbing a copied member's values
 * at random, fit a Gaussian process to how much each member's validation accuracy changed over a
 * round given the values it trained with, and choose the next values by an upper confidence bound
 * within the bounds.
 *
 * The kernel is time-varying (Bogunovic et al. 2016): a squared-exponential kernel over the
 * values (scaled to [0, 1]) times (1 - eps)^(|t - t'| / 2) over rounds, so older rounds count
 * less. The length scale and eps are chosen by marginal likelihood on a small grid. Several members
 * replaced in the same round are chosen one after another; each choice joins the data as a pending
 * point at its predicted mean, which lowers the bound near it so the next one goes elsewhere.
 */
import type { Random } from '../core/random.js';

export interface Pb2Observation {
  round: number;
  /** The values the member trained with in that round, scaled to [0, 1]. */
  x: readonly number[];
  /** Change of validation accuracy over that round. */
  reward: number;
}

const LENGTH_SCALES = [0.1, 0.2, 0.35, 0.6, 1];
const EPSILONS = [0.01, 0.05, 0.15, 0.4];
/** Observation noise on standardised rewards. */
const NOISE = 0.1;
/** Candidates drawn uniformly, and around the copied member's values. */
const UNIFORM_CANDIDATES = 400;
const LOCAL_CANDIDATES = 100;
const LOCAL_SPREAD = 0.1;
/** Only the most recent observations are modelled (the time kernel discounts older ones anyway). */
const MAX_OBSERVATIONS = 240;

function kernel(a: Pb2Point, b: Pb2Point, lengthScale: number, epsilon: number): number {
  let s = 0;
  for (let i = 0; i < a.x.length; i++) s += (a.x[i] - b.x[i]) ** 2;
  return Math.exp(-s / (2 * lengthScale * lengthScale)) * (1 - epsilon) ** (Math.abs(a.t - b.t) / 2);
}

interface Pb2Point {
  x: readonly number[];
  t: number;
}

/** Lower-triangular Cholesky factor of a symmetric positive definite n x n matrix (row-major). */
function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return undefined;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  return l;
}

/** Solves L y = b (forward substitution). */
function forward(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  return y;
}

/** Solves L^T x = y (back substitution). */
function backward(l: Float64Array, n: number, y: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

class GaussianProcess {
  private readonly l: Float64Array;
  private readonly alpha: Float64Array;
  constructor(
    private readonly points: readonly Pb2Point[],
    y: ArrayLike<number>,
    private readonly lengthScale: number,
    private readonly epsilon: number,
    readonly logLikelihood: number,
    l: Float64Array,
  ) {
    this.l = l;
    this.alpha = backward(l, points.length, forward(l, points.length, y));
  }

  /** Fits on standardised rewards; undefined when the kernel matrix is not positive definite. */
  static fit(
    points: readonly Pb2Point[],
    y: ArrayLike<number>,
    lengthScale: number,
    epsilon: number,
  ): GaussianProcess | undefined {
    const n = points.length;
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        const v = kernel(points[i], points[j], lengthScale, epsilon) + (i === j ? NOISE : 0);
        k[i * n + j] = v;
        k[j * n + i] = v;
      }
    const l = cholesky(k, n);
    if (!l) return undefined;
    const z = forward(l, n, y);
    let fit = 0;
    let logDet = 0;
    for (let i = 0; i < n; i++) {
      fit += z[i] * z[i];
      logDet += Math.log(l[i * n + i]);
    }
    const logLikelihood = -0.5 * fit - logDet - 0.5 * n * Math.log(2 * Math.PI);
    return new GaussianProcess(points, y, lengthScale, epsilon, logLikelihood, l);
  }

  predict(p: Pb2Point): { mean: number; std: number } {
    const n = this.points.length;
    const ks = new Float64Array(n);
    let mean = 0;
    for (let i = 0; i < n; i++) {
      ks[i] = kernel(p, this.points[i], this.lengthScale, this.epsilon);
      mean += ks[i] * this.alpha[i];
    }
    const v = forward(this.l, n, ks);
    let reduce = 0;
    for (let i = 0; i < n; i++) reduce += v[i] * v[i];
    return { mean, std: Math.sqrt(Math.max(1e-12, 1 - reduce)) };
  }
}

/** The best-likelihood GP on the grid of length scales and eps. */
function fitBest(points: readonly Pb2Point[], y: ArrayLike<number>): GaussianProcess | undefined {
  let best: GaussianProcess | undefined;
  for (const lengthScale of LENGTH_SCALES)
    for (const epsilon of EPSILONS) {
      const gp = GaussianProcess.fit(points, y, lengthScale, epsilon);
      if (gp && (!best || gp.logLikelihood > best.logLikelihood)) best = gp;
    }
  return best;
}

/**
 * GP-UCB's exploration weight at round t (Srinivas et al. 2010, beta_t = 2 log(d t^2 pi^2 / 6 delta)
 * with delta 0.1), growing slowly with the rounds.
 */
function ucbWeight(round: number, dims: number): number {
  const t = round + 1;
  return Math.sqrt(2 * Math.log((Math.max(1, dims) * t * t * Math.PI * Math.PI) / (6 * 0.1)));
}

/**
 * Chooses values (scaled to [0, 1]) for each of `around.length` members replaced at `round`: the
 * candidate of highest upper confidence bound on the next round's reward change. `around[i]` is
 * the copied member's values, where half of the local candidates are drawn. Without data (or a
 * GP that cannot be fitted) it returns the copied values.
 */
export function pb2Choose(
  observations: readonly Pb2Observation[],
  around: readonly (readonly number[])[],
  round: number,
  rng: Random,
): number[][] {
  const dims = around[0]?.length ?? 0;
  const data = observations.slice(-MAX_OBSERVATIONS);
  if (dims === 0 || data.length < 2) return around.map((x) => [...x]);
  const rewards = data.map((o) => o.reward);
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const std = Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / rewards.length) || 1;
  const points: Pb2Point[] = data.map((o) => ({ x: o.x, t: o.round }));
  const y: number[] = rewards.map((r) => (r - mean) / std);
  const kappa = ucbWeight(round, dims);
  const chosen: number[][] = [];
  for (const [member, centre] of around.entries()) {
    const gp = fitBest(points, y);
    if (!gp) {
      chosen.push([...centre]);
      continue;
    }
    const draw = rng.fork(`pb2-${member}`);
    const next: Pb2Point = { x: centre, t: round + 1 };
    let best = { score: Number.NEGATIVE_INFINITY, x: [...centre], mean: 0 };
    const consider = (x: number[]) => {
      next.x = x;
      const p = gp.predict(next);
      const score = p.mean + kappa * p.std;
      if (score > best.score) best = { score, x, mean: p.mean };
    };
    consider([...centre]);
    for (let c = 0; c < UNIFORM_CANDIDATES; c++)
      consider(Array.from({ length: dims }, () => draw.uniform(0, 1)));
    for (let c = 0; c < LOCAL_CANDIDATES; c++)
      consider(centre.map((v) => Math.min(1, Math.max(0, v + LOCAL_SPREAD * draw.normal()))));
    chosen.push(best.x);
    // The choice is pending: it joins the data at its predicted mean, shrinking the bound around it.
    points.push({ x: best.x, t: round + 1 });
    y.push(best.mean);
  }
  return chosen;
}
