/** Optimisation history: each finished trial's objective value against its number, with the best so far. */
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { checkObjectiveIndex, isFeasibleTrial } from './common.js';

export interface HistoryPoint {
  number: number;
  value: number;
  feasible: boolean;
}

export interface HistoryData {
  objective: number;
  direction: StudyDirection;
  /** COMPLETE trials with a finite value, by number. */
  points: HistoryPoint[];
  /** The best feasible value after each point that improved or held it (one entry per point from the first feasible one). */
  bestSoFar: { number: number; value: number }[];
  /** The trial holding the best value, or null when none is feasible. */
  best: { number: number; value: number } | null;
}

export function getHistoryData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: { objective?: number } = {},
): HistoryData {
  const objective = options.objective ?? 0;
  checkObjectiveIndex(objective, directions);
  const direction = directions[objective];
  const sorted = [...trials].sort((a, b) => a.number - b.number);
  const points: HistoryPoint[] = [];
  const bestSoFar: { number: number; value: number }[] = [];
  let best: { number: number; value: number } | null = null;
  for (const t of sorted) {
    if (t.state !== 'COMPLETE' || t.values === null) continue;
    const value = t.values[objective];
    if (!Number.isFinite(value)) continue;
    const feasible = isFeasibleTrial(t);
    points.push({ number: t.number, value, feasible });
    if (feasible && (best === null || (direction === 'minimize' ? value < best.value : value > best.value)))
      best = { number: t.number, value };
    if (best !== null) bestSoFar.push({ number: t.number, value: best.value });
  }
  return { objective, direction, points, bestSoFar, best };
}
