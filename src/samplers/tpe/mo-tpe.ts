/**
 * Multi-objective TPE (MOTPE, Ozaki et al. 2020/2022, as in Optuna 3.x): the "good" group is filled
 * front by front in non-dominated order; the front that does not fit whole is cut by greedy
 * hypervolume subset selection. Good observations are then weighted by their hypervolume
 * contribution, so the Parzen estimator favours points that widen the front.
 */
import { hypervolume, nonDominatedRanks } from '../../core/multi-objective.js';

const EPS = 1e-12;

/** The reference point Optuna's MOTPE uses for a set of points: 10% beyond the worst in each objective. */
export function referencePoint(points: readonly (readonly number[])[]): number[] {
  const m = points[0].length;
  const ref = new Array<number>(m).fill(Number.NEGATIVE_INFINITY);
  for (const p of points) for (let i = 0; i < m; i++) if (p[i] > ref[i]) ref[i] = p[i];
  for (let i = 0; i < m; i++) {
    ref[i] = Math.max(1.1 * ref[i], 0.9 * ref[i]);
    if (ref[i] === 0) ref[i] = EPS;
  }
  return ref;
}

/**
 * Indices (into `points`, minimisation) of the `nBelow` best points: whole non-dominated fronts
 * first, then a greedy hypervolume-maximising subset of the first front that does not fit.
 * Returned in increasing index order.
 */
export function selectBelowMultiObjective(points: readonly (readonly number[])[], nBelow: number): number[] {
  const n = points.length;
  if (nBelow >= n) return Array.from({ length: n }, (_, i) => i);
  if (nBelow <= 0) return [];
  const ranks = nonDominatedRanks(points);
  const byRank: number[][] = [];
  for (let i = 0; i < n; i++) (byRank[ranks[i]] ??= []).push(i);
  const below: number[] = [];
  for (const front of byRank) {
    if (below.length + front.length <= nBelow) {
      below.push(...front);
      if (below.length === nBelow) break;
      continue;
    }
    below.push(...greedySubset(front, points, nBelow - below.length));
    break;
  }
  return below.sort((a, b) => a - b);
}

/** Greedy hypervolume subset selection: repeatedly add the point that adds the most volume. */
function greedySubset(
  front: readonly number[],
  points: readonly (readonly number[])[],
  size: number,
): number[] {
  const finite = front.filter((i) => points[i].every(Number.isFinite));
  const rest = front.filter((i) => !points[i].every(Number.isFinite));
  if (finite.length === 0) return front.slice(0, size);
  const ref = referencePoint(finite.map((i) => points[i]));
  const chosen: number[] = [];
  const chosenPoints: (readonly number[])[] = [];
  let volume = 0;
  const remaining = [...finite];
  while (chosen.length < size && remaining.length > 0) {
    let best = 0;
    let bestGain = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < remaining.length; r++) {
      const gain = hypervolume([...chosenPoints, points[remaining[r]]], ref) - volume;
      if (gain > bestGain) {
        bestGain = gain;
        best = r;
      }
    }
    const [index] = remaining.splice(best, 1);
    chosen.push(index);
    chosenPoints.push(points[index]);
    volume = hypervolume(chosenPoints, ref);
  }
  for (const index of rest) if (chosen.length < size) chosen.push(index);
  return chosen;
}

/**
 * Weights of the good observations: each point's exclusive hypervolume contribution, scaled so the
 * largest is 1 (floored at a tiny epsilon so no kernel vanishes). `feasible[i] === false` points
 * get the floor weight.
 */
export function hypervolumeContributionWeights(
  points: readonly (readonly number[])[],
  feasible?: readonly boolean[],
): Float64Array {
  const n = points.length;
  const weights = new Float64Array(n).fill(1);
  const usable: number[] = [];
  for (let i = 0; i < n; i++)
    if ((feasible === undefined || feasible[i]) && points[i].every(Number.isFinite)) usable.push(i);
  if (usable.length <= 1) {
    if (usable.length === 1) for (let i = 0; i < n; i++) weights[i] = i === usable[0] ? 1 : EPS;
    return weights;
  }
  const set = usable.map((i) => points[i]);
  const ref = referencePoint(set);
  const total = hypervolume(set, ref);
  const contributions = usable.map(
    (_, u) => total - hypervolume([...set.slice(0, u), ...set.slice(u + 1)], ref),
  );
  const max = Math.max(...contributions);
  weights.fill(EPS);
  for (let u = 0; u < usable.length; u++)
    weights[usable[u]] = max > 0 ? Math.max(contributions[u] / max, EPS) : 1;
  return weights;
}
