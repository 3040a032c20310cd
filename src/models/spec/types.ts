/**
 * The on-disk JSON form of a model: a graph of named layers, each naming its inputs. Shapes leave
 * out the batch dimension and images are channels-last ([height, width, channels]). These are
 * plain data types (no classes) so a spec can be written by hand, by the builder, by a search or
 * by an importer, and compared with deep equality.
 */

export const MODEL_FORMAT = 'parsimony-model';
export const MODEL_FORMAT_VERSION = 1;

/** Activation names, as TensorFlow.js spells them (the builder passes them through). */
export type Activation =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'gelu'
  | 'tanh'
  | 'sigmoid'
  | 'softmax'
  | 'elu'
  | 'selu'
  | 'swish'
  | 'mish'
  | 'softplus'
  | 'softsign'
  | 'hardSigmoid';
export const ACTIVATIONS: readonly Activation[] = [
  'linear',
  'relu',
  'relu6',
  'gelu',
  'tanh',
  'sigmoid',
  'softmax',
  'elu',
  'selu',
  'swish',
  'mish',
  'softplus',
  'softsign',
  'hardSigmoid',
];

export type Padding = 'same' | 'valid';

/** What compression did to a layer's weights, so analysis can report what is stored. */
export interface CompressionSpec {
  /** Fraction of the layer's weights that are zero (pruned), in [0, 1]. */
  sparsity?: number;
  /** Bits per stored weight (32 unless quantized). */
  weightBits?: number;
  /**
   * Bits a compressed file holds for the layer's weights, everything counted (Deep Compression:
   * coded values, relative sparse indices with their padding, codebook or scales, Huffman tables).
   * When set, it is the layer's stored weight size instead of non-zero weights x weightBits.
   */
  storedWeightBits?: number;
}

interface LayerBase {
  /** Unique in the model; errors and analysis name layers by it. */
  name: string;
  /** Names of the layers or model inputs this layer reads, in order. */
  inputs: string[];
  /** Frozen layers keep their weights during training (default true). */
  trainable?: boolean;
  compression?: CompressionSpec;
}

export interface DenseSpec extends LayerBase {
  type: 'dense';
  units: number;
  activation?: Activation;
  useBias?: boolean;
}

/** Settings every convolution shares. */
interface WindowedLayer extends LayerBase {
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  dilation?: number | [number, number];
  activation?: Activation;
  useBias?: boolean;
}

export interface Conv2dSpec extends WindowedLayer {
  type: 'conv2d';
  filters: number;
  /** Grouped convolution: input and output channels are split into this many groups. */
  groups?: number;
}

export interface DepthwiseConv2dSpec extends WindowedLayer {
  type: 'depthwiseConv2d';
  depthMultiplier?: number;
}

export interface SeparableConv2dSpec extends WindowedLayer {
  type: 'separableConv2d';
  filters: number;
  depthMultiplier?: number;
}

export interface Pool2dSpec extends LayerBase {
  type: 'maxPool2d' | 'avgPool2d';
  poolSize: number | [number, number];
  /** Default: poolSize. */
  strides?: number | [number, number];
  padding?: Padding;
  /**
   * Round the output size up, as PyTorch's `ceil_mode=True` does (padding 'valid' only): the last
   * window may run past the input's end and pools the values that remain, as long as it starts
   * inside the input. Default false (round down).
   */
  ceilMode?: boolean;
}

export interface GlobalPoolSpec extends LayerBase {
  /** 2d pools [h, w, c] to [c]; 1d pools a sequence [t, d] to [d]. */
  type: 'globalAvgPool2d' | 'globalMaxPool2d' | 'globalAvgPool1d';
}

export interface ZeroPadding2dSpec extends LayerBase {
  type: 'zeroPadding2d';
  /** [[top, bottom], [left, right]], or one number for all sides. */
  padding: number | [[number, number], [number, number]];
}

export interface BatchNormSpec extends LayerBase {
  type: 'batchNorm';
  epsilon?: number;
  momentum?: number;
}

export interface LayerNormSpec extends LayerBase {
  type: 'layerNorm';
  epsilon?: number;
}

export interface DropoutSpec extends LayerBase {
  type: 'dropout';
  rate: number;
}

export interface FlattenSpec extends LayerBase {
  type: 'flatten';
}

export interface ReshapeSpec extends LayerBase {
  type: 'reshape';
  /** Target shape without the batch dimension; one entry may be -1. */
  shape: number[];
}

export interface ActivationSpec extends LayerBase {
  type: 'activation';
  activation: Activation;
}

export interface AddSpec extends LayerBase {
  type: 'add';
}

