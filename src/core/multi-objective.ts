/** Dominance, Pareto fronts and hypervolume, shared by samplers, pruners, the study and plots. */
import type { StudyDirection } from './frozen-trial.js';

/** Converts values to "lower is better" for every objective. */
export function toMinimization(values: readonly number[], directions: readonly StudyDirection[]): number[] {
  return values.map((v, i) => (directions[i] === 'maximize' ? -v : v));
}

/** True when a is no worse than b in every objective and better in one (all minimised). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let strictly = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strictly = true;
  }
  return strictly;
}

/**
 * Non-dominated sorting (minimisation). Returns the rank (0 = Pareto front) of each point.
 * O(M N^2); fine for the thousands of trials a study holds. Duplicate points share a rank.
 */
export function nonDominatedRanks(points: readonly (readonly number[])[]): number[] {
  const n = points.length;
  const ranks = new Array<number>(n).fill(-1);
  const dominatedBy = new Array<number>(n).fill(0);
  const dominating: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i], points[j])) {
        dominating[i].push(j);
        dominatedBy[j]++;
      } else if (dominates(points[j], points[i])) {
        dominating[j].push(i);
        dominatedBy[i]++;
      }
    }
  }
  let front: number[] = [];
  for (let i = 0; i < n; i++) if (dominatedBy[i] === 0) front.push(i);
  let rank = 0;
  while (front.length > 0) {
    const next: number[] = [];
    for (const i of front) {
      ranks[i] = rank;
      for (const j of dominating[i]) if (--dominatedBy[j] === 0) next.push(j);
    }
    front = next;
    rank++;
  }
  return ranks;
}

/**
 * Indices of the non-dominated points (minimisation), in input order. Only the first front is
 * computed: after a lexicographic sort a point can be dominated only by points before it, so one
 * pass against the growing front suffices (O(N log N) for two objectives, O(N F M) in general).
 */
export function paretoFrontIndices(points: readonly (readonly number[])[]): number[] {
  const n = points.length;
  if (n === 0) return [];
  const m = points[0].length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const p = points[a];
    const q = points[b];
    for (let k = 0; k < m; k++) if (p[k] !== q[k]) return p[k] - q[k];
    return a - b;
  });
  const front: number[] = [];
  if (m === 2) {
    // Sweep: keep a point when its second value beats every earlier one, or ties the best
    // with the same first value (a duplicate or equal point is not dominated).
    let bestY = Number.POSITIVE_INFINITY;
    let bestX = Number.NaN;
    for (const i of order) {
      const [x, y] = points[i];
      if (y < bestY || (y === bestY && x === bestX)) {
        front.push(i);
        bestY = y;
        bestX = x;
      }
    }
  } else {
    for (const i of order) {
      let dominated = false;
      for (const j of front)
        if (dominates(points[j], points[i])) {
          dominated = true;
          break;
        }
      if (!dominated) front.push(i);
    }
  }
  return front.sort((a, b) => a - b);
}

/**
 * Hypervolume dominated by `points` up to `reference` (minimisation). Exact: a sweep for 2-D,
 * inclusion by slicing (HSO) for more objectives, which is fine for the small fronts of a study.
 */
export function hypervolume(points: readonly (readonly number[])[], reference: readonly number[]): number {
  const inside = points.filter((p) => p.every((v, i) => v < reference[i]));
  if (inside.length === 0) return 0;
  const m = reference.length;
  if (m === 1) return reference[0] - Math.min(...inside.map((p) => p[0]));
  if (m === 2) {
    const sorted = [...inside].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let volume = 0;
    let bestY = reference[1];
    for (const p of sorted) {
      if (p[1] < bestY) {
        volume += (reference[0] - p[0]) * (bestY - p[1]);
        bestY = p[1];
      }
    }
    return volume;
  }
  // Slice along the last objective.
  const sorted = [...inside].sort((a, b) => a[m - 1] - b[m - 1]);
  let volume = 0;
  for (let i = 0; i < sorted.length; i++) {
    const upper = i + 1 < sorted.length ? sorted[i + 1][m - 1] : reference[m - 1];
    const depth = upper - sorted[i][m - 1];
    if (depth <= 0) continue;
    const slice = sorted.slice(0, i + 1).map((p) => p.slice(0, m - 1));
    const front = paretoFrontIndices(slice).map((k) => slice[k]);
    volume += depth * hypervolume(front, reference.slice(0, m - 1));
  }
  return volume;
}
