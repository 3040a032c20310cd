/** A pruner is one method: given the study's trials and a running trial, should it stop now? */
import type { FrozenTrial } from './frozen-trial.js';
import type { StudyView } from './study-view.js';

export interface Pruner {
  prune(study: StudyView, trial: FrozenTrial): boolean;
  /**
   * Optional: narrows what the sampler sees for `trial` (Hyperband shows each bracket only its own
   * trials, so TPE + Hyperband behaves as BOHB). The study applies it to every sampler call.
   */
  restrictSamplerView?(study: StudyView, trial: FrozenTrial): StudyView;
}
