/**
 * Percentile and median pruning (Optuna's rule): at a pruning step, a trial whose best value so far
 * is worse than the given percentile of the completed trials' values at that same step is pruned.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { StudyView } from '../core/study-view.js';
import {
  checkInteger,
  checkNumber,
  isFirstInIntervalStep,
  lastStep,
  requireSingleObjective,
  scalarValue,
} from './internal.js';

export interface PercentilePrunerOptions {
  /** No pruning until this many trials have completed (default 5). */
  nStartupTrials?: number;
  /** No pruning before this step of a trial (default 0). */
  nWarmupSteps?: number;
  /** Decide once every this many steps after the warm-up (default 1). */
  intervalSteps?: number;
  /** Completed trials that must have reported the step before it is judged (default 1). */
  nMinTrials?: number;
}

/**
 * Prunes a trial whose best intermediate value so far is worse than the `percentile`-th best of
 * the COMPLETE trials' values at the trial's current step ("best" follows the study direction:
 * percentile 25 keeps the top quarter). Linear interpolation between order statistics, NaN values
 * ignored; a trial whose values are all NaN is pruned. Single-objective studies only.
 */
export class PercentilePruner implements Pruner {
  readonly percentile: number;
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;
  readonly nMinTrials: number;
  protected readonly label: string = 'PercentilePruner';

  constructor(percentile: number, options: PercentilePrunerOptions = {}) {
    this.percentile = checkNumber('percentile', percentile, 0, 100);
    this.nStartupTrials = checkInteger('nStartupTrials', options.nStartupTrials ?? 5, 0);
    this.nWarmupSteps = checkInteger('nWarmupSteps', options.nWarmupSteps ?? 0, 0);
    this.intervalSteps = checkInteger('intervalSteps', options.intervalSteps ?? 1, 1);
    this.nMinTrials = checkInteger('nMinTrials', options.nMinTrials ?? 1, 1);
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    const direction = requireSingleObjective(view, this.label);
    const completed = view.getTrials({ states: ['COMPLETE'] });
    if (completed.length === 0 || completed.length < this.nStartupTrials) return false;
    const step = lastStep(trial);
    if (step === undefined || step < this.nWarmupSteps) return false;
    const steps = Object.keys(trial.intermediateValues).map(Number);
    if (!isFirstInIntervalStep(step, steps, this.nWarmupSteps, this.intervalSteps)) return false;

    const maximize = direction === 'maximize';
    let best = Number.NaN;
    for (const s of steps) {
      const v = scalarValue(trial.intermediateValues[s]);
      if (Number.isNaN(v)) continue;
      if (Number.isNaN(best) || (maximize ? v > best : v < best)) best = v;
    }
    if (Number.isNaN(best)) return true;

    const atStep: number[] = [];
    for (const t of completed) {
      const v = t.intermediateValues[step];
      if (v !== undefined) atStep.push(scalarValue(v));
    }
    if (atStep.length < this.nMinTrials) return false;
    // For maximisation the p-th best is the (100 - p)-th percentile of the raw values.
    const threshold = percentileOf(atStep, maximize ? 100 - this.percentile : this.percentile);
    if (Number.isNaN(threshold)) return false;
    return maximize ? best < threshold : best > threshold;
  }
}

/** Prunes a trial whose best value so far is worse than the median of completed trials at the step. */
export class MedianPruner extends PercentilePruner {
  protected override readonly label: string = 'MedianPruner';

  constructor(options: PercentilePrunerOptions = {}) {
    super(50, options);
  }
}

/** The q-th percentile (0..100) with linear interpolation, ignoring NaN; NaN when nothing is left. */
export function percentileOf(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 100)) throw new InvalidArgumentError(`percentile must be in [0, 100], got ${q}`);
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const position = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  if (lo === hi) return sorted[lo];
  const a = sorted[lo];
  const b = sorted[hi];
  const interpolated = a + (b - a) * (position - lo);
  // Both neighbours infinite with opposite signs give inf - inf; take the nearer one.
  return Number.isNaN(interpolated) ? (position - lo < 0.5 ? a : b) : interpolated;
}
