/**
 * Log expected hypervolume improvement for two objectives (minimisation), in closed form.
 *
 * The region a new point can add to the dominated hypervolume, {z <= ref : no front point p <= z},
 * splits into disjoint boxes [l, u] (lower bounds may be -Infinity). For a box, the improvement of
 * an outcome Y is the volume of {z in box : Y <= z} = prod_j (u_j - max(l_j, Y_j))+, and with
 * independent Gaussian posteriors Y_j ~ N(mu_j, sigma_j^2) each factor's expectation is
 *   integral from l to u of Phi((z - mu)/sigma) dz = sigma (G((u - mu)/sigma) - G((l - mu)/sigma)),
 * G(t) = t Phi(t) + phi(t) (the function whose log the log-EI code already evaluates stably), so
 *   EHVI = sum over boxes of prod_j sigma_j (G(b_j) - G(a_j)).
 * Everything is kept in log space (log G, log(1 - e^x), log-sum-exp over boxes) so the acquisition
 * keeps a usable slope far from the front, as log EI does for one objective.
 */
import {
  type Acquisition,
  addLogFeasibility,
  addLogFeasibilityGradient,
  type ConstraintModel,
  MIN_VARIANCE,
} from './acquisition.js';
import type { GPPosterior } from './gaussian-process.js';
import { log1mexp, logH, logHDerivative } from './normal.js';

export interface Box {
  lower: [number, number];
  upper: [number, number];
}

/**
 * Disjoint boxes covering what `front` (minimisation) leaves undominated below `reference`. Points
 * not strictly below the reference in both objectives add nothing and are ignored.
 */
