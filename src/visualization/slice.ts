/** Slice plots: the objective against each parameter on its own, one panel per parameter. */
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { axisValue, checkObjectiveIndex, completedTrials, type ParamAxis, paramAxes } from './common.js';

export interface SlicePanel {
  axis: ParamAxis;
  points: { number: number; x: number; y: number }[];
}

export interface SliceData {
  objective: number;
  direction: StudyDirection;
  panels: SlicePanel[];
}

export function getSliceData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: { objective?: number; params?: readonly string[] } = {},
): SliceData {
  const objective = options.objective ?? 0;
  checkObjectiveIndex(objective, directions);
  const done = completedTrials(trials).sort((a, b) => a.number - b.number);
  const axes = done.length === 0 ? [] : paramAxes(done, options.params);
  const panels = axes.map((axis) => {
    const points: SlicePanel['points'] = [];
    for (const t of done) {
      const x = axisValue(t, axis);
      if (x !== null) points.push({ number: t.number, x, y: t.values?.[objective] as number });
    }
    return { axis, points };
  });
  return { objective, direction: directions[objective], panels };
}
