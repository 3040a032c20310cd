/**
 * Complexity of a model from its spec alone: nothing is built or trained, so a search can
 * reject a configuration that breaks a budget before spending anything on it.
 *
 * Conventions (the ones published figures use):
 * - `params` counts learned parameters (weights, biases, normalisation scale and offset), as
 *   PyTorch and papers do. Batch-norm moving statistics are state: counted in
 *   `nonTrainableParams` (as Keras does) and in the stored bytes, not in `params`.
 * - `trainableParams` excludes layers marked `trainable: false`; `nonTrainableParams` is those
 *   frozen parameters plus the batch-norm state.
 * - MACs are the multiply-accumulates of weighted layers (dense, convolutions, recurrent,
 *   attention products); bias adds, normalisation, activations and pooling are not counted.
 *   FLOPs = 2 x MACs.
 * - Connections are weighted edges between units: a dense layer's weights once per position;
 *   a convolution's shared weights once per output position they act at (padding excluded).
 * - Activation bytes: each layer's output for one sample at float32. Weight bytes: weights at
 *   the layer's `compression.weightBits` (default 32), everything else at 32 bits.
 * - After compression: `nonZeroParams` leaves out pruned weights (`compression.sparsity`);
 *   `storedBits` is the bits of the non-zero values (sparse index overhead depends on the
 *   storage format and is not included), or, when a compressed file was written, its measured
 *   `compression.storedWeightBits` (indices, codebooks and Huffman coding included).
 * - Conditional layers (mixture of experts): `params` and `macs` are the static upper bound (every
 *   expert); `activeParams` and `activeMacs` are what one sample uses (the gate and its top-k
 *   experts). For every other layer the active figures equal the static ones.
 */
import { layerKind } from '../spec/layers/index.js';
import type { LayerType, ModelSpec } from '../spec/types.js';
import { inferShapes } from '../spec/validate.js';

export interface LayerComplexity {
  name: string;
  type: LayerType;
  outputShape: number[];
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Learned parameters of layers marked `trainable: false`. */
  frozenParams: number;
  /** Stored values not learned by gradient (batch-norm moving mean and variance): not in `params`. */
  stateValues: number;
  connections: number;
  macs: number;
  flops: number;
  activationBytes: number;
  weightBytes: number;
  nonZeroParams: number;
  storedBits: number;
  /** Parameters one sample uses (less than `params` for conditional layers). */
  activeParams: number;
  /** MACs one sample runs (less than `macs` for conditional layers). */
  activeMacs: number;
}

export interface ModelComplexity {
  name: string;
  params: number;
  trainableParams: number;
  /** Frozen parameters plus batch-norm state, as Keras and TensorFlow.js count non-trainable weights. */
  nonTrainableParams: number;
  /** Learned parameters of frozen layers: params = trainableParams + frozenParams. */
  frozenParams: number;
  /** Batch-norm moving statistics: stored, not learned, so not parameters. */
  stateValues: number;
  connections: number;
  macs: number;
  flops: number;
  /** Sum of every layer's output for one sample (an upper bound on what inference keeps alive). */
  activationBytes: number;
  /** The largest single layer output for one sample. */
  peakActivationBytes: number;
  weightBytes: number;
  nonZeroParams: number;
  storedBits: number;
  /** Parameters one sample uses: `params` unless the model has conditional layers (mixture of experts). */
  activeParams: number;
  /** MACs one sample runs: `macs` unless the model has conditional layers. */
  activeMacs: number;
  layers: LayerComplexity[];
}

const FLOAT_BITS = 32;

export function analyzeModel(spec: ModelSpec): ModelComplexity {
  const shapes = inferShapes(spec);
  const layers: LayerComplexity[] = spec.layers.map((layer, i) => {
    const output = shapes.byName.get(layer.name) ?? [];
    const kind = layerKind(layer.type);
    const cost = kind.cost(layer, shapes.layerInputs[i], output);
    const params = cost.weights + cost.biases + cost.otherLearned;
    const frozen = layer.trainable === false;
    const bits = layer.compression?.weightBits ?? FLOAT_BITS;
    const sparsity = layer.compression?.sparsity ?? 0;
    const nonZeroWeights = Math.round(cost.weights * (1 - sparsity));
    const others = cost.biases + cost.otherLearned;
    const active = kind.activeCost?.(layer, shapes.layerInputs[i], output) ?? { params, macs: cost.macs };
    return {
      name: layer.name,
      type: layer.type,
      outputShape: [...output],
      params,
      trainableParams: frozen ? 0 : params,
      nonTrainableParams: (frozen ? params : 0) + cost.state,
      frozenParams: frozen ? params : 0,
      stateValues: cost.state,
      connections: Math.round(cost.connections * (1 - sparsity)),
      macs: cost.macs,
      flops: 2 * cost.macs,
      activationBytes: (output.reduce((a, b) => a * b, 1) * FLOAT_BITS) / 8,
      weightBytes: Math.ceil((cost.weights * bits + (others + cost.state) * FLOAT_BITS) / 8),
      nonZeroParams: nonZeroWeights + others,
      storedBits:
        (layer.compression?.storedWeightBits ?? nonZeroWeights * bits) + (others + cost.state) * FLOAT_BITS,
      activeParams: active.params,
      activeMacs: active.macs,
    };
  });
  return { name: spec.name ?? 'model', ...complexityTotals(layers), layers };
}

/** Learned parameters only: the cheapest check a search can run on a candidate. */
export function countParams(spec: ModelSpec): number {
  return analyzeModel(spec).params;
}

/** The model totals of per-layer (or per-node) figures: sums, and the largest single activation. */
export function complexityTotals(layers: readonly Omit<LayerComplexity, 'type'>[]) {
  const sum = (key: Exclude<keyof LayerComplexity, 'type' | 'name' | 'inputs' | 'outputShape'>) =>
    layers.reduce((a, l) => a + (l[key] as number), 0);
  return {
    params: sum('params'),
    trainableParams: sum('trainableParams'),
    nonTrainableParams: sum('nonTrainableParams'),
    frozenParams: sum('frozenParams'),
    stateValues: sum('stateValues'),
    connections: sum('connections'),
    macs: sum('macs'),
    flops: sum('flops'),
    activationBytes: sum('activationBytes'),
    peakActivationBytes: layers.reduce((a, l) => Math.max(a, l.activationBytes), 0),
    weightBytes: sum('weightBytes'),
    nonZeroParams: sum('nonZeroParams'),
    storedBits: sum('storedBits'),
    activeParams: sum('activeParams'),
    activeMacs: sum('activeMacs'),
  };
}
