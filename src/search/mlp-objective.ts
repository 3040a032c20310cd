/**
 * The objective of the size search, run in a worker thread (one trial per core): suggest an MLP,
 * count its complexity from the configuration alone, train it with TensorFlow.js on the seeded
 * split, report validation accuracy each epoch so the pruner can stop weak trials, and return
 * [validation accuracy, parameters].
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { Random } from '../core/random.js';
import { TrialPruned } from '../core/trial.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { fitStandardScaler, splitBundle } from '../data/transforms.js';
import { initBackend } from '../models/backends/index.js';
import { EarlyStopping } from '../train/early-stopping.js';
import { mlpComplexity } from './mlp-complexity.js';
import { type MlpConfig, type SuggestingTrial, suggestMlpConfig } from './mlp-space.js';

/** What every thread needs to know about the search (passed as the thread context). */
export interface MlpSearchContext {
  dataset: string;
  /** Seed of the data split (shared by all trials). */
  seed: number;
  maxEpochs: number;
  /** Epochs without validation improvement before a trial stops early. */
  patience: number;
  maxUnits: number;
  maxLayers: number;
  /** Optional parameter budget: larger configurations are rejected before any training. */
  maxParams?: number;
}

export interface SearchTrial extends SuggestingTrial {
  readonly number: number;
  report(value: number | number[], step: number): void;
  shouldPrune(): boolean;
  setUserAttr(key: string, value: unknown): void;
}

/** User attributes every finished trial of the size search carries. */
export const MLP_ATTRS = {
  params: 'params',
  connections: 'connections',
  macs: 'macs',
  testAccuracy: 'testAccuracy',
  epochs: 'epochs',
  seconds: 'trainSeconds',
  overBudget: 'overBudget',
} as const;

interface Prepared {
  tf: typeof TfCore;
  layers: typeof TfLayers;
  inputs: number;
  classes: number;
  train: { x: TfCore.Tensor2D; y: TfCore.Tensor2D; n: number };
  validation: { x: TfCore.Tensor2D; labels: Int32Array };
  test: { x: TfCore.Tensor2D; labels: Int32Array };
}

let prepared: Promise<Prepared> | undefined;
let preparedKey = '';

/** Loads, splits and standardises the data once per thread; every trial sees the same split. */
function prepare(context: MlpSearchContext): Promise<Prepared> {
  const key = `${context.dataset}:${context.seed}`;
  if (prepared && preparedKey === key) return prepared;
  preparedKey = key;
  prepared = (async () => {
    await initBackend();
    const tf = await import('@tensorflow/tfjs-core');
    const layers = await import('@tensorflow/tfjs-layers');
    const bundle = await loadDataset(context.dataset);
    const splits = splitBundle(bundle, { seed: context.seed, validation: 0.2, test: 0.2 });
    const scaler = fitStandardScaler(splits.train);
    const classes = splits.train.classNames.length;
    const asTensor = (d: Dataset) => tf.tensor2d(scaler.transformData(d.data), [d.numSamples, d.numFeatures]);
    const labels = splits.train.labels;
    const y = new Float32Array(labels.length * classes);
    for (let i = 0; i < labels.length; i++) y[i * classes + labels[i]] = 1;
    return {
      tf,
      layers,
      inputs: splits.train.numFeatures,
      classes,
      train: { x: asTensor(splits.train), y: tf.tensor2d(y, [labels.length, classes]), n: labels.length },
      validation: { x: asTensor(splits.validation), labels: splits.validation.labels },
      test: { x: asTensor(splits.test), labels: splits.test.labels },
    };
  })();
  return prepared;
}

export async function objective(trial: SearchTrial, context: MlpSearchContext): Promise<number[]> {
  const config = suggestMlpConfig(trial, {
    maxLayers: context.maxLayers,
    minUnits: 8,
    maxUnits: context.maxUnits,
  });
  const data = await prepare(context);
  const complexity = mlpComplexity(data.inputs, config.hiddenUnits, data.classes);
  trial.setUserAttr(MLP_ATTRS.params, complexity.params);
  trial.setUserAttr(MLP_ATTRS.connections, complexity.connections);
  trial.setUserAttr(MLP_ATTRS.macs, complexity.macs);
  if (context.maxParams !== undefined && complexity.params > context.maxParams) {
    // Rejected from the configuration alone: nothing is built or trained.
    trial.setUserAttr(MLP_ATTRS.overBudget, true);
    throw new TrialPruned(`${complexity.params} parameters exceed the budget of ${context.maxParams}`);
  }
  const started = performance.now();
  const result = trainMlp(data, config, context, trial, complexity.params);
  trial.setUserAttr(MLP_ATTRS.testAccuracy, result.testAccuracy);
  trial.setUserAttr(MLP_ATTRS.epochs, result.epochs);
  trial.setUserAttr(MLP_ATTRS.seconds, Math.round(performance.now() - started) / 1000);
  return [result.validationAccuracy, complexity.params];
}

