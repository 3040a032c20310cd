/** Search-space inference shared by samplers that sample jointly (TPE multivariate, GP, CMA-ES, QMC). */
import { distributionsEqual } from '../core/distributions.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { SearchSpace } from '../core/sampler.js';
import type { StudyView } from '../core/study-view.js';

/**
 * Parameters present, with the same distribution, in every COMPLETE (and optionally PRUNED) trial:
 * the space that joint samplers can model. Single-value distributions are dropped.
 */
export function intersectionSearchSpace(
  study: StudyView,
  options: { includePruned?: boolean } = {},
): SearchSpace {
  let space: SearchSpace | null = null;
  for (const trial of study.getTrials()) {
    if (!(trial.state === 'COMPLETE' || (options.includePruned && trial.state === 'PRUNED'))) continue;
    if (space === null) {
      space = { ...trial.distributions };
      continue;
    }
    for (const name of Object.keys(space)) {
      const d = trial.distributions[name];
      if (!d || !distributionsEqual(d, space[name])) delete space[name];
    }
  }
  const out: SearchSpace = {};
  if (space) for (const name of Object.keys(space).sort()) if (!space[name].single()) out[name] = space[name];
  return out;
}

/** Union of all parameters seen in finished or running trials (for samplers that group conditionals). */
export function trialsWithParams(trials: readonly FrozenTrial[], names: readonly string[]): FrozenTrial[] {
  return trials.filter((t) => names.every((n) => n in t.params));
}
