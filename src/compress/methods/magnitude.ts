/**
 * Unstructured magnitude pruning: the smallest |w| become exactly zero and stay zero through
 * fine-tuning (masks held in the training step). Two methods share this file:
 * - `magnitude`: each layer pruned by its own threshold, to one sparsity or per-layer sparsities
 *   (`layers`, e.g. from a sensitivity analysis);
 * - `global`: one threshold across all pruned layers (layers compete for the weights they keep).
 * Layers named in `skip` stay dense; the last weighted layer keeps at least `lastLayerMinKept`
 * of its weights (default 0.2; 0 to let it be pruned like the others).
 * Sparsity counts the weights of the pruned layers (biases and skipped layers are not pruned).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { RecipeError } from '../../core/errors.js';
import type { ModelSpec } from '../../models/spec/types.js';
import type { TrainingHooks } from '../../train/trainer.js';
import {
  type CompressionMethod,
  checkKnownFields,
  checkLayerName,
  defineMethod,
  readBoolean,
  readChoice,
  readLayerMap,
  readLearningRate,
  readNumber,
  readOptionalNumber,
  readStringList,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import {
  cloneWeights,
  hasWeights,
  layerSpecOf,
  type ModelWeights,
  TENSOR_ROLES,
  type VariableOwner,
  type WeightMasks,
  weightTensors,
} from '../model-weights.js';
import {
  type GroupMasks,
  globalMasks,
  layerwiseMasks,
  PRUNE_SCORES,
  type PruneGroup,
  type PruneScore,
} from '../prune-masks.js';
import {
  iterativeSparsity,
  SCHEDULES,
  type ScheduleName,
  type ScheduleSettings,
  type SparsityEvent,
  sparsityEvents,
} from '../sparsity-schedule.js';

export interface MagnitudeOptions {
  scope: 'layer' | 'global';
  sparsity: number;
  /** Per-layer sparsity (scope layer only); layers not listed take `sparsity`. */
  layers: Record<string, number>;
  skip: string[];
  lastLayerMinKept: number;
  /** Global scope: how layers' weights are ranked against each other. */
  score: PruneScore;
  schedule: ScheduleName;
  finetuneEpochs: number;
  learningRate?: number;
  pruneSteps: number;
  rounds: number;
  initialSparsity: number;
  beginStep: number;
  endStep?: number;
  power: number;
  frequency: number;
  /**
   * In-training schedules: a fresh optimizer (moments and step count from zero) at each pruning
   * event, as when every event starts its own fine-tuning run. Iterative rounds are separate runs
   * and always start fresh.
   */
  restartOptimizer: boolean;
}

export const DEFAULT_LAST_LAYER_MIN_KEPT = 0.2;
export const DEFAULT_RESTART_OPTIMIZER = false;

const FIELDS = [
  'sparsity',
  'layers',
  'skip',
  'lastLayerMinKept',
  'score',
  'schedule',
  'finetuneEpochs',
  'learningRate',
  'pruneSteps',
  'rounds',
  'initialSparsity',
  'beginStep',
  'endStep',
  'power',
  'frequency',
  'restartOptimizer',
] as const;

/** Layers this method can prune, in spec order. */
export function prunableLayers(spec: ModelSpec): string[] {
  return spec.layers.filter((l) => hasWeights(l.type)).map((l) => l.name);
}

