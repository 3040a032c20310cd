/** Runs hand-made learning curves through a real study: report, ask the pruner, tell. */
import type { IntermediateValue } from '../../src/core/frozen-trial.js';
import type { Study } from '../../src/core/study.js';

export interface CurveResult {
  number: number;
  /** Step at which the pruner stopped the trial, or null when it ran to the end. */
  prunedAt: number | null;
}

/**
 * Starts a trial, reports `curve[i]` at `steps[i]` (default i) and asks `shouldPrune` after each
 * report; tells PRUNED when told to, otherwise completes with `final` (default: the last value).
 */
export async function runCurve(
  study: Study,
  curve: readonly IntermediateValue[],
  options: { steps?: readonly number[]; final?: number | readonly number[] } = {},
): Promise<CurveResult> {
  const trial = await study.ask();
  for (let i = 0; i < curve.length; i++) {
    const step = options.steps?.[i] ?? i;
    trial.report(curve[i], step);
    if (trial.shouldPrune()) {
      await study.tell(trial, { state: 'PRUNED' });
      return { number: trial.number, prunedAt: step };
    }
  }
  await study.tell(trial, options.final ?? (curve[curve.length - 1] as number | readonly number[]));
  return { number: trial.number, prunedAt: null };
}

export function constant<T>(value: T, length: number): T[] {
  return Array.from({ length }, () => value);
}

/**
 * A trial that reports its curve without consulting the pruner (a trial from before the pruner was
 * set, or one that never calls shouldPrune): it competes at every rung its curve reaches.
 */
export async function reportOnly(
  study: Study,
  curve: readonly IntermediateValue[],
  options: { steps?: readonly number[] } = {},
): Promise<number> {
  const trial = await study.ask();
  for (let i = 0; i < curve.length; i++) trial.report(curve[i], options.steps?.[i] ?? i);
  await study.tell(trial, curve[curve.length - 1] as number | readonly number[]);
  return trial.number;
}
