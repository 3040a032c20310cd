/**
 * Synchronous data-parallel training: one model trained on several cores. The trainer's thread is
 * rank 0; `threads - 1` worker threads each hold a replica of the model (rebuilt from its topology).
 * Every step the trainer writes the batch and the current weights into shared memory and wakes the
 * workers; each rank computes the gradients of its contiguous shard of the batch (scaled by its share,
 * see gradient-step.ts) while the trainer computes rank 0's; the workers write theirs into shared
 * memory and count themselves done with Atomics. The trainer adds the shards' gradients in rank order
 * and takes the one optimizer step (with the hooks: masks, straight-through estimators), whose
 * weights go out with the next batch. So the result is the single-thread one up to the order of
 * float additions, except with batch norm: in training each rank normalises its shard by the shard's
 * own mean and variance (as PyTorch's DDP without SyncBatchNorm), so the gradients, and the weights,
 * differ slightly from one thread's. The moving mean and variance that inference uses are kept
 * equal to one thread's: every rank starts a step from rank 0's, and after it rank 0 combines the
 * ranks' updates into the update the whole batch would have made (see combineMovingStatistics).
 */
import type { Worker } from 'node:worker_threads';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { errorFromRecord } from '../core/errors.js';
import { siblingEntry, startThread } from '../core/module-worker.js';
import type { BatchArrays } from './gradient-step.js';
import type { RegularizationConfig } from './trainer.js';

/** Int32 slots at the start of the shared buffer. */
export const CONTROL = {
  /** Incremented by the trainer to start a step. */
  generation: 0,
  /** Workers that finished the step. */
  done: 1,
  /** 1: workers leave their loop. */
  stop: 2,
  /** Samples in this batch. */
  count: 3,
  /** Seed for this step's dropout masks. */
  dropoutSeed: 4,
  /** A worker that failed (its rank), else 0. */
  failed: 5,
  /** Global step number (for hooks; informative). */
  step: 6,
  /** 1: the batch is mixed (mixup) with the partner labels and the lambda below. */
  mixed: 7,
  /** Mixup's lambda, as the float32 of this slot. */
  mixLambda: 8,
  slots: 16,
} as const;

/** Byte offsets of the regions of the shared buffer. */
export interface SharedLayout {
  weights: number;
  batchX: number;
  batchY: number;
  /** Mixup's partner label per sample. */
  partnerY: number;
  /** Gradients of rank r (1-based; rank 0 keeps its own) start at grads + (r - 1) * params * 4. */
  grads: number;
  /** Two floats per rank: loss share × batch size, correct samples. */
  stats: number;
  /** Batch norm's moving statistics as rank 0 has them at the start of a step. */
  moving: number;
  /** The moving statistics of rank r (1-based) after its step, at movingOut + (r - 1) * moving floats. */
  movingOut: number;
  bytes: number;
  params: number;
  movingFloats: number;
}

export function sharedLayout(
  params: number,
  batchSize: number,
  sampleSize: number,
  threads: number,
  movingFloats: number,
): SharedLayout {
  const weights = CONTROL.slots * 4;
  const batchX = weights + params * 4;
  const batchY = batchX + batchSize * sampleSize * 4;
  const partnerY = batchY + batchSize * 4;
  const grads = partnerY + batchSize * 4;
  const stats = grads + (threads - 1) * params * 4;
  const moving = stats + threads * 2 * 4;
  const movingOut = moving + movingFloats * 4;
  const bytes = movingOut + (threads - 1) * movingFloats * 4;
  return { weights, batchX, batchY, partnerY, grads, stats, moving, movingOut, bytes, params, movingFloats };
}

/** A tfjs-layers variable (a batch-norm layer's moving mean or variance). */
interface LayerVariableLike {
  read(): TfCore.Tensor;
  write(value: TfCore.Tensor): void;
}

/** One batch-norm layer's moving statistics (tfjs-layers' BatchNormalization). */
export interface MovingStatistics {
  mean: LayerVariableLike;
  variance: LayerVariableLike;
  /** Channels. */
  size: number;
  /** The moving average's momentum (the new batch counts 1 - momentum). */
  momentum: number;
}

/** The moving statistics of the model's batch-norm layers, in layer order (same order in every replica). */
export function movingStatistics(model: TfLayers.LayersModel): MovingStatistics[] {
  return model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .map((l) => {
      const layer = l as unknown as {
        movingMean: LayerVariableLike;
        movingVariance: LayerVariableLike;
        momentum: number;
      };
      return {
        mean: layer.movingMean,
        variance: layer.movingVariance,
        size: layer.movingMean.read().size,
        momentum: layer.momentum,
      };
    });
}

