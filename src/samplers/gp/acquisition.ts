/**
 * Acquisition functions of the GP sampler, all in log space so they can be compared and optimised
 * where expected improvement underflows: log EI (Ament et al. 2023) for minimisation of the
 * standardised objective, plus log P(feasible) of every constraint, as Optuna's constrained GP does.
 */
import type { GPPosterior } from './gaussian-process.js';
import { logH, logHDerivative, logNormalCdf, logNormalCdfDerivative } from './normal.js';

/** Variance floor: keeps log sigma finite at observed points of a deterministic objective. */
export const MIN_VARIANCE = 1e-12;

/** log EI(x) = log h((best - mu)/sigma) + log sigma for minimisation. */
export function logExpectedImprovement(mean: number, variance: number, best: number): number {
  const sigma = Math.sqrt(Math.max(variance, MIN_VARIANCE));
  return logH((best - mean) / sigma) + Math.log(sigma);
}

/** What the acquisition optimiser maximises: values at many points, value and gradient at one. */
export interface Acquisition {
  readonly dim: number;
  evaluate(x: Float64Array, m: number): Float64Array;
  valueAndGradient(x: Float64Array, grad: Float64Array): number;
}

export interface ConstraintModel {
  readonly gp: GPPosterior;
  /** Feasibility threshold in the GP's standardised units (the raw threshold is 0). */
  readonly threshold: number;
}

/**
 * Sum of log EI of the objective (omitted when no trial is feasible yet, so the search first looks
 * for feasibility) and log P(c_k <= 0) of every constraint.
 */
export class LogAcquisition implements Acquisition {
  readonly objective: GPPosterior | null;
  readonly best: number;
  readonly constraints: readonly ConstraintModel[];
  readonly dim: number;

  constructor(objective: GPPosterior | null, best: number, constraints: readonly ConstraintModel[]) {
    if (objective === null && constraints.length === 0)
      // not a user error: the sampler always passes one of them
      throw new RangeError('an acquisition needs an objective or a constraint model');
    this.objective = objective;
    this.best = best;
    this.constraints = constraints;
    this.dim = (objective ?? constraints[0].gp).data.layout.dim;
  }

  /** Values at m rows of `x` (row-major, `dim` columns). */
  evaluate(x: Float64Array, m: number): Float64Array {
    const out = new Float64Array(m);
    if (this.objective) {
      const { mean, variance } = this.objective.predict(x, m);
      for (let r = 0; r < m; r++) out[r] = logExpectedImprovement(mean[r], variance[r], this.best);
    }
    addLogFeasibility(this.constraints, x, m, out);
    return out;
  }

  /** Value at one point, with the gradient with respect to every column written to `grad`. */
  valueAndGradient(x: Float64Array, grad: Float64Array): number {
    grad.fill(0);
    let value = 0;
    if (this.objective) {
      const dMean = new Float64Array(this.dim);
      const dVar = new Float64Array(this.dim);
      const { mean, variance } = this.objective.predictWithGradient(x, dMean, dVar);
      const clamped = variance <= MIN_VARIANCE;
      const sigma = Math.sqrt(clamped ? MIN_VARIANCE : variance);
      const z = (this.best - mean) / sigma;
      const dLog = logHDerivative(z);
      value += logH(z) + Math.log(sigma);
      for (let c = 0; c < this.dim; c++) {
        // dz/dx = (-dmu - z dsigma)/sigma with dsigma = dvar / (2 sigma); log sigma adds dsigma/sigma.
        const dSigma = clamped ? 0 : dVar[c] / (2 * sigma);
        grad[c] += (dLog * (-dMean[c] - z * dSigma)) / sigma + dSigma / sigma;
      }
    }
    return value + addLogFeasibilityGradient(this.constraints, x, grad);
  }
}

/** Adds log P(c_k <= 0) of every constraint, at m rows of `x`, to `out`. */
export function addLogFeasibility(
  constraints: readonly ConstraintModel[],
  x: Float64Array,
  m: number,
  out: Float64Array,
): void {
  for (const c of constraints) {
    const { mean, variance } = c.gp.predict(x, m);
    for (let r = 0; r < m; r++) {
      const sigma = Math.sqrt(Math.max(variance[r], MIN_VARIANCE));
      out[r] += logNormalCdf((c.threshold - mean[r]) / sigma);
    }
  }
}

/** Sum of log P(c_k <= 0) at one point; adds its gradient to `grad`. */
export function addLogFeasibilityGradient(
  constraints: readonly ConstraintModel[],
  x: Float64Array,
  grad: Float64Array,
): number {
  const dim = grad.length;
  const dMean = new Float64Array(dim);
  const dVar = new Float64Array(dim);
  let value = 0;
  for (const con of constraints) {
    const { mean, variance } = con.gp.predictWithGradient(x, dMean, dVar);
    const clamped = variance <= MIN_VARIANCE;
    const sigma = Math.sqrt(clamped ? MIN_VARIANCE : variance);
    const z = (con.threshold - mean) / sigma;
    value += logNormalCdf(z);
    const dLog = logNormalCdfDerivative(z);
    for (let c = 0; c < dim; c++) {
      const dSigma = clamped ? 0 : dVar[c] / (2 * sigma);
      grad[c] += (dLog * (-dMean[c] - z * dSigma)) / sigma;
    }
  }
  return value;
}
