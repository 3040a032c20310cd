/**
 * Training a TensorFlow.js LayersModel on classification data with a custom step (no `fit`):
 * batches are assembled in JS memory (so augmentation is plain loops), gradients come from
 * `tf.variableGrads`, and the loss is read back once per epoch, not per batch. Validation
 * metrics are reported to a trial each epoch so pruners can stop weak trials.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, TrialPruned } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { Dataset } from '../data/dataset.js';
import { type AugmentationConfig, augmentBatch, checkAugmentation } from './augment.js';
import { GradientReplicas, shardRange } from './data-parallel.js';
import { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import {
  crossEntropy,
  type LossSettings,
  type PartialGradients,
  partialGradients,
  penalisedKernels,
} from './gradient-step.js';
import { checkMixup, mixBatch } from './mixup.js';
import { createOptimizer, type OptimizerConfig, type OptimizerState } from './optimizers.js';
import {
  checkSchedule,
  PlateauReducer,
  type ScheduleConfig,
  scheduledLearningRate,
  type WarmupConfig,
  warmupFactor,
} from './schedules.js';

/** Classification data: row-major features, one label per sample. */
export interface TrainingData {
  x: Float32Array;
  labels: Int32Array;
  /** Shape of one sample, e.g. [28, 28, 1] or [64]. */
  shape: readonly number[];
  numClasses: number;
}

export function trainingData(
  dataset: Dataset,
  shape: readonly number[] = dataset.featureShape,
): TrainingData {
  return { x: dataset.data, labels: dataset.labels, shape, numClasses: dataset.classNames.length };
}

export interface RegularizationConfig {
  l1?: number;
  l2?: number;
  /** Per layer name, overriding the global values for that layer's kernels. */
  layers?: Record<string, { l1?: number; l2?: number }>;
}

/** The trial methods training uses (a study Trial or a worker thread's remote trial). */
export interface ReportingTrial {
  report(value: number | number[], step: number): void;
  shouldPrune(): boolean;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  learningRate: number;
  seconds: number;
}

/**
 * Hooks into the training step, for compression methods that train (all optional; without them a
 * step is exactly the plain one). They run inside the step's tidy scope: tensors they return are
 * disposed by it, variables they assign persist.
 */
export interface TrainingHooks {
  /**
   * A term added to the loss inside the gradient tape (distillation, L1 on batch-norm scales).
   * `x` is the batch input, `output` the model's output for it, `targets` the (smoothed) one-hot labels.
   */
  extraLoss?: (args: {
    x: TfCore.Tensor;
    output: TfCore.Tensor;
    targets: TfCore.Tensor;
    step: number;
  }) => TfCore.Scalar;
  /** Weight of the cross-entropy term (default 1; distillation uses alpha). */
  crossEntropyWeight?: number;
  /**
   * Rewrites the gradients (by variable name) before the optimizer sees them: masks for pruning,
   * straight-through estimators, summed gradients of shared centroids.
   */
  transformGradients?: (
    grads: TfCore.NamedTensorMap,
    variables: readonly TfCore.Variable[],
    step: number,
  ) => TfCore.NamedTensorMap;
  /** After each optimizer step (re-applying masks so pruned weights stay exactly zero). */
  afterStep?: (variables: readonly TfCore.Variable[], step: number) => void;
  /**
   * Before each step: true to replace the optimizer by a fresh one there (moments and step count
   * from zero), as a run restarted after a pruning event would have.
   */
  restartOptimizer?: (step: number) => boolean;
}

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  optimizer?: OptimizerConfig;
  schedule?: ScheduleConfig;
  warmup?: WarmupConfig;
  regularization?: RegularizationConfig;
  /** Replace one-hot targets by (1 - s) one-hot + s / classes. */
  labelSmoothing?: number;
  augmentation?: AugmentationConfig;
  /**
   * Mixup after augmentation: each batch mixed with a permutation of itself, lambda ~ Beta(m, m),
   * targets mixed alike (training accuracy counts the larger share's label).
   */
  mixup?: number;
  validation?: TrainingData;
  earlyStopping?: Omit<EarlyStoppingOptions, 'mode'> & { monitor?: 'valLoss' | 'valAccuracy' };
  /** Seeds shuffling, dropout and augmentation (default 0). */
  seed?: number;
  /** Stop after the batch that passes this many seconds of training. */
  timeBudgetSeconds?: number;
  trial?: ReportingTrial;
  /** What to report to the trial each epoch (default: validation accuracy, else training accuracy). */
  reportValue?: (metrics: EpochMetrics) => number | number[];
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Draw a progress bar on stderr when it is a terminal (default false). */
  progress?: boolean;
  hooks?: TrainingHooks;
  /** Stops training after the current batch (stopped: 'aborted'); the model keeps the weights it has. */
  signal?: AbortSignal;
  /** Called after every batch with the global step (0-based) and the steps of one epoch. */
  onStep?: (step: number, stepsPerEpoch: number) => void;
  /**
   * Models with several outputs (early-exit heads) train on the sum of each output's
   * cross-entropy times its weight (default 1 each); accuracy and hooks see the last output.
   */
  outputWeights?: readonly number[];
  /** Resume the optimizer from this state (from an earlier `TrainResult.optimizerState`). */
  optimizerState?: OptimizerState;
  /** Return the optimizer's state at the end in `TrainResult.optimizerState` (default false). */
  keepOptimizerState?: boolean;
  /**
   * Threads computing each batch's gradients, each on its shard of the batch (default 1: this
   * thread alone). The others are worker threads holding replicas of the model; the result is the
   * single-thread one up to the order of float additions (see data-parallel.ts). Not with
   * `hooks.extraLoss`, which is a function of this thread.
   */
  threads?: number;
  /**
   * Most samples whose gradients are computed at once (default: a whole batch, or shard): a larger
   * batch accumulates its gradients over parts of this size before the one optimizer step.
   */
  microBatchSize?: number;
}

