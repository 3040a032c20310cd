/**
 * Builds a TensorFlow.js LayersModel from a Parsimony spec (functional API, so graphs with
 * residuals and branches build as written). Weight initialisation is seeded. Grouped convolution,
 * multi-head attention, GRU with reset-after and ceil-mode pooling, which tfjs-layers lacks, are
 * Parsimony's own layers (custom-layers.ts).
 */
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { Random } from '../../core/random.js';
import type { Shape } from '../spec/layers/index.js';
import { pair } from '../spec/layers/kind.js';
import type {
  Conv2dSpec,
  DepthwiseConv2dSpec,
  LayerSpec,
  LayerType,
  ModelSpec,
  Pool2dSpec,
  RecurrentSpec,
  SeparableConv2dSpec,
  SpecOf,
  WeightInit,
} from '../spec/types.js';
import { inferShapes } from '../spec/validate.js';
import { type CustomLayers, customLayers } from './custom-layers.js';
import { fuseTrainingCall } from './fused-layers.js';

export interface BuildOptions {
  /** Seed of the weight initialisers (default 0). */
  seed?: number;
}

type Tfl = typeof TfLayers;
type SymbolicTensor = TfLayers.SymbolicTensor;

/** The window settings every convolution shares, in tfjs-layers' names. */
function windowArgs(spec: Conv2dSpec | DepthwiseConv2dSpec | SeparableConv2dSpec) {
  return {
    kernelSize: pair(spec.kernelSize, 1),
    strides: pair(spec.strides, 1),
    padding: spec.padding ?? 'valid',
    dilationRate: pair(spec.dilation, 1),
    activation: spec.activation,
    useBias: spec.useBias ?? true,
  };
}

/** What a layer's builder gets besides its spec. */
interface BuildContext {
  tfl: Tfl;
  custom: CustomLayers;
  /** The layer's name and trainable flag, in tfjs-layers' names. */
  base: { name: string; trainable: boolean };
  /** A fresh seed for the next initialiser (the order of calls fixes the weights). */
  nextSeed(): number;
  /** A Glorot-uniform initialiser with a fresh seed. */
  glorot(): Initializer;
  /** Shapes of the layer's inputs (no batch axis). */
  inputShapes: Shape[];
  /** The spec's `init` (default 'glorot'). */
  init: WeightInit;
}

type Initializer = ReturnType<Tfl['initializers']['glorotUniform']>;

/**
 * A dense or convolution kernel's and bias's initialisers for `fanIn` inputs per output unit:
 * Glorot kernel and zero bias, or under 'torch' both uniform in +-1/sqrt(fanIn) (PyTorch's
 * kaiming_uniform(a=sqrt(5)) and bias rule). Glorot draws one seed, as before the option existed,
 * so models built without `init` keep their weights.
 */
function kernelAndBias(
  { tfl, glorot, init, nextSeed }: BuildContext,
  fanIn: number,
): { kernel: Initializer; bias: Initializer | 'zeros' } {
  if (init !== 'torch') return { kernel: glorot(), bias: 'zeros' };
  const bound = 1 / Math.sqrt(fanIn);
  const uniform = () => tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed: nextSeed() });
  return { kernel: uniform(), bias: uniform() };
}

/** Channels of a layer's (first, channels-last) input. */
function inputChannels({ inputShapes }: BuildContext): number {
  const shape = inputShapes[0];
  return shape[shape.length - 1];
}

type TfjsBuilder<S extends LayerSpec> = (spec: S, context: BuildContext) => TfLayers.layers.Layer;

function pool2d(spec: Pool2dSpec, { tfl, custom, base }: BuildContext): TfLayers.layers.Layer {
  const poolSize = pair(spec.poolSize, 1);
  if (spec.ceilMode) {
    const args = {
      ...base,
      poolSize,
      strides: spec.strides === undefined ? poolSize : pair(spec.strides, 1),
    };
    return spec.type === 'maxPool2d' ? custom.maxPool2dCeil(args) : custom.avgPool2dCeil(args);
  }
  const args = {
    ...base,
    poolSize,
    strides: spec.strides === undefined ? poolSize : pair(spec.strides, 1),
    padding: spec.padding ?? 'valid',
  };
  return spec.type === 'maxPool2d' ? tfl.layers.maxPooling2d(args) : tfl.layers.averagePooling2d(args);
}

