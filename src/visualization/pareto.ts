/**
 * The Pareto front of two measures: two objectives, or an objective against a complexity measure
 * (parameters, MACs, stored size) that the trials recorded as attributes. Accuracy against size is
 * the trade-off Parsimony exists for, so a single-objective study gets a complexity axis by default.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { paretoFrontIndices } from '../core/multi-objective.js';
import {
  COMPLEXITY_ATTRS,
  completedTrials,
  isFeasibleTrial,
  type Measure,
  measureDirection,
  measureName,
  measureValue,
} from './common.js';

export interface ParetoPoint {
  number: number;
  x: number;
  y: number;
  feasible: boolean;
  onFront: boolean;
}

export interface ParetoData {
  x: { measure: Measure; name: string; direction: StudyDirection };
  y: { measure: Measure; name: string; direction: StudyDirection };
  /** Every COMPLETE trial that has both measures. */
  points: ParetoPoint[];
  /** The non-dominated feasible points, sorted by x. */
  front: ParetoPoint[];
}

/** The default axes: objectives 0 and 1, or for one objective the first complexity attribute present. */
export function defaultParetoAxes(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
): { x: Measure; y: Measure } | null {
  if (directions.length >= 2)
    return { x: { kind: 'objective', index: 0 }, y: { kind: 'objective', index: 1 } };
  const done = completedTrials(trials);
  for (const key of COMPLEXITY_ATTRS)
    if (done.some((t) => measureValue(t, { kind: 'attr', key }) !== null))
      return { x: { kind: 'attr', key, direction: 'minimize' }, y: { kind: 'objective', index: 0 } };
  return null;
}

export function getParetoData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: { x?: Measure; y?: Measure; objectiveNames?: readonly string[] } = {},
): ParetoData {
  const defaults = options.x && options.y ? null : defaultParetoAxes(trials, directions);
  const x = options.x ?? defaults?.x;
  const y = options.y ?? defaults?.y;
  if (!x || !y)
    throw new InvalidArgumentError(
      `a Pareto front needs two measures: this study has one objective and its trials record none of ${COMPLEXITY_ATTRS.join(', ')}`,
    );
  for (const m of [x, y])
    if (m.kind === 'objective' && (m.index < 0 || m.index >= directions.length))
      throw new InvalidArgumentError(
        `objective ${m.index} is out of range (${directions.length} objectives)`,
      );
  const xDirection = measureDirection(x, directions);
  const yDirection = measureDirection(y, directions);
  const points: ParetoPoint[] = [];
  for (const t of completedTrials(trials)) {
    const xv = measureValue(t, x);
    const yv = measureValue(t, y);
    if (xv === null || yv === null) continue;
    points.push({ number: t.number, x: xv, y: yv, feasible: isFeasibleTrial(t), onFront: false });
  }
  points.sort((a, b) => a.number - b.number);
  const feasible = points.filter((p) => p.feasible);
  const sign = (d: StudyDirection) => (d === 'minimize' ? 1 : -1);
  const onFront = paretoFrontIndices(feasible.map((p) => [sign(xDirection) * p.x, sign(yDirection) * p.y]));
  for (const i of onFront) feasible[i].onFront = true;
  const front = points.filter((p) => p.onFront).sort((a, b) => a.x - b.x || a.y - b.y);
  return {
    x: { measure: x, name: measureName(x, options.objectiveNames), direction: xDirection },
    y: { measure: y, name: measureName(y, options.objectiveNames), direction: yDirection },
    points,
    front,
  };
}
