/**
 * Choosing ranks. A layer's rank comes from one of three rules, checked in this order:
 * an explicit `rank`, a `paramRatio` (the factors may hold at most this fraction of the layer's
 * kernel weights: 0.25 is 4x fewer), or an `energy` fraction (the smallest rank keeping that share
 * of the squared singular values, per mode for Tucker-2). A layer whose factors would not be
 * smaller than its kernel is left as it is, and the plan says so.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { rankForEnergy, singularValues } from './factorize.js';
import {
  type FactorisableLayer,
  type Factorisation,
  factorisableLayers,
  factorisationProblem,
  factorisedWeights,
} from './rewrite.js';

export interface RankRule {
  rank?: number;
  /** Tucker-2 ranks [input, output] (conv2d with `convolution: 'tucker2'`). */
  ranks?: [number, number];
  paramRatio?: number;
  energy?: number;
}

export interface LowRankOptions extends RankRule {
  /** Layers to factorise (default: every dense and ungrouped conv2d layer but the last layer). */
  layers?: string[];
  /** How convolutions are factorised (default 'svd': kxk conv with r filters, then 1x1). */
  convolution?: 'svd' | 'tucker2';
  /** Per-layer rules, overriding the global one. */
  perLayer?: Record<string, RankRule>;
}

export interface LayerPlan {
  layer: FactorisableLayer;
  /** Undefined when the layer stays as it is (see `skipped`). */
  factorisation?: Factorisation;
  weightsBefore: number;
  weightsAfter: number;
  /** Share of the squared singular values the chosen rank keeps (SVD only). */
  keptEnergy?: number;
  skipped?: string;
}

function ruleOf(options: LowRankOptions, name: string): RankRule {
  const own = options.perLayer?.[name];
  if (own && Object.values(own).some((v) => v !== undefined)) return own;
  return options;
}

function ruleProblem(rule: RankRule): string | null {
  const set = (['rank', 'ranks', 'paramRatio', 'energy'] as const).filter((k) => rule[k] !== undefined);
  if (set.length === 0) return 'needs one of rank, ranks, paramRatio or energy';
  if (set.length > 1) return `takes one of rank, ranks, paramRatio or energy, got ${set.join(' and ')}`;
  if (rule.paramRatio !== undefined && !(rule.paramRatio > 0 && rule.paramRatio < 1))
    return `paramRatio must be in (0, 1), got ${rule.paramRatio}`;
  if (rule.energy !== undefined && !(rule.energy > 0 && rule.energy <= 1))
    return `energy must be in (0, 1], got ${rule.energy}`;
  return null;
}

/** The layers the options select, each with the rule that applies to it. */
function selected(spec: ModelSpec, options: LowRankOptions): { layer: FactorisableLayer; rule: RankRule }[] {
  const all = factorisableLayers(spec);
  const byName = new Map(all.map((l) => [l.name, l]));
  const lastLayer = spec.layers[spec.layers.length - 1]?.name;
  const names = options.layers ?? all.map((l) => l.name).filter((n) => n !== lastLayer);
  const known = new Set(spec.layers.map((l) => l.name));
  for (const name of [...names, ...Object.keys(options.perLayer ?? {})])
    if (!byName.has(name))
      throw new InvalidArgumentError(
        known.has(name)
          ? `field "layers": layer "${name}" cannot be factorised (dense and ungrouped conv2d layers can)`
          : `field "layers": no layer "${name}" in the model`,
      );
  return names.map((name) => ({ layer: byName.get(name) as FactorisableLayer, rule: ruleOf(options, name) }));
}

/**
 * Checks options against the spec alone (before any weights or training); the message names the
 * field and the layer. Throws InvalidArgumentError.
 */
export function checkLowRankOptions(spec: ModelSpec, options: LowRankOptions): void {
  if (options.convolution !== undefined && options.convolution !== 'svd' && options.convolution !== 'tucker2')
    throw new InvalidArgumentError(
      `convolution must be svd or tucker2, got ${JSON.stringify(options.convolution)}`,
    );
  for (const { layer, rule } of selected(spec, options)) {
    const own = options.perLayer?.[layer.name] !== undefined;
    const field = (name: string) => `field "${own ? `perLayer.${layer.name}.${name}` : name}"`;
    const problem = ruleProblem(rule);
    if (problem)
      throw new InvalidArgumentError(`${own ? `field "perLayer.${layer.name}"` : 'options'}: ${problem}`);
    if (rule.rank !== undefined) {
      const p = factorisationProblem(layer, { kind: 'svd', rank: rule.rank });
      if (p) throw new InvalidArgumentError(`${field('rank')}: ${p}`);
    }
    if (rule.ranks !== undefined) {
      const ranks = rule.ranks;
      const p =
        Array.isArray(ranks) && ranks.length === 2
          ? factorisationProblem(layer, { kind: 'tucker2', ranks })
          : `ranks must be [input, output], got ${JSON.stringify(ranks)}`;
      if (p) throw new InvalidArgumentError(`${field('ranks')}: ${p}`);
    }
  }
}

