/**
 * Messages between the study (main thread) and objective worker threads. A worker's trial calls
 * (`suggestFloat`, `report`, `shouldPrune`, ...) are synchronous, as objectives expect, so the
 * worker posts a request and blocks on `Atomics.wait` until the main thread has run the call on
 * the real Trial and written the JSON answer into a shared buffer.
 */

export type TrialMethod =
  | 'suggestFloat'
  | 'suggestInt'
  | 'suggestCategorical'
  | 'report'
  | 'shouldPrune'
  | 'setUserAttr';

export interface WorkerData {
  moduleUrl: string;
  exportName: string;
  /**
   * Int32 slots: [0] the sequence number of the call last answered (0: none yet), [1] answer length
   * in bytes; then the answer.
   */
  shared: SharedArrayBuffer;
  /** ThreadObjectiveOptions.context, passed to the objective as its second argument. */
  context?: unknown;
}

export type ToWorker = { type: 'run'; trialNumber: number; params: Record<string, unknown> };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'call'; method: TrialMethod; args: unknown[]; seq: number }
  | { type: 'done'; value: number | number[] }
  | { type: 'error'; name: string; message: string; code?: string; stack?: string; pruned: boolean }
  | { type: 'load-error'; message: string };

export type CallAnswer =
  | { ok: true; value: unknown }
  | { ok: false; name: string; message: string; code?: string };

export const ANSWER_OFFSET = 8;
export const SHARED_BYTES = 1 << 20;