export interface TrainResult {
  history: EpochMetrics[];
  /** Why training ended. */
  stopped: 'epochs' | 'early-stopping' | 'time-budget' | 'aborted';
  /** The epoch whose weights the model holds at the end (differs from the last with restoreBestWeights). */
  bestEpoch: number | undefined;
  seconds: number;
  /** With `keepOptimizerState`: what the optimizer had accumulated when training ended. */
  optimizerState?: OptimizerState;
}

/** Layer outputs are probabilities when the last layer ends in softmax; the loss then uses them. */
function endsInSoftmax(model: TfLayers.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const activation = (last.getConfig() as { activation?: unknown }).activation;
  return activation === 'softmax';
}

/** Per output, whether it is probabilities (its layer ends in softmax). */
function outputsInSoftmax(model: TfLayers.LayersModel): boolean[] {
  if (model.outputs.length === 1) return [endsInSoftmax(model)];
  return model.outputs.map(
    (o) => (o.sourceLayer.getConfig() as { activation?: unknown }).activation === 'softmax',
  );
}

function checkOptions(options: TrainOptions, data: TrainingData): void {
  if (!(Number.isInteger(options.epochs) && options.epochs > 0))
    throw new InvalidArgumentError(`train: epochs must be a positive integer, got ${options.epochs}`);
  const batch = options.batchSize ?? 32;
  if (!(Number.isInteger(batch) && batch > 0))
    throw new InvalidArgumentError(`train: batchSize must be a positive integer, got ${batch}`);
  const s = options.labelSmoothing ?? 0;
  if (!(s >= 0 && s < 1)) throw new InvalidArgumentError(`train: labelSmoothing must be in [0, 1), got ${s}`);
  const size = data.shape.reduce((a, b) => a * b, 1);
  if (data.x.length !== data.labels.length * size)
    throw new InvalidArgumentError(
      `train: ${data.x.length} feature values do not make ${data.labels.length} samples of shape [${data.shape.join(',')}]`,
    );
  const threads = options.threads ?? 1;
  if (!(Number.isInteger(threads) && threads > 0))
    throw new InvalidArgumentError(`train: threads must be a positive integer, got ${threads}`);
  if (threads > 1 && options.hooks?.extraLoss)
    throw new InvalidArgumentError(
      `train: threads ${threads} cannot run hooks.extraLoss (a loss term of this thread, e.g. distillation); use threads 1`,
    );
  const micro = options.microBatchSize;
  if (micro !== undefined && !(Number.isInteger(micro) && micro > 0))
    throw new InvalidArgumentError(`train: microBatchSize must be a positive integer, got ${micro}`);
  if (options.schedule) checkSchedule(options.schedule);
  if (options.augmentation) checkAugmentation(options.augmentation, data.shape);
  if (options.mixup !== undefined) checkMixup(options.mixup);
}