function recurrentArgs(spec: RecurrentSpec, { base, glorot, tfl, nextSeed }: BuildContext) {
  return {
    ...base,
    units: spec.units,
    returnSequences: spec.returnSequences ?? false,
    useBias: spec.useBias ?? true,
    kernelInitializer: glorot(),
    recurrentInitializer: tfl.initializers.orthogonal({ seed: nextSeed() }),
  };
}

/** The TensorFlow.js facet: one builder per layer type (see `LayerType` for the other tables). */
export const TFJS_BUILDERS: { readonly [T in LayerType]: TfjsBuilder<SpecOf<T>> } = {
  dense: (spec, context) => {
    const init = kernelAndBias(context, inputChannels(context));
    return context.tfl.layers.dense({
      ...context.base,
      units: spec.units,
      activation: spec.activation,
      useBias: spec.useBias ?? true,
      kernelInitializer: init.kernel,
      biasInitializer: init.bias,
    });
  },
  conv2d: (spec, context) => {
    const { tfl, custom, base, nextSeed } = context;
    if ((spec.groups ?? 1) !== 1) {
      const w = windowArgs(spec);
      return custom.groupedConv2d({
        ...base,
        filters: spec.filters,
        groups: spec.groups as number,
        kernelSize: w.kernelSize,
        strides: w.strides,
        padding: w.padding,
        dilationRate: w.dilationRate,
        activation: w.activation,
        useBias: w.useBias,
        seed: nextSeed(),
        ...(context.init === 'torch' ? { torchInit: true } : {}),
      });
    }
    const [kh, kw] = pair(spec.kernelSize, 1);
    const init = kernelAndBias(context, kh * kw * inputChannels(context));
    return tfl.layers.conv2d({
      ...base,
      ...windowArgs(spec),
      filters: spec.filters,
      kernelInitializer: init.kernel,
      biasInitializer: init.bias,
    });
  },
  // PyTorch's depthwise convolution is a grouped one with one input channel per group: fan_in kh x kw.
  depthwiseConv2d: (spec, context) => {
    const [kh, kw] = pair(spec.kernelSize, 1);
    const init = kernelAndBias(context, kh * kw);
    return context.tfl.layers.depthwiseConv2d({
      ...context.base,
      ...windowArgs(spec),
      depthMultiplier: spec.depthMultiplier ?? 1,
      depthwiseInitializer: init.kernel,
      biasInitializer: init.bias,
    });
  },
  // As PyTorch's depthwise then 1x1 pair: the bias belongs to the pointwise step.
  separableConv2d: (spec, context) => {
    const [kh, kw] = pair(spec.kernelSize, 1);
    const depthwise = kernelAndBias(context, kh * kw).kernel;
    const pointwise = kernelAndBias(context, inputChannels(context) * (spec.depthMultiplier ?? 1));
    return context.tfl.layers.separableConv2d({
      ...context.base,
      ...windowArgs(spec),
      filters: spec.filters,
      depthMultiplier: spec.depthMultiplier ?? 1,
      depthwiseInitializer: depthwise,
      pointwiseInitializer: pointwise.kernel,
      biasInitializer: pointwise.bias,
    });
  },
  maxPool2d: pool2d,
  avgPool2d: pool2d,
  globalAvgPool2d: (_spec, { tfl, base }) => tfl.layers.globalAveragePooling2d(base),
  globalMaxPool2d: (_spec, { tfl, base }) => tfl.layers.globalMaxPooling2d(base),
  globalAvgPool1d: (_spec, { tfl, base }) => tfl.layers.globalAveragePooling1d(base),
  zeroPadding2d: (spec, { tfl, base }) => {
    const p = spec.padding;
    return tfl.layers.zeroPadding2d({
      ...base,
      padding:
        typeof p === 'number'
          ? [
              [p, p],
              [p, p],
            ]
          : p,
    });
  },
  batchNorm: (spec, { tfl, base }) =>
    tfl.layers.batchNormalization({
      ...base,
      epsilon: spec.epsilon ?? 1e-3,
      momentum: spec.momentum ?? 0.99,
    }),
  layerNorm: (spec, { tfl, base }) =>
    tfl.layers.layerNormalization({ ...base, epsilon: spec.epsilon ?? 1e-3 }),
  dropout: (spec, { tfl, base }) => tfl.layers.dropout({ ...base, rate: spec.rate }),
  flatten: (_spec, { tfl, base }) => tfl.layers.flatten(base),
  reshape: (spec, { tfl, base }) => tfl.layers.reshape({ ...base, targetShape: spec.shape }),
  activation: (spec, { tfl, base }) => tfl.layers.activation({ ...base, activation: spec.activation }),
  add: (_spec, { tfl, base }) => tfl.layers.add(base),
  // tfjs-layers' Multiply broadcasts by inserting axes after the batch axis, as the spec does.
  multiply: (_spec, { tfl, base }) => tfl.layers.multiply(base),
  concat: (spec, { tfl, base }) => tfl.layers.concatenate({ ...base, axis: spec.axis ?? -1 }),
  embedding: (spec, { tfl, base, nextSeed }) =>
    tfl.layers.embedding({
      ...base,
      inputDim: spec.inputDim,
      outputDim: spec.outputDim,
      embeddingsInitializer: tfl.initializers.randomUniform({
        minval: -0.05,
        maxval: 0.05,
        seed: nextSeed(),
      }),
    }),
  lstm: (spec, context) => context.tfl.layers.lstm(recurrentArgs(spec, context)),
  gru: (spec, context) => {
    if (spec.resetAfter === false) return context.tfl.layers.gru(recurrentArgs(spec, context));
    return context.custom.gruResetAfter({
      ...context.base,
      units: spec.units,
      returnSequences: spec.returnSequences ?? false,
      useBias: spec.useBias ?? true,
      seed: context.nextSeed(),
    });
  },
  multiHeadAttention: (spec, { custom, base, nextSeed }) =>
    custom.multiHeadAttention({
      ...base,
      numHeads: spec.numHeads,
      keyDim: spec.keyDim,
      valueDim: spec.valueDim ?? spec.keyDim,
      useBias: spec.useBias ?? true,
      seed: nextSeed(),
    }),
  mixtureOfExperts: (spec, { custom, base, nextSeed }) =>
    custom.mixtureOfExperts({
      ...base,
      experts: spec.experts,
      units: spec.units,
      topK: spec.topK ?? 1,
      activation: spec.activation,
      useBias: spec.useBias ?? true,
      balanceWeight: spec.balanceWeight ?? 0.01,
      gateNoise: spec.gateNoise ?? 1,
      seed: nextSeed(),
    }),
};

