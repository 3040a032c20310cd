/**
 * A read-only view of the studies in a storage, for the plots, the report and the dashboard: the
 * list of studies, a study's trials (read incrementally by the storages' finished-trial caches, so
 * polling a large study re-reads only what changed) and one trial. Besides the storage URLs it
 * opens a JSON export file (`parsimony studies export --format json`): `json:path/to/file.json`
 * or a path ending in `.json`, optionally with `?directions=maximize,minimize` because an export
 * of bare trials does not record the study's directions (they default to minimize).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { type DistributionConfig, distributionFromConfig } from '../core/distributions.js';
import {
  DataError,
  FileNotFoundError,
  InvalidArgumentError,
  type ParsimonyError,
  StudyNotFoundError,
} from '../core/errors.js';
import { type FrozenTrial, freezeTrial, type StudyDirection, TrialState } from '../core/frozen-trial.js';
import { createStorage, redact } from './factory.js';

type Storage = Awaited<ReturnType<typeof createStorage>>;

export interface StudyInfo {
  studyId: number;
  name: string;
  directions: StudyDirection[];
  nTrials: number;
  datetimeStart: Date | null;
  userAttrs: Record<string, unknown>;
}

export interface StudyReader {
  /** What is open, safe to show (passwords hidden). */
  readonly description: string;
  studies(): Promise<StudyInfo[]>;
  /** Throws STUDY_NOT_FOUND with the study's name. */
  study(name: string): Promise<StudyInfo>;
  /** Every trial of the study, by number. */
  trials(studyId: number): Promise<readonly FrozenTrial[]>;
  /** What this storage lets a dashboard change; null for sources that cannot be written (an export file). */
  readonly writer: StudyWriter | null;
  close(): Promise<void>;
}

/**
 * The few writes the dashboard offers with `--allow-write`, as far as the Storage interface
 * allows: finished trials never change, so notes and tags (of the study and of its trials) are
 * study user attributes; a whole study or one trial can be deleted.
 */
export interface StudyWriter {
  setStudyUserAttr(studyId: number, key: string, value: unknown): Promise<void>;
  deleteStudy(studyId: number): Promise<void>;
  deleteTrial(trialId: number): Promise<void>;
}

function studyNotFound(name: string, where: string): ParsimonyError {
  return new StudyNotFoundError(`no study named "${name}" in ${where}`);
}

class StorageStudyReader implements StudyReader {
  readonly writer: StudyWriter;

  constructor(
    private readonly storage: Storage,
    readonly description: string,
  ) {
    this.writer = {
      setStudyUserAttr: (studyId, key, value) => storage.setStudyUserAttr(studyId, key, value),
      deleteStudy: (studyId) => storage.deleteStudy(studyId),
      deleteTrial: (trialId) => storage.deleteTrial(trialId),
    };
  }

  async studies(): Promise<StudyInfo[]> {
    return (await this.storage.getAllStudies()).map((s) => ({
      studyId: s.studyId,
      name: s.studyName,
      directions: [...s.directions],
      nTrials: s.nTrials,
      datetimeStart: s.datetimeStart,
      userAttrs: { ...s.userAttrs },
    }));
  }

  async study(name: string): Promise<StudyInfo> {
    const found = (await this.studies()).find((s) => s.name === name);
    if (!found) throw studyNotFound(name, this.description);
    return found;
  }

  async trials(studyId: number): Promise<readonly FrozenTrial[]> {
    return this.storage.getAllTrials(studyId);
  }

  close(): Promise<void> {
    return this.storage.close();
  }
}

const STATES = new Set<string>(Object.values(TrialState));

function number(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (value === 'NaN') return Number.NaN;
  throw new DataError(`${where}: expected a number, got ${JSON.stringify(value)}`);
}

function date(value: unknown, where: string): Date | null {
  if (value === null || value === undefined) return null;
  const d = new Date(value as string);
  if (typeof value !== 'string' || Number.isNaN(d.getTime()))
    throw new DataError(`${where}: expected an ISO 8601 date, got ${JSON.stringify(value)}`);
  return d;
}

