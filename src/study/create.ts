/**
 * Creating and loading studies: where the defaults are chosen, above the study itself, so the core
 * depends only on the sampler, pruner and storage contracts. The default sampler is TPE (as in
 * Optuna and in study files), the default pruner never prunes and the default storage is memory.
 */
import { InvalidArgumentError, ParsimonyError } from '../core/errors.js';
import type { StudyDirection } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { Sampler } from '../core/sampler.js';
import { type ConstraintsFunction, type HeartbeatOptions, Study } from '../core/study.js';
import { NopPruner } from '../pruners/nop.js';
import { TPESampler } from '../samplers/tpe/tpe-sampler.js';
import { resolveStorage, type StorageInput } from '../storage/factory.js';

export interface CreateStudyOptions {
  studyName?: string;
  direction?: StudyDirection;
  directions?: readonly StudyDirection[];
  /** Default: `new TPESampler()` (unseeded; pass `new TPESampler({ seed })` to reproduce a run). */
  sampler?: Sampler;
  /** Default: never prune. */
  pruner?: Pruner;
  /** A storage object or URL (`memory:`); defaults to a new in-memory storage. */
  storage?: StorageInput;
  /** Load the study when one with `studyName` exists instead of failing. */
  loadIfExists?: boolean;
  /** Constraint values of a finished trial; it is feasible when all are <= 0. */
  constraints?: ConstraintsFunction;
  /** Heartbeats and retries for trials whose worker disappears (see `HeartbeatOptions`). */
  heartbeat?: HeartbeatOptions;
}

export interface LoadStudyOptions {
  studyName: string;
  storage: StorageInput;
  /** Default: `new TPESampler()`. */
  sampler?: Sampler;
  pruner?: Pruner;
  constraints?: ConstraintsFunction;
  heartbeat?: HeartbeatOptions;
}

export async function createStudy(options: CreateStudyOptions = {}): Promise<Study> {
  const directions = resolveDirections(options);
  const storage = await resolveStorage(options.storage);
  let studyId: number;
  try {
    studyId = await storage.createStudy(directions, options.studyName);
  } catch (error) {
    if (
      options.loadIfExists &&
      options.studyName !== undefined &&
      error instanceof ParsimonyError &&
      error.code === 'DUPLICATED_STUDY'
    ) {
      return loadStudy({ ...options, studyName: options.studyName, storage });
    }
    throw error;
  }
  const name = await storage.getStudyName(studyId);
  return new Study(storage, studyId, name, directions, withDefaults(options));
}

export async function loadStudy(options: LoadStudyOptions): Promise<Study> {
  const storage = await resolveStorage(options.storage);
  const studyId = await storage.getStudyIdFromName(options.studyName);
  const directions = await storage.getStudyDirections(studyId);
  const study = new Study(storage, studyId, options.studyName, directions, withDefaults(options));
  await study.refresh();
  return study;
}

function withDefaults(options: Omit<LoadStudyOptions, 'studyName' | 'storage'>) {
  return {
    sampler: options.sampler ?? new TPESampler(),
    pruner: options.pruner ?? new NopPruner(),
    constraints: options.constraints,
    heartbeat: options.heartbeat,
  };
}

function resolveDirections(options: CreateStudyOptions): StudyDirection[] {
  if (options.direction !== undefined && options.directions !== undefined)
    throw new InvalidArgumentError('give either `direction` or `directions`, not both');
  const directions = options.directions ?? [options.direction ?? 'minimize'];
  if (directions.length === 0) throw new InvalidArgumentError('`directions` must not be empty');
  for (const d of directions)
    if (d !== 'minimize' && d !== 'maximize')
      throw new InvalidArgumentError(`direction must be "minimize" or "maximize", got ${JSON.stringify(d)}`);
  return [...directions];
}
