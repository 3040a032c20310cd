/**
 * Structured pruning that really shrinks the model: whole units, filters and channels are removed
 * and the result is a smaller spec with smaller weights (fewer parameters and MACs in
 * `analyzeModel`, faster inference), not a mask.
 *
 * Channels are grouped by the channel analysis (channel-groups.ts): what must go together goes
 * together (a filter with its batch-norm entries and the next layer's inputs; a residual stage's
 * channels across all its blocks; a grouped convolution's groups). Each group keeps `keep` of its
 * channel sets (or its layer's fraction from `layers`), ranked by `criterion`:
 * l1 | l2 (weight norms), fpgm (geometric median), taylor (|activation x gradient| over
 * `taylorBatches` training batches) or bn (|gamma|; with `slimmingEpochs` of training under an L1
 * penalty on the batch-norm scales first: network slimming). Then `finetuneEpochs` of training.
 * Masks of earlier steps are cut with the weights and stay in force.
 */
import { InvalidArgumentError, RecipeError } from '../../core/errors.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { analyzeChannels, type ChannelAnalysis, keptPerLayer, keptPositions } from '../channel-groups.js';
import {
  batchNormScores,
  CRITERIA,
  type Criterion,
  fpgmScores,
  groupFractions,
  groupsWithoutBatchNorm,
  normScores,
  selectSets,
} from '../channel-importance.js';
import { selectionMask, shrinkSpec, shrinkWeights, tensorSelection } from '../channel-shrink.js';
import { slimmingHooks, taylorScores } from '../channel-training.js';
import {
  checkKnownFields,
  checkLayerName,
  defineMethod,
  readChoice,
  readLayerMap,
  readLearningRate,
  readNumber,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import type { ModelWeights, WeightMasks } from '../model-weights.js';

export interface StructuredOptions {
  /** Fraction of each group's channel sets kept, in (0, 1]. */
  keep: number;
  /** Per producing layer: its group's kept fraction. */
  layers: Record<string, number>;
  criterion: Criterion;
  finetuneEpochs: number;
  learningRate?: number;
  /** Training batches the Taylor criterion accumulates over. */
  taylorBatches: number;
  /** Epochs of training with the L1 penalty on batch-norm scales before ranking by them (criterion bn). */
  slimmingEpochs: number;
  slimmingPenalty: number;
}

const FIELDS = [
  'keep',
  'layers',
  'criterion',
  'finetuneEpochs',
  'learningRate',
  'taylorBatches',
  'slimmingEpochs',
  'slimmingPenalty',
] as const;

const KEEP_RANGE = { min: 0, max: 1, minExclusive: true };

/** Runs `f`, turning an InvalidArgumentError into a RecipeError naming the step. */
function asRecipeError<T>(step: string, f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof InvalidArgumentError)
      throw new RecipeError(`${step}: ${error.message}`, { cause: error });
    throw error;
  }
}

function validate(raw: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): StructuredOptions {
  checkKnownFields(raw, FIELDS, step);
  const layers: Record<string, number> = {};
  for (const [name, value] of Object.entries(readLayerMap(raw, 'layers', step, 'kept fractions'))) {
    checkLayerName(spec, name, 'layers', step);
    layers[name] = readNumber({ [`layers.${name}`]: value }, `layers.${name}`, step, KEEP_RANGE);
  }
  const criterion = readChoice(raw, 'criterion', step, CRITERIA, 'l1');
  const options: StructuredOptions = {
    keep: readNumber(raw, 'keep', step, KEEP_RANGE, Object.keys(layers).length > 0 ? 1 : undefined),
    layers,
    criterion,
    finetuneEpochs: readNumber(raw, 'finetuneEpochs', step, { min: 0, integer: true }, 2),
    learningRate: readLearningRate(raw, step),
    taylorBatches: readNumber(raw, 'taylorBatches', step, { min: 1, integer: true }, 32),
    slimmingEpochs: readNumber(
      raw,
      'slimmingEpochs',
      step,
      { min: 0, integer: true },
      criterion === 'bn' ? 1 : 0,
    ),
    slimmingPenalty: readNumber(raw, 'slimmingPenalty', step, { min: 0 }, 1e-4),
  };
  if (options.slimmingEpochs > 0 && criterion !== 'bn')
    throw new RecipeError(`${step}: field "slimmingEpochs" applies to criterion bn only (got ${criterion})`);
  const analysis = analyzeChannels(spec);
  if (analysis.groups.length === 0)
    throw new RecipeError(`${step}: the model has no removable channels (every channel is pinned)`);
  asRecipeError(step, () => groupFractions(analysis, options.keep, layers));
  if (criterion === 'bn') {
    const missing = groupsWithoutBatchNorm(analysis);
    if (missing.length > 0)
      throw new RecipeError(
        `${step}: criterion bn needs batch norm after every pruned layer; ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} none (use l1, l2, fpgm or taylor)`,
      );
  }
  return options;
}

