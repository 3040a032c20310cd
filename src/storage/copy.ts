/** Copies a study, with every trial as it is, from one storage to another (or within one). */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, TrialTemplate } from '../core/frozen-trial.js';
import type { Storage } from '../core/storage.js';
import { createStorage, sqlitePath } from './factory.js';

export interface CopyStudyOptions {
  /** Source storage, or its URL (opened and closed here). */
  from: Storage | string;
  /** Destination storage, or its URL (opened, created if needed, and closed here). */
  to: Storage | string;
  studyName: string;
  /** Name in the destination; defaults to `studyName`. */
  toStudyName?: string;
}

export interface CopyStudyResult {
  studyName: string;
  /** Id of the new study in the destination storage. */
  studyId: number;
  nTrials: number;
}

/** Storages that can insert many trials in one transaction (SQLite, PostgreSQL). */
interface BatchStorage extends Storage {
  createTrials(studyId: number, templates: readonly TrialTemplate[]): Promise<FrozenTrial[]>;
}

const BATCH = 500;

/**
 * Copies the study's directions, attributes and every trial (state, params and distributions,
 * values, attributes, intermediate values, start and completion times; numbers are kept, as they
 * are dense). Heartbeats are not copied. Fails with DUPLICATED_STUDY when the destination already
 * has the name; a copy that fails halfway is removed.
 */
export async function copyStudy(options: CopyStudyOptions): Promise<CopyStudyResult> {
  if (typeof options.studyName !== 'string' || options.studyName === '')
    throw new InvalidArgumentError('copyStudy: `studyName` must be a non-empty string');
  const toName = options.toStudyName ?? options.studyName;
  const from =
    typeof options.from === 'string' ? await createStorage(options.from, { mustExist: true }) : options.from;
  let to: Storage | undefined;
  // A SQLite file this copy creates is removed again when the copy fails: no empty file is left.
  const createdFile = typeof options.to === 'string' ? newSqliteFile(options.to) : null;
  let copied = false;
  try {
    to = typeof options.to === 'string' ? await createStorage(options.to) : options.to;
    const sourceId = await from.getStudyIdFromName(options.studyName);
    const directions = await from.getStudyDirections(sourceId);
    const userAttrs = await from.getStudyUserAttrs(sourceId);
    const systemAttrs = await from.getStudySystemAttrs(sourceId);
    const trials = await from.getAllTrials(sourceId);

    const studyId = await to.createStudy(directions, toName);
    try {
      for (const [key, value] of Object.entries(userAttrs)) await to.setStudyUserAttr(studyId, key, value);
      for (const [key, value] of Object.entries(systemAttrs))
        await to.setStudySystemAttr(studyId, key, value);
      const templates = trials.map(toTemplate);
      if (isBatchStorage(to)) {
        for (let i = 0; i < templates.length; i += BATCH)
          await to.createTrials(studyId, templates.slice(i, i + BATCH));
      } else {
        for (const template of templates) await to.createTrial(studyId, template);
      }
    } catch (error) {
      await to.deleteStudy(studyId).catch(() => {});
      throw error;
    }
    copied = true;
    return { studyName: toName, studyId, nTrials: trials.length };
  } finally {
    if (typeof options.from === 'string') await from.close();
    if (typeof options.to === 'string' && to) await to.close();
    if (createdFile && !copied)
      for (const suffix of ['', '-wal', '-shm', '-journal'])
        rmSync(`${createdFile}${suffix}`, { force: true });
  }
}

/** The absolute path of a `sqlite:` URL's file when it does not exist yet; otherwise null. */
function newSqliteFile(url: string): string | null {
  if (!/^sqlite:/i.test(url.trim())) return null;
  const path = sqlitePath(url);
  if (path === ':memory:') return null;
  const absolute = resolve(path);
  return existsSync(absolute) ? null : absolute;
}

/** Everything a storage needs to recreate a trial. */
export function toTemplate(trial: FrozenTrial): TrialTemplate {
  return {
    state: trial.state,
    values: trial.values ? [...trial.values] : null,
    params: { ...trial.params },
    distributions: { ...trial.distributions },
    userAttrs: structuredClone(trial.userAttrs),
    systemAttrs: structuredClone(trial.systemAttrs),
    intermediateValues: structuredClone(trial.intermediateValues),
    datetimeStart: trial.datetimeStart,
    datetimeComplete: trial.datetimeComplete,
  };
}

function isBatchStorage(storage: Storage): storage is BatchStorage {
  return typeof (storage as Partial<BatchStorage>).createTrials === 'function';
}
