/** Patience around another pruner: only let it act once the trial has stopped improving. */
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { StudyView } from '../core/study-view.js';
import {
  checkInteger,
  checkNumber,
  directionSign,
  requireSingleObjective,
  scalarValue,
  sortedSteps,
} from './internal.js';

export interface PatientPrunerOptions {
  /** Reported steps without improvement to tolerate before the trial counts as stalled. */
  patience: number;
  /** How much worse than the earlier best the recent values may get before it counts as a stall (default 0). */
  minDelta?: number;
}

/**
 * Optuna's rule: a trial is stalled when the best of its last `patience + 1` reported values is
 * worse than the best value reported before them by more than `minDelta` (so a plateau, or a worsening
 * within minDelta, is not a stall; this differs from `EarlyStopping`, where minDelta is the least
 * improvement that counts). A stalled trial is pruned (`wrapped = null`) or handed to the wrapped
 * pruner, which makes the final call; a trial that is not stalled is never pruned. Needs at least
 * `patience + 2` reported steps. NaN values are ignored. Single-objective studies only.
 */
export class PatientPruner implements Pruner {
  readonly wrapped: Pruner | null;
  readonly patience: number;
  readonly minDelta: number;

  constructor(wrapped: Pruner | null, options: PatientPrunerOptions) {
    this.wrapped = wrapped;
    this.patience = checkInteger('patience', options?.patience, 0);
    this.minDelta = checkNumber('minDelta', options.minDelta ?? 0, 0);
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    const sign = directionSign(requireSingleObjective(view, 'PatientPruner'));
    const steps = sortedSteps(trial);
    if (steps.length <= this.patience + 1) return false;
    const split = steps.length - this.patience - 1;
    // Best values in "lower is better" terms, NaN ignored (a window of only NaN never counts as better).
    const bestOf = (from: number, to: number): number => {
      let best = Number.NaN;
      for (let i = from; i < to; i++) {
        const v = sign * scalarValue(trial.intermediateValues[steps[i]]);
        if (!Number.isNaN(v) && !(v >= best)) best = v;
      }
      return best;
    };
    const before = bestOf(0, split);
    const recent = bestOf(split, steps.length);
    const stalled = before + this.minDelta < recent;
    if (!stalled) return false;
    return this.wrapped === null ? true : this.wrapped.prune(view, trial);
  }

  /** Keeps the wrapped pruner's restriction (Hyperband's brackets) for the sampler. */
  restrictSamplerView(view: StudyView, trial: FrozenTrial): StudyView {
    return this.wrapped?.restrictSamplerView ? this.wrapped.restrictSamplerView(view, trial) : view;
  }
}
