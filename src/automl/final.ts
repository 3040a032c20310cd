/**
 * The final training of an AutoML run: the search's best configuration (its network, preparation,
 * learning rate and batch size) trained again from scratch on the whole training split, in the
 * share of the budget the run reserved for it. Search trials are short and may see a subset of the
 * training split; this one trains as long as the time left allows, with a cosine learning-rate
 * decay planned to end with the budget, light augmentation for images, and data-parallel threads
 * when they are faster here. The number of epochs comes from timing this network on this machine
 * just before, so the schedule ends within the budget rather than being cut short by it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import {
  checkPipeline,
  type FeaturePipeline,
  PIPELINE_FILE,
  transformDataset,
} from '../data/feature-pipeline.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { loadModel, MODEL_FILES } from '../models/tfjs/save.js';
import { saveTrialModel } from '../search/model-output.js';
import type { AugmentationConfig } from '../train/augment.js';
import { evaluate, type TrainingData, trainingData, trainModel } from '../train/trainer.js';
import type { AutomlData } from './data.js';

/** What the final training did, as stored in the report. */
export interface AutomlFinal {
  /** The search trial whose configuration was retrained. */
  trial: number;
  /** Model directory, relative to the output directory. */
  model: string;
  params: number;
  trainSamples: number;
  plannedEpochs: number;
  epochs: number;
  /** Epoch whose weights were kept (highest validation accuracy), 1-based. */
  bestEpoch: number;
  learningRate: number;
  batchSize: number;
  threads: number;
  augmentation: AugmentationConfig | null;
  validationAccuracy: number;
  validationLoss: number | null;
  /** Test accuracy of the model as stored (reloaded from its directory). */
  testAccuracy: number;
  seconds: number;
  stopped: string;
}

export interface FinalTrainingInput {
  out: string;
  /** The search trial to retrain and its model directory (relative to `out`). */
  trial: number;
  trialModel: string;
  learningRate: number;
  batchSize: number;
  data: AutomlData;
  seed: number;
  /** Most threads to train with (data-parallel; 1 or this many, whichever times faster). */
  threads: number;
  /** Wall-clock end (ms since the epoch): the model must be saved and tested by then. */
  deadline: number;
  /** Directory name of the final model under `out`. */
  dir: string;
  /** Stops the training after the current batch (the best weights so far are kept and saved). */
  signal?: AbortSignal;
}

/** Light augmentation for images: shifts of up to 2 pixels on 28x28 (none below 16 pixels). */
export function finalAugmentation(inputShape: readonly number[]): AugmentationConfig | null {
  if (inputShape.length !== 3 || Math.min(inputShape[0], inputShape[1]) < 16) return null;
  return { shift: 0.08 };
}

/**
 * Epochs that fit in `seconds` given one epoch's training time and one validation pass, keeping a
 * tenth of the time and `afterSeconds` (default one validation pass; the run passes the last
 * validation and the test pass) for testing and saving.
 */
export function plannedEpochs(
  seconds: number,
  epochSeconds: number,
  validationSeconds: number,
  afterSeconds = validationSeconds,
): number {
  const usable = seconds * 0.9 - afterSeconds;
  return Math.max(0, Math.floor(usable / (epochSeconds + validationSeconds)));
}

function part(data: TrainingData, count: number): TrainingData {
  const size = data.shape.reduce((a, b) => a * b, 1);
  return { ...data, x: data.x.subarray(0, count * size), labels: data.labels.subarray(0, count) };
}

/**
 * Seconds of one training epoch with `threads`, from the median time of a step over eight
 * batches, the first two left out as warm-up; when `withinSeconds` ends sooner, from the steps
 * taken (warm-up included, so longer), and Infinity when not one step fitted.
 */
async function timeEpoch(
  spec: ModelSpec,
  train: TrainingData,
  options: {
    batchSize: number;
    threads: number;
    seed: number;
    augmentation: AugmentationConfig | null;
    withinSeconds: number;
  },
): Promise<number> {
  const n = train.labels.length;
  const probe = Math.min(n, options.batchSize * 8);
  const model = await buildTfjsModel(spec, { seed: options.seed });
  const stamps = [performance.now()];
  try {
    await trainModel(model, part(train, probe), {
      epochs: 1,
      batchSize: options.batchSize,
      optimizer: { type: 'adam', learningRate: 1e-3 },
      seed: options.seed,
      threads: options.threads,
      timeBudgetSeconds: Math.max(0.001, options.withinSeconds),
      onStep: () => stamps.push(performance.now()),
      ...(options.augmentation ? { augmentation: options.augmentation } : {}),
    });
  } finally {
    model.dispose();
  }
  const all = stamps.slice(1).map((t, i) => t - stamps[i]);
  // The first two steps warm up (kernels, worker replicas) when enough others were timed.
  const steps = all.length > 4 ? all.slice(2) : all;
  if (steps.length === 0) return Number.POSITIVE_INFINITY;
  steps.sort((a, b) => a - b);
  return (steps[Math.floor(steps.length / 2)] / 1000) * Math.ceil(n / options.batchSize);
}