/** Floats the moving statistics take (mean and variance of every layer). */
export const movingFloats = (stats: readonly MovingStatistics[]) => stats.reduce((n, s) => n + 2 * s.size, 0);

/** Writes the moving statistics (per layer: mean, then variance) into `target`. */
export function writeMovingStatistics(
  tf: typeof TfCore,
  stats: readonly MovingStatistics[],
  target: Float32Array,
): void {
  let offset = 0;
  for (const s of stats) {
    copyValuesInto(tf, s.mean.read(), target, offset);
    copyValuesInto(tf, s.variance.read(), target, offset + s.size);
    offset += 2 * s.size;
  }
}

/** Sets the moving statistics from `source` (laid out as writeMovingStatistics writes them). */
export function readMovingStatistics(
  tf: typeof TfCore,
  stats: readonly MovingStatistics[],
  source: Float32Array,
): void {
  let offset = 0;
  for (const s of stats) {
    tf.tidy(() => {
      s.mean.write(tf.tensor1d(source.subarray(offset, offset + s.size)));
      s.variance.write(tf.tensor1d(source.subarray(offset + s.size, offset + 2 * s.size)));
    });
    offset += 2 * s.size;
  }
}

/**
 * The moving statistics the whole batch would have given, from each rank's after a step that
 * started from the same values, with weights w_r = shard size / batch size. A rank's update is
 * m_r = m - d (m - mean_r) with d = 1 - momentum, so sum w_r m_r is the whole batch's update of the
 * mean. The batch's (biased) variance is sum w_r (var_r + (mean_r - mean)^2), and
 * mean_r - mean = (m_r - m_batch) / d, so the variance's update is sum w_r v_r plus
 * sum w_r (m_r - m_batch)^2 / d. Computed in float64, ranks added in rank order.
 */
export function combineMovingStatistics(
  stats: readonly MovingStatistics[],
  ranks: readonly Float32Array[],
  shares: readonly number[],
  out: Float32Array,
): void {
  let offset = 0;
  for (const s of stats) {
    const d = 1 - s.momentum;
    for (let c = 0; c < s.size; c++) {
      const i = offset + c;
      const j = offset + s.size + c;
      let mean = 0;
      let variance = 0;
      for (let r = 0; r < ranks.length; r++) {
        mean += shares[r] * ranks[r][i];
        variance += shares[r] * ranks[r][j];
      }
      if (d > 0)
        for (let r = 0; r < ranks.length; r++) variance += (shares[r] * (ranks[r][i] - mean) ** 2) / d;
      out[i] = mean;
      out[j] = variance;
    }
    offset += 2 * s.size;
  }
}

/** The samples [from, to) of rank `rank` among `threads` for a batch of `count` (rank 0 first). */
export function shardRange(count: number, rank: number, threads: number): { from: number; to: number } {
  const base = Math.floor(count / threads);
  const extra = count % threads;
  const from = rank * base + Math.min(rank, extra);
  return { from, to: from + base + (rank < extra ? 1 : 0) };
}

/** What a worker needs to rebuild the replica and the loss. */
export interface ReplicaData {
  shared: SharedArrayBuffer;
  rank: number;
  threads: number;
  backend: string;
  modelTopology: unknown;
  shapes: number[][];
  sampleShape: number[];
  batchSize: number;
  microBatch: number;
  numClasses: number;
  outputProbabilities: boolean[];
  outputWeights: number[];
  labelSmoothing: number;
  crossEntropyWeight: number;
  regularization?: RegularizationConfig;
}

export type ReplicaMessage =
  | { type: 'ready' }
  | { type: 'error'; name: string; message: string; code?: string }
  | { type: 'load-error'; message: string };

export interface ReplicaSettings {
  threads: number;
  batchSize: number;
  microBatch: number;
  sampleShape: readonly number[];
  numClasses: number;
  outputProbabilities: boolean[];
  outputWeights: number[];
  labelSmoothing: number;
  crossEntropyWeight: number;
  regularization?: RegularizationConfig;
}