/** Loss and accuracy of the model on data, in batches (no gradients). */
export async function evaluate(
  model: TfLayers.LayersModel,
  data: TrainingData,
  options: { batchSize?: number } = {},
): Promise<{ loss: number; accuracy: number }> {
  const tf = await import('@tensorflow/tfjs-core');
  return evaluateWith(tf, model, data, outputsInSoftmax(model).at(-1) as boolean, options.batchSize ?? 512);
}

function evaluateWith(
  tf: typeof TfCore,
  model: TfLayers.LayersModel,
  data: TrainingData,
  probabilities: boolean,
  batchSize: number,
): { loss: number; accuracy: number } {
  const n = data.labels.length;
  const size = data.shape.reduce((a, b) => a * b, 1);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const [loss, predicted] = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(start * size, end * size), [end - start, ...data.shape]);
      const labels = tf.tensor1d(data.labels.subarray(start, end), 'int32');
      const raw = model.apply(x, { training: false }) as TfCore.Tensor | TfCore.Tensor[];
      const output = Array.isArray(raw) ? (raw.at(-1) as TfCore.Tensor) : raw;
      const targets = tf.oneHot(labels, data.numClasses);
      return [
        tf.mul(crossEntropy(tf, targets, output, probabilities), end - start).dataSync()[0],
        tf.argMax(output, -1).dataSync(),
      ];
    }) as [number, Int32Array];
    lossSum += loss;
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === data.labels[start + i]) correct++;
  }
  return { loss: lossSum / n, accuracy: correct / n };
}

interface DropoutLike {
  seed?: number;
}