function energyKept(values: Float64Array, rank: number): number {
  let total = 0;
  let kept = 0;
  for (let i = 0; i < values.length; i++) {
    total += values[i] ** 2;
    if (i < rank) kept += values[i] ** 2;
  }
  return total === 0 ? 1 : kept / total;
}

/** Mode singular values of a conv kernel [kh, kw, in, out] for Tucker-2 energy ranks. */
function modeValues(kernel: Float32Array, shape: number[]): [Float64Array, Float64Array] {
  const [kh, kw, cin, cout] = shape;
  const spatial = kh * kw;
  const byInput = new Float32Array(cin * spatial * cout);
  const byOutput = new Float32Array(cout * spatial * cin);
  for (let p = 0; p < spatial; p++)
    for (let i = 0; i < cin; i++)
      for (let o = 0; o < cout; o++) {
        const v = kernel[(p * cin + i) * cout + o];
        byInput[i * spatial * cout + p * cout + o] = v;
        byOutput[o * spatial * cin + p * cin + i] = v;
      }
  return [singularValues(byInput, cin, spatial * cout), singularValues(byOutput, cout, spatial * cin)];
}

/** Ranks for every selected layer from its kernel; `kernels` maps layer name to its kernel values. */
export function planLowRank(
  spec: ModelSpec,
  kernels: ReadonlyMap<string, Float32Array>,
  options: LowRankOptions,
  /** measureEnergy false: skip the SVDs that only report kept energy (planning from shapes). */
  settings: { measureEnergy?: boolean } = {},
): LayerPlan[] {
  checkLowRankOptions(spec, options);
  return selected(spec, options).map(({ layer, rule }) => {
    const kernel = kernels.get(layer.name);
    if (!kernel) throw new InvalidArgumentError(`lowrank: no weights for layer "${layer.name}"`);
    const weightsBefore = layer.weights;
    const tucker =
      layer.type === 'conv2d' &&
      (rule.ranks !== undefined || (options.convolution === 'tucker2' && rule.rank === undefined));
    let factorisation: Factorisation;
    let keptEnergy: number | undefined;
    if (tucker) {
      const [cin, cout] = layer.kernelShape.slice(2);
      let ranks: [number, number];
      if (rule.ranks) ranks = rule.ranks;
      else if (rule.energy !== undefined) {
        const [vIn, vOut] = modeValues(kernel, layer.kernelShape);
        ranks = [rankForEnergy(vIn, rule.energy), rankForEnergy(vOut, rule.energy)];
      } else {
        // The same fraction of both channel counts, as large as the budget allows.
        const budget = (rule.paramRatio as number) * weightsBefore;
        ranks = [1, 1];
        for (let step = 1; step <= Math.max(cin, cout); step++) {
          const candidate: [number, number] = [
            Math.max(1, Math.round((step * cin) / Math.max(cin, cout))),
            Math.max(1, Math.round((step * cout) / Math.max(cin, cout))),
          ];
          if (factorisedWeights(layer, { kind: 'tucker2', ranks: candidate }) > budget) break;
          ranks = candidate;
        }
      }
      factorisation = { kind: 'tucker2', ranks };
    } else {
      const rows = layer.kernelShape.slice(0, -1).reduce((a, b) => a * b, 1);
      const cols = layer.kernelShape[layer.kernelShape.length - 1];
      let rank: number;
      let values: Float64Array | undefined;
      if (rule.rank !== undefined) rank = rule.rank;
      else if (rule.energy !== undefined) {
        values = singularValues(kernel, rows, cols);
        rank = rankForEnergy(values, rule.energy);
      } else rank = Math.max(1, Math.floor(((rule.paramRatio as number) * weightsBefore) / (rows + cols)));
      if (settings.measureEnergy !== false) {
        values ??= singularValues(kernel, rows, cols);
        keptEnergy = energyKept(values, rank);
      }
      factorisation = { kind: 'svd', rank };
    }
    const weightsAfter = factorisedWeights(layer, factorisation);
    if (weightsAfter >= weightsBefore)
      return {
        layer,
        weightsBefore,
        weightsAfter: weightsBefore,
        keptEnergy,
        skipped: `factors would hold ${weightsAfter} weights, not fewer than the layer's ${weightsBefore}`,
      };
    return { layer, factorisation, weightsBefore, weightsAfter, keptEnergy };
  });
}