/** The part of tfjs-backend-wasm's backend that reads a tensor's values in place. */
interface HeapBackend {
  typedArrayFromHeap(info: TfCore.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Copies a float tensor's values into `target` at `offset`: on the wasm backend straight from its
 * heap (one copy, no array allocated per step), elsewhere through dataSync.
 */
export function copyValuesInto(
  tf: typeof TfCore,
  tensor: TfCore.Tensor,
  target: Float32Array,
  offset: number,
): void {
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  const values =
    tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function'
      ? backend.typedArrayFromHeap(tensor)
      : tensor.dataSync();
  target.set(values as Float32Array, offset);
}

/** Atomics.waitAsync, which TypeScript's ES2022 library does not declare. */
interface AtomicsWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** The trainer's side: replicas in worker threads and the shared memory they compute on. */
export class GradientReplicas {
  readonly threads: number;
  private readonly control: Int32Array;
  private readonly weights: Float32Array;
  private readonly batchX: Float32Array;
  private readonly batchY: Int32Array;
  private readonly partnerY: Int32Array;
  private readonly controlFloats: Float32Array;
  private readonly stats: Float32Array;
  private readonly gradViews: Float32Array[];
  /** Batch norm's moving statistics: rank 0's at the start of a step, each worker's after it. */
  private readonly moving: Float32Array;
  private readonly movingViews: Float32Array[];
  private readonly stats0: MovingStatistics[];
  private readonly workers: Worker[];
  private readonly failure: Promise<never>;

  private constructor(
    layout: SharedLayout,
    shared: SharedArrayBuffer,
    workers: Worker[],
    failure: Promise<never>,
    moving: MovingStatistics[],
  ) {
    this.threads = workers.length + 1;
    this.control = new Int32Array(shared, 0, CONTROL.slots);
    this.weights = new Float32Array(shared, layout.weights, layout.params);
    this.batchX = new Float32Array(shared, layout.batchX, (layout.batchY - layout.batchX) / 4);
    this.batchY = new Int32Array(shared, layout.batchY, (layout.partnerY - layout.batchY) / 4);
    this.partnerY = new Int32Array(shared, layout.partnerY, (layout.grads - layout.partnerY) / 4);
    this.controlFloats = new Float32Array(shared, 0, CONTROL.slots);
    this.stats = new Float32Array(shared, layout.stats, 2 * this.threads);
    this.gradViews = workers.map(
      (_, i) => new Float32Array(shared, layout.grads + i * layout.params * 4, layout.params),
    );
    this.moving = new Float32Array(shared, layout.moving, layout.movingFloats);
    this.movingViews = workers.map(
      (_, i) => new Float32Array(shared, layout.movingOut + i * layout.movingFloats * 4, layout.movingFloats),
    );
    this.stats0 = moving;
    this.workers = workers;
    this.failure = failure;
  }

  /** Starts `threads - 1` workers holding replicas of `model` and waits until they are ready. */
  static async start(
    tf: typeof TfCore,
    model: TfLayers.LayersModel,
    variables: readonly TfCore.Variable[],
    settings: ReplicaSettings,
  ): Promise<GradientReplicas> {
    const shapes = variables.map((v) => [...v.shape]);
    const params = shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
    const sampleSize = settings.sampleShape.reduce((a, b) => a * b, 1);
    const moving = movingStatistics(model);
    const layout = sharedLayout(
      params,
      settings.batchSize,
      sampleSize,
      settings.threads,
      movingFloats(moving),
    );
    const shared = new SharedArrayBuffer(layout.bytes);
    const modelTopology = model.toJSON(null, false);
    let fail: (error: Error) => void = () => {};
    const failure = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failure.catch(() => {});
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let rank = 1; rank < settings.threads; rank++) {
      const data: ReplicaData = {
        shared,
        rank,
        threads: settings.threads,
        backend: tf.getBackend(),
        modelTopology,
        shapes,
        sampleShape: [...settings.sampleShape],
        batchSize: settings.batchSize,
        microBatch: settings.microBatch,
        numClasses: settings.numClasses,
        outputProbabilities: settings.outputProbabilities,
        outputWeights: settings.outputWeights,
        labelSmoothing: settings.labelSmoothing,
        crossEntropyWeight: settings.crossEntropyWeight,
        regularization: settings.regularization,
      };
      const worker = startThread(siblingEntry(import.meta.url, 'data-parallel-worker'), data);
      workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: ReplicaMessage) => {
            if (m.type === 'ready') resolve();
            else {
              const error =
                m.type === 'load-error'
                  ? // not a user error: the worker module failed to load (an installation problem)
                    new Error(`data-parallel worker ${rank} did not start: ${m.message}`)
                  : errorFromRecord(m);
              reject(error);
              fail(error);
            }
          });
          worker.once('error', (error) => {
            reject(error);
            fail(error);
          });
          worker.once('exit', (code) => {
            // not a user error: a replica thread ended while training still needed it
            const error = new Error(`data-parallel worker ${rank} exited (code ${code})`);
            reject(error);
            fail(error);
          });
        }),
      );
    }
    const replicas = new GradientReplicas(layout, shared, workers, failure, moving);
    try {
      await Promise.all(ready);
    } catch (error) {
      await replicas.close();
      throw error;
    }
    return replicas;
  }

  /** Starts a step on the workers: the batch (its first `count` samples), the weights, the dropout seed. */
  launch(
    tf: typeof TfCore,
    batch: BatchArrays,
    count: number,
    sampleSize: number,
    variables: readonly TfCore.Variable[],
    dropoutSeed: number,
    step: number,
  ): void {
    const c = this.control;
    let offset = 0;
    for (const v of variables) {
      copyValuesInto(tf, v, this.weights, offset);
      offset += v.size;
    }
    writeMovingStatistics(tf, this.stats0, this.moving);
    this.batchX.set(batch.x.subarray(0, count * sampleSize));
    this.batchY.set(batch.labels.subarray(0, count));
    if (batch.mix) {
      this.partnerY.set(batch.mix.partners.subarray(0, count));
      this.controlFloats[CONTROL.mixLambda] = batch.mix.lambda;
    }
    Atomics.store(c, CONTROL.mixed, batch.mix ? 1 : 0);
    Atomics.store(c, CONTROL.count, count);
    Atomics.store(c, CONTROL.dropoutSeed, dropoutSeed);
    Atomics.store(c, CONTROL.step, step);
    Atomics.store(c, CONTROL.done, 0);
    Atomics.add(c, CONTROL.generation, 1);
    Atomics.notify(c, CONTROL.generation);
  }

  /** Waits until every worker has written its gradients (rejects when one failed or exited). */
  async wait(): Promise<void> {
    const c = this.control;
    const expected = this.threads - 1;
    for (let done = Atomics.load(c, CONTROL.done); done < expected; done = Atomics.load(c, CONTROL.done)) {
      // Atomics.waitAsync (Node 16+) lets the worker's error or exit events in while waiting.
      const waiting = (Atomics as unknown as AtomicsWaitAsync).waitAsync(c, CONTROL.done, done);
      if (waiting.async) await Promise.race([waiting.value, this.failure]);
    }
    if (Atomics.load(c, CONTROL.failed) !== 0) {
      // The worker posted its error before counting itself done; let the message arrive.
      await Promise.race([this.failure, new Promise((resolve) => setTimeout(resolve, 1000))]);
      // not a user error: the error message of a failed worker did not arrive
      throw new Error(`data-parallel worker ${Atomics.load(c, CONTROL.failed)} failed`);
    }
  }

  /**
   * Rank 0's gradients plus every worker's, added in rank order, as tensors (call inside tf.tidy).
   * Also returns the workers' loss (× batch size) and correct counts.
   */
  combine(
    tf: typeof TfCore,
    own: TfCore.NamedTensorMap,
    variables: readonly TfCore.Variable[],
  ): { grads: TfCore.NamedTensorMap; loss: number; correct: number } {
    const grads: TfCore.NamedTensorMap = {};
    let offset = 0;
    for (const v of variables) {
      const size = v.size;
      let sum = own[v.name];
      for (const view of this.gradViews) {
        // tf.tensor copies the values onto the backend: a view of the shared memory is enough.
        const part = tf.tensor(view.subarray(offset, offset + size), v.shape);
        sum = sum === undefined ? part : tf.add(sum, part);
      }
      grads[v.name] = sum;
      offset += size;
    }
    let loss = 0;
    let correct = 0;
    for (let rank = 1; rank < this.threads; rank++) {
      loss += this.stats[2 * rank];
      correct += this.stats[2 * rank + 1];
    }
    return { grads, loss, correct };
  }

  /**
   * Replaces rank 0's moving statistics (updated by its shard alone) by the whole batch's update
   * (see combineMovingStatistics), after wait(). `count`: samples in the batch.
   */
  combineMovingStatistics(tf: typeof TfCore, count: number): void {
    if (this.stats0.length === 0) return;
    const own = new Float32Array(this.moving.length);
    writeMovingStatistics(tf, this.stats0, own);
    const shares = Array.from({ length: this.threads }, (_, r) => {
      const { from, to } = shardRange(count, r, this.threads);
      return (to - from) / count;
    });
    combineMovingStatistics(this.stats0, [own, ...this.movingViews], shares, own);
    readMovingStatistics(tf, this.stats0, own);
  }

  /** Stops the workers (they leave their loop) and waits for them to end. */
  async close(): Promise<void> {
    Atomics.store(this.control, CONTROL.stop, 1);
    Atomics.add(this.control, CONTROL.generation, 1);
    Atomics.notify(this.control, CONTROL.generation);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
