/**
 * Evaluating a model on a dataset: accuracy on the held-out split, latency per sample (batch 1)
 * and per batch (median over repeats), and the model's size on disk. An ONNX file runs in
 * onnxruntime-node (CPU, its thread count stated); a Parsimony model directory (trained or from
 * `parsimony compress`, rebuilt from what is stored) runs in TensorFlow.js.
 *
 * The data goes through Parsimony's pipeline as in training: the dataset split with the seed
 * (default 0) and standardised on the training part; the test split is used (validation when the
 * dataset has no test split). The samples are fed in the graph input's own shape: a dataset whose
 * samples have another number of values is a one-line error naming the file and the input.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError, OnnxError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { loadDatasetSplits } from '../data/registry.js';
import { fitStandardScaler } from '../data/transforms.js';
import { int64 } from '../models/formats/onnx/proto.js';

export interface EvaluateOptions {
  dataset: string;
  /** Samples per batch for the per-batch latency and the accuracy pass (default 64). */
  batchSize?: number;
  /** Timed repeats of each latency (default 20). */
  repeats?: number;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  seed?: number;
}

export interface EvaluationResult {
  model: string;
  runtime: string;
  /** onnxruntime's intra-op threads; null for TensorFlow.js, whose backend sets its own. */
  threads: number | null;
  dataset: string;
  split: 'test' | 'validation';
  samples: number;
  accuracy: number;
  /** Median milliseconds of one sample (batch 1). */
  latencyPerSampleMs: number;
  /** Median milliseconds of one batch of `batchSize`. */
  latencyPerBatchMs: number;
  batchSize: number;
  repeats: number;
  /** Bytes on disk: the .onnx file, or every file of the model directory. */
  fileBytes: number;
}

/** Runs one batch: values row-major, returns the class scores row-major. */
type Runner = (x: Float32Array, batch: number) => Promise<Float32Array>;

interface LoadedRunner {
  run: Runner;
  runtime: string;
  threads: number | null;
  /** The model's input shape without the batch axis. */
  inputShape: number[];
  inputName: string;
  dispose(): Promise<void>;
}

