/**
 * A data-parallel replica (see data-parallel.ts): rebuilds the model from its topology, then for
 * every step loads the weights the trainer wrote, computes the gradients of its shard of the batch
 * and writes them into shared memory. It blocks on Atomics.wait between steps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as TfCore from '@tensorflow/tfjs-core';
import { ParsimonyError } from '../core/errors.js';
import { initBackend } from '../models/backends/index.js';
import { customLayers } from '../models/tfjs/custom-layers.js';
import { fuseModelTrainingCalls } from '../models/tfjs/fused-layers.js';
import {
  CONTROL,
  copyValuesInto,
  movingFloats,
  movingStatistics,
  type ReplicaData,
  type ReplicaMessage,
  readMovingStatistics,
  shardRange,
  sharedLayout,
  writeMovingStatistics,
} from './data-parallel.js';
import { type LossSettings, partialGradients, penalisedKernels } from './gradient-step.js';

const data = workerData as ReplicaData;
const port = parentPort as NonNullable<typeof parentPort>;
const send = (message: ReplicaMessage) => port.postMessage(message);

interface DropoutLike {
  seed?: number;
}

async function main(): Promise<void> {
  await initBackend({ backend: data.backend === 'tensorflow' ? 'node' : (data.backend as 'wasm' | 'cpu') });
  const tf = await import('@tensorflow/tfjs-core');
  const tfl = await import('@tensorflow/tfjs-layers');
  customLayers(tf, tfl);
  const model = await tfl.models.modelFromJSON({ modelTopology: data.modelTopology as never });
  fuseModelTrainingCalls(tf, model);
  const variables = model.trainableWeights.map((w) => w.read() as TfCore.Variable);
  const sizes = data.shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const params = sizes.reduce((a, b) => a + b, 0);
  const sampleSize = data.sampleShape.reduce((a, b) => a * b, 1);
  const moving = movingStatistics(model);
  const layout = sharedLayout(params, data.batchSize, sampleSize, data.threads, movingFloats(moving));
  const control = new Int32Array(data.shared, 0, CONTROL.slots);
  const weights = new Float32Array(data.shared, layout.weights, params);
  const batchX = new Float32Array(data.shared, layout.batchX, data.batchSize * sampleSize);
  const batchY = new Int32Array(data.shared, layout.batchY, data.batchSize);
  const partnerY = new Int32Array(data.shared, layout.partnerY, data.batchSize);
  const controlFloats = new Float32Array(data.shared, 0, CONTROL.slots);
  const grads = new Float32Array(data.shared, layout.grads + (data.rank - 1) * params * 4, params);
  const stats = new Float32Array(data.shared, layout.stats, 2 * data.threads);
  const movingIn = new Float32Array(data.shared, layout.moving, layout.movingFloats);
  const movingOut = new Float32Array(
    data.shared,
    layout.movingOut + (data.rank - 1) * layout.movingFloats * 4,
    layout.movingFloats,
  );
  const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as DropoutLike[];
  const settings: LossSettings = {
    numClasses: data.numClasses,
    outputProbabilities: data.outputProbabilities,
    outputWeights: data.outputWeights,
    labelSmoothing: data.labelSmoothing,
    crossEntropyWeight: data.crossEntropyWeight,
    penalised: penalisedKernels(model, data.regularization),
  };
  // Read before saying ready: the first step may start as soon as the trainer hears it.
  let generation = Atomics.load(control, CONTROL.generation);
  send({ type: 'ready' });
  for (;;) {
    Atomics.wait(control, CONTROL.generation, generation);
    generation = Atomics.load(control, CONTROL.generation);
    if (Atomics.load(control, CONTROL.stop) === 1) break;
    try {
      const count = Atomics.load(control, CONTROL.count);
      let offset = 0;
      variables.forEach((v, i) => {
        // tf.tensor copies the values onto the backend: a view of the shared memory is enough.
        tf.tidy(() => v.assign(tf.tensor(weights.subarray(offset, offset + sizes[i]), data.shapes[i])));
        offset += sizes[i];
      });
      // Every rank's moving statistics start the step from rank 0's.
      readMovingStatistics(tf, moving, movingIn);
      // Another mask than rank 0's, as each shard is its own part of the batch.
      const seed = Atomics.load(control, CONTROL.dropoutSeed);
      dropouts.forEach((d, i) => {
        d.seed = (seed + 7919 * data.rank + 104_729 * i) % 2_147_483_647;
      });
      const { from, to } = shardRange(count, data.rank, data.threads);
      const step = Atomics.load(control, CONTROL.step);
      tf.tidy(() => {
        if (to <= from) {
          grads.fill(0);
          stats[2 * data.rank] = 0;
          stats[2 * data.rank + 1] = 0;
          return;
        }
        const part = partialGradients(
          tf,
          model,
          variables,
          {
            x: batchX,
            labels: batchY,
            shape: data.sampleShape,
            mix:
              Atomics.load(control, CONTROL.mixed) === 1
                ? { partners: partnerY, lambda: controlFloats[CONTROL.mixLambda] }
                : undefined,
          },
          { from, to, batchTotal: count, microBatch: data.microBatch },
          settings,
          step,
        );
        let offset = 0;
        variables.forEach((v, i) => {
          const g = part.grads[v.name];
          if (g) copyValuesInto(tf, g, grads, offset);
          else grads.fill(0, offset, offset + sizes[i]);
          offset += sizes[i];
        });
        stats[2 * data.rank] = part.loss.dataSync()[0] * count;
        stats[2 * data.rank + 1] = part.correct.dataSync()[0];
        tf.dispose([part.loss, part.correct]);
      });
      writeMovingStatistics(tf, moving, movingOut);
    } catch (error) {
      const e = error as Error;
      send({
        type: 'error',
        name: e?.name ?? 'Error',
        message: `data-parallel worker ${data.rank}: ${e?.message ?? String(error)}`,
        code: error instanceof ParsimonyError ? error.code : undefined,
      });
      Atomics.store(control, CONTROL.failed, data.rank);
    }
    Atomics.add(control, CONTROL.done, 1);
    Atomics.notify(control, CONTROL.done);
  }
  model.dispose();
}

main().catch((error: Error) => {
  send({ type: 'load-error', message: error?.message ?? String(error) });
});
