/**
 * How the SQL storages write trials and read them back: text encodings for numbers, JSON values and
 * distributions, the assembly of database rows into frozen trials, and the cache of finished trials
 * that both SQL backends keep so a study of many trials is read once, not at every refresh.
 *
 * Numbers are written as text in an encoding that keeps what JSON (and SQLite's REAL, for NaN)
 * would lose: `Infinity`, `-Infinity` and `NaN` round-trip. Finite numbers use JavaScript's
 * shortest round-trip form, so every double comes back bit-for-bit (except the sign of zero).
 */
import {
  type Distribution,
  type DistributionConfig,
  distributionFromConfig,
  type ParamValue,
} from '../core/distributions.js';
import {
  InvalidArgumentError,
  type ParsimonyError,
  StorageError,
  StudyNotFoundError,
  TrialFinishedError,
  TrialNotFoundError,
} from '../core/errors.js';
import {
  type AttrValue,
  type FrozenTrial,
  freezeTrial,
  type IntermediateValue,
  isFinished,
  type StudyDirection,
  type TrialState,
  type TrialTemplate,
} from '../core/frozen-trial.js';

// ---------------------------------------------------------------------------------------------
// JSON values (attributes, distribution configs)

/** Key of the object that stands for a non-finite number inside stored JSON. */
const NON_FINITE_KEY = '$nonFinite';

function nonFiniteReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return { [NON_FINITE_KEY]: String(value) };
  return value;
}

function nonFiniteReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === NON_FINITE_KEY)
      return Number((value as Record<string, unknown>)[NON_FINITE_KEY]);
  }
  return value;
}

/**
 * Encodes an attribute value. Values are stored as JSON: Dates become ISO strings, `undefined`
 * becomes null, and non-finite numbers are kept. Throws for values JSON cannot hold (BigInt, cycles).
 */
