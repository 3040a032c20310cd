/**
 * What the Fashion-MNIST LeNet benches share: the data (pixels / 255; validation = the first 5,000
 * training images), the backend from --backend, the dense recipe (batch 128, Adam 1e-3, seed 0),
 * and the PyTorch anchors (`torch_train.py`, `torch_compress.py`) run with the same recipe.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { weightsAccuracy } from '../../src/compress/fine-tune.js';
import {
  loadModelWeights,
  type ModelWeights,
  readModelWeights,
  saveModelWeights,
} from '../../src/compress/model-weights.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { type BackendInfo, initBackend } from '../../src/models/backends/index.js';
import type { ModelSpec, WeightInit } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { type EpochMetrics, evaluate, type TrainingData, trainModel } from '../../src/train/trainer.js';
import type { BenchArgs } from './args.js';
import { ANCHORS_DIR, runPythonJsonLines } from './python.js';

export type FashionData = { train: TrainingData; validation: TrainingData; test: TrainingData };

/** The anchors' `--arch` for each zoo LeNet the benches compare. */
export const LENET_ANCHOR_ARCH: Record<string, string> = {
  'lenet-300-100': 'mlp:300,100',
  'lenet-5': 'lenet5',
};

/** One dense training run of `torch_train.py` on Fashion-MNIST with the dense recipe; its JSON record. */
export async function runTorchLeNetTraining(
  network: string,
  epochs: number,
  threads: number,
): Promise<Record<string, unknown>> {
  const [record] = await runPythonJsonLines(path.join(ANCHORS_DIR, 'torch_train.py'), [
    ...['--arch', LENET_ANCHOR_ARCH[network], '--dataset', 'fashion', '--epochs', String(epochs)],
    ...['--batch', '128', '--lr', '1e-3', '--optimizer', 'adam', '--threads', String(threads), '--seed', '0'],
  ]);
  return record;
}

/** Throws on a --networks entry the anchors cannot build. */
export function checkLeNetNetworks(networks: readonly string[]): void {
  for (const n of networks)
    if (!(n in LENET_ANCHOR_ARCH)) throw new Error(`unknown network ${n} (lenet-300-100, lenet-5)`);
}

/** The backend named by --backend, or the default one. */
export function initBenchBackend(args: BenchArgs): Promise<BackendInfo> {
  return initBackend(args.has('backend') ? { backend: args.string('backend', 'wasm') as 'wasm' } : {});
}

/** Fashion-MNIST scaled to [0, 1]; `trainSamples` keeps only the first N training images. */
export async function loadFashionData(trainSamples?: number): Promise<FashionData> {
  const bundle = await loadFashionMnist();
  const scaled = (d: { data: Float32Array; labels: Int32Array }, to = d.labels.length): TrainingData => ({
    x: d.data.subarray(0, to * 784).map((v) => v / 255),
    labels: d.labels.subarray(0, to),
    shape: [28, 28, 1],
    numClasses: 10,
  });
  const train = scaled(
    bundle.train,
    Math.min(trainSamples ?? Number.POSITIVE_INFINITY, bundle.train.labels.length),
  );
  return {
    train,
    validation: { ...train, x: train.x.subarray(0, 5000 * 784), labels: train.labels.subarray(0, 5000) },
    test: scaled(bundle.test as NonNullable<typeof bundle.test>),
  };
}

/** Logs an epoch as the LeNet benches do: seconds and loss. */
export const logEpochLoss =
  (secondsDigits = 1) =>
  (m: EpochMetrics): void => {
    process.stderr.write(
      `  epoch ${m.epoch + 1}: ${m.seconds.toFixed(secondsDigits)} s, loss ${m.loss.toFixed(4)}\n`,
    );
  };

export interface DenseResult {
  weights: ModelWeights;
  seconds: number;
  /** Test accuracy of the trained model, when `test` was given. */
  testAccuracy?: number;
}

