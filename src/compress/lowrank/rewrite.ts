/**
 * The spec side of low-rank factorisation: which layers can be factorised, how large their
 * factors are, and the spec with each chosen layer replaced by its factors. The last factor keeps
 * the original layer's name, bias and activation, so every layer that read the original reads
 * the factorised version unchanged; the earlier factors are linear and have no bias.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { pair } from '../../models/spec/layers/kind.js';
import type { Conv2dSpec, DenseSpec, LayerSpec, ModelSpec } from '../../models/spec/types.js';
import { inferShapes } from '../../models/spec/validate.js';

export type Factorisation =
  /** Dense: two dense layers; conv2d: a kh x kw conv with `rank` filters, then a 1x1 conv. */
  | { kind: 'svd'; rank: number }
  /** conv2d only: 1x1 conv to ranks[0], kh x kw conv to ranks[1], 1x1 conv to the output. */
  | { kind: 'tucker2'; ranks: [number, number] };

/** What the factorisation of one layer works on. */
export interface FactorisableLayer {
  name: string;
  type: 'dense' | 'conv2d';
  /** Kernel shape in TensorFlow.js's layout: [in, out] or [kh, kw, in, out]. */
  kernelShape: number[];
  /** Largest useful SVD rank: min(rows, cols) of the kernel viewed as a matrix. */
  maxRank: number;
  /** Weights (kernel entries) the layer holds now. */
  weights: number;
}

/** Suffixes of the factor layers before the last; the last keeps the original name. */
export const FACTOR_SUFFIX = { svd: '_lowrank', tuckerIn: '_tucker_in', tuckerCore: '_tucker_core' } as const;

/** Dense and ungrouped conv2d layers, with their kernel shapes. */
export function factorisableLayers(spec: ModelSpec): FactorisableLayer[] {
  const shapes = inferShapes(spec);
  const result: FactorisableLayer[] = [];
  spec.layers.forEach((layer, i) => {
    const input = shapes.layerInputs[i][0];
    if (layer.type === 'dense') {
      const cin = input[input.length - 1];
      result.push({
        name: layer.name,
        type: 'dense',
        kernelShape: [cin, layer.units],
        maxRank: Math.min(cin, layer.units),
        weights: cin * layer.units,
      });
    } else if (layer.type === 'conv2d' && (layer.groups ?? 1) === 1) {
      const [kh, kw] = pair(layer.kernelSize, 1);
      const cin = input[input.length - 1];
      result.push({
        name: layer.name,
        type: 'conv2d',
        kernelShape: [kh, kw, cin, layer.filters],
        maxRank: Math.min(kh * kw * cin, layer.filters),
        weights: kh * kw * cin * layer.filters,
      });
    }
  });
  return result;
}

/** Kernel entries of the factors that replace `layer` (biases are unchanged). */
export function factorisedWeights(layer: FactorisableLayer, f: Factorisation): number {
  const shape = layer.kernelShape;
  if (f.kind === 'svd') {
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return f.rank * (rows + shape[shape.length - 1]);
  }
  const [kh, kw, cin, cout] = shape;
  const [rIn, rOut] = f.ranks;
  return cin * rIn + kh * kw * rIn * rOut + rOut * cout;
}

/** Checks a factorisation against its layer; returns what is wrong, or null. */
export function factorisationProblem(layer: FactorisableLayer, f: Factorisation): string | null {
  if (f.kind === 'svd') {
    if (!(Number.isInteger(f.rank) && f.rank >= 1)) return `rank must be a positive integer, got ${f.rank}`;
    if (f.rank > layer.maxRank)
      return `rank ${f.rank} is larger than layer "${layer.name}" allows (kernel [${layer.kernelShape.join(', ')}]: at most ${layer.maxRank})`;
    return null;
  }
  if (layer.type !== 'conv2d') return `tucker2 applies to conv2d layers, "${layer.name}" is ${layer.type}`;
  const [, , cin, cout] = layer.kernelShape;
  const [rIn, rOut] = f.ranks;
  if (!(Number.isInteger(rIn) && rIn >= 1 && rIn <= cin))
    return `input rank ${rIn} of layer "${layer.name}" must be an integer in [1, ${cin}]`;
  if (!(Number.isInteger(rOut) && rOut >= 1 && rOut <= cout))
    return `output rank ${rOut} of layer "${layer.name}" must be an integer in [1, ${cout}]`;
  return null;
}

