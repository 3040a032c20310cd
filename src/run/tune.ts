/**
 * `runTune`: runs the study a study file describes, each trial a child process (see
 * `command-trial.ts`), and returns a summary. The `parsimony tune` command is a thin layer on it.
 *
 * Resuming: the study is created with `loadIfExists`, so running the same file against the same
 * storage continues it. `trials` is the total the study should reach: a run starts only
 * `trials - (finished trials already in the study)` new ones, so an interrupted run picks up where
 * it stopped and a finished study runs nothing more (raise `--trials` to extend it). Trials left
 * RUNNING by a process that was killed outright are not counted. `timeout` is per run and, as in
 * Optuna, stops starting new trials; running ones finish (`trialTimeout` bounds each of them).
 *
 * Failures: one failing trial does not stop the study, but when the first trials of a run (3, or
 * fewer when the run has fewer) all fail with the same reason, the run stops with that reason as
 * an error: the command is broken, not the parameters. A command that cannot be started stops the
 * run at once. On an abort (SIGINT/SIGTERM in the CLI) no new trial starts, running trial
 * processes are stopped like a timed-out trial and their trials FAIL with reason "interrupted"
 * (FAIL rather than PRUNED: the sampler must not learn from a curve cut short for no reason of its
 * own); every trial is finished in storage before the storage is closed.
 */
import { basename } from 'node:path';
import type { ParamValue } from '../core/distributions.js';
import { InvalidArgumentError, ParsimonyError, StorageError, TrialPruned } from '../core/errors.js';
import type { FrozenTrial, StudyDirection, TrialState } from '../core/frozen-trial.js';
import type { Storage } from '../core/storage.js';
import type { Study } from '../core/study.js';
import { FAIL_REASON_KEY } from '../core/study-view.js';
import type { Trial } from '../core/trial.js';
import { createStorage, redact } from '../storage/factory.js';
import { createStudy } from '../study/create.js';
import { commandObjective, isDirectory, LOG_ATTR, TrialCommandError } from './command-trial.js';
import { createPruner, createSampler } from './registry.js';
import { defaultLogsDir, loadStudyConfig, resolveStorageUrl, type StudyConfig } from './study-config.js';

export interface TuneOptions {
  /** Path of the study file (YAML or JSON); or give `config`. */
  file?: string;
  config?: StudyConfig;
  /** Overrides `trials` (the total target). */
  trials?: number;
  concurrency?: number;
  /**
   * Overrides `storage`: a URL (a relative `sqlite:` path is relative to the current directory) or
   * an open Storage, which the caller keeps and closes.
   */
  storage?: string | Storage;
  /** Overrides the sampler's seed. */
  seed?: number;
  /** Aborting stops the run as described in the module comment; the reason names the cause. */
  signal?: AbortSignal;
  /** Progress events, in order. */
  onEvent?: (event: TuneEvent) => void;
  /** How many first trials failing alike stop the run (default 3). */
  failFastTrials?: number;
}

export interface TrialSummary {
  number: number;
  state: TrialState;
  values: number[] | null;
  params: Record<string, ParamValue>;
  /** Why a FAIL trial failed. */
  reason?: string;
  /** Last reported step of a PRUNED trial. */
  prunedAtStep?: number;
  log?: string;
  durationMs?: number;
}

export type TuneEvent =
  | {
      type: 'start';
      studyName: string;
      storage: string;
      logsDir: string;
      /** Absolute working directory of the trial processes. */
      workdir: string;
      /** Finished trials already in the study. */
      existing: number;
      /** New trials this run will start at most (Infinity with only a timeout). */
      toRun: number;
      concurrency: number;
    }
  | { type: 'trial-start'; number: number; params: Record<string, ParamValue>; running: number }
  | {
      type: 'trial-end';
      trial: TrialSummary;
      /** Finished trials of this run. */
      finished: number;
      toRun: number;
      running: number;
      best: TrialSummary[];
    }
  | { type: 'stopping'; reason: string; running: number }
  | {
      /** Trials RUNNING in another process (perhaps killed) when the run starts. */
      type: 'others-running';
      numbers: number[];
      /** How long after its last heartbeat a lost trial is failed and retried. */
      gracePeriodMs: number;
      /** The study's trial budget, when there is one (the run then waits for these trials). */
      trialsTarget?: number;
      message: string;
    };

