/** Fixes some parameters to given values and lets another sampler choose the rest. */
import type { Distribution, ParamValue } from '../core/distributions.js';
import type { FrozenTrial, TrialState } from '../core/frozen-trial.js';
import type { Sampler, SamplerStudyContext, SearchSpace } from '../core/sampler.js';
import type { StudyView } from '../core/study-view.js';

export class PartialFixedSampler implements Sampler {
  readonly fixedParams: Readonly<Record<string, ParamValue>>;
  readonly baseSampler: Sampler;

  constructor(fixedParams: Record<string, ParamValue>, baseSampler: Sampler) {
    this.fixedParams = Object.freeze({ ...fixedParams });
    this.baseSampler = baseSampler;
  }

  initialize(context: SamplerStudyContext): Promise<void> {
    return this.baseSampler.initialize?.(context) ?? Promise.resolve();
  }

  inferRelativeSearchSpace(study: StudyView, trial: FrozenTrial): SearchSpace {
    const space = { ...this.baseSampler.inferRelativeSearchSpace(study, trial) };
    for (const name of Object.keys(this.fixedParams)) delete space[name];
    return space;
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, searchSpace: SearchSpace): Record<string, ParamValue> {
    const params =
      Object.keys(searchSpace).length > 0 ? this.baseSampler.sampleRelative(study, trial, searchSpace) : {};
    return params;
  }

  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    // Fixed values win over the base sampler; the trial snaps them onto the distribution.
    if (name in this.fixedParams) return this.fixedParams[name];
    return this.baseSampler.sampleIndependent(study, trial, name, distribution);
  }

  beforeTrial(study: StudyView, trial: FrozenTrial): void {
    this.baseSampler.beforeTrial?.(study, trial);
  }

  afterTrial(
    study: StudyView,
    trial: FrozenTrial,
    state: TrialState,
    values: readonly number[] | null,
  ): void {
    this.baseSampler.afterTrial?.(study, trial, state, values);
  }

  shouldStop(study: StudyView): boolean {
    return this.baseSampler.shouldStop?.(study) ?? false;
  }
}
