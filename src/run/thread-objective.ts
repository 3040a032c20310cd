/**
 * Runs a CPU-bound objective in worker threads, one trial per thread, so `concurrency: N` really
 * uses N cores. The objective lives in its own module (functions cannot cross threads); it gets a
 * trial whose suggest/report/shouldPrune calls are answered synchronously by the study's real
 * Trial in the main thread, so samplers, pruners and storage stay in one place.
 *
 *   const objective = threadObjective(new URL('./objective.js', import.meta.url), { threads: 2 });
 *   try { await study.optimize(objective, { nTrials: 100, concurrency: 2 }); } finally { await objective.close(); }
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { errorFromRecord, InvalidArgumentError, ParsimonyError, TrialPruned } from '../core/errors.js';
import { siblingEntry, startThread } from '../core/module-worker.js';
import type { ObjectiveResult } from '../core/study.js';
import type { Trial } from '../core/trial.js';
import {
  ANSWER_OFFSET,
  type CallAnswer,
  type FromWorker,
  SHARED_BYTES,
  type ToWorker,
  type WorkerData,
} from './thread-protocol.js';

export interface ThreadObjectiveOptions {
  /** Worker threads in the pool (default: one per core). */
  threads?: number;
  /** Name of the objective export (default `objective`, falling back to `default`). */
  exportName?: string;
  /**
   * A structured-clonable value handed to the objective as its second argument in every thread
   * (settings such as the dataset or epoch count, which cannot travel through the trial).
   */
  context?: unknown;
}

export interface ThreadObjective {
  (trial: Trial): Promise<ObjectiveResult>;
  /** Terminates the worker threads. */
  close(): Promise<void>;
}

interface PoolWorker {
  worker: Worker;
  shared: SharedArrayBuffer;
  ready: Promise<void>;
  busy: boolean;
}

export function threadObjective(module: URL | string, options: ThreadObjectiveOptions = {}): ThreadObjective {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1)
    throw new InvalidArgumentError(`threads must be a positive integer, got ${threads}`);
  const moduleUrl =
    typeof module === 'string' ? new URL(module, `file://${process.cwd()}/`).href : module.href;
  const exportName = options.exportName ?? 'objective';
  const pool: PoolWorker[] = [];
  const waiters: ((w: PoolWorker) => void)[] = [];
  let closed = false;

  const spawn = (): PoolWorker => {
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    const data: WorkerData = { moduleUrl, exportName, shared, context: options.context };
    const worker = startWorker(moduleUrl, data);
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'load-error')
          reject(new InvalidArgumentError(`cannot load objective: ${m.message}`));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      // Closed (terminated) while still loading: the trial waiting for it must end, not hang.
      worker.once('exit', (code) =>
        reject(new ThreadStopped(`worker thread stopped (exit code ${code}) before it was ready`)),
      );
    });
    ready.catch(() => {});
    return { worker, shared, ready, busy: false };
  };

  const acquire = (): Promise<PoolWorker> => {
    const free = pool.find((w) => !w.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (pool.length < threads) {
      const w = spawn();
      w.busy = true;
      pool.push(w);
      return Promise.resolve(w);
    }
    return new Promise((resolve) => waiters.push(resolve));
  };

  const release = (w: PoolWorker) => {
    const next = waiters.shift();
    if (next) next(w);
    else w.busy = false;
  };

  const run = async (trial: Trial): Promise<ObjectiveResult> => {
    if (closed) throw new InvalidArgumentError('thread objective is closed');
    const w = await acquire();
    try {
      await w.ready;
      return await runOn(w, trial);
    } finally {
      release(w);
    }
  };

  const objective = run as ThreadObjective;
  objective.close = async () => {
    closed = true;
    await Promise.all(pool.map((w) => w.worker.terminate()));
    pool.length = 0;
  };
  return objective;
}