export interface TuneSummary {
  studyName: string;
  /** Storage URL, password removed. */
  storage: string;
  logsDir: string;
  directions: StudyDirection[];
  /** Trials of the whole study by state. */
  counts: Record<TrialState, number>;
  /** Trials finished by this run. */
  ran: number;
  /** The best trial, or the Pareto front with several objectives; empty when none completed. */
  best: TrialSummary[];
  /** Every trial of the study. */
  trials: TrialSummary[];
  /** The abort reason when the run was interrupted. */
  interrupted?: string;
  elapsedMs: number;
}

const FAIL_FAST_TRIALS = 3;

/**
 * Where a study created by `tune` keeps its study file, for `parsimony worker --study`:
 * `{ file: <its name, no directory>, text }`.
 */
export const STUDY_FILE_KEY = 'studyFile';
const TUNE_HEARTBEAT = { intervalMs: 5000, gracePeriodMs: 30000, maxRetry: 1 };

export async function runTune(options: TuneOptions): Promise<TuneSummary> {
  const started = Date.now();
  if (!options.config && !options.file) throw new InvalidArgumentError('runTune: give `file` or `config`');
  let config = options.config ?? (await loadStudyConfig(options.file!));
  const label = config.file ?? 'study';
  const trialsTarget = options.trials ?? config.trials;
  if (options.trials !== undefined && !(Number.isInteger(options.trials) && options.trials >= 0))
    throw new InvalidArgumentError(`--trials must be an integer >= 0, got ${options.trials}`);
  const concurrency = options.concurrency ?? config.concurrency;
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new InvalidArgumentError(`--concurrency must be an integer >= 1, got ${concurrency}`);
  if (options.seed !== undefined && !Number.isInteger(options.seed))
    throw new InvalidArgumentError(`--seed must be an integer, got ${options.seed}`);
  const given = typeof options.storage === 'object' ? options.storage : null;
  const storageUrl =
    typeof options.storage === 'string' ? resolveStorageUrl(options.storage, process.cwd()) : config.storage;
  if (typeof options.storage === 'string' && !config.logsGiven)
    config = { ...config, logsDir: defaultLogsDir(storageUrl, config.baseDir, config.name) };
  const storageLabel = given ? `${given.constructor.name} (given)` : redact(storageUrl);
  if (!isDirectory(config.workdir))
    throw new InvalidArgumentError(`${label}: workdir: directory not found: ${config.workdir}`);

  const samplerSpec =
    options.seed === undefined
      ? config.sampler
      : { name: config.sampler.name, options: { ...config.sampler.options, seed: options.seed } };
  const context = { space: config.space, directions: config.directions };
  const sampler = await prefixed(`${label}: sampler`, () => createSampler(samplerSpec, context));
  const pruner = await prefixed(`${label}: pruner`, () => createPruner(config.pruner, context));

  const storage = given ?? (await openStorage(storageUrl));
  // Persistent storages may be shared by workers elsewhere: a lost worker's trial must not stay
  // RUNNING forever.
  const heartbeat = storageUrl.startsWith('memory:') && !given ? undefined : TUNE_HEARTBEAT;
  try {
    const study = await createStudy({
      studyName: config.name,
      directions: config.directions,
      sampler,
      pruner,
      storage,
      loadIfExists: true,
      heartbeat,
    });
    // `parsimony worker --study NAME` rebuilds the run from this, on any machine: the file's name
    // and text only, so its relative paths (workdir, logs) resolve where the worker runs.
    if (config.file && config.source !== undefined)
      await storage.setStudySystemAttrIfAbsent(study.studyId, STUDY_FILE_KEY, {
        file: basename(config.file),
        text: config.source,
      });
    if (study.directions.join() !== config.directions.join())
      throw new InvalidArgumentError(
        `${label}: study "${config.name}" already exists in ${storageLabel} with directions [${study.directions.join(', ')}], but the file says [${config.directions.join(', ')}]; rename the study or use another storage`,
      );
    return await optimizeStudy(study, config, {
      ...options,
      heartbeat,
      trialsTarget,
      concurrency,
      storageLabel,
      started,
    });
  } finally {
    if (!given) await storage.close();
  }
}