/**
 * Elementwise product. Shapes broadcast as NumPy's do, aligned at the last (channel) axis, so a
 * per-channel gate [c] or [1, 1, c] scales an image [h, w, c] (squeeze-and-excitation).
 */
export interface MultiplySpec extends LayerBase {
  type: 'multiply';
}

export interface ConcatSpec extends LayerBase {
  type: 'concat';
  /** Axis without the batch dimension; default -1 (channels). */
  axis?: number;
}

export interface EmbeddingSpec extends LayerBase {
  type: 'embedding';
  inputDim: number;
  outputDim: number;
}

export interface RecurrentSpec extends LayerBase {
  type: 'lstm' | 'gru';
  units: number;
  returnSequences?: boolean;
  useBias?: boolean;
  /** GRU only: apply the reset gate after the recurrent product, with two biases (Keras and PyTorch default: true). */
  resetAfter?: boolean;
}

export interface MultiHeadAttentionSpec extends LayerBase {
  type: 'multiHeadAttention';
  numHeads: number;
  keyDim: number;
  /** Value head size; default keyDim. */
  valueDim?: number;
  useBias?: boolean;
}

/**
 * A gated mixture of experts over the last axis (Shazeer et al. 2017): a linear gate scores the
 * experts per position, the `topK` best are kept and their softmax weights mix the outputs of
 * those experts (each a dense layer of `units`). Analysis reports all experts as the static upper
 * bound and the gate plus `topK` experts as the active cost per sample.
 */
export interface MixtureOfExpertsSpec extends LayerBase {
  type: 'mixtureOfExperts';
  experts: number;
  units: number;
  /** Experts used per position (default 1). */
  topK?: number;
  activation?: Activation;
  useBias?: boolean;
  /** Weight of the load-balancing loss added to training (default 0.01; 0 turns it off). */
  balanceWeight?: number;
  /**
   * Standard deviation of the Gaussian noise added to the gate's logits in training, before the
   * top-k choice (noisy top-k gating, Shazeer et al. 2017; default 1, 0 turns it off). Inference is
   * noiseless. Without it the routing a random gate starts with hardly moves and each expert
   * learns from its fixed share of the data, which costs accuracy on small data (see the README).
   */
  gateNoise?: number;
}

export type LayerSpec =
  | DenseSpec
  | Conv2dSpec
  | DepthwiseConv2dSpec
  | SeparableConv2dSpec
  | Pool2dSpec
  | GlobalPoolSpec
  | ZeroPadding2dSpec
  | BatchNormSpec
  | LayerNormSpec
  | DropoutSpec
  | FlattenSpec
  | ReshapeSpec
  | ActivationSpec
  | AddSpec
  | MultiplySpec
  | ConcatSpec
  | EmbeddingSpec
  | RecurrentSpec
  | MultiHeadAttentionSpec
  | MixtureOfExpertsSpec;

/**
 * A layer type is one entry in each table typed `{ [T in LayerType]: Facet<SpecOf<T>> }`, one table
 * per concern: LAYER_KINDS (fields, shapes, costs: spec/layers/index.ts), TFJS_BUILDERS
 * (tfjs/build.ts) and TFJS_IMPORTERS (import/tfjs-layers.ts). A type added to `LayerSpec` without
 * an entry in every table does not compile; a new concern (compression rules, ONNX) is one more
 * table of the same shape.
 */
export type LayerType = LayerSpec['type'];

/** The spec interface of one layer type (distributes, so types sharing an interface resolve). */
export type SpecOf<T extends LayerType> = LayerSpec extends infer S
  ? S extends { type: infer U }
    ? T extends U
      ? S
      : never
    : never
  : never;

export interface InputSpec {
  name: string;
  /** Without the batch dimension. */
  shape: number[];
  /** int32 for token ids (embedding inputs); default float32. */
  dtype?: 'float32' | 'int32';
}

/**
 * How dense and convolution layers start before training. 'glorot' (the default): kernels
 * Glorot-uniform, biases zero, as Keras and TensorFlow.js do. 'torch': kernels and biases both
 * uniform in +-1/sqrt(fan_in), as PyTorch's Linear and Conv2d reset their parameters (fan_in =
 * inputs of one output unit: kernel height x width x input channels per group), so a model starts
 * where the same PyTorch model would. Other layers keep their own initialisers under either.
 */
export type WeightInit = 'glorot' | 'torch';
export const WEIGHT_INITS: readonly WeightInit[] = ['glorot', 'torch'];

export interface ModelSpec {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_FORMAT_VERSION;
  name?: string;
  /** How dense and convolution weights start (default 'glorot'; see WeightInit). */
  init?: WeightInit;
  inputs: InputSpec[];
  layers: LayerSpec[];
  outputs: string[];
}
