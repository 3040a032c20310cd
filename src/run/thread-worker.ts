/** Entry point of an objective worker thread; see thread-protocol.ts. */
import { parentPort, workerData } from 'node:worker_threads';
import { errorFromRecord, InvalidArgumentError, ParsimonyError, TrialPruned } from '../core/errors.js';
import {
  ANSWER_OFFSET,
  type CallAnswer,
  type FromWorker,
  type ToWorker,
  type TrialMethod,
  type WorkerData,
} from './thread-protocol.js';

const data = workerData as WorkerData;
const port = parentPort!;
const flags = new Int32Array(data.shared, 0, 2);
const bytes = new Uint8Array(data.shared, ANSWER_OFFSET);
const decoder = new TextDecoder();

function send(message: FromWorker): void {
  port.postMessage(message);
}

let seq = 0;

function call(method: TrialMethod, args: unknown[]): unknown {
  seq = (seq % 0x7fffffff) + 1; // never 0, which means "nothing answered"
  send({ type: 'call', method, args, seq });
  // Wait for this call's answer, not just any wake-up: the main thread stores an answer and then
  // notifies, and if it is descheduled between the two, its notify for the previous call can land
  // on this wait (seen under CPU contention: call k returned call k-1's answer).
  for (let seen = Atomics.load(flags, 0); seen !== seq; seen = Atomics.load(flags, 0))
    Atomics.wait(flags, 0, seen);
  const answer = JSON.parse(decoder.decode(bytes.slice(0, flags[1]))) as CallAnswer;
  if (!answer.ok) throw errorFromRecord(answer);
  return answer.value;
}

/** What the objective sees in the worker: the Trial methods an objective uses. */
class RemoteTrial {
  readonly number: number;
  readonly params: Record<string, unknown>;
  constructor(number: number) {
    this.number = number;
    this.params = {};
  }
  suggestFloat(name: string, low: number, high: number, options?: object): number {
    return this.remember(name, call('suggestFloat', [name, low, high, options ?? {}])) as number;
  }
  suggestInt(name: string, low: number, high: number, options?: object): number {
    return this.remember(name, call('suggestInt', [name, low, high, options ?? {}])) as number;
  }
  suggestCategorical<T>(name: string, choices: readonly T[]): T {
    return this.remember(name, call('suggestCategorical', [name, choices])) as T;
  }
  report(value: number | number[], step: number): void {
    call('report', [value, step]);
  }
  shouldPrune(): boolean {
    return call('shouldPrune', []) as boolean;
  }
  setUserAttr(key: string, value: unknown): void {
    call('setUserAttr', [key, value]);
  }
  private remember(name: string, value: unknown): unknown {
    this.params[name] = value;
    return value;
  }
}

type ObjectiveFn = (trial: RemoteTrial, context: unknown) => unknown;

async function main(): Promise<void> {
  let objective: ObjectiveFn;
  try {
    const module = (await import(data.moduleUrl)) as Record<string, unknown>;
    const candidate =
      module[data.exportName] ?? (data.exportName === 'objective' ? module.default : undefined);
    if (typeof candidate !== 'function')
      throw new InvalidArgumentError(`${data.moduleUrl} has no function export "${data.exportName}"`);
    objective = candidate as ObjectiveFn;
  } catch (error) {
    send({ type: 'load-error', message: (error as Error).message });
    return;
  }
  port.on('message', async (message: ToWorker) => {
    if (message.type !== 'run') return;
    try {
      const value = await objective(new RemoteTrial(message.trialNumber), data.context);
      send({ type: 'done', value: value as number | number[] });
    } catch (error) {
      const e = error as Error;
      const pruned = error instanceof TrialPruned || e?.name === 'TrialPruned';
      send({
        type: 'error',
        name: e?.name ?? 'Error',
        message: e?.message ?? String(error),
        code: error instanceof ParsimonyError ? error.code : undefined,
        stack: e?.stack,
        pruned,
      });
    }
  });
  send({ type: 'ready' });
}

void main();