export function improvementBoxes(
  front: readonly (readonly number[])[],
  reference: readonly [number, number],
): Box[] {
  const points = front
    .filter((p) => p[0] < reference[0] && p[1] < reference[1])
    .map((p) => [p[0], p[1]] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  // Keep the staircase: each next point must improve the second objective.
  const stairs: [number, number][] = [];
  for (const p of points) if (stairs.length === 0 || p[1] < stairs[stairs.length - 1][1]) stairs.push(p);
  const boxes: Box[] = [];
  let left = Number.NEGATIVE_INFINITY;
  let top = reference[1];
  for (const [f1, f2] of stairs) {
    if (f1 > left) boxes.push({ lower: [left, Number.NEGATIVE_INFINITY], upper: [f1, top] });
    left = f1;
    top = f2;
  }
  boxes.push({ lower: [left, Number.NEGATIVE_INFINITY], upper: [reference[0], top] });
  return boxes.filter((b) => b.upper[0] > b.lower[0] && b.upper[1] > b.lower[1]);
}

/** log(sigma (G(b) - G(a))) and its partial derivatives with respect to mu and sigma. */
function logFactor(
  mu: number,
  sigma: number,
  lower: number,
  upper: number,
): { value: number; dMu: number; dSigma: number } {
  const b = (upper - mu) / sigma;
  const lb = logH(b);
  const gb = logHDerivative(b); // d log G(b) / db
  if (lower === Number.NEGATIVE_INFINITY) {
    // db/dmu = -1/sigma, db/dsigma = -b/sigma
    return { value: Math.log(sigma) + lb, dMu: -gb / sigma, dSigma: 1 / sigma - (gb * b) / sigma };
  }
  const a = (lower - mu) / sigma;
  const la = logH(a);
  const ga = logHDerivative(a);
  const d = la - lb; // < 0 since G is increasing and a < b
  const value = Math.log(sigma) + lb + log1mexp(d);
  // d/dd log(1 - e^d) = -1 / (e^-d - 1)
  const q = -1 / Math.expm1(-d);
  const dLogDiffDb = gb - q * gb; // from lb and from -lb inside d
  const dLogDiffDa = q * ga;
  return {
    value,
    dMu: (-dLogDiffDb - dLogDiffDa) / sigma,
    dSigma: 1 / sigma + (-dLogDiffDb * b - dLogDiffDa * a) / sigma,
  };
}

/**
 * log EHVI at one point from the two objectives' posterior means and standard deviations, and its
 * partial derivatives with respect to them.
 */
export function logEhviFromMoments(
  boxes: readonly Box[],
  mu: readonly number[],
  sigma: readonly number[],
): { value: number; dMu: [number, number]; dSigma: [number, number] } {
  const values = new Float64Array(boxes.length);
  const dMu = [new Float64Array(boxes.length), new Float64Array(boxes.length)];
  const dSigma = [new Float64Array(boxes.length), new Float64Array(boxes.length)];
  boxes.forEach((box, k) => {
    for (let j = 0; j < 2; j++) {
      const f = logFactor(mu[j], sigma[j], box.lower[j], box.upper[j]);
      values[k] += f.value;
      dMu[j][k] = f.dMu;
      dSigma[j][k] = f.dSigma;
    }
  });
  let top = Number.NEGATIVE_INFINITY;
  for (const v of values) top = Math.max(top, v);
  let total = 0;
  for (const v of values) total += Math.exp(v - top);
  const value = top + Math.log(total);
  const out = { value, dMu: [0, 0] as [number, number], dSigma: [0, 0] as [number, number] };
  for (let k = 0; k < values.length; k++) {
    const weight = Math.exp(values[k] - value);
    for (let j = 0; j < 2; j++) {
      out.dMu[j] += weight * dMu[j][k];
      out.dSigma[j] += weight * dSigma[j][k];
    }
  }
  return out;
}

/**
 * log EHVI over two objective GPs (standardised, minimised) plus log P(feasible) of each
 * constraint, with the same interface as LogAcquisition so the same optimiser maximises it.
 */
export class LogEhvi implements Acquisition {
  readonly dim: number;

  constructor(
    readonly objectives: readonly [GPPosterior, GPPosterior],
    readonly boxes: readonly Box[],
    readonly constraints: readonly ConstraintModel[] = [],
  ) {
    if (boxes.length === 0)
      // not a user error: the open region above a front always has a box
      throw new RangeError('log EHVI needs at least one improvement box');
    this.dim = objectives[0].data.layout.dim;
  }

  evaluate(x: Float64Array, m: number): Float64Array {
    const out = new Float64Array(m);
    const [p0, p1] = this.objectives.map((gp) => gp.predict(x, m));
    for (let r = 0; r < m; r++) {
      const sigma = [p0.variance[r], p1.variance[r]].map((v) => Math.sqrt(Math.max(v, MIN_VARIANCE)));
      out[r] = logEhviFromMoments(this.boxes, [p0.mean[r], p1.mean[r]], sigma).value;
    }
    addLogFeasibility(this.constraints, x, m, out);
    return out;
  }

  valueAndGradient(x: Float64Array, grad: Float64Array): number {
    grad.fill(0);
    const dMean = this.objectives.map(() => new Float64Array(this.dim));
    const dVar = this.objectives.map(() => new Float64Array(this.dim));
    const moments = this.objectives.map((gp, j) => gp.predictWithGradient(x, dMean[j], dVar[j]));
    const clamped = moments.map((m) => m.variance <= MIN_VARIANCE);
    const sigma = moments.map((m, j) => Math.sqrt(clamped[j] ? MIN_VARIANCE : m.variance));
    const g = logEhviFromMoments(
      this.boxes,
      moments.map((m) => m.mean),
      sigma,
    );
    const ehvi = g.value;
    let value = ehvi;
    for (let j = 0; j < 2; j++)
      for (let c = 0; c < this.dim; c++) {
        const dS = clamped[j] ? 0 : dVar[j][c] / (2 * sigma[j]);
        grad[c] += g.dMu[j] * dMean[j][c] + g.dSigma[j] * dS;
      }
    value += addLogFeasibilityGradient(this.constraints, x, grad);
    return value;
  }
}