function validate(scope: 'layer' | 'global') {
  return (raw: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): MagnitudeOptions => {
    checkKnownFields(
      raw,
      FIELDS.filter((f) => f !== (scope === 'global' ? 'layers' : 'score')),
      step,
    );
    const sparsityRange = { min: 0, max: 1, maxExclusive: true };
    const layers: Record<string, number> = {};
    for (const [name, value] of Object.entries(readLayerMap(raw, 'layers', step, 'sparsities'))) {
      checkLayerName(spec, name, 'layers', step);
      if (!hasWeights(layerSpecOf(spec, name).type))
        throw new RecipeError(`${step}: field "layers" names layer "${name}", which has no weights to prune`);
      layers[name] = readNumber({ [`layers.${name}`]: value }, `layers.${name}`, step, sparsityRange);
    }
    const needsSparsity = scope === 'global' || Object.keys(layers).length === 0;
    const sparsity = readNumber(raw, 'sparsity', step, sparsityRange, needsSparsity ? undefined : 0);
    const skip = readStringList(raw, 'skip', step);
    for (const name of skip) checkLayerName(spec, name, 'skip', step);
    if (prunableLayers(spec).every((name) => skip.includes(name)))
      throw new RecipeError(`${step}: no layer left to prune (every weighted layer is in "skip")`);
    const schedule = readChoice(raw, 'schedule', step, SCHEDULES, 'agp');
    const options: MagnitudeOptions = {
      scope,
      sparsity,
      layers,
      skip,
      lastLayerMinKept: readNumber(
        raw,
        'lastLayerMinKept',
        step,
        { min: 0, max: 1 },
        DEFAULT_LAST_LAYER_MIN_KEPT,
      ),
      score: readChoice(raw, 'score', step, PRUNE_SCORES, 'magnitude'),
      schedule,
      finetuneEpochs: readNumber(raw, 'finetuneEpochs', step, { min: 0, integer: true }, 2),
      learningRate: readLearningRate(raw, step),
      pruneSteps: readNumber(raw, 'pruneSteps', step, { min: 1, integer: true }, 4),
      rounds: readNumber(raw, 'rounds', step, { min: 1, integer: true }, 3),
      initialSparsity: readNumber(raw, 'initialSparsity', step, sparsityRange, 0),
      beginStep: readNumber(raw, 'beginStep', step, { min: 0, integer: true }, 0),
      endStep: readOptionalNumber(raw, 'endStep', step, { min: 1, integer: true }),
      power: readNumber(raw, 'power', step, { min: 0, minExclusive: true }, 3),
      frequency: readNumber(raw, 'frequency', step, { min: 1, integer: true }, 100),
      restartOptimizer: readBoolean(raw, 'restartOptimizer', step, DEFAULT_RESTART_OPTIMIZER),
    };
    if (options.initialSparsity > Math.max(sparsity, ...Object.values(layers)))
      throw new RecipeError(
        `${step}: field "initialSparsity" (${options.initialSparsity}) is above the final sparsity (${sparsity})`,
      );
    if (options.endStep !== undefined && options.endStep <= options.beginStep)
      throw new RecipeError(
        `${step}: field "endStep" (${options.endStep}) must be after beginStep (${options.beginStep})`,
      );
    return options;
  };
}

/** The last weighted layer (it gets the floor of kept weights). */
function lastWeighted(spec: ModelSpec): string | undefined {
  const names = prunableLayers(spec);
  return names[names.length - 1];
}

/** Target sparsity per pruned layer at the end (the floor of the last layer applied). */
function layerTargets(spec: ModelSpec, o: MagnitudeOptions): Map<string, number> {
  const last = lastWeighted(spec);
  const targets = new Map<string, number>();
  for (const name of prunableLayers(spec)) {
    if (o.skip.includes(name)) continue;
    let s = o.layers[name] ?? o.sparsity;
    if (name === last) s = Math.min(s, 1 - o.lastLayerMinKept);
    targets.set(name, s);
  }
  return targets;
}

function transformSpec(spec: ModelSpec, o: MagnitudeOptions): ModelSpec {
  // Global pruning's split between layers is only known from the weights: the plan assumes the
  // target everywhere (the pipeline replaces it by the measured sparsity).
  const next = structuredClone(spec);
  for (const [name, s] of layerTargets(spec, o)) {
    const layer = layerSpecOf(next, name);
    const before = layer.compression?.sparsity ?? 0;
    layer.compression = { ...(layer.compression ?? {}), sparsity: Math.max(before, s) };
  }
  return next;
}

/** The sparsity the schedule runs to: per-layer sparsities scale with it (layer scope). */
function finalSparsity(o: MagnitudeOptions): number {
  return o.scope === 'global' ? o.sparsity : Math.max(o.sparsity, ...Object.values(o.layers));
}

/** Masks for the groups at a schedule point: `fraction` of the final sparsity (layer scope) or `sparsity` (global). */
function masksAt(groups: PruneGroup[], spec: ModelSpec, o: MagnitudeOptions, sparsity: number): GroupMasks {
  if (o.scope === 'global') {
    const last = lastWeighted(spec);
    const floor = new Map<string, number>();
    if (last && !o.skip.includes(last) && o.lastLayerMinKept > 0) floor.set(last, o.lastLayerMinKept);
    return globalMasks(groups, sparsity, floor, o.score);
  }
  const final = finalSparsity(o);
  const fraction = final > 0 ? sparsity / final : 1;
  const targets = layerTargets(spec, o);
  return layerwiseMasks(groups, new Map([...targets].map(([name, s]) => [name, s * fraction] as const)));
}

