/**
 * Entry of a PBT member thread: it receives the data and the network spec once (workerData),
 * then trains one member's round per message and posts back the weights, optimizer state and
 * validation accuracy. Rounds are self-contained (values, seeds, weights, state), so which thread
 * trains which round does not change the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendName, initBackend } from '../models/backends/index.js';
import { type PbtRoundSetup, trainPbtRound } from './pbt-round.js';
import type { PbtThreadData, PbtThreadReply, PbtThreadTask } from './pbt-threads.js';

const data = workerData as PbtThreadData;
const port = parentPort!;

async function main(): Promise<void> {
  try {
    await initBackend({ backend: data.backend as BackendName });
  } catch (error) {
    port.postMessage({ type: 'load-error', message: (error as Error).message });
    return;
  }
  const setup: PbtRoundSetup = {
    train: data.train,
    validation: data.validation,
    spec: data.spec,
    epochsPerRound: data.epochsPerRound,
  };
  port.on('message', async (task: PbtThreadTask) => {
    try {
      const out = await trainPbtRound(setup, task.input);
      const reply: PbtThreadReply = { type: 'done', id: task.id, output: out };
      const transfer = [...out.weights, ...(out.optimizerState?.slots ?? [])].map(
        (a) => a.buffer as ArrayBuffer,
      );
      port.postMessage(reply, transfer);
    } catch (error) {
      const e = error as Error & { code?: string };
      const reply: PbtThreadReply = {
        type: 'error',
        id: task.id,
        name: e?.name ?? 'Error',
        message: e?.message ?? String(error),
        ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      };
      port.postMessage(reply);
    }
  });
  port.postMessage({ type: 'ready' });
}

void main();
