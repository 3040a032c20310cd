/** Timing helpers shared by benches. */

/**
 * Mean milliseconds per step over the last `window` steps, from the time stamps (ms) taken after
 * each step: the same definition as the Python anchors' `ms_per_trial_last50`, so the two compare.
 */
export function msPerStepLast(stamps: readonly number[], window = 50): number {
  if (stamps.length < 2) return Number.NaN;
  const last = stamps.length > window ? stamps.slice(-(window + 1)) : stamps;
  return (last[last.length - 1] - last[0]) / Math.max(1, last.length - 1);
}

/** Seconds since `start` (a `performance.now()` value). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** "1 h 02 min", "3 min 20 s" or "12.3 s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