export async function trainModel(
  model: TfLayers.LayersModel,
  data: TrainingData,
  options: TrainOptions,
): Promise<TrainResult> {
  checkOptions(options, data);
  const tf = await import('@tensorflow/tfjs-core');
  const started = performance.now();
  const rng = new Random(options.seed ?? 0);
  const shuffleRng = rng.fork('shuffle');
  const augmentRng = rng.fork('augment');
  const dropoutRng = rng.fork('dropout');
  const mixupRng = rng.fork('mixup');
  const batchSize = options.batchSize ?? 32;
  const n = data.labels.length;
  const size = data.shape.reduce((a, b) => a * b, 1);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const outputProbabilities = outputsInSoftmax(model);
  const probabilities = outputProbabilities.at(-1) as boolean;
  const outputWeights = options.outputWeights ?? outputProbabilities.map(() => 1);
  if (outputWeights.length !== outputProbabilities.length)
    throw new InvalidArgumentError(
      `train: outputWeights has ${outputWeights.length} entries for a model with ${outputProbabilities.length} outputs`,
    );
  const hooks = options.hooks ?? {};
  const crossEntropyWeight = hooks.crossEntropyWeight ?? 1;
  const smoothing = options.labelSmoothing ?? 0;
  const baseLr = options.optimizer?.learningRate ?? 1e-3;
  const optimizerConfig = options.optimizer ?? { type: 'adam' as const, learningRate: baseLr };
  let optimizer = createOptimizer(tf, optimizerConfig);
  const plateau = options.schedule?.type === 'reduceOnPlateau' ? new PlateauReducer(options.schedule) : null;
  const variables = model.trainableWeights.map((w) => w.read() as TfCore.Variable);
  if (options.optimizerState) {
    try {
      await optimizer.setState(options.optimizerState, variables);
    } catch (error) {
      optimizer.dispose();
      throw error;
    }
  }
  const lossSettings: LossSettings = {
    numClasses: data.numClasses,
    outputProbabilities,
    outputWeights: [...outputWeights],
    labelSmoothing: smoothing,
    crossEntropyWeight,
    penalised: penalisedKernels(model, options.regularization),
    extraLoss: hooks.extraLoss,
  };
  const threads = options.threads ?? 1;
  const microBatch = Math.min(options.microBatchSize ?? batchSize, batchSize);
  // tfjs's Dropout with a fixed seed draws the same mask every call, so each batch gets a new seed.
  const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as DropoutLike[];
  const monitor = options.earlyStopping?.monitor ?? (options.validation ? 'valLoss' : undefined);
  const stopping = options.earlyStopping
    ? new EarlyStopping<TfCore.Tensor[]>({
        ...options.earlyStopping,
        monitor,
        mode: monitor === 'valAccuracy' ? 'max' : 'min',
      })
    : null;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const batchX = new Float32Array(batchSize * size);
  const batchY = new Int32Array(batchSize);
  const scratch = new Float32Array(size);
  const mixScratch = options.mixup ? new Float32Array(batchSize * size) : null;
  const partnerY = new Int32Array(batchSize);
  const history: EpochMetrics[] = [];
  const bar =
    options.progress && process.stderr.isTTY ? new ProgressBar(options.epochs, stepsPerEpoch) : null;
  let replicas: GradientReplicas | null = null;
  let stopped: TrainResult['stopped'] = 'epochs';
  let step = 0;
  if (options.signal?.aborted) stopped = 'aborted';
  try {
    // Replicas in worker threads compute the other shards of every batch.
    if (threads > 1)
      replicas = await GradientReplicas.start(tf, model, variables, {
        threads,
        batchSize,
        microBatch,
        sampleShape: data.shape,
        numClasses: data.numClasses,
        outputProbabilities,
        outputWeights: [...outputWeights],
        labelSmoothing: smoothing,
        crossEntropyWeight,
        regularization: options.regularization,
      });
    for (let epoch = 0; epoch < options.epochs && stopped === 'epochs'; epoch++) {
      const epochStart = performance.now();
      shuffleRng.shuffle(order);
      let lossSum: TfCore.Scalar = tf.keep(tf.scalar(0));
      let correctSum: TfCore.Scalar = tf.keep(tf.scalar(0));
      let seen = 0;
      for (let start = 0; start < n; start += batchSize) {
        const count = Math.min(batchSize, n - start);
        for (let i = 0; i < count; i++) {
          const row = order[start + i];
          batchX.set(data.x.subarray(row * size, (row + 1) * size), i * size);
          batchY[i] = data.labels[row];
        }
        if (options.augmentation)
          augmentBatch(batchX, count, data.shape, options.augmentation, augmentRng, scratch);
        const mixed =
          options.mixup && mixScratch
            ? mixBatch(batchX, count, size, options.mixup, mixupRng, mixScratch)
            : null;
        if (mixed) for (let i = 0; i < count; i++) partnerY[i] = batchY[mixed.partner[i]];
        const mix = mixed ? { partners: partnerY, lambda: mixed.lambda } : undefined;
        const at = { step, stepsPerEpoch };
        if (hooks.restartOptimizer?.(step)) {
          optimizer.dispose();
          optimizer = createOptimizer(tf, optimizerConfig);
        }
        optimizer.learningRate =
          scheduledLearningRate(baseLr, options.schedule ?? { type: 'constant' }, at) *
          warmupFactor(options.warmup, at) *
          (plateau?.scale ?? 1);
        for (const d of dropouts) d.seed = dropoutRng.nextUint32() % 2_147_483_647;
        const dropoutSeed = dropouts[0]?.seed ?? 0;
        const shard = { from: 0, to: replicas ? shardRange(count, 0, threads).to : count };
        // The replicas get this step's batch and the weights the last step left.
        replicas?.launch(tf, { x: batchX, labels: batchY, mix }, count, size, variables, dropoutSeed, step);
        const own: PartialGradients = tf.tidy(
          () =>
            partialGradients(
              tf,
              model,
              variables,
              { x: batchX, labels: batchY, shape: data.shape, mix },
              { ...shard, batchTotal: count, microBatch },
              lossSettings,
              step,
            ) as unknown as TfCore.TensorContainer,
        ) as unknown as PartialGradients;
        if (replicas) {
          await replicas.wait();
          replicas.combineMovingStatistics(tf, count);
        }
        const [nextLoss, nextCorrect] = tf.tidy(() => {
          let grads = own.grads;
          let value: TfCore.Scalar = own.loss;
          let correct: TfCore.Tensor = own.correct;
          if (replicas) {
            const others = replicas.combine(tf, own.grads, variables);
            grads = others.grads;
            value = tf.add(value, others.loss / count);
            correct = tf.add(correct, others.correct);
          }
          optimizer.apply(
            hooks.transformGradients ? hooks.transformGradients(grads, variables, step) : grads,
            variables,
          );
          hooks.afterStep?.(variables, step);
          return [tf.keep(tf.add(lossSum, tf.mul(value, count))), tf.keep(tf.add(correctSum, correct))];
        }) as [TfCore.Scalar, TfCore.Scalar];
        tf.dispose([own.loss, own.correct, ...Object.values(own.grads)]);
        lossSum.dispose();
        correctSum.dispose();
        lossSum = nextLoss;
        correctSum = nextCorrect;
        seen += count;
        options.onStep?.(step, stepsPerEpoch);
        step++;
        bar?.update(epoch, step - epoch * stepsPerEpoch);
        if (options.signal) {
          // The loop is synchronous: yield once per batch so a signal handler (Ctrl-C) can run.
          await new Promise((resolve) => setImmediate(resolve));
          if (options.signal.aborted) {
            stopped = 'aborted';
            break;
          }
        }
        if (
          options.timeBudgetSeconds !== undefined &&
          (performance.now() - started) / 1000 > options.timeBudgetSeconds
        ) {
          stopped = 'time-budget';
          break;
        }
      }
      const metrics: EpochMetrics = {
        epoch,
        loss: lossSum.dataSync()[0] / seen,
        accuracy: correctSum.dataSync()[0] / seen,
        learningRate: optimizer.learningRate,
        seconds: 0,
      };
      lossSum.dispose();
      correctSum.dispose();
      if (options.validation) {
        const v = evaluateWith(tf, model, options.validation, probabilities, 512);
        metrics.valLoss = v.loss;
        metrics.valAccuracy = v.accuracy;
      }
      metrics.seconds = (performance.now() - epochStart) / 1000;
      history.push(metrics);
      bar?.epochDone(metrics);
      options.onEpoch?.(metrics);
      if (plateau) plateau.update(metrics.valLoss ?? metrics.loss, baseLr);
      if (options.trial) {
        options.trial.report(
          options.reportValue ? options.reportValue(metrics) : (metrics.valAccuracy ?? metrics.accuracy),
          epoch,
        );
        if (options.trial.shouldPrune()) throw new TrialPruned(`pruned at epoch ${epoch}`);
      }
      if (stopping) {
        const value = monitor === 'valAccuracy' ? metrics.valAccuracy : (metrics.valLoss ?? metrics.loss);
        const previous = stopping.bestSnapshot;
        const update = stopping.update(value ?? Number.NaN, epoch, () =>
          model.getWeights().map((w) => tf.keep(w.clone())),
        );
        if (update.improved && previous) tf.dispose(previous);
        if (update.stop && stopped === 'epochs') stopped = 'early-stopping';
      }
    }
    const best = stopping?.restoreBestWeights ? stopping.bestSnapshot : undefined;
    if (best && stopping?.bestEpoch !== history.length - 1) model.setWeights(best);
    return {
      history,
      stopped,
      bestEpoch: best ? stopping?.bestEpoch : history.length - 1,
      seconds: (performance.now() - started) / 1000,
      ...(options.keepOptimizerState ? { optimizerState: await optimizer.getState(variables) } : {}),
    };
  } finally {
    await replicas?.close();
    bar?.close();
    const snapshot = stopping?.bestSnapshot;
    if (snapshot) tf.dispose(snapshot);
    optimizer.dispose();
  }
}