async function optimizeStudy(
  study: Study,
  config: StudyConfig,
  options: TuneOptions & {
    trialsTarget?: number;
    concurrency: number;
    storageLabel: string;
    started: number;
    heartbeat?: { gracePeriodMs: number };
  },
): Promise<TuneSummary> {
  const emit = options.onEvent ?? (() => {});
  const existing = (await study.getTrials({ states: ['COMPLETE', 'PRUNED', 'FAIL'] })).length;
  const toRun =
    options.trialsTarget === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(0, options.trialsTarget - existing);
  emit({
    type: 'start',
    studyName: study.studyName,
    storage: options.storageLabel,
    logsDir: config.logsDir,
    workdir: config.workdir,
    existing,
    toRun,
    concurrency: options.concurrency,
  });

  // Trials another process left RUNNING count toward the budget; when it is spent, the run waits
  // until they finish or, their process gone, miss heartbeats for the grace period. Say so.
  const others = (await study.getTrials({ states: ['RUNNING'] })).map((t) => t.number);
  if (others.length > 0 && options.heartbeat) {
    const grace = Math.round(options.heartbeat.gracePeriodMs / 1000);
    const list = others.map((n) => `#${n}`).join(', ');
    const budget =
      options.trialsTarget === undefined
        ? ''
        : ` They count toward the ${options.trialsTarget} trials: once those are used up, this run waits for them before it ends.`;
    emit({
      type: 'others-running',
      numbers: others,
      gracePeriodMs: options.heartbeat.gracePeriodMs,
      trialsTarget: options.trialsTarget,
      message: `trial${others.length === 1 ? '' : 's'} ${list} ${others.length === 1 ? 'is' : 'are'} RUNNING in another process. If that process is gone (killed), ${others.length === 1 ? 'it is' : 'each is'} marked FAIL ${grace} s after its last heartbeat and retried here.${budget}`,
    });
  }

  // One controller stops every running trial: the caller's abort, a fatal error, or fail-fast.
  const stopAll = new AbortController();
  let interrupted: string | undefined;
  let fatal: ParsimonyError | null = null;
  let running = 0;
  const stop = (reason: string) => {
    if (stopAll.signal.aborted) return;
    study.stop();
    emit({ type: 'stopping', reason, running });
    stopAll.abort(reason);
  };
  const onAbort = () => {
    interrupted = String(options.signal?.reason ?? 'interrupted');
    stop('interrupted');
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const runCommand = commandObjective({
    command: config.command,
    space: config.space,
    cwd: config.workdir,
    env: config.env,
    logsDir: config.logsDir,
    studyName: study.studyName,
    timeoutMs: config.trialTimeoutMs,
    killGraceMs: config.killGraceMs,
    objectives: config.directions.length,
    signal: stopAll.signal,
  });
  const objective = async (trial: Trial) => {
    running++;
    try {
      const result = runCommand(trial);
      emit({ type: 'trial-start', number: trial.number, params: { ...trial.params }, running });
      return await result;
    } catch (error) {
      if (!(error instanceof TrialCommandError || error instanceof TrialPruned)) {
        // The command cannot run at all, or a bug: stop the others rather than wait for them.
        fatal ??=
          error instanceof ParsimonyError
            ? error
            : new InvalidArgumentError(`trial ${trial.number}: ${(error as Error).message}`, {
                cause: error,
              });
        stop(`stopped: trial ${trial.number} failed: ${fatal.message}`);
      }
      throw error;
    } finally {
      running--;
    }
  };

  const failFast = Math.min(options.failFastTrials ?? FAIL_FAST_TRIALS, toRun);
  const firstFinished: TrialSummary[] = [];
  let finished = 0;
  const callback = (s: Study, frozen: FrozenTrial) => {
    finished++;
    const summary = summarizeTrial(frozen);
    if (firstFinished.length < failFast && !stopAll.signal.aborted) {
      firstFinished.push(summary);
      if (
        firstFinished.length === failFast &&
        firstFinished.every((t) => t.state === 'FAIL' && t.reason === firstFinished[0].reason)
      ) {
        const first = firstFinished[0];
        fatal ??= new InvalidArgumentError(
          `${failFast === 1 ? 'the first trial' : `the first ${failFast} trials all`} failed: ${first.reason}${first.log ? ` (log: ${first.log})` : ''}`,
        );
        stop(`stopped: ${fatal.message}`);
      }
    }
    emit({ type: 'trial-end', trial: summary, finished, toRun, running, best: bestOf(s) });
  };

  try {
    // optimize() clears an earlier stop(), so an abort that came first must skip it.
    if (toRun > 0 && !stopAll.signal.aborted) {
      await study.optimize(objective, {
        nTrials: Number.isFinite(toRun) ? toRun : undefined,
        // The target counts every worker's trials: the storage stops all of them at exactly N.
        maxTotalTrials: options.trialsTarget,
        timeoutMs: config.timeoutMs,
        concurrency: options.concurrency,
        catch: [TrialCommandError],
        callbacks: [callback],
      });
    }
  } catch (error) {
    // The objective already recorded the first fatal error; later ones are its consequences.
    if (!fatal) throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (fatal && !interrupted) throw fatal;

  const trials = (await study.getTrials()).map(summarizeTrial);
  const counts: Record<TrialState, number> = { RUNNING: 0, COMPLETE: 0, PRUNED: 0, FAIL: 0, WAITING: 0 };
  for (const t of trials) counts[t.state]++;
  return {
    studyName: study.studyName,
    storage: options.storageLabel,
    logsDir: config.logsDir,
    directions: [...study.directions],
    counts,
    ran: finished,
    best: bestOf(study),
    trials,
    interrupted,
    elapsedMs: Date.now() - options.started,
  };
}

function bestOf(study: Study): TrialSummary[] {
  if (study.directions.length > 1) return study.bestTrials.map(summarizeTrial);
  try {
    return [summarizeTrial(study.bestTrial)];
  } catch (error) {
    if (error instanceof ParsimonyError && error.code === 'TRIAL_NOT_FOUND') return [];
    throw error;
  }
}

export function summarizeTrial(t: FrozenTrial): TrialSummary {
  const summary: TrialSummary = {
    number: t.number,
    state: t.state,
    values: t.values ? [...t.values] : null,
    params: { ...t.params },
  };
  if (t.state === 'FAIL') {
    const reason = t.systemAttrs[FAIL_REASON_KEY];
    if (typeof reason === 'string')
      summary.reason = reason.replace(/^(TrialCommandError|CommandNotFoundError): /, '');
  }
  if (t.state === 'PRUNED') {
    const steps = Object.keys(t.intermediateValues).map(Number);
    if (steps.length > 0) summary.prunedAtStep = Math.max(...steps);
  }
  const log = t.userAttrs[LOG_ATTR];
  if (typeof log === 'string') summary.log = log;
  if (t.datetimeStart && t.datetimeComplete)
    summary.durationMs = t.datetimeComplete.getTime() - t.datetimeStart.getTime();
  return summary;
}

/** Opens a storage; any failure becomes one line naming the URL (without its password). */
async function openStorage(url: string): Promise<Storage> {
  try {
    return await createStorage(url);
  } catch (error) {
    if (error instanceof ParsimonyError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StorageError(`cannot open storage ${redact(url)}: ${firstLine(message)}`, {
      cause: error,
    });
  }
}

async function prefixed<T>(prefix: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (error instanceof InvalidArgumentError)
      throw new InvalidArgumentError(`${prefix}: ${error.message}`, { cause: error });
    throw error;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
