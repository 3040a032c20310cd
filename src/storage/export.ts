/**
 * Trials as CSV (one row per trial, shaped like Optuna's `trials_dataframe` so
 * `pandas.read_csv(path, parse_dates=['datetime_start', 'datetime_complete'])` just works) or as
 * JSON (everything, including distributions and intermediate values).
 */
import type { DistributionConfig, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { AttrValue, FrozenTrial, IntermediateValue, TrialState } from '../core/frozen-trial.js';

export type ExportFormat = 'csv' | 'json';

export interface ExportOptions {
  /** Number of objectives (columns `value`, or `values_0`...); defaults to the longest `values` seen. */
  nObjectives?: number;
}

/** A trial as exported to JSON. Non-finite numbers are written as "Infinity", "-Infinity", "NaN". */
export interface TrialJson {
  number: number;
  state: TrialState;
  values: (number | string)[] | null;
  params: Record<string, ParamValue>;
  distributions: Record<string, DistributionConfig>;
  userAttrs: Record<string, AttrValue>;
  systemAttrs: Record<string, AttrValue>;
  intermediateValues: Record<string, IntermediateValue>;
  datetimeStart: string | null;
  datetimeComplete: string | null;
  /** Seconds from start to completion, as every duration in Parsimony's JSON. */
  durationSeconds: number | null;
}

export function exportTrials(
  trials: readonly FrozenTrial[],
  format: ExportFormat,
  options: ExportOptions = {},
): string {
  if (format === 'json') return `${JSON.stringify(trials.map(trialToJson), nonFiniteAsString, 2)}\n`;
  if (format === 'csv') return trialsToCsv(trials, options);
  throw new InvalidArgumentError(`export format must be "csv" or "json", got ${JSON.stringify(format)}`);
}

export function trialToJson(trial: FrozenTrial): TrialJson {
  const distributions: Record<string, DistributionConfig> = {};
  for (const [name, d] of Object.entries(trial.distributions)) distributions[name] = d.getConfig();
  return {
    number: trial.number,
    state: trial.state,
    values: trial.values ? [...trial.values] : null,
    params: { ...trial.params },
    distributions,
    userAttrs: { ...trial.userAttrs },
    systemAttrs: { ...trial.systemAttrs },
    intermediateValues: { ...trial.intermediateValues },
    datetimeStart: trial.datetimeStart?.toISOString() ?? null,
    datetimeComplete: trial.datetimeComplete?.toISOString() ?? null,
    durationSeconds: duration(trial),
  };
}

function nonFiniteAsString(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** Seconds, to the millisecond. */
function duration(trial: FrozenTrial): number | null {
  if (!trial.datetimeStart || !trial.datetimeComplete) return null;
  return (trial.datetimeComplete.getTime() - trial.datetimeStart.getTime()) / 1000;
}

function trialsToCsv(trials: readonly FrozenTrial[], options: ExportOptions): string {
  const nObjectives = options.nObjectives ?? trials.reduce((m, t) => Math.max(m, t.values?.length ?? 0), 1);
  if (!Number.isInteger(nObjectives) || nObjectives < 1)
    throw new InvalidArgumentError(`nObjectives must be a positive integer, got ${nObjectives}`);
  // Columns sorted by name, as pandas users expect from Optuna.
  const paramNames = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  const attrKeys = [...new Set(trials.flatMap((t) => Object.keys(t.userAttrs)))].sort();
  const valueColumns =
    nObjectives === 1 ? ['value'] : Array.from({ length: nObjectives }, (_, i) => `values_${i}`);
  const header = [
    'number',
    'state',
    ...valueColumns,
    ...paramNames.map((n) => `params_${n}`),
    ...attrKeys.map((k) => `user_attrs_${k}`),
    'datetime_start',
    'datetime_complete',
    'duration_seconds',
  ];
  const lines = [header.map(csvCell).join(',')];
  for (const t of trials) {
    const row: unknown[] = [t.number, t.state];
    for (let i = 0; i < nObjectives; i++) row.push(t.values?.[i] ?? null);
    for (const n of paramNames) row.push(n in t.params ? t.params[n] : null);
    for (const k of attrKeys) row.push(k in t.userAttrs ? t.userAttrs[k] : null);
    row.push(t.datetimeStart?.toISOString() ?? null, t.datetimeComplete?.toISOString() ?? null, duration(t));
    lines.push(row.map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** One CSV cell: empty for missing, inf/-inf/nan as pandas reads them, JSON for objects, RFC 4180 quoting. */
function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (typeof value === 'number')
    text = Number.isNaN(value)
      ? 'nan'
      : value === Infinity
        ? 'inf'
        : value === -Infinity
          ? '-inf'
          : String(value);
  else if (typeof value === 'boolean') text = value ? 'True' : 'False';
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value, nonFiniteAsString);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}
