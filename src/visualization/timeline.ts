/**
 * Timeline: one bar per trial from start to completion, one lane per worker, so parallelism and
 * failures show. A trial names its worker in a `worker` attribute when the runner records one;
 * otherwise lanes are packed greedily (each trial takes the first lane free at its start), which is
 * how many workers were busy at once.
 */
import type { FrozenTrial, TrialState } from '../core/frozen-trial.js';

export interface TimelineBar {
  number: number;
  state: TrialState;
  /** Milliseconds since the epoch. */
  start: number;
  /** Completion time, or `now` for a trial still running. */
  end: number;
  lane: number;
  worker: string;
}

export interface TimelineData {
  bars: TimelineBar[];
  lanes: string[];
  /** Most trials running at the same instant. */
  maxParallel: number;
}

const WORKER_ATTRS = ['worker', 'workerId', 'hostname'];

function workerOf(t: FrozenTrial): string | null {
  for (const key of WORKER_ATTRS) {
    const v = t.systemAttrs[key] ?? t.userAttrs[key];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return null;
}

export function getTimelineData(
  trials: readonly FrozenTrial[],
  options: { now?: number } = {},
): TimelineData {
  const now = options.now ?? Date.now();
  const started = trials
    .filter((t) => t.datetimeStart !== null)
    .sort(
      (a, b) =>
        (a.datetimeStart as Date).getTime() - (b.datetimeStart as Date).getTime() || a.number - b.number,
    );
  const named = started.some((t) => workerOf(t) !== null);
  const lanes: string[] = [];
  const laneEnds: number[] = [];
  const bars: TimelineBar[] = [];
  for (const t of started) {
    const start = (t.datetimeStart as Date).getTime();
    const end = t.datetimeComplete ? t.datetimeComplete.getTime() : t.state === 'RUNNING' ? now : start;
    let lane: number;
    if (named) {
      const worker = workerOf(t) ?? 'unknown';
      lane = lanes.indexOf(worker);
      if (lane < 0) lane = lanes.push(worker) - 1;
    } else {
      lane = laneEnds.findIndex((e) => e <= start);
      if (lane < 0) {
        lane = laneEnds.length;
        lanes.push(`lane ${lane}`);
        laneEnds.push(end);
      } else laneEnds[lane] = end;
    }
    bars.push({ number: t.number, state: t.state, start, end, lane, worker: lanes[lane] });
  }
  // Sweep over start/end events for the peak number of trials running at once.
  const events = bars.flatMap((b) => [
    [b.start, 1],
    [b.end, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let maxParallel = 0;
  for (const [, d] of events) {
    running += d;
    if (running > maxParallel) maxParallel = running;
  }
  return { bars: bars.sort((a, b) => a.number - b.number), lanes, maxParallel };
}
