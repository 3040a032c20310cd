/**
 * A model's weights without a framework: per layer, named Float32Array tensors with their shapes,
 * beside the spec they belong to. Compression methods read and write this form (plain loops, no
 * tensors to dispose) and convert to a TensorFlow.js model only to train or evaluate.
 *
 * Tensor names are the layer-local names TensorFlow.js gives them ("kernel", "bias", "gamma",
 * "moving_mean", "depthwise_kernel", "query/kernel", ...), in the layer's own weight order.
 * `TENSOR_ROLES` says, per layer type, what each tensor is: which one is the prunable weight,
 * and which axis indexes the layer's outputs (units, filters, channels) and inputs.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../core/errors.js';
import type { LayerSpec, LayerType, ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { loadModel, saveModel } from '../models/tfjs/save.js';

export interface NamedTensor {
  /** Layer-local name, e.g. "kernel". */
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface LayerWeights {
  /** The layer's name in the spec. */
  layer: string;
  type: LayerType;
  tensors: NamedTensor[];
}

export interface ModelWeights {
  spec: ModelSpec;
  /** Only layers that have weights, in spec order. */
  layers: LayerWeights[];
}

/** Pruning masks: layer name -> tensor name -> 1 (kept) or 0 (pruned), one byte per weight. */
export type WeightMasks = Record<string, Record<string, Uint8Array>>;

/**
 * What a tensor is to compression:
 * - `weight`: the multiplying weights analyzeModel counts as `weights` (prunable, quantizable);
 * - `bias`: added per output; `scale`/`offset`: normalisation gamma/beta; `state`: batch-norm statistics.
 */
export type TensorRole = 'weight' | 'bias' | 'scale' | 'offset' | 'state';

export interface TensorRule {
  role: TensorRole;
  /** Axis that indexes the layer's outputs (dense units, conv filters, channels), if any. */
  outputAxis?: number;
  /** Axis that indexes the layer's inputs (dense input features, conv input channels), if any. */
  inputAxis?: number;
}

/** Per layer type, its tensors by name. A layer type without an entry does not compile. */
export type LayerTensorRules = Readonly<Record<string, TensorRule>>;

const NONE: LayerTensorRules = {};
const DENSE_LIKE: LayerTensorRules = {
  kernel: { role: 'weight', outputAxis: 1, inputAxis: 0 },
  bias: { role: 'bias', outputAxis: 0 },
};
const CONV: LayerTensorRules = {
  // [kh, kw, in / groups, filters]
  kernel: { role: 'weight', outputAxis: 3, inputAxis: 2 },
  bias: { role: 'bias', outputAxis: 0 },
};
// Recurrent kernels hold the gates side by side along the last axis ([in, gates * units]).
const RECURRENT: LayerTensorRules = {
  kernel: { role: 'weight', outputAxis: 1, inputAxis: 0 },
  recurrent_kernel: { role: 'weight', outputAxis: 1 },
  bias: { role: 'bias' },
};

export const TENSOR_ROLES: Readonly<Record<LayerType, LayerTensorRules>> = {
  dense: DENSE_LIKE,
  conv2d: CONV,
  // [kh, kw, channels, multiplier]: channel c with multiplier m gives output c * multiplier + m.
  depthwiseConv2d: {
    depthwise_kernel: { role: 'weight', outputAxis: 2, inputAxis: 2 },
    bias: { role: 'bias', outputAxis: 0 },
  },
  separableConv2d: {
    depthwise_kernel: { role: 'weight', inputAxis: 2 },
    pointwise_kernel: { role: 'weight', outputAxis: 3, inputAxis: 2 },
    bias: { role: 'bias', outputAxis: 0 },
  },
  maxPool2d: NONE,
  avgPool2d: NONE,
  globalAvgPool2d: NONE,
  globalMaxPool2d: NONE,
  globalAvgPool1d: NONE,
  zeroPadding2d: NONE,
  batchNorm: {
    gamma: { role: 'scale', outputAxis: 0, inputAxis: 0 },
    beta: { role: 'offset', outputAxis: 0, inputAxis: 0 },
    moving_mean: { role: 'state', outputAxis: 0, inputAxis: 0 },
    moving_variance: { role: 'state', outputAxis: 0, inputAxis: 0 },
  },
  layerNorm: {
    gamma: { role: 'scale', outputAxis: 0, inputAxis: 0 },
    beta: { role: 'offset', outputAxis: 0, inputAxis: 0 },
  },
  dropout: NONE,
  flatten: NONE,
  reshape: NONE,
  activation: NONE,
  add: NONE,
  multiply: NONE,
  concat: NONE,
  // [inputDim, outputDim]
  embedding: { embeddings: { role: 'weight', outputAxis: 1 } },
  lstm: RECURRENT,
  gru: RECURRENT,
  multiHeadAttention: {
    // [model dim, heads, head size] for query/key/value; [heads, head size, model dim] for output.
    'query/kernel': { role: 'weight', inputAxis: 0 },
    'query/bias': { role: 'bias' },
    'key/kernel': { role: 'weight', inputAxis: 0 },
    'key/bias': { role: 'bias' },
    'value/kernel': { role: 'weight', inputAxis: 0 },
    'value/bias': { role: 'bias' },
    'output/kernel': { role: 'weight', outputAxis: 2 },
    'output/bias': { role: 'bias', outputAxis: 0 },
  },
  // gate [d, experts]; experts side by side [d, experts, units], biases [experts, units].
  mixtureOfExperts: {
    'gate/kernel': { role: 'weight', inputAxis: 0 },
    'gate/bias': { role: 'bias' },
    kernel: { role: 'weight', outputAxis: 2, inputAxis: 0 },
    bias: { role: 'bias', outputAxis: 1 },
  },
};

