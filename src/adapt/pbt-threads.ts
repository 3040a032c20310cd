/**
 * A pool of PBT member threads (pbt-worker.ts). `run(inputs)` trains one round of several members
 * at once, at most one per thread, and returns the outputs in the order of the inputs.
 */
import type { Worker } from 'node:worker_threads';
import { errorFromRecord, InvalidArgumentError } from '../core/errors.js';
import { siblingEntry, startThread } from '../core/module-worker.js';
import type { ModelSpec } from '../models/spec/types.js';
import type { TrainingData } from '../train/trainer.js';
import type { PbtRoundInput, PbtRoundOutput } from './pbt-round.js';

export interface PbtThreadData {
  backend: string;
  train: TrainingData;
  validation: TrainingData;
  spec: ModelSpec;
  epochsPerRound: number;
}

export interface PbtThreadTask {
  id: number;
  input: PbtRoundInput;
}

export type PbtThreadReply =
  | { type: 'ready' }
  | { type: 'load-error'; message: string }
  | { type: 'done'; id: number; output: PbtRoundOutput }
  | { type: 'error'; id: number; name: string; message: string; code?: string };

export interface PbtThreadPool {
  run(inputs: readonly PbtRoundInput[]): Promise<PbtRoundOutput[]>;
  close(): Promise<void>;
}

export function pbtThreadPool(threads: number, data: PbtThreadData): PbtThreadPool {
  if (!(Number.isInteger(threads) && threads >= 1))
    throw new InvalidArgumentError(`pbt: threads must be a positive integer, got ${threads}`);
  const workers: { worker: Worker; ready: Promise<void> }[] = [];
  for (let i = 0; i < threads; i++) {
    const worker = startThread(siblingEntry(import.meta.url, 'pbt-worker'), data);
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: PbtThreadReply) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'load-error') reject(new InvalidArgumentError(`pbt thread: ${m.message}`));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    ready.catch(() => {});
    workers.push({ worker, ready });
  }
  let nextId = 0;
  const runOne = (worker: Worker, input: PbtRoundInput): Promise<PbtRoundOutput> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const onMessage = (m: PbtThreadReply) => {
        if ((m.type !== 'done' && m.type !== 'error') || m.id !== id) return;
        cleanup();
        if (m.type === 'done') resolve(m.output);
        else reject(errorFromRecord(m));
      };
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const onExit = (code: number) => {
        cleanup();
        // not a user error: the pool was closed or the thread crashed while it trained a member
        reject(new Error(`pbt thread stopped (exit code ${code}) during a round`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      const task: PbtThreadTask = { id, input };
      worker.postMessage(task);
    });
  return {
    async run(inputs) {
      const outputs = new Array<PbtRoundOutput>(inputs.length);
      let next = 0;
      // Each thread takes the next input when it is free; outputs keep the inputs' order.
      await Promise.all(
        workers.map(async ({ worker, ready }) => {
          await ready;
          while (next < inputs.length) {
            const at = next++;
            outputs[at] = await runOne(worker, inputs[at]);
          }
        }),
      );
      return outputs;
    },
    async close() {
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
      workers.length = 0;
    },
  };
}