/** Stored as the FAIL reason of trials stopped by an abort: "TrialInterrupted: interrupted". */
export class TrialInterrupted extends Error {
  override name = 'TrialInterrupted';
  constructor() {
    super('interrupted');
  }
}

/**
 * A thread pool objective that `signal` stops: on abort the study takes no more trials and the
 * pool closes under the running ones, which end as FAIL `TrialInterrupted` (give that class to
 * `optimize`'s `catch`). `dispose()` detaches from the signal and closes the pool.
 */
export function interruptibleThreadObjective(
  module: URL | string,
  options: ThreadObjectiveOptions,
  stop: { study: { stop(): void }; signal?: AbortSignal },
): { objective: (trial: Trial) => Promise<ObjectiveResult>; dispose(): Promise<void> } {
  const pool = threadObjective(module, options);
  const { study, signal } = stop;
  const objective = async (trial: Trial) => {
    try {
      return await pool(trial);
    } catch (error) {
      if (signal?.aborted) throw new TrialInterrupted();
      throw error;
    }
  };
  const onAbort = () => {
    study.stop();
    void pool.close();
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    objective,
    dispose: async () => {
      signal?.removeEventListener('abort', onAbort);
      await pool.close();
    },
  };
}

/** The thread running a trial ended before the trial did (the pool was closed). */
export class ThreadStopped extends Error {
  override name = 'ThreadStopped';
}

function runOn(w: PoolWorker, trial: Trial): Promise<ObjectiveResult> {
  const flags = new Int32Array(w.shared, 0, 2);
  const bytes = new Uint8Array(w.shared, ANSWER_OFFSET);
  const encoder = new TextEncoder();
  return new Promise((resolve, reject) => {
    const answer = (seq: number, a: CallAnswer) => {
      const encoded = encoder.encode(JSON.stringify(a));
      if (encoded.length > bytes.length) {
        answer(seq, { ok: false, name: 'RangeError', message: 'answer too large for the shared buffer' });
        return;
      }
      bytes.set(encoded);
      Atomics.store(flags, 1, encoded.length);
      Atomics.store(flags, 0, seq);
      Atomics.notify(flags, 0);
    };
    const onMessage = (m: FromWorker) => {
      switch (m.type) {
        case 'call': {
          try {
            const method = trial[m.method] as (...args: unknown[]) => unknown;
            const value = method.apply(trial, m.args);
            answer(m.seq, { ok: true, value: value === undefined ? null : value });
          } catch (error) {
            answer(m.seq, {
              ok: false,
              name: (error as Error).name,
              message: (error as Error).message,
              code: error instanceof ParsimonyError ? error.code : undefined,
            });
          }
          return;
        }
        case 'done':
          cleanup();
          resolve(m.value);
          return;
        case 'error': {
          cleanup();
          if (m.pruned) reject(new TrialPruned(m.message));
          else {
            const error = errorFromRecord(m);
            if (m.stack) error.stack = m.stack;
            reject(error);
          }
          return;
        }
        default:
          return;
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    // close() terminates a thread in the middle of a trial (an interrupted search): its trial ends.
    const onExit = (code: number) => {
      cleanup();
      reject(new ThreadStopped(`worker thread stopped (exit code ${code}) during trial ${trial.number}`));
    };
    const cleanup = () => {
      w.worker.off('message', onMessage);
      w.worker.off('error', onError);
      w.worker.off('exit', onExit);
    };
    w.worker.on('message', onMessage);
    w.worker.once('error', onError);
    w.worker.once('exit', onExit);
    const message: ToWorker = { type: 'run', trialNumber: trial.number, params: { ...trial.params } };
    w.worker.postMessage(message);
  });
}

/** Starts a worker on the entry next to this file (see core/module-worker.ts for the TypeScript case). */
function startWorker(moduleUrl: string, data: WorkerData) {
  return startThread(siblingEntry(import.meta.url, 'thread-worker'), data, moduleUrl);
}
