/**
 * What the study owns and shows to samplers and pruners: the read-only `StudyView` a decision is
 * made on, and the system attributes the study writes on trials. Samplers, pruners, storages and
 * the CLI read these from here, so none of them depends on another's folder for the study's facts.
 */
import type { AttrValue, FrozenTrial, StudyDirection, TrialState } from './frozen-trial.js';

export interface StudyView {
  readonly studyName: string;
  readonly directions: readonly StudyDirection[];
  /**
   * Trials visible to this decision, in number order. With reproducible concurrency, trials that
   * finished "too early" appear as RUNNING so every run sees the same history.
   */
  getTrials(options?: { states?: readonly TrialState[] }): readonly FrozenTrial[];
  /** Study-level system attributes as of this snapshot. */
  readonly systemAttrs: Readonly<Record<string, AttrValue>>;
}

/** The key under which the study stores constraint values of a trial (`constraints` option). */
export const CONSTRAINTS_KEY = 'constraints';
/** The key under which an enqueued trial keeps its fixed parameters. */
export const FIXED_PARAMS_KEY = 'fixedParams';
/** Why a trial failed, in words. */
export const FAIL_REASON_KEY = 'failReason';
/** Why a trial failed: the objective raised or returned garbage ('error'), its worker vanished ('stale'). */
export const FAIL_KIND_KEY = 'failKind';
/** The number of the lost trial whose parameters a retry repeats. */
export const RETRIED_FROM_KEY = 'retriedFrom';
/** How many retries lie behind a trial along its lineage. */
export const RETRY_COUNT_KEY = 'retryCount';

/** Constraint values of a trial, or undefined when the study has no constraints function. */
export function trialConstraints(trial: FrozenTrial): readonly number[] | undefined {
  const c = trial.systemAttrs[CONSTRAINTS_KEY];
  return Array.isArray(c) ? (c as number[]) : undefined;
}

/** A trial is feasible when every constraint value is <= 0 (and it has any). */
export function isFeasible(trial: FrozenTrial): boolean {
  const c = trialConstraints(trial);
  return c === undefined || c.every((v) => v <= 0);
}
