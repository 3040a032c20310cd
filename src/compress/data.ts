/**
 * Data for compressing a model: a built-in dataset (or csv:<path>) split with a seed into train,
 * validation and test, standardised on the training part as the size search does, and shaped to
 * the model's input. A dataset that cannot feed the model (other sample size, other class count)
 * is a one-line error naming both shapes, raised before anything is trained or written.
 */
import { DataError } from '../core/errors.js';
import { loadDatasetSplits } from '../data/registry.js';
import { fitStandardScaler } from '../data/transforms.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { type TrainingData, trainingData } from '../train/trainer.js';
import type { CompressionData } from './method.js';

export async function compressionData(
  dataset: string,
  spec: ModelSpec,
  seed: number,
): Promise<CompressionData> {
  const splits = await loadDatasetSplits(dataset, { seed });
  checkDataFitsModel(dataset, splits.train.featureShape, splits.train.classNames.length, spec);
  const scaler = fitStandardScaler(splits.train);
  const shape = spec.inputs[0].shape;
  const as = (d: typeof splits.train): TrainingData => trainingData(scaler.transform(d), shape);
  return {
    train: as(splits.train),
    validation: as(splits.validation),
    ...(splits.test && splits.test.numSamples > 0 ? { test: as(splits.test) } : {}),
  };
}

/** The dataset's samples must have as many values as the model's input, and its classes the model's outputs. */
export function checkDataFitsModel(
  dataset: string,
  featureShape: readonly number[],
  classes: number,
  spec: ModelSpec,
): void {
  if (spec.inputs.length !== 1)
    throw new DataError(`model has ${spec.inputs.length} inputs; compression trains models with one input`);
  const input = spec.inputs[0];
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (size(featureShape) !== size(input.shape))
    throw new DataError(
      `dataset ${dataset} has samples of shape [${featureShape.join(', ')}] (${size(featureShape)} values) but model input "${input.name}" expects [${input.shape.join(', ')}] (${size(input.shape)} values)`,
    );
  const analysis = analyzeModel(spec);
  const output = spec.outputs[0];
  const outShape = analysis.layers.find((l) => l.name === output)?.outputShape ?? [];
  const units = outShape[outShape.length - 1];
  if (outShape.length !== 1 || units !== classes)
    throw new DataError(
      `dataset ${dataset} has ${classes} classes but model output "${output}" has shape [${outShape.join(', ')}]`,
    );
}
