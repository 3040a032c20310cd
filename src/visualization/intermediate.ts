/** Learning curves: the intermediate values each trial reported, with pruned trials marked. */
import type { FrozenTrial, TrialState } from '../core/frozen-trial.js';

export interface IntermediateCurve {
  number: number;
  state: TrialState;
  pruned: boolean;
  /** Steps in increasing order; a multi-valued report contributes its component `objective`. */
  steps: { step: number; value: number }[];
}

export interface IntermediateData {
  curves: IntermediateCurve[];
  /** Number of curves of pruned trials. */
  nPruned: number;
}

export function getIntermediateData(
  trials: readonly FrozenTrial[],
  options: { objective?: number; limit?: number } = {},
): IntermediateData {
  const objective = options.objective ?? 0;
  const curves: IntermediateCurve[] = [];
  for (const t of [...trials].sort((a, b) => a.number - b.number)) {
    const steps: IntermediateCurve['steps'] = [];
    for (const [key, raw] of Object.entries(t.intermediateValues)) {
      const value = typeof raw === 'number' ? raw : raw[objective];
      if (typeof value === 'number' && Number.isFinite(value)) steps.push({ step: Number(key), value });
    }
    if (steps.length === 0) continue;
    steps.sort((a, b) => a.step - b.step);
    curves.push({ number: t.number, state: t.state, pruned: t.state === 'PRUNED', steps });
  }
  // The most recent curves when there are too many to draw.
  const kept =
    options.limit !== undefined && curves.length > options.limit ? curves.slice(-options.limit) : curves;
  return { curves: kept, nPruned: kept.filter((c) => c.pruned).length };
}
