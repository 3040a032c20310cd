/**
 * Trial records as storages return them: plain, frozen, JSON-friendly objects. A finished trial
 * (COMPLETE, PRUNED, FAIL) never changes again, which is what lets storages and samplers cache them.
 */

import type { Distribution, ParamValue } from './distributions.js';
import { InvalidArgumentError } from './errors.js';

export const TrialState = {
  Running: 'RUNNING',
  Complete: 'COMPLETE',
  Pruned: 'PRUNED',
  Fail: 'FAIL',
  Waiting: 'WAITING',
} as const;
export type TrialState = (typeof TrialState)[keyof typeof TrialState];

export const FINISHED_STATES: readonly TrialState[] = ['COMPLETE', 'PRUNED', 'FAIL'];

export function isFinished(state: TrialState): boolean {
  return state === 'COMPLETE' || state === 'PRUNED' || state === 'FAIL';
}

export type StudyDirection = 'minimize' | 'maximize';

/** An intermediate value: one number, or one per objective for multi-objective pruning. */
export type IntermediateValue = number | readonly number[];

export type AttrValue = unknown;

export interface FrozenTrial {
  /** Storage-wide identifier. */
  readonly trialId: number;
  /** 0-based position within its study, dense and unique. */
  readonly number: number;
  readonly state: TrialState;
  /** Objective values, one per direction; null until COMPLETE (PRUNED keeps the last intermediate). */
  readonly values: readonly number[] | null;
  /** External parameter values (what the objective saw). */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly distributions: Readonly<Record<string, Distribution>>;
  readonly userAttrs: Readonly<Record<string, AttrValue>>;
  readonly systemAttrs: Readonly<Record<string, AttrValue>>;
  /** step -> value as reported with `trial.report`. */
  readonly intermediateValues: Readonly<Record<number, IntermediateValue>>;
  readonly datetimeStart: Date | null;
  readonly datetimeComplete: Date | null;
}

export interface TrialTemplate {
  state?: TrialState;
  values?: readonly number[] | null;
  params?: Record<string, ParamValue>;
  distributions?: Record<string, Distribution>;
  userAttrs?: Record<string, AttrValue>;
  systemAttrs?: Record<string, AttrValue>;
  intermediateValues?: Record<number, IntermediateValue>;
  datetimeStart?: Date | null;
  datetimeComplete?: Date | null;
}

export function freezeTrial(trial: FrozenTrial): FrozenTrial {
  Object.freeze(trial.params);
  Object.freeze(trial.distributions);
  Object.freeze(trial.userAttrs);
  Object.freeze(trial.systemAttrs);
  Object.freeze(trial.intermediateValues);
  if (trial.values) Object.freeze(trial.values);
  return Object.freeze(trial);
}

/** The single objective value of a trial; throws for multi-objective trials. */
export function trialValue(trial: FrozenTrial): number | null {
  if (trial.values === null) return null;
  if (trial.values.length !== 1)
    throw new InvalidArgumentError(
      'trial has several objective values; use `values` for multi-objective studies',
    );
  return trial.values[0];
}

/** Last reported intermediate value (highest step), or undefined. */
export function lastIntermediate(trial: FrozenTrial): { step: number; value: IntermediateValue } | undefined {
  let best: number | undefined;
  for (const key of Object.keys(trial.intermediateValues)) {
    const step = Number(key);
    if (best === undefined || step > best) best = step;
  }
  return best === undefined ? undefined : { step: best, value: trial.intermediateValues[best] };
}

/** Internal (sampler-space) value of each parameter. */
export function internalParams(trial: FrozenTrial): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(trial.params))
    out[name] = trial.distributions[name].toInternal(value);
  return out;
}
