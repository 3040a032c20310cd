/**
 * Low-rank factorisation as a compression step: dense layers become two dense layers
 * (W ~ U_r V_r), convolutions a kxk convolution with r filters and a 1x1 convolution (or, with
 * `convolution: tucker2`, 1x1 -> kxk core -> 1x1), then the network is fine-tuned. Ranks come
 * from `rank`, `ranks` (Tucker-2), `paramRatio` (at most this share of each layer's weights) or
 * `energy` (kept share of the squared singular values); `perLayer` overrides them per layer.
 * With `rank`, `ranks` or `paramRatio` the new spec is known from the spec alone; with `energy`
 * the ranks depend on the weights, so the planned spec is the input spec until the step runs.
 */
import { InvalidArgumentError, RecipeError } from '../../core/errors.js';
import type { ModelSpec } from '../../models/spec/types.js';
import {
  checkLowRankOptions,
  type LayerPlan,
  type LowRankOptions,
  planLowRank,
  type RankRule,
} from '../lowrank/plan.js';
import { type Factorisation, factorisableLayers, factoriseSpec } from '../lowrank/rewrite.js';
import { factoriseWeights } from '../lowrank/weights.js';
import {
  checkKnownFields,
  defineMethod,
  readChoice,
  readLayerMap,
  readLearningRate,
  readNumber,
  readStringList,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import {
  findLayer,
  findTensor,
  type LayerWeights,
  type ModelWeights,
  type WeightMasks,
} from '../model-weights.js';

export interface LowRankStepOptions extends LowRankOptions {
  finetuneEpochs: number;
  learningRate?: number;
}

const FIELDS = [
  'rank',
  'ranks',
  'paramRatio',
  'energy',
  'layers',
  'convolution',
  'perLayer',
  'finetuneEpochs',
  'learningRate',
] as const;
const RULE_FIELDS = ['rank', 'ranks', 'paramRatio', 'energy'] as const;

function readRule(raw: Readonly<Record<string, unknown>>, step: string, prefix: string): RankRule {
  const rule: RankRule = {};
  const name = (f: string) => `${prefix}${f}`;
  if (raw.rank !== undefined)
    rule.rank = readNumber({ [name('rank')]: raw.rank }, name('rank'), step, { min: 1, integer: true });
  if (raw.ranks !== undefined) {
    const r = raw.ranks;
    if (!Array.isArray(r) || r.length !== 2)
      throw new RecipeError(
        `${step}: field "${name('ranks')}" must be [input rank, output rank], got ${JSON.stringify(r)}`,
      );
    rule.ranks = r.map((v, i) =>
      readNumber({ [name(`ranks[${i}]`)]: v }, name(`ranks[${i}]`), step, { min: 1, integer: true }),
    ) as [number, number];
  }
  if (raw.paramRatio !== undefined)
    rule.paramRatio = readNumber({ [name('paramRatio')]: raw.paramRatio }, name('paramRatio'), step, {
      min: 0,
      max: 1,
      minExclusive: true,
      maxExclusive: true,
    });
  if (raw.energy !== undefined)
    rule.energy = readNumber({ [name('energy')]: raw.energy }, name('energy'), step, {
      min: 0,
      max: 1,
      minExclusive: true,
    });
  return rule;
}

function validate(raw: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): LowRankStepOptions {
  checkKnownFields(raw, FIELDS, step);
  const perLayer: Record<string, RankRule> = {};
  for (const [layer, value] of Object.entries(
    readLayerMap(raw, 'perLayer', step, '{rank | ranks | paramRatio | energy}'),
  )) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new RecipeError(`${step}: field "perLayer.${layer}" must be an object`);
    checkKnownFields(value as Record<string, unknown>, RULE_FIELDS, `${step}: perLayer.${layer}`);
    perLayer[layer] = readRule(value as Record<string, unknown>, step, `perLayer.${layer}.`);
  }
  const options: LowRankStepOptions = {
    ...readRule(raw, step, ''),
    ...(raw.layers === undefined ? {} : { layers: readStringList(raw, 'layers', step) }),
    convolution: readChoice(raw, 'convolution', step, ['svd', 'tucker2'] as const, 'svd'),
    perLayer,
    finetuneEpochs: readNumber(raw, 'finetuneEpochs', step, { min: 0, integer: true }, 2),
    learningRate: readLearningRate(raw, step),
  };
  try {
    checkLowRankOptions(spec, options);
  } catch (error) {
    if (error instanceof InvalidArgumentError)
      throw new RecipeError(`${step}: ${error.message}`, { cause: error });
    throw error;
  }
  return options;
}

