/**
 * Small real models and data for compression tests: UCI digits (1,797 images of 8x8), an MLP and
 * a small CNN on it, trained briefly on the cpu backend (deterministic, seconds).
 */

import type { CompressionData } from '../../src/compress/method.js';
import { type ModelWeights, readModelWeights } from '../../src/compress/model-weights.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { type TrainingData, trainingData, trainModel } from '../../src/train/trainer.js';

/** Digits scaled, split and shaped; `trainSamples` keeps only the first n training samples. */
export async function digitsData(
  shape: readonly number[] = [64],
  trainSamples?: number,
): Promise<CompressionData> {
  await initBackend({ backend: 'cpu' });
  const splits = splitBundle(await loadDataset('digits'), { seed: 0 });
  const scaler = fitStandardScaler(splits.train);
  const as = (d: typeof splits.train): TrainingData => trainingData(scaler.transform(d), shape);
  const train = as(splits.train);
  const size = shape.reduce((a, b) => a * b, 1);
  const n = Math.min(trainSamples ?? train.labels.length, train.labels.length);
  return {
    train: { ...train, x: train.x.subarray(0, n * size), labels: train.labels.subarray(0, n) },
    validation: as(splits.validation),
    ...(splits.test ? { test: as(splits.test) } : {}),
  };
}

export function mlpSpec(): ModelSpec {
  return sequential([64], { name: 'digits-mlp' })
    .add('dense', { units: 48, activation: 'relu' })
    .add('dense', { units: 24, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();
}

export function cnnSpec(): ModelSpec {
  return sequential([8, 8, 1], { name: 'digits-cnn' })
    .add('conv2d', { filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' })
    .add('batchNorm')
    .add('conv2d', { filters: 12, kernelSize: 3, activation: 'relu' })
    .add('maxPool2d', { poolSize: 2 })
    .add('flatten')
    .add('dense', { units: 10, activation: 'softmax' })
    .build();
}

/** A model of `spec` trained for a few epochs, as framework-free weights. */
export async function trainedWeights(
  spec: ModelSpec,
  data: CompressionData,
  epochs = 3,
): Promise<ModelWeights> {
  const model = await buildTfjsModel(spec, { seed: 1 });
  try {
    await trainModel(model, data.train, { epochs, batchSize: 32, seed: 1 });
    return readModelWeights(model, spec);
  } finally {
    model.dispose();
  }
}