function groupsOf(weights: ModelWeights, masks: WeightMasks, o: MagnitudeOptions): PruneGroup[] {
  return weights.layers
    .filter((l) => hasWeights(l.type) && !o.skip.includes(l.layer))
    .map((l) => ({
      layer: l.layer,
      tensors: weightTensors(l).map((t) => ({
        name: t.name,
        values: t.values,
        previous: masks[l.layer]?.[t.name],
      })),
    }));
}

/** Input masks with the new ones laid over them (a weight pruned before stays pruned). */
function mergeMasks(previous: WeightMasks, next: GroupMasks): WeightMasks {
  const out: WeightMasks = structuredClone(previous);
  for (const [layer, tensors] of next) {
    out[layer] ??= {};
    for (const [name, mask] of tensors) {
      const before = out[layer][name];
      if (before) for (let i = 0; i < mask.length; i++) mask[i] &= before[i];
      out[layer][name] = mask;
    }
  }
  return out;
}

function pruneWeights(weights: ModelWeights, masks: WeightMasks): ModelWeights {
  const out = cloneWeights(weights);
  for (const layer of out.layers)
    for (const t of layer.tensors) {
      const mask = masks[layer.layer]?.[t.name];
      if (mask) for (let i = 0; i < mask.length; i++) if (!mask[i]) t.values[i] = 0;
    }
  return out;
}

/**
 * Trainer hooks that prune at the schedule's events during training: at an event the masks are
 * recomputed from the current weights; after every step the weights are re-masked.
 */
async function schedulingHooks(
  owners: ReadonlyMap<string, VariableOwner>,
  events: SparsityEvent[],
  spec: ModelSpec,
  o: MagnitudeOptions,
  state: { masks: WeightMasks; events: { step: number; sparsity: number }[] },
): Promise<{ hooks: TrainingHooks; dispose: () => void }> {
  const tf = await import('@tensorflow/tfjs-core');
  const tensors = new Map<string, TfCore.Tensor>();
  const upload = (variables: readonly TfCore.Variable[]) => {
    for (const v of variables) {
      const owner = owners.get(v.name);
      const mask = owner && state.masks[owner.layer]?.[owner.tensor];
      if (!mask) continue;
      tensors.get(v.name)?.dispose();
      tensors.set(v.name, tf.keep(tf.tensor(Float32Array.from(mask), v.shape)));
    }
  };
  let uploaded = false;
  const eventSteps = new Set(events.map((e) => e.step));
  const hooks: TrainingHooks = {
    ...(o.restartOptimizer ? { restartOptimizer: (step: number) => eventSteps.has(step) } : {}),
    afterStep: (variables, step) => {
      if (!uploaded) {
        upload(variables);
        uploaded = true;
      }
      const due = events.filter((e) => e.step === step + 1);
      if (due.length > 0) {
        const byLayer = new Map<string, PruneGroup>();
        for (const v of variables) {
          const owner = owners.get(v.name);
          if (!owner || o.skip.includes(owner.layer)) continue;
          if (TENSOR_ROLES[owner.type][owner.tensor]?.role !== 'weight') continue;
          const group = byLayer.get(owner.layer) ?? { layer: owner.layer, tensors: [] };
          group.tensors.push({
            name: owner.tensor,
            values: v.dataSync() as Float32Array,
            previous: state.masks[owner.layer]?.[owner.tensor],
          });
          byLayer.set(owner.layer, group);
        }
        const sparsity = due[due.length - 1].sparsity;
        state.masks = mergeMasks(state.masks, masksAt([...byLayer.values()], spec, o, sparsity));
        state.events.push({ step: step + 1, sparsity });
        upload(variables);
      }
      for (const v of variables) {
        const mask = tensors.get(v.name);
        if (mask) v.assign(tf.mul(v, mask));
      }
    },
  };
  return { hooks, dispose: () => tf.dispose([...tensors.values()]) };
}

