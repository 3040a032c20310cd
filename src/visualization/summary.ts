/** What a study list or a report header shows: trials by state, best values, last activity. */
import type { FrozenTrial, StudyDirection, TrialState } from '../core/frozen-trial.js';
import { paretoFrontIndices } from '../core/multi-objective.js';
import { completedTrials, isFeasibleTrial } from './common.js';

export interface StudySummaryData {
  nTrials: number;
  counts: Record<TrialState, number>;
  /** Single objective: the best feasible trial. */
  best: { number: number; value: number } | null;
  /** Several objectives: the trials on the Pareto front of all objectives (feasible only), by number. */
  paretoFront: number[];
  /** Latest start or completion time (ms since the epoch), or null. */
  lastUpdate: number | null;
}

export function getStudySummaryData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
): StudySummaryData {
  const counts: Record<TrialState, number> = { COMPLETE: 0, PRUNED: 0, FAIL: 0, RUNNING: 0, WAITING: 0 };
  let lastUpdate: number | null = null;
  for (const t of trials) {
    counts[t.state] += 1;
    for (const d of [t.datetimeStart, t.datetimeComplete])
      if (d && (lastUpdate === null || d.getTime() > lastUpdate)) lastUpdate = d.getTime();
  }
  const done = completedTrials(trials).filter(isFeasibleTrial);
  let best: StudySummaryData['best'] = null;
  let paretoFront: number[] = [];
  if (directions.length === 1) {
    const sign = directions[0] === 'maximize' ? -1 : 1;
    for (const t of done) {
      const v = t.values?.[0] as number;
      if (best === null || sign * v < sign * best.value) best = { number: t.number, value: v };
    }
  } else {
    const points = done.map((t) =>
      directions.map((d, i) => (d === 'maximize' ? -1 : 1) * (t.values?.[i] as number)),
    );
    paretoFront = paretoFrontIndices(points)
      .map((i) => done[i].number)
      .sort((a, b) => a - b);
  }
  return { nTrials: trials.length, counts, best, paretoFront, lastUpdate };
}