function factorLayers(layer: LayerSpec, f: Factorisation): LayerSpec[] {
  const shared = { trainable: layer.trainable };
  if (layer.type === 'dense') {
    if (f.kind !== 'svd')
      throw new InvalidArgumentError(`lowrank: tucker2 does not apply to dense layer "${layer.name}"`);
    const first: DenseSpec = {
      ...shared,
      name: `${layer.name}${FACTOR_SUFFIX.svd}`,
      type: 'dense',
      inputs: layer.inputs,
      units: f.rank,
      activation: 'linear',
      useBias: false,
    };
    const last: DenseSpec = { ...layer, inputs: [first.name] };
    delete last.compression;
    return [first, last].map(dropUndefined);
  }
  if (layer.type !== 'conv2d')
    throw new InvalidArgumentError(`lowrank: layer "${layer.name}" is ${layer.type}`);
  const window = {
    kernelSize: layer.kernelSize,
    strides: layer.strides,
    padding: layer.padding,
    dilation: layer.dilation,
  };
  const pointwise = (name: string, inputs: string[], filters: number): Conv2dSpec => ({
    ...shared,
    name,
    type: 'conv2d',
    inputs,
    filters,
    kernelSize: 1,
    activation: 'linear',
    useBias: false,
  });
  const last: Conv2dSpec = {
    ...layer,
    kernelSize: 1,
    strides: undefined,
    padding: undefined,
    dilation: undefined,
    inputs: [],
  };
  delete last.compression;
  if (f.kind === 'svd') {
    const first: Conv2dSpec = {
      ...shared,
      ...window,
      name: `${layer.name}${FACTOR_SUFFIX.svd}`,
      type: 'conv2d',
      inputs: layer.inputs,
      filters: f.rank,
      activation: 'linear',
      useBias: false,
    };
    last.inputs = [first.name];
    return [first, last].map(dropUndefined);
  }
  const first = pointwise(`${layer.name}${FACTOR_SUFFIX.tuckerIn}`, layer.inputs, f.ranks[0]);
  const core: Conv2dSpec = {
    ...shared,
    ...window,
    name: `${layer.name}${FACTOR_SUFFIX.tuckerCore}`,
    type: 'conv2d',
    inputs: [first.name],
    filters: f.ranks[1],
    activation: 'linear',
    useBias: false,
  };
  last.inputs = [core.name];
  return [first, core, last].map(dropUndefined);
}

/** Specs compare with deep equality, so fields left undefined are removed. */
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The spec with each planned layer replaced by its factors (validated: it infers shapes). */
export function factoriseSpec(spec: ModelSpec, plan: ReadonlyMap<string, Factorisation>): ModelSpec {
  const layers = new Map(factorisableLayers(spec).map((l) => [l.name, l]));
  const names = new Set([...spec.inputs.map((i) => i.name), ...spec.layers.map((l) => l.name)]);
  for (const [name, f] of plan) {
    const layer = layers.get(name);
    if (!layer)
      throw new InvalidArgumentError(
        names.has(name)
          ? `lowrank: layer "${name}" cannot be factorised (dense and ungrouped conv2d layers can)`
          : `lowrank: no layer "${name}" in the model`,
      );
    const problem = factorisationProblem(layer, f);
    if (problem) throw new InvalidArgumentError(`lowrank: ${problem}`);
    for (const suffix of Object.values(FACTOR_SUFFIX))
      if (names.has(`${name}${suffix}`))
        throw new InvalidArgumentError(`lowrank: layer name "${name}${suffix}" is already taken`);
  }
  const out: ModelSpec = {
    ...spec,
    layers: spec.layers.flatMap((layer) => {
      const f = plan.get(layer.name);
      return f ? factorLayers(layer, f) : [structuredClone(layer)];
    }),
  };
  inferShapes(out);
  return out;
}
