/**
 * Pruning for objectives that average over instances (folds, problems, shuffled inputs): each step
 * is an instance id, and a trial is compared with the best trial instance by instance with the
 * Wilcoxon signed-rank test.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import { isFeasible, type StudyView } from '../core/study-view.js';
import { checkInteger, checkNumber, directionSign, requireSingleObjective, scalarValue } from './internal.js';

export interface WilcoxonPrunerOptions {
  /** Prune when the one-sided p-value that the trial is worse falls below this (default 0.1). */
  pThreshold?: number;
  /** Shared instances needed before testing (default 2). */
  nStartupSteps?: number;
}

/**
 * Report `trial.report(valueOnInstance, instanceId)` for each instance and call `shouldPrune()`.
 * The trial is compared with the best COMPLETE (feasible) trial on the instances both evaluated:
 * the differences (trial - best, oriented so that positive means worse) go through a one-sided
 * Wilcoxon signed-rank test, and the trial is pruned when p < pThreshold. As a safety, a trial
 * whose mean over its reported instances is already at least as good as the best trial's final
 * value is never pruned. No decision while fewer than `nStartupSteps` instances are shared, or
 * when either trial has a non-finite value. Single-objective studies only.
 *
 * The test is repeated as instances arrive, so the chance of pruning a trial that is in truth as
 * good as the best is higher than pThreshold (roughly twice, as with Optuna's pruner).
 */
export class WilcoxonPruner implements Pruner {
  readonly pThreshold: number;
  readonly nStartupSteps: number;

  constructor(options: WilcoxonPrunerOptions = {}) {
    this.pThreshold = checkNumber('pThreshold', options.pThreshold ?? 0.1, 0, 1);
    this.nStartupSteps = checkInteger('nStartupSteps', options.nStartupSteps ?? 2, 0);
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    const sign = directionSign(requireSingleObjective(view, 'WilcoxonPruner'));
    const own = finiteCurve(trial);
    if (own === undefined || own.size === 0) return false;
    const best = bestTrial(view, sign);
    if (best === undefined) return false;
    const reference = finiteCurve(best);
    if (reference === undefined || reference.size === 0) return false;
    const diffs: number[] = [];
    for (const [step, value] of own) {
      const other = reference.get(step);
      if (other !== undefined) diffs.push(sign * (value - other));
    }
    if (diffs.length === 0 || diffs.length < this.nStartupSteps) return false;
    let sum = 0;
    for (const v of own.values()) sum += v;
    if (sign * (sum / own.size) <= sign * best.values![0]) return false;
    return wilcoxonSignedRankTest(diffs, 'greater').pValue < this.pThreshold;
  }
}

/** step -> value, or undefined when a value is not finite (the pruner then abstains). */
function finiteCurve(trial: FrozenTrial): Map<number, number> | undefined {
  const curve = new Map<number, number>();
  for (const [key, raw] of Object.entries(trial.intermediateValues)) {
    const value = scalarValue(raw);
    if (!Number.isFinite(value)) return undefined;
    curve.set(Number(key), value);
  }
  return curve;
}

function bestTrial(view: StudyView, sign: number): FrozenTrial | undefined {
  let best: FrozenTrial | undefined;
  for (const t of view.getTrials({ states: ['COMPLETE'] })) {
    if (!t.values || Number.isNaN(t.values[0]) || !isFeasible(t)) continue;
    if (best === undefined || sign * t.values[0] < sign * best.values![0]) best = t;
  }
  return best;
}

export interface WilcoxonTestResult {
  /** Sum of the ranks of the positive differences, zeros counting half (W+). */
  readonly statistic: number;
  readonly pValue: number;
  /** Number of differences, zeros included. */
  readonly n: number;
  /** True when the p-value is exact (small samples), false for the normal approximation. */
  readonly exact: boolean;
}

/** Up to this many non-zero differences the null distribution is enumerated exactly. */
const EXACT_MAX_N = 50;

/**
 * Wilcoxon signed-rank test of the hypothesis that the differences are symmetric about 0.
 * `alternative` 'greater': they tend to be positive; 'less': negative. |d| are ranked with average
 * ranks for ties; zero differences are kept and their ranks split half to each side (Pratt's
 * "zsplit", so an all-zero sample gives p = 1 instead of failing). The p-value is the permutation
 * p-value given those ranks: exact (every sign pattern of the non-zero differences, by dynamic
 * programming over half-ranks) for up to 50 non-zero differences, otherwise the normal
 * approximation with that distribution's own mean and variance, which accounts for ties and zeros.
 */
export function wilcoxonSignedRankTest(
  differences: readonly number[],
  alternative: 'two-sided' | 'greater' | 'less' = 'two-sided',
): WilcoxonTestResult {
  const n = differences.length;
  if (differences.some((d) => Number.isNaN(d)))
    throw new InvalidArgumentError('wilcoxonSignedRankTest: NaN difference');
  const order = differences.map((d, i) => ({ a: Math.abs(d), i })).sort((x, y) => x.a - y.a);
  const ranks = new Array<number>(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && order[end].a === order[start].a) end++;
    const average = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k].i] = average;
    start = end;
  }
  // Ranks are multiples of 1/2, so doubled ranks are integers and the exact distribution is a table.
  let statistic = 0;
  let observed = 0; // doubled rank sum of the positive differences; the zeros' half is a constant
  const free: number[] = []; // doubled ranks of the non-zero differences, whose signs are random under H0
  for (let i = 0; i < n; i++) {
    const doubled = Math.round(2 * ranks[i]);
    if (differences[i] > 0) {
      statistic += ranks[i];
      observed += doubled;
    } else if (differences[i] === 0) statistic += ranks[i] / 2;
    if (differences[i] !== 0) free.push(doubled);
  }
  if (free.length === 0) return { statistic, pValue: 1, n, exact: true };

  let upper: number; // P(W+ >= observed)
  let lower: number; // P(W+ <= observed)
  let exact: boolean;
  if (free.length <= EXACT_MAX_N) {
    const total = free.reduce((a, b) => a + b, 0);
    let dist = new Float64Array(total + 1);
    dist[0] = 1;
    let reach = 0;
    for (const r of free) {
      const next = new Float64Array(total + 1);
      for (let s = 0; s <= reach; s++) {
        if (dist[s] === 0) continue;
        next[s] += dist[s] * 0.5;
        next[s + r] += dist[s] * 0.5;
      }
      reach += r;
      dist = next;
    }
    upper = 0;
    lower = 0;
    for (let s = 0; s <= total; s++) {
      if (s >= observed) upper += dist[s];
      if (s <= observed) lower += dist[s];
    }
    exact = true;
  } else {
    let mean = 0;
    let variance = 0;
    for (const r of free) {
      mean += r / 2;
      variance += (r * r) / 4;
    }
    const z = (observed - mean) / Math.sqrt(variance);
    upper = normalSurvival(z);
    lower = normalSurvival(-z);
    exact = false;
  }
  const pValue =
    alternative === 'greater'
      ? upper
      : alternative === 'less'
        ? lower
        : Math.min(1, 2 * Math.min(upper, lower));
  return { statistic, pValue: Math.min(1, Math.max(0, pValue)), n, exact };
}

/** P(Z > z) for a standard normal Z, via a Chebyshev fit of erfc (relative error < 1.2e-7). */
function normalSurvival(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(-x * x + poly);
  return 0.5 * (x >= 0 ? erfc : 2 - erfc);
}
