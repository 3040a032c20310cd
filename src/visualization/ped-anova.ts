/**
 * PED-ANOVA hyperparameter importance (Watanabe et al., IJCAI 2023). A parameter matters for
 * reaching the top `quantile` of the objective when the top trials' density over it differs from
 * the density of all completed trials: the importance is the Pearson divergence
 * sum_x p_all(x) (p_top(x) / p_all(x) - 1)^2 between the two. The paper shows this equals the
 * local fANOVA variance of the indicator "the trial is in the top quantile", so it needs no
 * surrogate model and costs one pass over the trials per parameter.
 *
 * Densities: a numeric parameter (in log space when it is log-scaled) gets a Gaussian Parzen
 * estimator with Scott's bandwidth, evaluated on an even grid over the values the trials took (the
 * region the search explored) and normalised over that grid; a categorical parameter gets each
 * choice's share with a prior of one trial spread over the choices, so no share is zero.
 */
import type { StudyDirection } from '../core/frozen-trial.js';

/** The grid of a numeric parameter's densities. */
const GRID_POINTS = 64;

export interface PedAnovaColumn {
  kind: 'numeric' | 'categorical';
  /** Values per trial (numeric, already in log space where log-scaled; categorical: choice index). */
  values: Float64Array;
  /** Categorical: the number of choices. */
  choices?: number;
}

/** Indices of the top `quantile` of `objective` (at least `minTop`, at most all). */
export function topTrials(
  objective: Float64Array,
  direction: StudyDirection,
  quantile: number,
  minTop = 2,
): number[] {
  const sign = direction === 'maximize' ? -1 : 1;
  const order = Array.from(objective.keys()).sort((a, b) => sign * (objective[a] - objective[b]) || a - b);
  const count = Math.min(order.length, Math.max(minTop, Math.ceil(quantile * order.length)));
  return order.slice(0, count);
}

/** Normalised Gaussian-kernel masses of `values` (the chosen indices) on `grid`. */
function parzenMasses(values: Float64Array, indices: readonly number[], grid: Float64Array, span: number) {
  const n = indices.length;
  let mean = 0;
  for (const i of indices) mean += values[i];
  mean /= n;
  let variance = 0;
  for (const i of indices) variance += (values[i] - mean) ** 2;
  const sd = Math.sqrt(variance / Math.max(1, n - 1));
  // Scott's rule, with a floor so identical values still give a bump the width of a grid cell.
  const bandwidth = Math.max(1.06 * sd * n ** -0.2, span / GRID_POINTS);
  const masses = new Float64Array(grid.length);
  let total = 0;
  for (let g = 0; g < grid.length; g++) {
    let density = 0;
    for (const i of indices) density += Math.exp(-0.5 * ((grid[g] - values[i]) / bandwidth) ** 2);
    masses[g] = density;
    total += density;
  }
  for (let g = 0; g < grid.length; g++) masses[g] /= total;
  return masses;
}

function categoricalMasses(values: Float64Array, indices: readonly number[], choices: number): Float64Array {
  const masses = new Float64Array(choices).fill(1 / choices);
  for (const i of indices) masses[values[i]] += 1;
  for (let k = 0; k < choices; k++) masses[k] /= indices.length + 1;
  return masses;
}

/** Pearson divergence of `top` from `all` (both normalised masses over the same points). */
function pearsonDivergence(top: Float64Array, all: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < all.length; k++) if (all[k] > 0) sum += (top[k] - all[k]) ** 2 / all[k];
  return sum;
}

/** Unnormalised PED-ANOVA importance of each column for reaching the trials in `top`. */
export function pedAnovaImportances(
  columns: readonly PedAnovaColumn[],
  top: readonly number[],
): Float64Array {
  const out = new Float64Array(columns.length);
  if (columns.length === 0 || top.length === 0) return out;
  const everyone = Array.from(columns[0].values.keys());
  if (top.length >= everyone.length) return out; // the top is everyone: nothing distinguishes it
  for (const [c, column] of columns.entries()) {
    if (column.kind === 'categorical') {
      const choices = column.choices ?? 1;
      out[c] = pearsonDivergence(
        categoricalMasses(column.values, top, choices),
        categoricalMasses(column.values, everyone, choices),
      );
      continue;
    }
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const v of column.values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (!(hi > lo)) continue;
    const grid = Float64Array.from(
      { length: GRID_POINTS },
      (_, g) => lo + ((hi - lo) * g) / (GRID_POINTS - 1),
    );
    out[c] = pearsonDivergence(
      parzenMasses(column.values, top, grid, hi - lo),
      parzenMasses(column.values, everyone, grid, hi - lo),
    );
  }
  return out;
}