/** The rule of one tensor; a tensor the table does not know is an error naming it. */
export function tensorRule(type: LayerType, tensor: string): TensorRule {
  const rule = TENSOR_ROLES[type][tensor];
  if (!rule) throw new ModelSpecError(`no tensor role for "${tensor}" of a ${type} layer`);
  return rule;
}

/** The prunable (role `weight`) tensors of a layer. */
export function weightTensors(layer: LayerWeights): NamedTensor[] {
  return layer.tensors.filter((t) => tensorRule(layer.type, t.name).role === 'weight');
}

/** Layers whose type has at least one `weight` tensor (dense, convolutions, embedding, recurrent, attention). */
export function hasWeights(type: LayerType): boolean {
  return Object.values(TENSOR_ROLES[type]).some((r) => r.role === 'weight');
}

export function layerSpecOf(spec: ModelSpec, name: string): LayerSpec {
  const layer = spec.layers.find((l) => l.name === name);
  if (!layer) throw new ModelSpecError(`no layer "${name}" in model ${spec.name ?? ''}`.trim());
  return layer;
}

export function findLayer(weights: ModelWeights, name: string): LayerWeights {
  const layer = weights.layers.find((l) => l.layer === name);
  if (!layer) throw new ModelSpecError(`layer "${name}" has no weights`);
  return layer;
}

export function findTensor(layer: LayerWeights, name: string): NamedTensor {
  const tensor = layer.tensors.find((t) => t.name === name);
  if (!tensor) throw new ModelSpecError(`layer "${layer.layer}" has no tensor "${name}"`);
  return tensor;
}

/** A deep copy (new arrays, new spec object). */
export function cloneWeights(weights: ModelWeights): ModelWeights {
  return {
    spec: structuredClone(weights.spec),
    layers: weights.layers.map((l) => ({
      layer: l.layer,
      type: l.type,
      tensors: l.tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() })),
    })),
  };
}

export function cloneMasks(masks: WeightMasks): WeightMasks {
  return Object.fromEntries(
    Object.entries(masks).map(([layer, tensors]) => [
      layer,
      Object.fromEntries(Object.entries(tensors).map(([name, m]) => [name, m.slice()])),
    ]),
  );
}

/** Zeroes the masked-out weights in place. */
export function applyMasks(weights: ModelWeights, masks: WeightMasks): void {
  for (const layer of weights.layers) {
    const own = masks[layer.layer];
    if (!own) continue;
    for (const tensor of layer.tensors) {
      const mask = own[tensor.name];
      if (!mask) continue;
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) tensor.values[i] = 0;
    }
  }
}

/** Per layer with weights: how many of its `weight` tensors' values are non-zero. */
export function countNonZero(layer: LayerWeights): { total: number; nonZero: number } {
  let total = 0;
  let nonZero = 0;
  for (const t of weightTensors(layer)) {
    total += t.values.length;
    for (let i = 0; i < t.values.length; i++) if (t.values[i] !== 0) nonZero++;
  }
  return { total, nonZero };
}

