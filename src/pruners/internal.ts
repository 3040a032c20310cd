/** Helpers shared by the pruners: reading curves, option checks, filtered views. Not public API. */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, IntermediateValue, StudyDirection } from '../core/frozen-trial.js';
import type { StudyView } from '../core/study-view.js';

/** Reported steps of a trial, ascending. */
export function sortedSteps(trial: FrozenTrial): number[] {
  return Object.keys(trial.intermediateValues)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The highest reported step, or undefined when nothing was reported. */
export function lastStep(trial: FrozenTrial): number | undefined {
  let last: number | undefined;
  for (const key of Object.keys(trial.intermediateValues)) {
    const step = Number(key);
    if (last === undefined || step > last) last = step;
  }
  return last;
}

/**
 * The number of a single-objective intermediate value. `trial.report([v], step)` is legal in a
 * one-objective study, so a one-element array counts as its element.
 */
export function scalarValue(value: IntermediateValue): number {
  if (typeof value === 'number') return value;
  if (value.length === 1) return value[0];
  throw new InvalidArgumentError(
    `a single-objective pruner got an intermediate value with ${value.length} objectives`,
  );
}

/** The intermediate value as one number per objective. */
export function vectorValue(value: IntermediateValue, nObjectives: number): readonly number[] {
  const values = typeof value === 'number' ? [value] : value;
  if (values.length !== nObjectives)
    throw new InvalidArgumentError(
      `intermediate value has ${values.length} objectives but the study has ${nObjectives}`,
    );
  return values;
}

/** Throws the error every single-objective pruner gives on a multi-objective study. */
export function requireSingleObjective(view: StudyView, pruner: string): StudyDirection {
  if (view.directions.length !== 1)
    throw new InvalidArgumentError(
      `${pruner} supports single-objective studies only (this study has ${view.directions.length} ` +
        'directions); use ParetoSuccessiveHalvingPruner or HyperbandPruner for multi-objective pruning',
    );
  return view.directions[0];
}

/** +1 for minimisation, -1 for maximisation: `sign * value` is "lower is better". */
export function directionSign(direction: StudyDirection): number {
  return direction === 'maximize' ? -1 : 1;
}

/**
 * True when `step` is the first report at or past the latest pruning point (warm-up, then every
 * `intervalSteps`), judged from the previous reported step, so a pruner decides once per interval
 * even when steps are reported sparsely.
 */
export function isFirstInIntervalStep(
  step: number,
  steps: Iterable<number>,
  nWarmupSteps: number,
  intervalSteps: number,
): boolean {
  const nearestPruningStep = Math.floor((step - nWarmupSteps) / intervalSteps) * intervalSteps + nWarmupSteps;
  let previous = -1;
  for (const s of steps) if (s !== step && s > previous) previous = s;
  return previous < nearestPruningStep;
}

/** The step before the last one (-1 when there is none). */
export function previousStep(steps: readonly number[]): number {
  return steps.length >= 2 ? steps[steps.length - 2] : -1;
}

/** A view that shows only the trials `keep` accepts; everything else is the original view's. */
export function filterView(view: StudyView, keep: (trial: FrozenTrial) => boolean): StudyView {
  return {
    studyName: view.studyName,
    directions: view.directions,
    systemAttrs: view.systemAttrs,
    getTrials(options) {
      return view.getTrials(options).filter(keep);
    },
  };
}

/** The completed trial with the lowest number that reported any step, if any. */
export function firstCompletedWithSteps(
  view: StudyView,
): { trial: FrozenTrial; lastStep: number } | undefined {
  for (const trial of view.getTrials({ states: ['COMPLETE'] })) {
    const last = lastStep(trial);
    if (last !== undefined) return { trial, lastStep: last };
  }
  return undefined;
}

export function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  return value;
}

export function checkNumber(
  name: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max)
    throw new InvalidArgumentError(
      `${name} must be a number in [${min}, ${max === Number.POSITIVE_INFINITY ? 'inf' : max}], got ${String(value)}`,
    );
  return value;
}