/**
 * Trains the configuration of `trial` on the whole training split until the deadline and saves it
 * to `out/<dir>`; null when not even one epoch fits in the time left.
 */
export async function trainFinalModel(input: FinalTrainingInput): Promise<AutomlFinal | null> {
  const started = Date.now();
  const source = path.join(input.out, input.trialModel);
  const spec = JSON.parse(await readFile(path.join(source, MODEL_FILES.spec), 'utf8')) as ModelSpec;
  const pipelineFile = path.join(source, PIPELINE_FILE);
  const pipeline: unknown = JSON.parse(await readFile(pipelineFile, 'utf8'));
  checkPipeline(pipeline, pipelineFile);
  const shape = input.data.inputShape;
  const [train, validation, test] = [input.data.train, input.data.validation, input.data.test].map(
    (d: Dataset) => trainingData(transformDataset((pipeline as FeaturePipeline).steps, d), shape),
  );
  const augmentation = input.data.kind === 'image' ? finalAugmentation(shape) : null;
  const seed = input.seed * 100_003 + 99_991;

  // Time one epoch with one thread and with all of them (in at most an eighth of the time left
  // each); train with the faster.
  const withinSeconds = (input.deadline - Date.now()) / 8000;
  let threads = 1;
  let epochSeconds = await timeEpoch(spec, train, {
    ...input,
    threads: 1,
    seed,
    augmentation,
    withinSeconds,
  });
  if (input.threads > 1 && Number.isFinite(epochSeconds)) {
    const parallel = await timeEpoch(spec, train, { ...input, seed, augmentation, withinSeconds });
    if (parallel < epochSeconds) {
      threads = input.threads;
      epochSeconds = parallel;
    }
  }
  if (!Number.isFinite(epochSeconds)) return null;
  const model = await buildTfjsModel(spec, { seed });
  try {
    const t0 = performance.now();
    await evaluate(model, validation);
    const validationSeconds = (performance.now() - t0) / 1000;
    // After training: the last validation pass, then the stored model's test pass (scaled by size).
    const afterSeconds = validationSeconds * (1 + test.labels.length / Math.max(1, validation.labels.length));
    const secondsLeft = (input.deadline - Date.now()) / 1000;
    const epochs = plannedEpochs(secondsLeft, epochSeconds, validationSeconds, afterSeconds);
    if (epochs < 1) return null;
    const result = await trainModel(model, train, {
      epochs,
      batchSize: input.batchSize,
      optimizer: { type: 'adam', learningRate: input.learningRate },
      // Decay to a hundredth over exactly the planned epochs; a short warm-up steadies the start.
      schedule: { type: 'cosine', period: epochs, minLr: input.learningRate / 100 },
      warmup: { epochs: Math.min(1, epochs / 10) },
      ...(augmentation ? { augmentation } : {}),
      validation,
      earlyStopping: { monitor: 'valAccuracy', patience: epochs, restoreBestWeights: true },
      // The hard stop, should the timing have been optimistic: the budget is never exceeded.
      timeBudgetSeconds: Math.max(1, secondsLeft * 0.9 - afterSeconds),
      seed,
      threads,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    if (result.history.length === 0) return null;
    const bestIndex = result.bestEpoch ?? result.history.length - 1;
    const best = result.history[bestIndex];
    const dir = path.join(input.out, input.dir);
    await saveTrialModel(dir, model, spec, pipeline as FeaturePipeline);
    // Test accuracy of the model as stored, rebuilt from its directory.
    const stored = await loadModel(dir);
    let testAccuracy: number;
    try {
      testAccuracy = (await evaluate(stored.model, test)).accuracy;
    } finally {
      stored.model.dispose();
    }
    return {
      trial: input.trial,
      model: input.dir,
      params: model.countParams(),
      trainSamples: train.labels.length,
      plannedEpochs: epochs,
      epochs: result.history.length,
      bestEpoch: bestIndex + 1,
      learningRate: input.learningRate,
      batchSize: input.batchSize,
      threads,
      augmentation,
      validationAccuracy: best.valAccuracy ?? 0,
      validationLoss: best.valLoss ?? null,
      testAccuracy,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      stopped: result.stopped,
    };
  } finally {
    model.dispose();
  }
}

/** The first `count` samples of a (shuffled) training split: the search trials' fidelity. */
export function searchSubset(train: Dataset, count: number | undefined): Dataset {
  if (count === undefined || count >= train.numSamples) return train;
  return subset(
    train,
    Int32Array.from({ length: count }, (_, i) => i),
    `${train.name} (first ${count})`,
  );
}
