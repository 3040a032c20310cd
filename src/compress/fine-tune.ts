/**
 * Training and measuring framework-free weights: a model is rebuilt from them, trained with the
 * trainer (masks enforced in its step through hooks), and read back. Masks hold in one place:
 * after each optimizer step the weights are multiplied by their masks, so no update (Adam's and
 * RMSProp's moments, weight decay, L1/L2) leaves a pruned weight off exactly zero. Gradients are not
 * masked as well: every optimizer here updates each weight from its own gradient and moments only
 * (the trainer clips nothing across weights), so a pruned weight's moments never reach a kept one,
 * and the re-masking alone is what `test/compress/masks.test.ts` checks over 100 steps.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { warn } from '../core/warnings.js';
import { evaluate, type TrainingData, type TrainingHooks, trainModel } from '../train/trainer.js';
import type { CompressionData, FineTuneRequest, FineTuneSettings } from './method.js';
import {
  applyMasks,
  buildModelWithWeights,
  cloneWeights,
  type ModelWeights,
  readModelWeights,
  variableOwners,
  type WeightMasks,
} from './model-weights.js';

/** Trainer hooks that hold masks on a model built from `spec`; `dispose` frees the mask tensors. */
export async function maskHooks(
  model: TfLayers.LayersModel,
  spec: ModelWeights['spec'],
  masks: WeightMasks,
): Promise<{ hooks: TrainingHooks; dispose: () => void }> {
  const tf = await import('@tensorflow/tfjs-core');
  const byVariable = new Map<string, TfCore.Tensor>();
  for (const [variable, owner] of variableOwners(model, spec)) {
    const mask = masks[owner.layer]?.[owner.tensor];
    if (!mask) continue;
    const shape = model
      .getLayer(owner.layer)
      .weights.find((w) => (w.read() as TfCore.Variable).name === variable)
      ?.read().shape as number[];
    byVariable.set(variable, tf.keep(tf.tensor(Float32Array.from(mask), shape)));
  }
  const hooks: TrainingHooks =
    byVariable.size === 0
      ? {}
      : {
          afterStep: (variables) => {
            for (const v of variables) {
              const mask = byVariable.get(v.name);
              if (mask) v.assign(tf.mul(v, mask));
            }
          },
        };
  return { hooks, dispose: () => tf.dispose([...byVariable.values()]) };
}

/** The method's hooks first, then the masks' (so masks have the last word on gradients and weights). */
export function composeHooks(first: TrainingHooks | undefined, then: TrainingHooks): TrainingHooks {
  if (!first) return then;
  return {
    extraLoss: first.extraLoss ?? then.extraLoss,
    crossEntropyWeight: first.crossEntropyWeight ?? then.crossEntropyWeight,
    transformGradients:
      first.transformGradients && then.transformGradients
        ? (g, v, s) =>
            (then.transformGradients as NonNullable<TrainingHooks['transformGradients']>)(
              (first.transformGradients as NonNullable<TrainingHooks['transformGradients']>)(g, v, s),
              v,
              s,
            )
        : (first.transformGradients ?? then.transformGradients),
    afterStep:
      first.afterStep && then.afterStep
        ? (v, s) => {
            first.afterStep?.(v, s);
            then.afterStep?.(v, s);
          }
        : (first.afterStep ?? then.afterStep),
    restartOptimizer:
      first.restartOptimizer && then.restartOptimizer
        ? (s) => Boolean(first.restartOptimizer?.(s)) || Boolean(then.restartOptimizer?.(s))
        : (first.restartOptimizer ?? then.restartOptimizer),
  };
}

export async function fineTuneWeights(
  weights: ModelWeights,
  masks: WeightMasks,
  request: FineTuneRequest,
  settings: FineTuneSettings,
  data: CompressionData,
  seed: number,
  signal?: AbortSignal,
) {
  const start = cloneWeights(weights);
  applyMasks(start, masks);
  const model = await buildModelWithWeights(start);
  const masking = await maskHooks(model, start.spec, masks);
  try {
    const hooks = composeHooks(
      request.hooks ? await request.hooks(variableOwners(model, start.spec)) : undefined,
      masking.hooks,
    );
    const threads = settings.threads ?? 1;
    if (hooks.extraLoss && threads > 1)
      warn(
        'ONE_THREAD',
        `fine-tune: distillation trains on 1 thread, not ${threads} (its loss uses the teacher, which only this thread holds)`,
      );
    const result = await trainModel(model, data.train, {
      epochs: request.epochs,
      batchSize: settings.batchSize,
      optimizer: { type: settings.optimizer, learningRate: request.learningRate ?? settings.learningRate },
      validation: data.validation,
      ...(request.augmentation ? { augmentation: request.augmentation } : {}),
      ...(request.mixup ? { mixup: request.mixup } : {}),
      ...(request.schedule ? { schedule: request.schedule } : {}),
      seed,
      progress: settings.progress ?? false,
      signal,
      hooks,
      // A loss term of this thread (distillation) cannot run in the replicas.
      threads: hooks.extraLoss ? 1 : threads,
      onStep: request.onStep,
      onEpoch: (m) => request.onEpoch?.(m.epoch, m.valAccuracy),
      trial: request.trial,
      reportValue: request.reportValue
        ? (m) => (request.reportValue as (a: number) => number | number[])(m.valAccuracy ?? m.accuracy)
        : undefined,
    });
    const trained = readModelWeights(model, start.spec);
    applyMasks(trained, masks);
    return { weights: trained, result };
  } finally {
    masking.dispose();
    model.dispose();
  }
}

export async function weightsAccuracy(weights: ModelWeights, data: TrainingData): Promise<number> {
  const model = await buildModelWithWeights(weights);
  try {
    return (await evaluate(model, data)).accuracy;
  } finally {
    model.dispose();
  }
}
