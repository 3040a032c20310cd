/**
 * Removing channel sets from a spec and its weights. `shrinkSpec` gives the smaller spec; the
 * weight operations work on plain Float32Array tensors: `gatherTensor` keeps the selected entries
 * (the shrunk model), `zeroOutside` keeps the shape and zeroes the rest (the masked model). Both
 * use the same per-axis selections from the layer rules, so the two models compute the same thing.
 */
import { ModelSpecError } from '../core/errors.js';
import type { LayerSpec, ModelSpec } from '../models/spec/types.js';
import { inferShapes } from '../models/spec/validate.js';
import { type ChannelAnalysis, keptPositions } from './channel-groups.js';
import { type AxisSelection, channelRule, type KeptChannels } from './channel-rules.js';

/** A weight tensor without a framework (the shape of compress/model-weights' NamedTensor). */
export interface PlainTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface PlainLayerWeights {
  layer: string;
  tensors: PlainTensor[];
}

/** The kept positions around one layer. */
export function keptAround(layer: LayerSpec, kept: Map<string, Int32Array>): KeptChannels {
  return {
    inputs: layer.inputs.map((name) => kept.get(name) as Int32Array),
    output: kept.get(layer.name) as Int32Array,
  };
}

/** The spec without the removed sets; checked by shape inference before it is returned. */
export function shrinkSpec(analysis: ChannelAnalysis, keptSets: Uint8Array): ModelSpec {
  const kept = keptPositions(analysis, keptSets);
  const spec = analysis.spec;
  const shrunk: ModelSpec = {
    ...spec,
    layers: spec.layers.map((layer) => channelRule(layer.type).resize(layer, keptAround(layer, kept))),
  };
  inferShapes(shrunk);
  return shrunk;
}

/** Per-axis kept indices of one tensor of `layer`, with whole axes as null. */
export function tensorSelection(
  layer: LayerSpec,
  kept: Map<string, Int32Array>,
  tensor: string,
  shape: readonly number[],
): AxisSelection {
  const selection = channelRule(layer.type).cut(layer, keptAround(layer, kept), tensor, shape);
  if (selection.length !== shape.length)
    throw new ModelSpecError(
      `layer "${layer.name}": tensor "${tensor}" has shape [${shape.join(',')}], not the rank its rule cuts`,
    );
  return selection.map((indices, axis) => {
    if (indices === null) return null;
    const last = indices[indices.length - 1];
    if (last >= shape[axis])
      throw new ModelSpecError(
        `layer "${layer.name}": tensor "${tensor}" has ${shape[axis]} entries on axis ${axis}, the spec implies more`,
      );
    return indices.length === shape[axis] ? null : indices;
  });
}

/** Row-major offsets of the selected entries, in order. */
function selectedOffsets(shape: readonly number[], selection: AxisSelection): Int32Array {
  const lists = shape.map((size, axis) => selection[axis] ?? Int32Array.from({ length: size }, (_, i) => i));
  const total = lists.reduce((n, l) => n * l.length, 1);
  const offsets = new Int32Array(total);
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  let count = 1;
  offsets[0] = 0;
  // Build axis by axis: each pass multiplies the list by the next axis' choices.
  for (let axis = 0; axis < shape.length; axis++) {
    const list = lists[axis];
    const stride = strides[axis];
    for (let i = count - 1; i >= 0; i--) {
      const base = offsets[i];
      for (let j = list.length - 1; j >= 0; j--) offsets[i * list.length + j] = base + list[j] * stride;
    }
    count *= list.length;
  }
  return offsets;
}

export function gatherTensor(tensor: PlainTensor, selection: AxisSelection): PlainTensor {
  if (selection.every((s) => s === null)) return { ...tensor, shape: [...tensor.shape] };
  const offsets = selectedOffsets(tensor.shape, selection);
  const values = new Float32Array(offsets.length);
  for (let i = 0; i < offsets.length; i++) values[i] = tensor.values[offsets[i]];
  return {
    name: tensor.name,
    shape: tensor.shape.map((size, axis) => selection[axis]?.length ?? size),
    values,
  };
}

/** 1 where `selection` keeps an entry, 0 elsewhere. */
export function selectionMask(shape: readonly number[], selection: AxisSelection): Uint8Array {
  const mask = new Uint8Array(shape.reduce((a, b) => a * b, 1));
  for (const offset of selectedOffsets(shape, selection)) mask[offset] = 1;
  return mask;
}

export function zeroOutside(tensor: PlainTensor, selection: AxisSelection): PlainTensor {
  const values = new Float32Array(tensor.values.length);
  if (selection.every((s) => s === null)) values.set(tensor.values);
  else for (const offset of selectedOffsets(tensor.shape, selection)) values[offset] = tensor.values[offset];
  return { name: tensor.name, shape: [...tensor.shape], values };
}

function layerByName(spec: ModelSpec): Map<string, LayerSpec> {
  return new Map(spec.layers.map((l) => [l.name, l]));
}

function mapTensors(
  analysis: ChannelAnalysis,
  keptSets: Uint8Array,
  layers: readonly PlainLayerWeights[],
  operation: (tensor: PlainTensor, selection: AxisSelection) => PlainTensor,
): PlainLayerWeights[] {
  const kept = keptPositions(analysis, keptSets);
  const specs = layerByName(analysis.spec);
  return layers.map((weights) => {
    const layer = specs.get(weights.layer);
    if (!layer)
      throw new ModelSpecError(`weights name layer "${weights.layer}", which the spec does not have`);
    return {
      ...weights,
      tensors: weights.tensors.map((t) => operation(t, tensorSelection(layer, kept, t.name, t.shape))),
    };
  });
}

/** The weights of the shrunk spec: every tensor without the removed sets' entries. */
export function shrinkWeights<L extends PlainLayerWeights>(
  analysis: ChannelAnalysis,
  keptSets: Uint8Array,
  layers: readonly L[],
): L[] {
  return mapTensors(analysis, keptSets, layers, gatherTensor) as L[];
}

/** The same weights at full size with the removed sets' entries zeroed. */
export function maskWeights<L extends PlainLayerWeights>(
  analysis: ChannelAnalysis,
  keptSets: Uint8Array,
  layers: readonly L[],
): L[] {
  return mapTensors(analysis, keptSets, layers, zeroOutside) as L[];
}
