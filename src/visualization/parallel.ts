/** Parallel coordinates: one line per COMPLETE trial through the objective and every parameter. */
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { axisValue, checkObjectiveIndex, completedTrials, type ParamAxis, paramAxes } from './common.js';

export interface ParallelDimension {
  name: string;
  /** 'objective' for the colouring objective; otherwise a parameter axis. */
  kind: 'objective' | 'numeric' | 'categorical';
  log: boolean;
  min: number;
  max: number;
  categories?: string[];
}

export interface ParallelData {
  objective: number;
  direction: StudyDirection;
  dimensions: ParallelDimension[];
  /** One row per trial: its number and a value per dimension (null where the trial lacks the parameter). */
  rows: { number: number; values: (number | null)[] }[];
}

export function getParallelCoordinateData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: { objective?: number; params?: readonly string[] } = {},
): ParallelData {
  const objective = options.objective ?? 0;
  checkObjectiveIndex(objective, directions);
  const done = completedTrials(trials).sort((a, b) => a.number - b.number);
  const axes: ParamAxis[] = done.length === 0 ? [] : paramAxes(done, options.params);
  const values = done.map((t) => t.values?.[objective] as number);
  const dimensions: ParallelDimension[] = [
    {
      name: `objective ${objective}`,
      kind: 'objective',
      log: false,
      min: values.length ? Math.min(...values) : 0,
      max: values.length ? Math.max(...values) : 1,
    },
    ...axes.map((a) => ({
      name: a.name,
      kind: a.kind,
      log: a.log,
      min: a.min,
      max: a.max,
      categories: a.categories,
    })),
  ];
  const rows = done.map((t, i) => ({
    number: t.number,
    values: [values[i], ...axes.map((a) => axisValue(t, a))],
  }));
  return { objective, direction: directions[objective], dimensions, rows };
}