/**
 * The spec with each weighted layer's `compression.sparsity` set to the measured fraction of zero
 * weights (removed where it is 0), so analyzeModel reports what the weights hold.
 */
export function specWithMeasuredSparsity(weights: ModelWeights): ModelSpec {
  const spec = structuredClone(weights.spec);
  for (const layer of weights.layers) {
    const { total, nonZero } = countNonZero(layer);
    if (total === 0) continue;
    const target = layerSpecOf(spec, layer.layer);
    const sparsity = 1 - nonZero / total;
    const compression = { ...(target.compression ?? {}) };
    if (sparsity > 0) compression.sparsity = sparsity;
    else delete compression.sparsity;
    if (Object.keys(compression).length > 0) target.compression = compression;
    else delete target.compression;
  }
  return spec;
}

/** Where a tfjs variable belongs: by the variable's (unique) name, its layer and layer-local tensor name. */
export interface VariableOwner {
  layer: string;
  type: LayerType;
  tensor: string;
}

function localName(layer: TfLayers.layers.Layer, originalName: string): string {
  const prefix = `${layer.name}/`;
  return originalName.startsWith(prefix) ? originalName.slice(prefix.length) : originalName;
}

/** Maps each variable of a model built from `spec` to its layer and tensor (for training hooks). */
export function variableOwners(model: TfLayers.LayersModel, spec: ModelSpec): Map<string, VariableOwner> {
  const types = new Map(spec.layers.map((l) => [l.name, l.type]));
  const owners = new Map<string, VariableOwner>();
  for (const layer of model.layers) {
    const type = types.get(layer.name);
    if (!type) continue; // input layers
    for (const w of layer.weights)
      owners.set((w.read() as TfCore.Variable).name, {
        layer: layer.name,
        type,
        tensor: localName(layer, w.originalName),
      });
  }
  return owners;
}

/** Reads a built model's weights (the model must have been built from `spec`). */
export function readModelWeights(model: TfLayers.LayersModel, spec: ModelSpec): ModelWeights {
  const types = new Map(spec.layers.map((l) => [l.name, l.type]));
  const layers: LayerWeights[] = [];
  for (const layer of model.layers) {
    const type = types.get(layer.name);
    if (!type || layer.weights.length === 0) continue;
    const tensors = layer.weights.map((w) => {
      const value = w.read();
      const name = localName(layer, w.originalName);
      tensorRule(type, name); // every tensor must have a role
      return { name, shape: [...value.shape], values: Float32Array.from(value.dataSync() as Float32Array) };
    });
    layers.push({ layer: layer.name, type, tensors });
  }
  return { spec: structuredClone(spec), layers };
}

/** Writes weights into a model built from the same spec (shapes must match). */
export async function writeModelWeights(model: TfLayers.LayersModel, weights: ModelWeights): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  for (const lw of weights.layers) {
    const layer = model.getLayer(lw.layer);
    const values = layer.weights.map((w) => {
      const name = localName(layer, w.originalName);
      const tensor = findTensor(lw, name);
      if (tensor.shape.join(',') !== w.shape.join(','))
        throw new ModelSpecError(
          `layer "${lw.layer}" tensor "${name}": shape [${tensor.shape}] does not match the model's [${w.shape}]`,
        );
      return tf.tensor(tensor.values, tensor.shape);
    });
    layer.setWeights(values as TfCore.Tensor[]);
    tf.dispose(values);
  }
}

/** Builds a TensorFlow.js model from the weights' spec and sets the weights. Call initBackend() first. */
export async function buildModelWithWeights(weights: ModelWeights): Promise<TfLayers.LayersModel> {
  const model = await buildTfjsModel(weights.spec, { seed: 0 });
  await writeModelWeights(model, weights);
  return model;
}

/** Saves weights as a Parsimony model directory (model.json, weights.bin, parsimony-model.json). */
export async function saveModelWeights(weights: ModelWeights, dir: string): Promise<void> {
  const model = await buildModelWithWeights(weights);
  try {
    await saveModel(model, weights.spec, dir);
  } finally {
    model.dispose();
  }
}

/** Reads a saved Parsimony model directory; it must hold the spec (parsimony-model.json). */
export async function loadModelWeights(dir: string): Promise<ModelWeights> {
  const { model, spec } = await loadModel(dir);
  try {
    if (!spec)
      throw new ModelSpecError(`${dir}: no parsimony-model.json beside the weights (saved without a spec)`);
    return readModelWeights(model, spec);
  } finally {
    model.dispose();
  }
}