/** Which sets stay when only counts matter (the spec after pruning does not depend on which). */
function anySelection(analysis: ChannelAnalysis, options: StructuredOptions): Uint8Array {
  const scores = new Float64Array(analysis.sets.length);
  return selectSets(analysis, scores, groupFractions(analysis, options.keep, options.layers));
}

function transformSpec(spec: ModelSpec, options: StructuredOptions): ModelSpec {
  const analysis = analyzeChannels(spec);
  return shrinkSpec(analysis, anySelection(analysis, options));
}

/** Masks of earlier steps, cut like the weights they cover. */
function cutMasks(
  analysis: ChannelAnalysis,
  keptSets: Uint8Array,
  weights: ModelWeights,
  masks: WeightMasks,
) {
  const kept = keptPositions(analysis, keptSets);
  const out: WeightMasks = {};
  for (const [layer, tensors] of Object.entries(masks)) {
    const spec = analysis.spec.layers.find((l) => l.name === layer);
    const layerWeights = weights.layers.find((l) => l.layer === layer);
    if (!spec || !layerWeights) continue;
    out[layer] = {};
    for (const [name, mask] of Object.entries(tensors)) {
      const tensor = layerWeights.tensors.find((t) => t.name === name);
      if (!tensor) continue;
      const selection = tensorSelection(spec, kept, name, tensor.shape);
      const keep = selectionMask(tensor.shape, selection);
      const cut = new Uint8Array(keep.reduce((n, v) => n + v, 0));
      let at = 0;
      for (let i = 0; i < mask.length; i++) if (keep[i]) cut[at++] = mask[i];
      out[layer][name] = cut;
    }
  }
  return out;
}

async function scoresFor(
  weights: ModelWeights,
  analysis: ChannelAnalysis,
  options: StructuredOptions,
  context: StepContext,
): Promise<Float64Array> {
  switch (options.criterion) {
    case 'l1':
    case 'l2':
      return normScores(analysis, weights.layers, options.criterion);
    case 'fpgm':
      return fpgmScores(analysis, weights.layers);
    case 'bn':
      return batchNormScores(analysis, weights.layers);
    case 'taylor':
      return taylorScores(weights, analysis, context.data.train, {
        batches: options.taylorBatches,
        batchSize: context.fineTuneSettings.batchSize,
        seed: context.seed,
      });
  }
}

async function apply(
  input: StepInput,
  options: StructuredOptions,
  context: StepContext,
): Promise<StepOutput> {
  let weights = input.weights;
  let interrupted = false;
  if (options.criterion === 'bn' && options.slimmingEpochs > 0) {
    context.log(`${options.slimmingEpochs} epoch(s) with L1 ${options.slimmingPenalty} on batch-norm scales`);
    const slimmed = await context.fineTune(weights, input.masks, {
      epochs: options.slimmingEpochs,
      learningRate: options.learningRate,
      hooks: await slimmingHooks(options.slimmingPenalty),
    });
    weights = slimmed.weights;
    interrupted = slimmed.result.stopped === 'aborted';
  }
  const analysis = analyzeChannels(weights.spec);
  const fractions = groupFractions(analysis, options.keep, options.layers);
  const scores = await scoresFor(weights, analysis, options, context);
  const keptSets = selectSets(analysis, scores, fractions);
  const shrunk: ModelWeights = {
    spec: shrinkSpec(analysis, keptSets),
    layers: shrinkWeights(analysis, keptSets, weights.layers),
  };
  const masks = cutMasks(analysis, keptSets, weights, input.masks);
  const perLayer = keptPerLayer(analysis, keptSets);
  context.log(
    `kept ${perLayer.map((l) => `${l.layer} ${l.kept}/${l.total}`).join(', ')} (criterion ${options.criterion})`,
  );
  let result = shrunk;
  if (options.finetuneEpochs > 0 && !interrupted) {
    const tuned = await context.fineTune(shrunk, masks, {
      epochs: options.finetuneEpochs,
      learningRate: options.learningRate,
    });
    result = tuned.weights;
    interrupted = tuned.result.stopped === 'aborted';
  }
  return {
    weights: result,
    masks,
    details: {
      criterion: options.criterion,
      keep: options.keep,
      layers: perLayer.map((l) => ({ name: l.layer, kept: l.kept / l.total, units: l.kept, of: l.total })),
      groups: analysis.groups.map((g) => ({
        name: g.name,
        kept: g.sets.filter((s) => keptSets[s]).length,
        of: g.sets.length,
      })),
    },
    ...(interrupted ? { interrupted } : {}),
  };
}

export const structuredMethod = defineMethod<StructuredOptions>({
  name: 'structured',
  summary:
    'remove whole units, filters and channels (criterion l1, l2, fpgm, taylor or bn), giving a smaller dense model',
  exampleOptions: () => ({ keep: 0.5, finetuneEpochs: 1 }),
  validate,
  transformSpec,
  apply,
});
