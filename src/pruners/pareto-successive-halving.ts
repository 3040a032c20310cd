/**
 * Asynchronous successive halving for multi-objective studies: the rungs of ASHA, with "top 1/eta"
 * measured by Pareto rank and hypervolume instead of a single value.
 */
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { hypervolume, nonDominatedRanks, toMinimization } from '../core/multi-objective.js';
import type { Pruner } from '../core/pruner.js';
import type { StudyView } from '../core/study-view.js';
import { vectorValue } from './internal.js';
import {
  checkRungSettings,
  type PromotionRule,
  pruneAtRungs,
  type RungEntry,
  type RungSettings,
} from './rungs.js';
import type { SuccessiveHalvingPrunerOptions } from './successive-halving.js';

export type ParetoSuccessiveHalvingPrunerOptions = SuccessiveHalvingPrunerOptions;

/**
 * Rungs, arrival order and the meaning of a rung value are those of `SuccessiveHalvingPruner`;
 * report one value per objective (`trial.report([v1, v2], step)`). When a trial first reaches a
 * rung it competes with the n - 1 trials that reached the rung before it and keeps running iff it
 * is among the best k = ceil(n / eta) of those n, where "best" is decided as follows:
 *
 * 1. Values are turned into minimisation (`toMinimization`); a NaN objective counts as +Infinity
 *    for a competitor, and a trial whose own rung value holds a NaN is pruned.
 * 2. All n points are sorted into non-dominated fronts (`nonDominatedRanks`). Fronts are taken
 *    whole, best first, while they fit in k. If the trial's front fits entirely, it is kept; if the
 *    fronts better than its own already fill k, it is pruned.
 * 3. Otherwise its front is the boundary front F and m = k - (trials in better fronts) places are
 *    left. F is reduced greedily by hypervolume: the point of F whose removal loses the least
 *    hypervolume of F (its exclusive contribution) is dropped, contributions are recomputed, and
 *    so on until m points remain. The trial is kept iff it remains. The reference point is, per
 *    objective, the worst finite value among all n points plus 10% of their range (plus 1 when the
 *    range is 0), so the extremes of F have room to contribute and the rule does not depend on the
 *    units of the objectives. Ties in contribution (within 1e-12 of F's hypervolume) drop another
 *    trial before the one being judged, then the trial with the higher number first, so equal
 *    values favour the arriving trial as the single-objective rule does.
 *
 * k = ceil(n / eta) is at most one more than ASHA's floor: fronts are wide, and this keeps a small
 * rung from pruning a trial that is merely different from the best one rather than worse. With one
 * objective the rule is ASHA's with k = ceil(n / eta).
 */
export class ParetoSuccessiveHalvingPruner implements Pruner {
  readonly settings: Readonly<RungSettings>;

  constructor(options: ParetoSuccessiveHalvingPrunerOptions = {}) {
    this.settings = Object.freeze(checkRungSettings(options, { minResource: 'auto', reductionFactor: 4 }));
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    return pruneAtRungs(view, trial, this.settings, paretoRule(view.directions));
  }
}

/** The multi-objective promotion rule described on `ParetoSuccessiveHalvingPruner`. */
export function paretoRule(directions: readonly StudyDirection[]): PromotionRule {
  const toPoint = (entry: RungEntry): number[] =>
    toMinimization(vectorValue(entry.value, directions.length), directions).map((v) =>
      Number.isNaN(v) ? Number.POSITIVE_INFINITY : v,
    );
  return (current, others, eta) => {
    const own = vectorValue(current.value, directions.length);
    if (own.some((v) => Number.isNaN(v))) return false;
    const entries = [current, ...others];
    const points = entries.map(toPoint);
    const n = points.length;
    const slots = Math.ceil(n / eta);
    const ranks = nonDominatedRanks(points);
    const myRank = ranks[0];
    let better = 0;
    const front: number[] = [];
    for (let i = 0; i < n; i++) {
      if (ranks[i] < myRank) better++;
      else if (ranks[i] === myRank) front.push(i);
    }
    if (better + front.length <= slots) return true;
    if (better >= slots) return false;
    return survivesHypervolumeReduction(points, front, slots - better, entries);
  };
}

/**
 * Greedy hypervolume subset selection on the boundary front: true when point 0 (the judged trial)
 * is among the `keep` points left. `front` holds indices into `points`.
 */
function survivesHypervolumeReduction(
  points: readonly (readonly number[])[],
  front: readonly number[],
  keep: number,
  entries: readonly RungEntry[],
): boolean {
  const reference = referencePoint(points);
  const alive = [...front];
  while (alive.length > keep) {
    const total = hypervolume(
      alive.map((i) => points[i]),
      reference,
    );
    const tolerance = 1e-12 * Math.max(total, Number.MIN_VALUE);
    let drop = -1;
    let dropContribution = Number.POSITIVE_INFINITY;
    for (let a = 0; a < alive.length; a++) {
      const rest = alive.filter((_, b) => b !== a).map((i) => points[i]);
      // An infinite objective value makes every volume infinite: fall back to the tie order.
      const contribution = Number.isFinite(total) ? total - hypervolume(rest, reference) : 0;
      if (drop === -1 || contribution < dropContribution - tolerance) {
        drop = a;
        dropContribution = contribution;
      } else if (
        Math.abs(contribution - dropContribution) <= tolerance &&
        dropsFirst(alive[a], alive[drop], entries)
      ) {
        drop = a;
        dropContribution = Math.min(contribution, dropContribution);
      }
    }
    if (alive[drop] === 0) return false;
    alive.splice(drop, 1);
  }
  return true;
}

/** Tie order for dropping: any other trial before the judged one (index 0), then higher numbers first. */
function dropsFirst(i: number, j: number, entries: readonly RungEntry[]): boolean {
  if (i === 0) return false;
  if (j === 0) return true;
  return entries[i].number > entries[j].number;
}

function referencePoint(points: readonly (readonly number[])[]): number[] {
  const m = points[0].length;
  const reference: number[] = [];
  for (let d = 0; d < m; d++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const p of points) {
      if (!Number.isFinite(p[d])) continue;
      lo = Math.min(lo, p[d]);
      hi = Math.max(hi, p[d]);
    }
    if (hi < lo)
      reference.push(1); // no finite value at all: volumes are infinite or zero anyway
    else reference.push(hi > lo ? hi + 0.1 * (hi - lo) : hi + 1);
  }
  return reference;
}
