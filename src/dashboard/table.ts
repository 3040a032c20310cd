/** The trial table: filtering, sorting and the light row sent per trial (the full record is one request away). */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, TrialState } from '../core/frozen-trial.js';

const STATES: readonly TrialState[] = ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING', 'WAITING'];

export interface TableRow {
  number: number;
  state: TrialState;
  values: number[] | null;
  params: Record<string, unknown>;
  durationMs: number | null;
  datetimeStart: string | null;
}

export function tableRow(t: FrozenTrial): TableRow {
  return {
    number: t.number,
    state: t.state,
    values: t.values
      ? t.values.map((v) => (Number.isFinite(v) ? v : (String(v) as unknown as number)))
      : null,
    params: { ...t.params },
    durationMs:
      t.datetimeStart && t.datetimeComplete ? t.datetimeComplete.getTime() - t.datetimeStart.getTime() : null,
    datetimeStart: t.datetimeStart?.toISOString() ?? null,
  };
}

/** The value a column key names: `number`, `state`, `duration`, `value` / `valueN`, or a parameter name. */
function columnValue(t: FrozenTrial, key: string): number | string | null {
  if (key === 'number') return t.number;
  if (key === 'state') return t.state;
  if (key === 'duration')
    return t.datetimeStart && t.datetimeComplete
      ? t.datetimeComplete.getTime() - t.datetimeStart.getTime()
      : null;
  const value = /^value(\d*)$/.exec(key);
  if (value) return t.values?.[value[1] === '' ? 0 : Number(value[1])] ?? null;
  if (key in t.params) {
    const v = t.params[key];
    return typeof v === 'number' || typeof v === 'string' ? v : String(v);
  }
  const attr = t.userAttrs[key];
  return typeof attr === 'number' || typeof attr === 'string' ? attr : null;
}

const OPERATORS = ['<=', '>=', '!=', '=', '<', '>'] as const;

/**
 * Keeps trials in the given states (comma-separated) that satisfy every condition of `filter`:
 * conditions like `lr<0.01`, `optimizer=adam`, `value0>=0.9`, separated by commas or spaces.
 */
export function filterTrials(trials: readonly FrozenTrial[], states: string, filter: string): FrozenTrial[] {
  const wanted = states
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s !== '');
  for (const s of wanted)
    if (!STATES.includes(s as TrialState))
      throw new InvalidArgumentError(`state filter: unknown state "${s}" (expected ${STATES.join(', ')})`);
  const conditions = filter
    .split(/[,\s]+/)
    .filter((s) => s !== '')
    .map((text) => {
      const m = /^([^<>=!]+)(<=|>=|!=|=|<|>)(.*)$/.exec(text);
      if (!m || m[3] === '')
        throw new InvalidArgumentError(
          `filter "${text}": write a column, an operator (${OPERATORS.join(' ')}) and a value, e.g. lr<0.01`,
        );
      return { key: m[1], op: m[2], raw: m[3], num: Number(m[3]) };
    });
  return trials.filter((t) => {
    if (wanted.length && !wanted.includes(t.state)) return false;
    for (const c of conditions) {
      const v = columnValue(t, c.key);
      if (v === null) return false;
      const cmp =
        typeof v === 'number' && Number.isFinite(c.num) ? v - c.num : String(v).localeCompare(c.raw);
      const ok =
        c.op === '='
          ? cmp === 0
          : c.op === '!='
            ? cmp !== 0
            : c.op === '<'
              ? cmp < 0
              : c.op === '<='
                ? cmp <= 0
                : c.op === '>'
                  ? cmp > 0
                  : cmp >= 0;
      if (!ok) return false;
    }
    return true;
  });
}

/** Sorted by a column; trials without a value for it go last either way. */
export function sortTrials(trials: FrozenTrial[], key: string, order: 'asc' | 'desc'): FrozenTrial[] {
  const sign = order === 'desc' ? -1 : 1;
  const keyed = trials.map((t) => ({ t, v: columnValue(t, key) }));
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === null ? (b.v === null ? a.t.number - b.t.number : 1) : -1;
    const d =
      typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v));
    return sign * d || a.t.number - b.t.number;
  });
  return keyed.map((k) => k.t);
}