async function onnxRunner(file: string, threads: number): Promise<LoadedRunner> {
  // Read and checked by Parsimony's own reader first, so a bad file is a one-line error naming it.
  const { readOnnxFile } = await import('../models/formats/onnx/model-file.js');
  const { proto } = readOnnxFile(file);
  const graph = proto.graph;
  const initializers = new Set(graph?.initializer.map((t) => t.name));
  const inputs = (graph?.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1)
    throw new OnnxError(`${file}: evaluate needs a model with one input, this one has ${inputs.length}`);
  const dims = inputs[0].type?.tensorType?.shape?.dim ?? [];
  const inputShape = dims.slice(1).map((d, i) => {
    const value = int64(d.dimValue);
    if (value <= 0)
      throw new OnnxError(
        `${file}: input "${inputs[0].name}" has a symbolic dimension ${i + 1} (${d.dimParam ?? '?'}); only the batch axis may be symbolic`,
      );
    return value;
  });
  const ort = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (error) {
    throw new OnnxError(`${file}: onnxruntime cannot load it: ${(error as Error).message.split('\n')[0]}`, {
      cause: error,
    });
  }
  const inputName = inputs[0].name;
  const outputName = session.outputNames[0];
  return {
    runtime: `onnxruntime-node ${ort.env.versions?.common ?? ''}`.trim(),
    threads,
    inputShape,
    inputName,
    run: async (x, batch) => {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', x, [batch, ...inputShape]) });
      return result[outputName].data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

async function parsimonyRunner(dir: string): Promise<LoadedRunner> {
  const { initBackend } = await import('../models/backends/index.js');
  const backend = await initBackend();
  const tf = await import('@tensorflow/tfjs-core');
  const { readCompressedModel } = await import('../compress/store.js');
  const { buildModelWithWeights } = await import('../compress/model-weights.js');
  const { weights } = await readCompressedModel(dir);
  const model = await buildModelWithWeights(weights);
  const input = weights.spec.inputs[0];
  return {
    runtime: `tfjs ${backend.name}`,
    threads: null,
    inputShape: [...input.shape],
    inputName: input.name,
    run: async (x, batch) => {
      const t = tf.tensor(x, [batch, ...input.shape]);
      const y = model.predict(t) as import('@tensorflow/tfjs-core').Tensor;
      const values = (await y.data()) as Float32Array;
      tf.dispose([t, y]);
      return values;
    },
    dispose: async () => {
      model.dispose();
    },
  };
}

async function sizeOnDisk(target: string): Promise<number> {
  const info = await stat(target);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(target)) total += await sizeOnDisk(path.join(target, entry));
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The held-out split, standardised as in training. */
async function evaluationData(
  dataset: string,
  seed: number,
): Promise<{ data: Dataset; split: 'test' | 'validation' }> {
  const splits = await loadDatasetSplits(dataset, { seed });
  const scaler = fitStandardScaler(splits.train);
  if (splits.test && splits.test.numSamples > 0)
    return { data: scaler.transform(splits.test), split: 'test' };
  return { data: scaler.transform(splits.validation), split: 'validation' };
}

export async function evaluateModel(target: string, options: EvaluateOptions): Promise<EvaluationResult> {
  const batchSize = options.batchSize ?? 64;
  const repeats = options.repeats ?? 20;
  const threads = options.threads ?? 1;
  const info = await stat(target).catch(() => null);
  if (!info) {
    const { FileNotFoundError } = await import('../core/errors.js');
    throw new FileNotFoundError(target, 'model');
  }
  const { data, split } = await evaluationData(options.dataset, options.seed ?? 0);
  const runner = info.isDirectory() ? await parsimonyRunner(target) : await onnxRunner(target, threads);
  try {
    const width = runner.inputShape.reduce((a, b) => a * b, 1);
    const featureWidth = data.featureShape.reduce((a, b) => a * b, 1);
    if (width !== featureWidth)
      throw new DataError(
        `${target}: dataset ${options.dataset} has samples of shape [${data.featureShape.join(', ')}] (${featureWidth} values) but input "${runner.inputName}" expects [${runner.inputShape.join(', ')}] (${width} values)`,
      );
    const n = data.numSamples;
    const classes = data.classNames.length;
    let correct = 0;
    for (let start = 0; start < n; start += batchSize) {
      const batch = Math.min(batchSize, n - start);
      const x = new Float32Array(batch * width);
      for (let i = 0; i < batch; i++) x.set(data.features[start + i], i * width);
      const scores = await runner.run(x, batch);
      if (scores.length !== batch * classes)
        throw new DataError(
          `${target}: the model gives ${scores.length / batch} scores per sample but dataset ${options.dataset} has ${classes} classes`,
        );
      for (let i = 0; i < batch; i++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
        if (best === data.labels[start + i]) correct += 1;
      }
    }
    const time = async (batch: number): Promise<number> => {
      const x = new Float32Array(batch * width);
      for (let i = 0; i < batch; i++) x.set(data.features[i % n], i * width);
      await runner.run(x, batch); // warm-up
      const times: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        await runner.run(x, batch);
        times.push(performance.now() - t0);
      }
      return median(times);
    };
    const latencyPerSampleMs = await time(1);
    const latencyPerBatchMs = await time(batchSize);
    return {
      model: target,
      runtime: runner.runtime,
      threads: runner.threads,
      dataset: options.dataset,
      split,
      samples: n,
      accuracy: correct / n,
      latencyPerSampleMs,
      latencyPerBatchMs,
      batchSize,
      repeats,
      fileBytes: await sizeOnDisk(target),
    };
  } finally {
    await runner.dispose();
  }
}
