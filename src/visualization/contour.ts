/**
 * Contour of the objective over two parameters: the observed points plus a grid filled by
 * inverse-distance weighting in the axes' own scales (log axes in log space), so the picture shows
 * where good values lie without pretending to be a fitted model.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { axisValue, checkObjectiveIndex, completedTrials, type ParamAxis, paramAxes } from './common.js';

export interface ContourData {
  objective: number;
  direction: StudyDirection;
  x: ParamAxis;
  y: ParamAxis;
  points: { number: number; x: number; y: number; value: number }[];
  /** Grid cell centres along each axis, in parameter units. */
  xs: number[];
  ys: number[];
  /** z[j][i] is the interpolated value at (xs[i], ys[j]); null when there are no points. */
  z: (number | null)[][];
}

function scale(axis: ParamAxis, v: number): number {
  const lo = axis.log ? Math.log(axis.min) : axis.min;
  const hi = axis.log ? Math.log(axis.max) : axis.max;
  const s = axis.log ? Math.log(v) : v;
  return hi > lo ? (s - lo) / (hi - lo) : 0.5;
}

function gridValues(axis: ParamAxis, n: number): number[] {
  if (axis.kind === 'categorical') return (axis.categories ?? []).map((_, i) => i);
  if (axis.max <= axis.min) return [axis.min];
  return Array.from({ length: n }, (_, i) => {
    const f = (i + 0.5) / n;
    return axis.log
      ? Math.exp(Math.log(axis.min) + f * (Math.log(axis.max) - Math.log(axis.min)))
      : axis.min + f * (axis.max - axis.min);
  });
}

export function getContourData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: { x: string; y: string; objective?: number; gridSize?: number },
): ContourData {
  const objective = options.objective ?? 0;
  checkObjectiveIndex(objective, directions);
  if (options.x === options.y) throw new InvalidArgumentError(`contour: x and y are both "${options.x}"`);
  const gridSize = options.gridSize ?? 30;
  if (!Number.isInteger(gridSize) || gridSize < 2 || gridSize > 500)
    throw new InvalidArgumentError(`contour: gridSize must be an integer in 2..500, got ${gridSize}`);
  const done = completedTrials(trials);
  const [x, y] = paramAxes(done.length ? done : trials, [options.x, options.y]);
  const points: ContourData['points'] = [];
  for (const t of done.sort((a, b) => a.number - b.number)) {
    const xv = axisValue(t, x);
    const yv = axisValue(t, y);
    if (xv !== null && yv !== null)
      points.push({ number: t.number, x: xv, y: yv, value: t.values?.[objective] as number });
  }
  const xs = gridValues(x, gridSize);
  const ys = gridValues(y, gridSize);
  const scaled = points.map((p) => [scale(x, p.x), scale(y, p.y), p.value]);
  const z = ys.map((gy) =>
    xs.map((gx) => {
      if (scaled.length === 0) return null;
      const sx = scale(x, gx);
      const sy = scale(y, gy);
      let weights = 0;
      let sum = 0;
      for (const [px, py, v] of scaled) {
        const d2 = (px - sx) ** 2 + (py - sy) ** 2;
        if (d2 < 1e-18) return v;
        const w = 1 / (d2 * d2);
        weights += w;
        sum += w * v;
      }
      return sum / weights;
    }),
  );
  return { objective, direction: directions[objective], x, y, points, xs, ys, z };
}
