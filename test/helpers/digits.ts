/** The embedded digits, split and standardised as the CLI does, as trainer data (64 features). */
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { type TrainingData, trainingData } from '../../src/train/trainer.js';

export interface DigitsSplits {
  train: TrainingData;
  validation: TrainingData;
  test: TrainingData;
}

export async function digitsSplits(seed = 0, shape: readonly number[] = [64]): Promise<DigitsSplits> {
  const splits = splitBundle(await loadDataset('digits'), { seed });
  const scaler = fitStandardScaler(splits.train);
  return {
    train: trainingData(scaler.transform(splits.train), shape),
    validation: trainingData(scaler.transform(splits.validation), shape),
    test: trainingData(scaler.transform(splits.test), shape),
  };
}
