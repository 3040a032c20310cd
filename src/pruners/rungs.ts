/**
 * The rung bookkeeping of asynchronous successive halving, shared by the single- and
 * multi-objective SH pruners and Hyperband. Not public API.
 *
 * Rung values are derived from intermediate values instead of being written as trial attributes
 * (the pruner's view is read-only, and this way SQLite/PostgreSQL studies and resumed studies need
 * nothing extra): rung r sits at step R = minResource * eta^(minEarlyStoppingRate + r); a trial has
 * reached it when it reported some step >= R, and its value there is the one reported at the first
 * such step. A trial is judged at a rung when its latest report is the first at or past R, which
 * is when a trial that calls `shouldPrune()` after every `report()` asks; so a promotion is final
 * and a trial is never judged twice at one rung.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, IntermediateValue } from '../core/frozen-trial.js';
import type { StudyView } from '../core/study-view.js';
import { checkInteger, firstCompletedWithSteps, previousStep, sortedSteps } from './internal.js';

export interface RungSettings {
  minResource: number | 'auto';
  reductionFactor: number;
  minEarlyStoppingRate: number;
  bootstrapCount: number;
}

/** A trial's value at a rung, for the promotion rule. */
export interface RungEntry {
  readonly number: number;
  readonly value: IntermediateValue;
}

/**
 * Decides promotion at one rung: `current` against every other trial that reached it (`others`,
 * current excluded). True keeps the trial running.
 */
export type PromotionRule = (
  current: RungEntry,
  others: readonly RungEntry[],
  reductionFactor: number,
) => boolean;

export function checkRungSettings(
  options: Partial<RungSettings>,
  defaults: { minResource: number | 'auto'; reductionFactor: number },
): RungSettings {
  const minResource = options.minResource ?? defaults.minResource;
  if (minResource !== 'auto') checkInteger('minResource', minResource, 1);
  const settings: RungSettings = {
    minResource,
    reductionFactor: checkInteger('reductionFactor', options.reductionFactor ?? defaults.reductionFactor, 2),
    minEarlyStoppingRate: checkInteger('minEarlyStoppingRate', options.minEarlyStoppingRate ?? 0, 0),
    bootstrapCount: checkInteger('bootstrapCount', options.bootstrapCount ?? 0, 0),
  };
  if (settings.bootstrapCount > 0 && minResource === 'auto')
    throw new InvalidArgumentError("bootstrapCount > 0 needs a numeric minResource, not 'auto'");
  return settings;
}

/**
 * 'auto' minimum resource, as Optuna estimates it: a hundredth of the steps of a completed trial
 * (at least 1). The completed trial with the lowest number is used, so the estimate never changes
 * once made and does not depend on which trial asks first.
 */
export function resolveMinResource(view: StudyView, minResource: number | 'auto'): number | undefined {
  if (minResource !== 'auto') return minResource;
  const first = firstCompletedWithSteps(view);
  return first === undefined ? undefined : Math.max(Math.floor(first.lastStep / 100), 1);
}

/** The value a trial reported at the first step >= `rungStep`, or undefined if it never got there. */
export function valueAtRung(trial: FrozenTrial, rungStep: number): IntermediateValue | undefined {
  let found: number | undefined;
  for (const key of Object.keys(trial.intermediateValues)) {
    const step = Number(key);
    if (step >= rungStep && (found === undefined || step < found)) found = step;
  }
  return found === undefined ? undefined : trial.intermediateValues[found];
}

/**
 * Runs the asynchronous SH decision for `trial`: every rung its latest report crossed is judged in
 * order, and the trial is pruned at the first one that does not promote it.
 */
export function pruneAtRungs(
  view: StudyView,
  trial: FrozenTrial,
  settings: RungSettings,
  promote: PromotionRule,
): boolean {
  const steps = sortedSteps(trial);
  if (steps.length === 0) return false;
  const step = steps[steps.length - 1];
  const previous = previousStep(steps);
  const minResource = resolveMinResource(view, settings.minResource);
  if (minResource === undefined) return false;
  const eta = settings.reductionFactor;
  let rungStep = minResource * eta ** settings.minEarlyStoppingRate;
  let others: FrozenTrial[] | null = null;
  for (; rungStep <= step; rungStep *= eta) {
    if (rungStep <= previous) continue;
    others ??= view.getTrials().filter((t) => t.number !== trial.number && t.state !== 'WAITING');
    const competitors: RungEntry[] = [];
    for (const t of others) {
      const value = valueAtRung(t, rungStep);
      if (value !== undefined) competitors.push({ number: t.number, value });
    }
    // Competitors include the trial itself, so `<=`: the first bootstrapCount arrivals only set the bar.
    if (competitors.length + 1 <= settings.bootstrapCount) return true;
    const current: RungEntry = { number: trial.number, value: valueAtRung(trial, rungStep)! };
    if (!promote(current, competitors, eta)) return true;
  }
  return false;
}
