/**
 * One round of one PBT member: build the network for the member's values, load its weights (and
 * optimizer state), train a few epochs with a seed, read the weights back. Shared by the main
 * thread and the member worker threads (pbt-worker.ts), so both train exactly alike.
 */
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../core/errors.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import type { AugmentationConfig } from '../train/augment.js';
import type { OptimizerState } from '../train/optimizers.js';
import { type TrainingData, trainModel } from '../train/trainer.js';

/** The hyperparameters PBT adapts (those the trainer supports). */
export interface PbtHyperparameters {
  learningRate: number;
  /** Decoupled weight decay of AdamW. */
  weightDecay: number;
  /** Rate of every dropout layer of the network. */
  dropout: number;
  /** Augmentation strength in [0, 1]: shift 0.125 * s of the image, rotation 15 * s degrees. */
  augmentation: number;
  batchSize: number;
}

/** What one round needs besides the member's values and weights. */
export interface PbtRoundSetup {
  train: TrainingData;
  validation: TrainingData;
  /**
   * The network: a spec whose dropout layers take the member's dropout rate (any spec; it may
   * have no dropout layer), or a function of the values (in-process training only).
   */
  spec?: ModelSpec;
  buildSpec?: (hyperparameters: PbtHyperparameters) => ModelSpec;
  epochsPerRound: number;
}

/** What enters a round: the member's values, its seeds, and what it carries from the last round. */
export interface PbtRoundInput {
  hyperparameters: PbtHyperparameters;
  initSeed: number;
  trainSeed: number;
  weights?: Float32Array[];
  /** Adam's moments and step count from the last round (absent: a fresh optimizer). */
  optimizerState?: OptimizerState;
  /** Return the optimizer state at the end of the round. */
  keepOptimizerState: boolean;
}

export interface PbtRoundOutput {
  weights: Float32Array[];
  optimizerState?: OptimizerState;
  valAccuracy: number;
}

const AUGMENT_SHIFT = 0.125;
const AUGMENT_ROTATION = 15;

export function augmentationFor(strength: number): AugmentationConfig | undefined {
  if (!(strength > 0)) return undefined;
  return { shift: AUGMENT_SHIFT * strength, rotation: AUGMENT_ROTATION * strength };
}

/** `spec` with every dropout layer at `rate` (the layer list never changes, so weights carry over). */
export function withDropoutRate(spec: ModelSpec, rate: number): ModelSpec {
  return {
    ...spec,
    layers: spec.layers.map((layer) => (layer.type === 'dropout' ? { ...layer, rate } : layer)),
  };
}

export function pbtSpecFor(
  setup: Pick<PbtRoundSetup, 'spec' | 'buildSpec'>,
  hyperparameters: PbtHyperparameters,
): ModelSpec {
  if (setup.buildSpec) return setup.buildSpec(hyperparameters);
  if (setup.spec) return withDropoutRate(setup.spec, hyperparameters.dropout);
  throw new InvalidArgumentError('pbt: give the network as spec or buildSpec');
}

/** Builds the network for `hyperparameters` holding `weights` (or the seeded initial ones). */
export async function buildPbtModel(
  setup: Pick<PbtRoundSetup, 'spec' | 'buildSpec'>,
  hyperparameters: PbtHyperparameters,
  initSeed: number,
  weights?: readonly Float32Array[],
): Promise<TfLayers.LayersModel> {
  const tf = await import('@tensorflow/tfjs-core');
  const model = await buildTfjsModel(pbtSpecFor(setup, hyperparameters), { seed: initSeed });
  if (weights) {
    const shapes = model.weights.map((w) => w.shape);
    if (shapes.length !== weights.length) {
      model.dispose();
      throw new InvalidArgumentError(
        `pbt: the network has ${shapes.length} weight tensors, the member carries ${weights.length}`,
      );
    }
    const tensors = weights.map((w, i) => tf.tensor(w, shapes[i] as number[]));
    model.setWeights(tensors);
    tf.dispose(tensors);
  }
  return model;
}

/** One round: load the weights, train `epochsPerRound` epochs with these values, return the new weights. */
export async function trainPbtRound(setup: PbtRoundSetup, input: PbtRoundInput): Promise<PbtRoundOutput> {
  const hp = input.hyperparameters;
  const model = await buildPbtModel(setup, hp, input.initSeed, input.weights);
  try {
    const augmentation = augmentationFor(hp.augmentation);
    const result = await trainModel(model, setup.train, {
      epochs: setup.epochsPerRound,
      batchSize: hp.batchSize,
      optimizer: { type: 'adamw', learningRate: hp.learningRate, weightDecay: hp.weightDecay },
      validation: setup.validation,
      seed: input.trainSeed,
      ...(augmentation ? { augmentation } : {}),
      ...(input.optimizerState ? { optimizerState: input.optimizerState } : {}),
      keepOptimizerState: input.keepOptimizerState,
    });
    const last = result.history[result.history.length - 1];
    return {
      weights: model.getWeights().map((t) => (t.dataSync() as Float32Array).slice()),
      ...(result.optimizerState ? { optimizerState: result.optimizerState } : {}),
      valAccuracy: last.valAccuracy ?? 0,
    };
  } finally {
    model.dispose();
  }
}
