/**
 * Box-constrained limited-memory quasi-Newton minimisation: L-BFGS directions on the free variables
 * (those not held at a bound by their gradient), a projected backtracking (Armijo) line search, and
 * the usual curvature test before a pair enters the memory. It is a lighter relative of L-BFGS-B
 * (no generalised Cauchy point), enough for the smooth, low-dimensional problems of the GP
 * sampler: fitting kernel hyperparameters and refining the acquisition function.
 */

/** Writes the gradient into `grad` and returns the value. */
export type ObjectiveWithGradient = (x: Float64Array, grad: Float64Array) => number;

export interface BoundedMinimizeOptions {
  /** Iteration cap (default 100). */
  maxIterations?: number;
  /** Stop when every projected-gradient component is below this (default 1e-5). */
  gradientTolerance?: number;
  /** Stop when an iteration reduces f by less than this times max(|f|, 1) (default 1e-10). */
  relativeTolerance?: number;
  /** Number of stored curvature pairs (default 10). */
  memory?: number;
}

export interface BoundedMinimizeResult {
  x: Float64Array;
  value: number;
  iterations: number;
  evaluations: number;
}

/** Minimises `f` over the box [lower, upper] starting from `x0` (projected into the box). */
export function minimizeBounded(
  f: ObjectiveWithGradient,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  options: BoundedMinimizeOptions = {},
): BoundedMinimizeResult {
  const maxIterations = options.maxIterations ?? 100;
  const gtol = options.gradientTolerance ?? 1e-5;
  const ftol = options.relativeTolerance ?? 1e-10;
  const memory = options.memory ?? 10;
  const n = x0.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = clamp(x0[i], lower[i], upper[i]);
  const g = new Float64Array(n);
  let fx = f(x, g);
  let evaluations = 1;
  if (!Number.isFinite(fx)) return { x, value: fx, iterations: 0, evaluations };

  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const d = new Float64Array(n);
  const free = new Uint8Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(memory);
  let iterations = 0;

  for (; iterations < maxIterations; iterations++) {
    // Variables at a bound whose gradient pushes outwards stay fixed this iteration.
    let pgMax = 0;
    for (let i = 0; i < n; i++) {
      const atLower = x[i] <= lower[i] && g[i] > 0;
      const atUpper = x[i] >= upper[i] && g[i] < 0;
      free[i] = atLower || atUpper ? 0 : 1;
      if (free[i]) pgMax = Math.max(pgMax, Math.abs(g[i]));
    }
    if (pgMax < gtol) break;

    // Two-loop recursion restricted to the free variables.
    for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i] : 0;
    const m = sList.length;
    for (let k = m - 1; k >= 0; k--) {
      const a = rhoList[k] * dotFree(sList[k], d, free);
      alpha[k] = a;
      const y = yList[k];
      for (let i = 0; i < n; i++) if (free[i]) d[i] += a * y[i];
    }
    if (m > 0) {
      const yy = dotFree(yList[m - 1], yList[m - 1], free);
      const gamma = yy > 0 ? dotFree(sList[m - 1], yList[m - 1], free) / yy : 1;
      if (gamma > 0 && Number.isFinite(gamma)) for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let k = 0; k < m; k++) {
      const b = rhoList[k] * dotFree(yList[k], d, free);
      const s = sList[k];
      for (let i = 0; i < n; i++) if (free[i]) d[i] += (alpha[k] - b) * s[i];
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i] * d[i];
    if (!(slope < 0)) {
      // Memory gave an ascent direction: forget it and go down the projected gradient.
      sList.length = 0;
      yList.length = 0;
      rhoList.length = 0;
      for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i] : 0;
    }

    // First step of a steepest-descent iteration is scaled so it moves about one unit.
    let t = 1;
    if (sList.length === 0) {
      let norm = 0;
      for (let i = 0; i < n; i++) norm += d[i] * d[i];
      t = Math.min(1, 1 / Math.sqrt(norm));
    }
    let fNew = Number.NaN;
    let accepted = false;
    for (let ls = 0; ls < 30; ls++) {
      let decrease = 0;
      for (let i = 0; i < n; i++) {
        xNew[i] = clamp(x[i] + t * d[i], lower[i], upper[i]);
        decrease += g[i] * (xNew[i] - x[i]);
      }
      fNew = f(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      // Minimiser of the quadratic through f(x), the slope along the step and f(xNew), kept within
      // [0.1 t, 0.5 t]; plain halving when the value is not finite.
      const curvature = fNew - fx - decrease;
      const ratio = Number.isFinite(fNew) && curvature > 0 ? -decrease / (2 * curvature) : 0.5;
      t *= Math.min(0.5, Math.max(0.1, ratio));
    }
    if (!accepted) break;

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    let ss = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
      sy += s[i] * y[i];
      ss += s[i] * s[i];
      yy += y[i] * y[i];
    }
    if (sy > 1e-10 * Math.sqrt(ss * yy)) {
      if (sList.length === memory) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    const reduction = fx - fNew;
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    if (reduction <= ftol * Math.max(Math.abs(fx), 1)) {
      iterations++;
      break;
    }
  }
  return { x, value: fx, iterations, evaluations };
}

function dotFree(a: Float64Array, b: Float64Array, free: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (free[i]) s += a[i] * b[i];
  return s;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