/** Trains `spec` with the dense recipe (batch 128, Adam 1e-3) and reads its weights back. */
export async function trainDense(
  spec: ModelSpec,
  data: { train: TrainingData; test?: TrainingData },
  options: { epochs: number; seed?: number; onEpoch?: (m: EpochMetrics) => void },
): Promise<DenseResult> {
  const seed = options.seed ?? 0;
  const model = await buildTfjsModel(spec, { seed });
  try {
    const started = performance.now();
    await trainModel(model, data.train, {
      epochs: options.epochs,
      batchSize: 128,
      optimizer: { type: 'adam', learningRate: 1e-3 },
      seed,
      onEpoch: options.onEpoch,
    });
    const seconds = (performance.now() - started) / 1000;
    const testAccuracy = data.test ? (await evaluate(model, data.test)).accuracy : undefined;
    return { weights: readModelWeights(model, spec), seconds, testAccuracy };
  } finally {
    model.dispose();
  }
}

/**
 * The zoo network `name` trained dense for `epochs`, with progress on stderr and its test accuracy.
 * With `cacheDir`, a model saved there by an earlier run with the same epochs is loaded instead
 * (its training seconds are kept beside it), and a freshly trained one is saved there, so that
 * several bench invocations (sections, scores, ratios run apart on a busy machine) share one dense model.
 * `init` is the spec's weight initialisation (default Glorot); a non-default one is part of the
 * cache directory's name, so models started differently never share a cache entry.
 */
export async function trainDenseLeNet(
  name: string,
  data: FashionData,
  epochs: number,
  backend: string,
  cacheDir?: string,
  init: WeightInit = 'glorot',
): Promise<{ weights: ModelWeights; seconds: number; testAccuracy: number }> {
  const initTag = init === 'glorot' ? '' : `-${init}-init`;
  const dir = cacheDir
    ? path.join(cacheDir, `${name}${initTag}-${epochs}-epochs-${data.train.labels.length}`)
    : undefined;
  const meta = dir ? path.join(dir, 'dense-training.json') : undefined;
  if (dir && meta && existsSync(meta)) {
    process.stderr.write(`[parsimony ${backend}] ${name}: dense model from ${dir}\n`);
    const weights = await loadModelWeights(dir);
    if ((weights.spec.init ?? 'glorot') !== init)
      throw new Error(
        `${dir}: the cached model was initialised ${weights.spec.init ?? 'glorot'}, not ${init}`,
      );
    const { seconds } = JSON.parse(await readFile(meta, 'utf8')) as { seconds: number };
    return { weights, seconds, testAccuracy: await weightsAccuracy(weights, data.test) };
  }
  process.stderr.write(`[parsimony ${backend}] ${name}: dense ${epochs} epochs (${init} init)...\n`);
  const spec: ModelSpec = init === 'glorot' ? zooModel(name) : { ...zooModel(name), init };
  const dense = await trainDense(spec, data, { epochs, onEpoch: logEpochLoss() });
  if (dir && meta) {
    await saveModelWeights(dense.weights, dir);
    await writeFile(meta, JSON.stringify({ seconds: dense.seconds, epochs }));
  }
  return { ...dense, testAccuracy: dense.testAccuracy as number };
}

/**
 * Runs `torch_compress.py` on the zoo LeNet `name`: dense for `epochs` with the same recipe, then
 * global magnitude pruning to `sparsity` in `pruneSteps` AGP steps, `finetunePerStep` epochs after each.
 */
export async function runTorchCompressAnchor(
  name: string,
  options: { epochs: number; sparsity: number; pruneSteps: number; finetunePerStep: number },
): Promise<Record<string, unknown>> {
  const [record] = await runPythonJsonLines(path.join(ANCHORS_DIR, 'torch_compress.py'), [
    ...['--arch', LENET_ANCHOR_ARCH[name], '--dataset', 'fashion', '--epochs', String(options.epochs)],
    ...['--batch', '128', '--lr', '1e-3', '--sparsity', String(options.sparsity)],
    ...['--prune-steps', String(options.pruneSteps), '--finetune-epochs', String(options.finetunePerStep)],
    ...['--threads', '1', '--seed', '0'],
  ]);
  return record;
}