function accuracy(
  tf: typeof TfCore,
  model: TfLayers.LayersModel,
  x: TfCore.Tensor2D,
  labels: Int32Array,
): number {
  const predicted = tf.tidy(() => tf.argMax(model.predict(x) as TfCore.Tensor2D, 1).dataSync());
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

function trainMlp(
  data: Prepared,
  config: MlpConfig,
  context: MlpSearchContext,
  trial: SearchTrial,
  params: number,
): { validationAccuracy: number; testAccuracy: number; epochs: number } {
  const { tf, layers } = data;
  const rng = new Random(context.seed).fork(`trial-${trial.number}`);
  const seed = () => rng.nextUint32() % 2147483647;
  const model = layers.sequential();
  config.hiddenUnits.forEach((units, i) => {
    model.add(
      layers.layers.dense({
        units,
        activation: config.activation,
        inputShape: i === 0 ? [data.inputs] : undefined,
        kernelInitializer: layers.initializers.glorotUniform({ seed: seed() }),
      }),
    );
  });
  model.add(
    layers.layers.dense({
      units: data.classes,
      kernelInitializer: layers.initializers.glorotUniform({ seed: seed() }),
    }),
  );
  const optimizer = tf.train.adam(config.learningRate);
  // Dropout is applied here rather than as a layer: a tfjs Dropout layer with a seed draws the
  // same mask on every batch, and without one it is not reproducible.
  const dense = model.layers;
  const forward = (x: TfCore.Tensor2D, batchSeed: number): TfCore.Tensor2D => {
    let h: TfCore.Tensor2D = x;
    dense.forEach((layer, i) => {
      h = layer.apply(h) as TfCore.Tensor2D;
      if (config.dropout > 0 && i < dense.length - 1)
        h = tf.dropout(h, config.dropout, undefined, batchSeed + i) as TfCore.Tensor2D;
    });
    return h;
  };
  const kernels = model.trainableWeights.filter((w) => w.shape.length === 2).map((w) => w.read());
  const n = data.train.n;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const stopping = new EarlyStopping<TfCore.Tensor[]>({
    mode: 'max',
    patience: context.patience,
    restoreBestWeights: true,
  });
  let validationAccuracy = 0;
  let epoch = 0;
  try {
    for (; epoch < context.maxEpochs; epoch++) {
      rng.shuffle(order);
      for (let start = 0; start < n; start += config.batchSize) {
        const batchSeed = seed();
        const batch = tf.tensor1d(order.subarray(start, Math.min(n, start + config.batchSize)), 'int32');
        tf.tidy(() => {
          const x = tf.gather(data.train.x, batch);
          const y = tf.gather(data.train.y, batch);
          optimizer.minimize(() => {
            const logits = forward(x, batchSeed);
            const loss = tf.losses.softmaxCrossEntropy(y, logits);
            if (config.l2 === 0) return loss as TfCore.Scalar;
            const penalty = tf.addN(kernels.map((k) => tf.sum(tf.square(k))));
            return tf.add(loss, tf.mul(penalty, config.l2)) as TfCore.Scalar;
          });
        });
        batch.dispose();
      }
      validationAccuracy = accuracy(tf, model, data.validation.x, data.validation.labels);
      // Both objectives, so the multi-objective pruner ranks the curve by accuracy and size.
      trial.report([validationAccuracy, params], epoch);
      if (trial.shouldPrune()) throw new TrialPruned(`pruned at epoch ${epoch}`);
      const previous = stopping.bestSnapshot;
      const update = stopping.update(validationAccuracy, epoch, () =>
        model.getWeights().map((w) => w.clone()),
      );
      if (update.improved && previous) tf.dispose(previous);
      if (update.stop) {
        epoch++;
        break;
      }
    }
    const best = stopping.bestSnapshot;
    if (best) {
      model.setWeights(best);
      tf.dispose(best);
    }
    validationAccuracy = stopping.bestValue ?? validationAccuracy;
    return {
      validationAccuracy,
      testAccuracy: accuracy(tf, model, data.test.x, data.test.labels),
      epochs: epoch,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
