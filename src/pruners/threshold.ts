/** Prunes a trial whose latest value leaves a fixed band: divergence guards, sanity bounds. */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { StudyView } from '../core/study-view.js';
import {
  checkInteger,
  isFirstInIntervalStep,
  lastStep,
  requireSingleObjective,
  scalarValue,
} from './internal.js';

export interface ThresholdPrunerOptions {
  /** Prune when the latest value is below this. */
  lower?: number;
  /** Prune when the latest value is above this. */
  upper?: number;
  /** No pruning before this step (default 0). */
  nWarmupSteps?: number;
  /** Decide once every this many steps after the warm-up (default 1). */
  intervalSteps?: number;
}

/**
 * Prunes when the latest intermediate value is NaN, below `lower` or above `upper`, checked at
 * the first report of each pruning interval after the warm-up. Independent of other trials and of
 * the study direction. Single-objective studies only.
 */
export class ThresholdPruner implements Pruner {
  readonly lower: number;
  readonly upper: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;

  constructor(options: ThresholdPrunerOptions) {
    const { lower, upper } = options ?? {};
    if (lower === undefined && upper === undefined)
      throw new InvalidArgumentError('ThresholdPruner needs `lower` or `upper` (or both)');
    for (const [name, value] of [
      ['lower', lower],
      ['upper', upper],
    ] as const)
      if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value)))
        throw new InvalidArgumentError(`${name} must be a number, got ${String(value)}`);
    this.lower = lower ?? Number.NEGATIVE_INFINITY;
    this.upper = upper ?? Number.POSITIVE_INFINITY;
    if (this.lower > this.upper)
      throw new InvalidArgumentError(`lower (${this.lower}) must not exceed upper (${this.upper})`);
    this.nWarmupSteps = checkInteger('nWarmupSteps', options.nWarmupSteps ?? 0, 0);
    this.intervalSteps = checkInteger('intervalSteps', options.intervalSteps ?? 1, 1);
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    requireSingleObjective(view, 'ThresholdPruner');
    const step = lastStep(trial);
    if (step === undefined || step < this.nWarmupSteps) return false;
    const steps = Object.keys(trial.intermediateValues).map(Number);
    if (!isFirstInIntervalStep(step, steps, this.nWarmupSteps, this.intervalSteps)) return false;
    const value = scalarValue(trial.intermediateValues[step]);
    return Number.isNaN(value) || value < this.lower || value > this.upper;
  }
}