/** A one-line progress bar on stderr (drawn only on a terminal). */
class ProgressBar {
  private readonly epochs: number;
  private readonly steps: number;
  private last = 0;

  constructor(epochs: number, steps: number) {
    this.epochs = epochs;
    this.steps = steps;
  }

  update(epoch: number, step: number): void {
    const now = Date.now();
    if (now - this.last < 100 && step < this.steps) return;
    this.last = now;
    const width = 24;
    const filled = Math.round((step / this.steps) * width);
    process.stderr.write(
      `\r\x1b[2Kepoch ${epoch + 1}/${this.epochs} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${step}/${this.steps}`,
    );
  }

  epochDone(m: EpochMetrics): void {
    const val =
      m.valAccuracy === undefined
        ? ''
        : `  val loss ${m.valLoss?.toFixed(4)}  val acc ${(100 * m.valAccuracy).toFixed(2)}%`;
    process.stderr.write(
      `\r\x1b[2Kepoch ${m.epoch + 1}/${this.epochs}  loss ${m.loss.toFixed(4)}  acc ${(100 * m.accuracy).toFixed(2)}%${val}  lr ${m.learningRate.toPrecision(3)}  ${m.seconds.toFixed(1)}s\n`,
    );
  }

  close(): void {
    process.stderr.write('\r\x1b[2K');
  }
}
