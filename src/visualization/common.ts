/**
 * Shared pieces of the plot-data functions: which trials count, how a parameter becomes a number on
 * an axis, and where an objective or a complexity measure is read from. Plot data is computed from
 * frozen trials alone, so the same figures come from the API, the CLI and the dashboard.
 */
import type { Distribution, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';

/** The system attribute holding constraint values (feasible when every one is <= 0). */
const CONSTRAINTS_ATTR = 'constraints';

export function isFeasibleTrial(trial: FrozenTrial): boolean {
  const c = trial.systemAttrs[CONSTRAINTS_ATTR];
  if (!Array.isArray(c)) return true;
  return c.every((v) => typeof v === 'number' && v <= 0);
}

/** COMPLETE trials with finite values for every objective. */
export function completedTrials(trials: readonly FrozenTrial[]): FrozenTrial[] {
  return trials.filter(
    (t) => t.state === 'COMPLETE' && t.values !== null && t.values.every((v) => Number.isFinite(v)),
  );
}

export function checkObjectiveIndex(index: number, directions: readonly StudyDirection[]): void {
  if (!Number.isInteger(index) || index < 0 || index >= directions.length)
    throw new InvalidArgumentError(
      `objective index ${index} is out of range: the study has ${directions.length} objective${directions.length === 1 ? '' : 's'}`,
    );
}

/** How a parameter is placed on an axis: numbers as themselves (log axis when sampled in log), choices by index. */
export interface ParamAxis {
  name: string;
  kind: 'numeric' | 'categorical';
  log: boolean;
  /** Axis range in parameter units (categoricals: 0 .. choices - 1). */
  min: number;
  max: number;
  /** Labels of the choices of a categorical parameter. */
  categories?: string[];
}

/** The parameters seen in the trials, sorted by name, with one axis each (the last distribution wins). */
export function paramAxes(trials: readonly FrozenTrial[], names?: readonly string[]): ParamAxis[] {
  const distributions = new Map<string, Distribution>();
  for (const t of trials) for (const [n, d] of Object.entries(t.distributions)) distributions.set(n, d);
  const wanted = names ?? [...distributions.keys()].sort();
  return wanted.map((name) => {
    const d = distributions.get(name);
    if (!d)
      throw new InvalidArgumentError(
        `parameter "${name}" does not occur in the study (known: ${[...distributions.keys()].sort().join(', ') || 'none'})`,
      );
    if (d.type === 'categorical')
      return {
        name,
        kind: 'categorical',
        log: false,
        min: 0,
        max: d.choices.length - 1,
        categories: d.choices.map((c) => String(c)),
      };
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const t of trials) {
      const v = t.params[name];
      if (typeof v !== 'number') continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min > max) {
      min = d.low;
      max = d.high;
    }
    return { name, kind: 'numeric', log: d.log, min, max };
  });
}

/** A parameter value as a number on its axis (categoricals: the index of the choice); null when absent. */
export function axisValue(trial: FrozenTrial, axis: ParamAxis): number | null {
  if (!(axis.name in trial.params)) return null;
  const value: ParamValue = trial.params[axis.name];
  if (axis.kind === 'categorical') {
    const index = axis.categories?.indexOf(String(value)) ?? -1;
    return index < 0 ? null : index;
  }
  return typeof value === 'number' ? value : null;
}

/** A quantity plotted against an objective: another objective, or a number stored in an attribute. */
export type Measure =
  | { kind: 'objective'; index: number }
  | { kind: 'attr'; key: string; direction?: StudyDirection };

/** The complexity attributes the search writes (params, MACs) and the stored size, in the order tried. */
export const COMPLEXITY_ATTRS = ['params', 'macs', 'storedBytes', 'weightBytes', 'connections'] as const;

export function measureValue(trial: FrozenTrial, measure: Measure): number | null {
  if (measure.kind === 'objective') return trial.values?.[measure.index] ?? null;
  const v = trial.userAttrs[measure.key] ?? trial.systemAttrs[measure.key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function measureName(measure: Measure, objectiveNames?: readonly string[]): string {
  if (measure.kind === 'attr') return measure.key;
  return objectiveNames?.[measure.index] ?? `objective ${measure.index}`;
}

export function measureDirection(measure: Measure, directions: readonly StudyDirection[]): StudyDirection {
  return measure.kind === 'objective' ? directions[measure.index] : (measure.direction ?? 'minimize');
}

/** Parses `objective:0`, `values_1`, `0`, or an attribute key such as `params` (minimised). */
export function parseMeasure(text: string, directions: readonly StudyDirection[]): Measure {
  const m = /^(?:objective:|values_|value)?(\d*)$/.exec(text);
  if (m && (m[1] !== '' || text === 'value')) {
    const index = m[1] === '' ? 0 : Number(m[1]);
    checkObjectiveIndex(index, directions);
    return { kind: 'objective', index };
  }
  const attr = /^(?:attr:)?(.+?)(?::(minimize|maximize))?$/.exec(text);
  if (!attr || attr[1] === '') throw new InvalidArgumentError(`not a plot axis: ${JSON.stringify(text)}`);
  return { kind: 'attr', key: attr[1], direction: (attr[2] as StudyDirection | undefined) ?? 'minimize' };
}
