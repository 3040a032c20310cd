/** Asynchronous successive halving (ASHA, Li et al. 2020) for single-objective studies. */
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { StudyView } from '../core/study-view.js';
import { directionSign, requireSingleObjective, scalarValue } from './internal.js';
import { checkRungSettings, type PromotionRule, pruneAtRungs, type RungSettings } from './rungs.js';

export interface SuccessiveHalvingPrunerOptions {
  /**
   * Steps before the first rung. 'auto' (default) waits for a completed trial and uses a hundredth
   * of its steps (at least 1).
   */
  minResource?: number | 'auto';
  /** eta: rungs are eta times apart and the top 1/eta of a rung goes on (default 4). */
  reductionFactor?: number;
  /** s: the first rung is at minResource * eta^s (default 0). */
  minEarlyStoppingRate?: number;
  /** The first trials to reach a rung, up to this count, are pruned there and only set the bar (default 0). */
  bootstrapCount?: number;
}

/**
 * Rung r is at step minResource * eta^(s + r). When a trial's report first reaches a rung, it is
 * compared with every trial that reached the rung before it (running, complete, pruned or failed):
 * with n such values counting its own, it goes on iff fewer than max(1, floor(n / eta)) of them are
 * strictly better, i.e. it is in the top 1/eta so far (the best so far while n < eta). A NaN value
 * at a rung is pruned; NaN competitors count as the worst. See `rungs.ts` for how rung values are
 * read from the intermediate values. Call `shouldPrune()` after every `report()`: a rung is judged
 * when the report that crosses it arrives.
 */
export class SuccessiveHalvingPruner implements Pruner {
  readonly settings: Readonly<RungSettings>;

  constructor(options: SuccessiveHalvingPrunerOptions = {}) {
    this.settings = Object.freeze(checkRungSettings(options, { minResource: 'auto', reductionFactor: 4 }));
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    const sign = directionSign(requireSingleObjective(view, 'SuccessiveHalvingPruner'));
    return pruneAtRungs(view, trial, this.settings, topFractionRule(sign));
  }
}

/** Optuna's promotion rule for one objective; `sign` turns values into "lower is better". */
export function topFractionRule(sign: number): PromotionRule {
  const score = (v: number) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : sign * v);
  return (current, others, eta) => {
    const value = scalarValue(current.value);
    if (Number.isNaN(value)) return false;
    const mine = score(value);
    const n = others.length + 1;
    const slots = Math.max(1, Math.floor(n / eta));
    let better = 0;
    for (const o of others) if (score(scalarValue(o.value)) < mine) better++;
    return better < slots;
  };
}