export function encodeJson(value: AttrValue, what = 'value'): string {
  try {
    return JSON.stringify(value, nonFiniteReplacer) ?? 'null';
  } catch (error) {
    throw new InvalidArgumentError(`${what} cannot be stored as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

export function decodeJson(text: string): AttrValue {
  // The reviver is slow; only pay for it when a non-finite number was written.
  return text.includes(NON_FINITE_KEY) ? JSON.parse(text, nonFiniteReviver) : JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------
// Numbers: objective values and intermediate values

function checkNumber(value: unknown, what: string): number {
  if (typeof value !== 'number')
    throw new InvalidArgumentError(`${what} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

/** Objective values (or a multi-objective intermediate value) as a JSON array of numbers. */
export function encodeNumbers(values: readonly number[], what = 'values'): string {
  if (!Array.isArray(values)) throw new InvalidArgumentError(`${what} must be an array of numbers`);
  // JSON has no Infinity/NaN: those are written as strings, which Number() reads back.
  return `[${values.map((v) => (Number.isFinite(checkNumber(v, what)) ? String(v) : `"${v}"`)).join(',')}]`;
}

export function decodeNumbers(text: string): number[] {
  const raw = JSON.parse(text) as (number | string)[];
  return raw.map((v) => (typeof v === 'number' ? v : Number(v)));
}

export function encodeIntermediate(value: IntermediateValue): string {
  if (Array.isArray(value)) return encodeNumbers(value, 'intermediate value');
  return String(checkNumber(value, 'intermediate value'));
}

export function decodeIntermediate(text: string): IntermediateValue {
  return text.charCodeAt(0) === 91 /* [ */ ? decodeNumbers(text) : Number(text);
}

// ---------------------------------------------------------------------------------------------
// Distributions and parameters

export function encodeDistribution(distribution: Distribution): string {
  return encodeJson(distribution.getConfig(), 'distribution');
}

/** Distributions are immutable, so equal texts share one object; this keeps 10,000-trial loads cheap. */
const distributionCache = new Map<string, Distribution>();
const DISTRIBUTION_CACHE_LIMIT = 4096;

export function decodeDistribution(text: string): Distribution {
  let distribution = distributionCache.get(text);
  if (distribution === undefined) {
    try {
      distribution = distributionFromConfig(decodeJson(text) as DistributionConfig, 'stored distribution');
    } catch (error) {
      throw new StorageError(`corrupt distribution in storage: ${text}`, { cause: error });
    }
    if (distributionCache.size >= DISTRIBUTION_CACHE_LIMIT) distributionCache.clear();
    distributionCache.set(text, distribution);
  }
  return distribution;
}

/** The number stored for a parameter: its internal representation (categorical: choice index). */
export function encodeParam(name: string, value: ParamValue, distribution: Distribution): number {
  const internal = distribution.toInternal(value);
  if (!Number.isFinite(internal))
    throw new InvalidArgumentError(`parameter "${name}" must be finite, got ${String(value)}`);
  return internal;
}

export function encodeDirections(directions: readonly StudyDirection[]): string {
  return JSON.stringify(directions);
}

export function decodeDirections(text: string): StudyDirection[] {
  return JSON.parse(text) as StudyDirection[];
}

/** SQLite stores times as epoch milliseconds, PostgreSQL hands back Dates. */
export function toDate(value: Date | number | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(typeof value === 'string' ? Number(value) : value);
}

export function checkStep(step: number): void {
  if (!Number.isInteger(step) || Math.abs(step) > 2 ** 31 - 1)
    throw new InvalidArgumentError(`step must be an integer (within ±2^31), got ${step}`);
}

// ---------------------------------------------------------------------------------------------
// Trial templates and errors shared by the SQL storages

export interface PreparedTemplate {
  state: TrialState;
  valuesJson: string | null;
  /** undefined: the storage picks (now, or null for WAITING / unfinished). */
  datetimeStart: number | null | undefined;
  datetimeComplete: number | null | undefined;
  params: { name: string; value: number; distributionJson: string }[];
  intermediates: { step: number; valueJson: string }[];
  attrs: { isSystem: boolean; key: string; valueJson: string }[];
  /** For a finished trial, its children packed for `trials.packed_json`. */
  packedJson: string | null;
}

/** Validates and encodes a trial template before any database work. */
export function prepareTemplate(template: TrialTemplate): PreparedTemplate {
  const state = template.state ?? 'RUNNING';
  checkTrialState(state);
  const params = Object.entries(template.params ?? {}).map(([name, value]) => {
    const distribution = template.distributions?.[name];
    if (!distribution)
      throw new InvalidArgumentError(`trial template: parameter "${name}" has no distribution`);
    return {
      name,
      value: encodeParam(name, value, distribution),
      distributionJson: encodeJson(distribution.getConfig(), 'distribution'),
    };
  });
  const intermediates = Object.entries(template.intermediateValues ?? {}).map(([key, value]) => {
    const step = Number(key);
    checkStep(step);
    return { step, valueJson: encodeIntermediate(value) };
  });
  const attrs = [
    ...Object.entries(template.userAttrs ?? {}).map(([key, value]) => ({
      isSystem: false,
      key,
      valueJson: encodeJson(value, `attribute "${key}"`),
    })),
    ...Object.entries(template.systemAttrs ?? {}).map(([key, value]) => ({
      isSystem: true,
      key,
      valueJson: encodeJson(value, `attribute "${key}"`),
    })),
  ];
  const time = (d: Date | null | undefined) =>
    d === undefined ? undefined : d === null ? null : d.getTime();
  return {
    state,
    valuesJson: template.values ? encodeNumbers(template.values) : null,
    datetimeStart: time(template.datetimeStart),
    datetimeComplete: time(template.datetimeComplete),
    params,
    intermediates,
    attrs,
    packedJson: isFinished(state) ? packChildren(params, intermediates, attrs) : null,
  };
}

export function studyNotFound(studyId: number): ParsimonyError {
  return new StudyNotFoundError(`no study with id ${studyId}`);
}

export function trialNotFound(trialId: number): ParsimonyError {
  return new TrialNotFoundError(`no trial with id ${trialId}`);
}

export function trialFinished(number: number, state: TrialState): ParsimonyError {
  return new TrialFinishedError(`trial ${number} is already ${state} and cannot be changed`);
}

const STATES: readonly TrialState[] = ['RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING'];

export function checkTrialState(state: TrialState): void {
  if (!STATES.includes(state))
    throw new InvalidArgumentError(
      `trial state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`,
    );
}

// ---------------------------------------------------------------------------------------------
// Rows -> frozen trials

/** One `trials` row as both backends select it (camelCase aliases). */
export interface TrialRow {
  trialId: number;
  number: number;
  state: TrialState;
  valuesJson: string | null;
  datetimeStart: Date | number | null;
  datetimeComplete: Date | number | null;
  /** The children of a finished trial, packed when it finished (`packChildren`); null before. */
  packedJson: string | null;
}

export interface ParamRow {
  trialId: number;
  name: string;
  value: number;
  distributionJson: string;
}

export interface IntermediateRow {
  trialId: number;
  step: number;
  valueJson: string;
}

export interface AttrRow {
  trialId: number;
  isSystem: boolean | number;
  key: string;
  valueJson: string;
}

type Packed =
  | {
      r?: undefined;
      p: [name: string, value: number, distributionJson: string][];
      i: [step: number, value: IntermediateValue][];
      a: [isSystem: 0 | 1, key: string, value: AttrValue][];
    }
  | {
      /** The raw form, packed by PostgreSQL itself (migration 2): values keep their stored text. */
      r: 1;
      p: [name: string, value: number, distributionJson: string][];
      i: [step: number, valueJson: string][];
      a: [isSystem: boolean, key: string, valueJson: string][];
    };

/**
 * Packs the child rows of one trial (in insertion order) into the text stored in
 * `trials.packed_json` when the trial finishes. Values are stored decoded (one JSON document, with
 * the non-finite tagging of `encodeJson`) so loading a finished trial is a single `JSON.parse`.
 */
export function packChildren(
  params: readonly Omit<ParamRow, 'trialId'>[],
  intermediates: readonly Omit<IntermediateRow, 'trialId'>[],
  attrs: readonly Omit<AttrRow, 'trialId'>[],
): string {
  const packed: Packed = {
    p: params.map((p) => [p.name, p.value, p.distributionJson]),
    i: intermediates.map((v) => [v.step, decodeIntermediate(v.valueJson)]),
    a: attrs.map((a) => [a.isSystem ? 1 : 0, a.key, decodeJson(a.valueJson)]),
  };
  return encodeJson(packed);
}

interface Draft {
  row: TrialRow;
  params: Record<string, ParamValue>;
  distributions: Record<string, Distribution>;
  intermediateValues: Record<number, IntermediateValue>;
  userAttrs: Record<string, AttrValue>;
  systemAttrs: Record<string, AttrValue>;
}

function addParam(draft: Draft, name: string, value: number, distributionJson: string): void {
  const distribution = decodeDistribution(distributionJson);
  draft.params[name] = distribution.toExternal(value);
  draft.distributions[name] = distribution;
}

function addAttr(draft: Draft, isSystem: boolean | number, key: string, valueJson: string): void {
  (isSystem ? draft.systemAttrs : draft.userAttrs)[key] = decodeJson(valueJson);
}

/**
 * Builds frozen trials from the rows of one consistent read: finished trials from their packed
 * column, the others from child rows. Child rows must come in insertion order (params by param_id,
 * attrs by attr_id) so objects keep the order values were set in; child rows of trials absent from
 * `trials` are ignored.
 */
export function assembleTrials(
  trials: readonly TrialRow[],
  params: readonly ParamRow[],
  intermediates: readonly IntermediateRow[],
  attrs: readonly AttrRow[],
): FrozenTrial[] {
  const drafts = new Map<number, Draft>();
  for (const row of trials) {
    const draft: Draft = {
      row,
      params: {},
      distributions: {},
      intermediateValues: {},
      userAttrs: {},
      systemAttrs: {},
    };
    drafts.set(row.trialId, draft);
    if (row.packedJson !== null) {
      const packed = decodeJson(row.packedJson) as Packed;
      for (const [name, value, distributionJson] of packed.p) addParam(draft, name, value, distributionJson);
      if (packed.r === 1) {
        for (const [step, text] of packed.i) draft.intermediateValues[step] = decodeIntermediate(text);
        for (const [isSystem, key, text] of packed.a)
          (isSystem ? draft.systemAttrs : draft.userAttrs)[key] = decodeJson(text);
      } else {
        for (const [step, value] of packed.i) draft.intermediateValues[step] = value;
        for (const [isSystem, key, value] of packed.a)
          (isSystem ? draft.systemAttrs : draft.userAttrs)[key] = value;
      }
    }
  }
  const unpacked = (trialId: number) => {
    const draft = drafts.get(trialId);
    return draft && draft.row.packedJson === null ? draft : undefined;
  };
  for (const p of params) {
    const draft = unpacked(p.trialId);
    if (draft) addParam(draft, p.name, p.value, p.distributionJson);
  }
  for (const v of intermediates) {
    const draft = unpacked(v.trialId);
    if (draft) draft.intermediateValues[v.step] = decodeIntermediate(v.valueJson);
  }
  for (const a of attrs) {
    const draft = unpacked(a.trialId);
    if (draft) addAttr(draft, a.isSystem, a.key, a.valueJson);
  }
  const out: FrozenTrial[] = [];
  for (const d of drafts.values()) {
    for (const v of Object.values(d.intermediateValues)) if (Array.isArray(v)) Object.freeze(v);
    out.push(
      freezeTrial({
        trialId: d.row.trialId,
        number: d.row.number,
        state: d.row.state,
        values: d.row.valuesJson === null ? null : decodeNumbers(d.row.valuesJson),
        params: d.params,
        distributions: d.distributions,
        userAttrs: deepFreeze(d.userAttrs),
        systemAttrs: deepFreeze(d.systemAttrs),
        intermediateValues: d.intermediateValues,
        datetimeStart: toDate(d.row.datetimeStart),
        datetimeComplete: toDate(d.row.datetimeComplete),
      }),
    );
  }
  return out;
}

/** Attribute values are shared between callers through the cache, so nested objects are frozen too. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The finished-trial cache

interface StudyCache {
  /** Trials by number, as of the last read. */
  byNumber: FrozenTrial[];
  /** Highest trial number read so far (-1: none). */
  maxNumber: number;
  /** Numbers of trials read while unfinished: they must be read again. */
  unfinished: Set<number>;
}

/**
 * Finished trials never change (storages reject writes to them), so a storage reads each of them
 * once. A refresh asks only for trials numbered above the highest number seen (numbers are
 * assigned in commit order, under the study's lock) and for those seen unfinished.
 */
export class TrialCache {
  private readonly studies = new Map<number, StudyCache>();
  private readonly finishedById = new Map<number, FrozenTrial>();

  /** What to read for `studyId`: trials numbered above `maxNumber` or listed in `unfinished`. */
  delta(studyId: number): { maxNumber: number; unfinished: number[] } {
    const study = this.studies.get(studyId);
    return study
      ? { maxNumber: study.maxNumber, unfinished: [...study.unfinished] }
      : { maxNumber: -1, unfinished: [] };
  }

  /** Merges the trials of a delta read and returns every trial of the study, by number. */
  merge(studyId: number, trials: readonly FrozenTrial[]): FrozenTrial[] {
    let study = this.studies.get(studyId);
    if (!study) {
      study = { byNumber: [], maxNumber: -1, unfinished: new Set() };
      this.studies.set(studyId, study);
    }
    for (const t of trials) {
      // A finished trial is final: an unfinished copy of it comes from an older, overlapping read.
      const known = study.byNumber[t.number];
      if (known !== undefined && known.trialId === t.trialId && isFinished(known.state)) continue;
      study.byNumber[t.number] = t;
      if (t.number > study.maxNumber) study.maxNumber = t.number;
      if (isFinished(t.state)) {
        study.unfinished.delete(t.number);
        this.finishedById.set(t.trialId, t);
      } else {
        study.unfinished.add(t.number);
      }
    }
    const out: FrozenTrial[] = [];
    for (const t of study.byNumber) if (t !== undefined) out.push(t);
    return out;
  }

  /** A finished trial read before, if any (finished trials can be served without a query). */
  finished(trialId: number): FrozenTrial | undefined {
    return this.finishedById.get(trialId);
  }

  remember(trial: FrozenTrial): void {
    if (isFinished(trial.state)) this.finishedById.set(trial.trialId, trial);
  }

  /** Forgets one trial (deleted through this storage). */
  dropTrial(trialId: number): void {
    this.finishedById.delete(trialId);
    for (const study of this.studies.values()) {
      const number = study.byNumber.findIndex((t) => t?.trialId === trialId);
      if (number < 0) continue;
      delete study.byNumber[number];
      study.unfinished.delete(number);
      return;
    }
  }

  /**
   * Every trial of the study after merging a delta read, or null when the storage holds fewer
   * (`count`) than that: another process deleted a trial, so the study must be read afresh.
   */
  mergeCounted(studyId: number, trials: readonly FrozenTrial[], count: number): FrozenTrial[] | null {
    const all = this.merge(studyId, trials);
    if (all.length <= count) return all;
    this.dropStudy(studyId);
    return null;
  }

  dropStudy(studyId: number): void {
    const study = this.studies.get(studyId);
    if (!study) return;
    for (const t of study.byNumber) if (t !== undefined) this.finishedById.delete(t.trialId);
    this.studies.delete(studyId);
  }

  clear(): void {
    this.studies.clear();
    this.finishedById.clear();
  }
}

/** Trials of a study filtered by state, as `getAllTrials` returns them. */
export function filterStates(
  trials: FrozenTrial[],
  states: readonly TrialState[] | undefined,
): FrozenTrial[] {
  return states ? trials.filter((t) => states.includes(t.state)) : trials;
}