/** The factorisation of each selected layer when it is known from the spec (not with energy). */
function specOnlyPlan(spec: ModelSpec, options: LowRankOptions): Map<string, Factorisation> | null {
  const layers = new Map(factorisableLayers(spec).map((l) => [l.name, l]));
  const lastLayer = spec.layers[spec.layers.length - 1]?.name;
  const names = options.layers ?? [...layers.keys()].filter((n) => n !== lastLayer);
  const plan = new Map<string, Factorisation>();
  for (const name of names) {
    const layer = layers.get(name);
    if (!layer) continue;
    const own = options.perLayer?.[name];
    const rule = own && Object.keys(own).length > 0 ? own : options;
    if (rule.energy !== undefined) return null;
    // paramRatio needs no weights: planLowRank's choice is a function of the shape alone.
    const dummy = new Map([[name, new Float32Array(layer.weights)]]);
    const [p] = planLowRank(spec, dummy, {
      ...options,
      layers: [name],
      perLayer: own ? { [name]: own } : {},
    });
    if (p.factorisation) plan.set(name, p.factorisation);
  }
  return plan;
}

function transformSpec(spec: ModelSpec, options: LowRankStepOptions): ModelSpec {
  const plan = specOnlyPlan(spec, options);
  return plan ? factoriseSpec(spec, plan) : structuredClone(spec);
}

/** The weights of `spec` rewritten with each planned layer replaced by its factors. */
export function factoriseModelWeights(weights: ModelWeights, plans: readonly LayerPlan[]): ModelWeights {
  const chosen = new Map(
    plans
      .filter((p) => p.factorisation)
      .map((p) => [p.layer.name, p as Required<Pick<LayerPlan, 'factorisation'>> & LayerPlan]),
  );
  const spec = factoriseSpec(weights.spec, new Map([...chosen].map(([n, p]) => [n, p.factorisation])));
  const layers: LayerWeights[] = [];
  for (const lw of weights.layers) {
    const p = chosen.get(lw.layer);
    if (!p) {
      layers.push({
        layer: lw.layer,
        type: lw.type,
        tensors: lw.tensors.map((t) => ({ ...t, shape: [...t.shape], values: t.values.slice() })),
      });
      continue;
    }
    const bias = lw.tensors.find((t) => t.name === 'bias');
    for (const part of factoriseWeights(
      p.layer,
      p.factorisation,
      findTensor(lw, 'kernel').values,
      bias?.values,
    ))
      layers.push({
        layer: part.name,
        type: lw.type,
        tensors: [
          { name: 'kernel', shape: part.kernelShape, values: part.kernel },
          ...(part.bias ? [{ name: 'bias', shape: [part.bias.length], values: part.bias.slice() }] : []),
        ],
      });
  }
  return { spec, layers };
}

async function apply(
  input: StepInput,
  options: LowRankStepOptions,
  context: StepContext,
): Promise<StepOutput> {
  const { spec } = input.weights;
  const kernels = new Map(
    factorisableLayers(spec).map((l) => [
      l.name,
      findTensor(findLayer(input.weights, l.name), 'kernel').values,
    ]),
  );
  const plans = planLowRank(spec, kernels, options);
  const factorised = factoriseModelWeights(input.weights, plans);
  // Masks of factorised layers no longer fit their tensors; the others carry over.
  const changed = new Set(plans.filter((p) => p.factorisation).map((p) => p.layer.name));
  const masks: WeightMasks = Object.fromEntries(
    Object.entries(input.masks).filter(([layer]) => !changed.has(layer)),
  );
  for (const p of plans)
    context.log(
      p.factorisation
        ? `${p.layer.name}: ${p.factorisation.kind === 'svd' ? `rank ${p.factorisation.rank}` : `ranks ${p.factorisation.ranks.join('x')}`}, ${p.weightsBefore} -> ${p.weightsAfter} weights`
        : `${p.layer.name}: kept (${p.skipped})`,
    );
  let weights = factorised;
  let interrupted = false;
  const beforeTuning = await context.accuracy(factorised);
  if (options.finetuneEpochs > 0 && changed.size > 0) {
    const tuned = await context.fineTune(factorised, masks, {
      epochs: options.finetuneEpochs,
      learningRate: options.learningRate,
    });
    weights = tuned.weights;
    interrupted = tuned.result.stopped === 'aborted';
  }
  return {
    weights,
    masks,
    interrupted,
    details: {
      valAccuracyBeforeFineTuning: beforeTuning,
      layers: plans.map((p) => ({
        layer: p.layer.name,
        ...(p.factorisation?.kind === 'svd' ? { rank: p.factorisation.rank } : {}),
        ...(p.factorisation?.kind === 'tucker2' ? { ranks: p.factorisation.ranks } : {}),
        weightsBefore: p.weightsBefore,
        weightsAfter: p.weightsAfter,
        ...(p.keptEnergy === undefined ? {} : { keptEnergy: p.keptEnergy }),
        ...(p.skipped ? { skipped: p.skipped } : {}),
      })),
    },
  };
}

export const lowRankMethod = defineMethod<LowRankStepOptions>({
  name: 'lowrank',
  summary: 'low-rank factorisation: truncated SVD of dense and conv layers (or Tucker-2), then fine-tuning',
  exampleOptions: () => ({ paramRatio: 0.5, finetuneEpochs: 1 }),
  validate,
  transformSpec,
  apply,
});