async function apply(input: StepInput, o: MagnitudeOptions, context: StepContext): Promise<StepOutput> {
  const spec = input.weights.spec;
  const { train } = context.data;
  const stepsPerEpoch = Math.ceil(train.labels.length / context.fineTuneSettings.batchSize);
  const prunedEvents: { step: number; sparsity: number }[] = [];
  let weights = input.weights;
  let masks = input.masks;
  let interrupted = false;
  const pruneTo = (sparsity: number) => {
    masks = mergeMasks(masks, masksAt(groupsOf(weights, masks, o), spec, o, sparsity));
    weights = pruneWeights(weights, masks);
  };
  if (o.schedule === 'iterative') {
    const perRound = o.finetuneEpochs === 0 ? 0 : Math.max(1, Math.round(o.finetuneEpochs / o.rounds));
    for (let round = 1; round <= o.rounds && !interrupted; round++) {
      const sparsity = iterativeSparsity(finalSparsity(o), round, o.rounds);
      pruneTo(sparsity);
      prunedEvents.push({ step: (round - 1) * perRound * stepsPerEpoch, sparsity });
      context.log(`round ${round}/${o.rounds}: sparsity ${(100 * sparsity).toFixed(1)}%`);
      if (perRound > 0) {
        const tuned = await context.fineTune(weights, masks, {
          epochs: perRound,
          learningRate: o.learningRate,
        });
        weights = tuned.weights;
        interrupted = tuned.result.stopped === 'aborted';
      }
    }
  } else {
    const totalSteps = o.finetuneEpochs * stepsPerEpoch;
    const settings: ScheduleSettings = {
      schedule: o.schedule,
      finalSparsity: finalSparsity(o),
      initialSparsity: o.initialSparsity,
      pruneSteps: o.pruneSteps,
      frequency: o.frequency,
      power: o.power,
      beginStep: o.beginStep,
      endStep: o.endStep,
    };
    const events = sparsityEvents(settings, totalSteps);
    // Events at step 0 prune before training; the rest happen inside the training step.
    for (const e of events.filter((e) => e.step === 0)) {
      pruneTo(e.sparsity);
      prunedEvents.push(e);
    }
    const later = events.filter((e) => e.step > 0);
    if (o.finetuneEpochs > 0) {
      const state = { masks, events: prunedEvents };
      let dispose = () => {};
      try {
        const tuned = await context.fineTune(weights, masks, {
          epochs: o.finetuneEpochs,
          learningRate: o.learningRate,
          hooks: async (owners) => {
            const made = await schedulingHooks(owners, later, spec, o, state);
            dispose = made.dispose;
            return made.hooks;
          },
          onEpoch: (epoch, acc) =>
            context.log(
              `fine-tune epoch ${epoch + 1}/${o.finetuneEpochs}${acc === undefined ? '' : `: val ${(100 * acc).toFixed(2)}%`}`,
            ),
        });
        masks = state.masks;
        weights = pruneWeights(tuned.weights, masks);
        interrupted = tuned.result.stopped === 'aborted';
      } finally {
        dispose();
      }
      // A run stopped early may not have reached the last events; without training, finish them now.
      if (!interrupted) {
        const reached = prunedEvents.length ? prunedEvents[prunedEvents.length - 1].sparsity : 0;
        if (reached < finalSparsity(o)) pruneTo(finalSparsity(o));
      }
    } else if (later.length > 0) pruneTo(finalSparsity(o));
  }
  return {
    weights,
    masks,
    interrupted,
    details: {
      scope: o.scope,
      ...(o.scope === 'global' ? { score: o.score } : {}),
      schedule: o.schedule,
      targetSparsity: o.sparsity,
      ...(Object.keys(o.layers).length > 0 ? { layerSparsity: o.layers } : {}),
      skip: o.skip,
      finetuneEpochs: o.finetuneEpochs,
      ...(o.restartOptimizer && o.schedule !== 'iterative' ? { restartOptimizer: true } : {}),
      pruningEvents: prunedEvents.map((e) => ({ step: e.step, sparsity: Number(e.sparsity.toFixed(4)) })),
    },
  };
}

function method(scope: 'layer' | 'global'): CompressionMethod<MagnitudeOptions> {
  return {
    name: scope === 'global' ? 'global' : 'magnitude',
    summary:
      scope === 'global'
        ? 'global magnitude pruning: one threshold across layers'
        : 'layer-wise magnitude pruning: each layer to its own sparsity',
    exampleOptions: () => ({ sparsity: 0.7, schedule: 'agp', finetuneEpochs: 1, pruneSteps: 2 }),
    validate: validate(scope),
    transformSpec,
    apply,
  };
}

export const magnitudeMethod = defineMethod(method('layer'));
export const globalMagnitudeMethod = defineMethod(method('global'));