/** Builds the model; call `initBackend()` first so it lives on the chosen backend. */
export async function buildTfjsModel(
  spec: ModelSpec,
  options: BuildOptions = {},
): Promise<TfLayers.LayersModel> {
  const { layerInputs } = inferShapes(spec);
  const tfl = await import('@tensorflow/tfjs-layers');
  const tfc = await import('@tensorflow/tfjs-core');
  const custom = customLayers(tfc, tfl);
  const rng = new Random(options.seed ?? 0);
  const nextSeed = () => rng.nextUint32() % 2_147_483_647;
  const tensors = new Map<string, SymbolicTensor>();
  const inputs = spec.inputs.map((input) => {
    const t = tfl.input({ shape: input.shape, name: input.name, dtype: input.dtype ?? 'float32' });
    tensors.set(input.name, t);
    return t;
  });
  for (const [index, layerSpec] of spec.layers.entries()) {
    const build = TFJS_BUILDERS[layerSpec.type] as TfjsBuilder<LayerSpec>;
    const layer = build(layerSpec, {
      tfl,
      custom,
      base: { name: layerSpec.name, trainable: layerSpec.trainable ?? true },
      nextSeed,
      glorot: () => tfl.initializers.glorotUniform({ seed: nextSeed() }),
      inputShapes: layerInputs[index],
      init: spec.init ?? 'glorot',
    });
    if (layerSpec.type === 'dense') fuseTrainingCall(tfc, layer, 'dense');
    if (layerSpec.type === 'conv2d' && (layerSpec.groups ?? 1) === 1) fuseTrainingCall(tfc, layer, 'conv2d');
    const args = layerSpec.inputs.map((name) => tensors.get(name) as SymbolicTensor);
    const out = layer.apply(args.length === 1 ? args[0] : args) as SymbolicTensor;
    tensors.set(layerSpec.name, out);
  }
  const outputs = spec.outputs.map((name) => tensors.get(name) as SymbolicTensor);
  return tfl.model({ inputs, outputs, name: spec.name });
}
