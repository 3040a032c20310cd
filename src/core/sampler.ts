/**
 * The sampler contract, after Optuna's: infer a relative search space, sample it jointly at ask
 * time, and sample any other parameter independently when the objective asks for it. Hooks are
 * optional. Samplers are synchronous: the study hands them a `StudyView`, a snapshot of the trials
 * this decision may use, so the same code runs over memory, SQLite or PostgreSQL storage.
 *
 * Reproducibility: a sampler must draw its random numbers from a stream derived from its seed and
 * the trial number (see `TrialRandom`), never from one shared stream, so that concurrent trials that
 * interleave their suggest calls still get the same values for a fixed seed.
 */
import type { Distribution, ParamValue } from './distributions.js';
import type { AttrValue, FrozenTrial, TrialState } from './frozen-trial.js';
import type { StudyView } from './study-view.js';

export type SearchSpace = Record<string, Distribution>;

/** What a sampler may do once per study before the first trial (e.g. enqueue a grid). */
export interface SamplerStudyContext {
  readonly view: StudyView;
  /** Enqueues fixed parameters as a WAITING trial. */
  enqueueTrial(params: Record<string, ParamValue>, systemAttrs?: Record<string, AttrValue>): Promise<void>;
  /** Atomically sets a study system attribute if absent; true when this call set it. */
  trySetStudySystemAttr(key: string, value: AttrValue): Promise<boolean>;
}

export interface Sampler {
  /** Optional one-time set-up per study object, awaited before the first ask. */
  initialize?(context: SamplerStudyContext): Promise<void>;
  /** Parameters to sample jointly for `trial`, at ask time. */
  inferRelativeSearchSpace(study: StudyView, trial: FrozenTrial): SearchSpace;
  /** Values for (a subset of) the relative search space; missing names fall back to independent sampling. */
  sampleRelative(study: StudyView, trial: FrozenTrial, searchSpace: SearchSpace): Record<string, ParamValue>;
  /** A value for one parameter outside the relative search space. */
  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue;
  /** Called after the trial is created and before relative sampling. */
  beforeTrial?(study: StudyView, trial: FrozenTrial): void;
  /** Optional: true when the sampler has nothing left to propose (an exhausted grid); optimize stops. */
  shouldStop?(study: StudyView): boolean;
  /** Called after the trial is finished, before its state is written. */
  afterTrial?(
    study: StudyView,
    trial: FrozenTrial,
    state: TrialState,
    values: readonly number[] | null,
  ): void;
}