/** A trial of an export file back as a frozen trial. */
export function trialFromJson(raw: unknown, index: number, file: string): FrozenTrial {
  const where = `${file}: trial [${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new DataError(`${where}: not an object`);
  const t = raw as Record<string, unknown>;
  if (!Number.isInteger(t.number) || (t.number as number) < 0)
    throw new DataError(`${where}: "number" must be a non-negative integer`);
  if (typeof t.state !== 'string' || !STATES.has(t.state))
    throw new DataError(`${where}: "state" must be one of ${[...STATES].join(', ')}`);
  const values =
    t.values === null || t.values === undefined
      ? null
      : Array.isArray(t.values)
        ? t.values.map((v, i) => number(v, `${where}.values[${i}]`))
        : (() => {
            throw new DataError(`${where}: "values" must be an array or null`);
          })();
  const distributions: FrozenTrial['distributions'] = {};
  const rawDistributions = (t.distributions ?? {}) as Record<string, DistributionConfig>;
  for (const [name, config] of Object.entries(rawDistributions))
    (distributions as Record<string, unknown>)[name] = distributionFromConfig(
      config,
      `${where}.distributions.${name}`,
    );
  const params = (t.params ?? {}) as FrozenTrial['params'];
  for (const name of Object.keys(params))
    if (!(name in distributions)) throw new DataError(`${where}: parameter "${name}" has no distribution`);
  const intermediate: Record<number, number | number[]> = {};
  for (const [step, v] of Object.entries((t.intermediateValues ?? {}) as Record<string, unknown>))
    intermediate[Number(step)] = Array.isArray(v)
      ? v.map((x, i) => number(x, `${where}.intermediateValues.${step}[${i}]`))
      : number(v, `${where}.intermediateValues.${step}`);
  return freezeTrial({
    trialId: t.number as number,
    number: t.number as number,
    state: t.state as TrialState,
    values,
    params: { ...params },
    distributions,
    userAttrs: { ...((t.userAttrs ?? {}) as object) },
    systemAttrs: { ...((t.systemAttrs ?? {}) as object) },
    intermediateValues: intermediate,
    datetimeStart: date(t.datetimeStart, `${where}.datetimeStart`),
    datetimeComplete: date(t.datetimeComplete, `${where}.datetimeComplete`),
  });
}

/** One study read from an export file; read again when the file changes. */
class JsonFileStudyReader implements StudyReader {
  readonly description: string;
  readonly writer = null;
  private loaded: { mtimeMs: number; size: number; info: StudyInfo; trials: FrozenTrial[] } | null = null;

  constructor(
    private readonly path: string,
    private readonly directions: StudyDirection[] | null,
  ) {
    this.description = `JSON export ${basename(path)}`;
  }

  private load(): { info: StudyInfo; trials: FrozenTrial[] } {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(this.path);
    } catch (error) {
      throw new FileNotFoundError(this.path, 'study export file', { cause: error });
    }
    if (this.loaded && this.loaded.mtimeMs === stat.mtimeMs && this.loaded.size === stat.size)
      return this.loaded;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      throw new DataError(`${this.path}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
    // Either the bare array `studies export` writes, or { studyName, directions, trials }.
    const wrapper =
      !Array.isArray(parsed) && parsed !== null && typeof parsed === 'object'
        ? (parsed as Record<string, unknown>)
        : null;
    const rawTrials = wrapper ? wrapper.trials : parsed;
    if (!Array.isArray(rawTrials))
      throw new DataError(`${this.path}: expected an array of trials or an object with a "trials" array`);
    const trials = rawTrials
      .map((t, i) => trialFromJson(t, i, basename(this.path)))
      .sort((a, b) => a.number - b.number);
    const nObjectives = Math.max(1, ...trials.map((t) => t.values?.length ?? 0));
    const fileDirections =
      wrapper && Array.isArray(wrapper.directions) ? (wrapper.directions as StudyDirection[]) : null;
    const directions =
      this.directions ?? fileDirections ?? Array.from({ length: nObjectives }, () => 'minimize' as const);
    for (const d of directions)
      if (d !== 'minimize' && d !== 'maximize')
        throw new DataError(`${this.path}: direction must be minimize or maximize, got ${JSON.stringify(d)}`);
    const name =
      wrapper && typeof wrapper.studyName === 'string'
        ? wrapper.studyName
        : basename(this.path).replace(/\.json$/i, '');
    const starts = trials.map((t) => t.datetimeStart?.getTime()).filter((v): v is number => v !== undefined);
    const info: StudyInfo = {
      studyId: 0,
      name,
      directions: [...directions],
      nTrials: trials.length,
      datetimeStart: starts.length ? new Date(Math.min(...starts)) : null,
      userAttrs: {},
    };
    this.loaded = { mtimeMs: stat.mtimeMs, size: stat.size, info, trials };
    return this.loaded;
  }

  async studies(): Promise<StudyInfo[]> {
    return [this.load().info];
  }

  async study(name: string): Promise<StudyInfo> {
    const { info } = this.load();
    if (info.name !== name) throw studyNotFound(name, this.description);
    return info;
  }

  async trials(studyId: number): Promise<readonly FrozenTrial[]> {
    if (studyId !== 0) throw new StudyNotFoundError(`no study with id ${studyId} in ${this.description}`);
    return this.load().trials;
  }

  async close(): Promise<void> {}
}

function parseDirections(text: string | null): StudyDirection[] | null {
  if (text === null) return null;
  const list = text.split(',').map((s) => s.trim());
  for (const d of list)
    if (d !== 'minimize' && d !== 'maximize')
      throw new InvalidArgumentError(`?directions= takes minimize or maximize, comma-separated; got "${d}"`);
  return list as StudyDirection[];
}

/**
 * Opens a storage URL (`sqlite:`, `postgres://`) or an export file for reading. The storage must
 * exist: a missing SQLite file is FILE_NOT_FOUND rather than a new empty database.
 */
export async function openStudyReader(url: string): Promise<StudyReader> {
  const trimmed = url.trim();
  const isJson = /^json:/i.test(trimmed) || /\.json(\?.*)?$/i.test(trimmed);
  if (isJson) {
    const rest = trimmed.replace(/^json:/i, '');
    const q = rest.indexOf('?');
    const path = q < 0 ? rest : rest.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
    if (path === '') throw new InvalidArgumentError('json: storage URL has no file path');
    const reader = new JsonFileStudyReader(path, parseDirections(query.get('directions')));
    await reader.studies(); // fail now, with the file's problem, rather than on first use
    return reader;
  }
  if (/^memory:?$/i.test(trimmed))
    throw new InvalidArgumentError(
      'memory: holds no studies outside the process that made them; give a sqlite:, postgres:// or .json storage',
    );
  const storage = await createStorage(trimmed, { mustExist: true });
  return new StorageStudyReader(storage, describeStorage(trimmed));
}

/** A label for a storage that shows neither a path beyond the file name nor a host, user or password. */
export function describeStorage(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase();
  if (scheme === 'sqlite') return `SQLite file ${basename(url.replace(/\?.*$/, ''))}`;
  if (scheme === 'postgres' || scheme === 'postgresql') return 'PostgreSQL database';
  if (scheme === 'json' || /\.json$/i.test(url))
    return `JSON export ${basename(url.replace(/^json:/i, '').replace(/\?.*$/, ''))}`;
  return redact(url);
}
