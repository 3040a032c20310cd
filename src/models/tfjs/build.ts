/**
 * Builds a TensorFlow.js LayersModel from a Parsimony spec (functional API, so graphs with
 * residuals and branches build as written). Weight initialisation is seeded. Grouped convolution,
 * multi-head attention and GRU with reset-after, which tfjs-layers lacks, are Parsimony's own
 * layers (custom-layers.ts).
 */
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { Random } from '../../core/random.js';
import { pair } from '../spec/layers/kind.js';
import type {
  Conv2dSpec,
  DepthwiseConv2dSpec,
  LayerSpec,
  ModelSpec,
  SeparableConv2dSpec,
} from '../spec/types.js';
import { inferShapes } from '../spec/validate.js';
import { type CustomLayers, customLayers } from './custom-layers.js';
import { skipInputGradient } from './input-convolution.js';

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

function layerFor(
  tfl: Tfl,
  custom: CustomLayers,
  spec: LayerSpec,
  nextSeed: () => number,
): TfLayers.layers.Layer {
  const L = tfl.layers;
  const kernelInitializer = () => tfl.initializers.glorotUniform({ seed: nextSeed() });
  const base = { name: spec.name, trainable: spec.trainable ?? true };
  switch (spec.type) {
    case 'dense':
      return L.dense({
        ...base,
        units: spec.units,
        activation: spec.activation,
        useBias: spec.useBias ?? true,
        kernelInitializer: kernelInitializer(),
      });
    case 'conv2d':
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
        });
      }
      return L.conv2d({
        ...base,
        ...windowArgs(spec),
        filters: spec.filters,
        kernelInitializer: kernelInitializer(),
      });
    case 'depthwiseConv2d':
      return L.depthwiseConv2d({
        ...base,
        ...windowArgs(spec),
        depthMultiplier: spec.depthMultiplier ?? 1,
        depthwiseInitializer: kernelInitializer(),
      });
    case 'separableConv2d':
      return L.separableConv2d({
        ...base,
        ...windowArgs(spec),
        filters: spec.filters,
        depthMultiplier: spec.depthMultiplier ?? 1,
        depthwiseInitializer: kernelInitializer(),
        pointwiseInitializer: kernelInitializer(),
      });
    case 'maxPool2d':
    case 'avgPool2d': {
      const poolSize = pair(spec.poolSize, 1);
      const args = {
        ...base,
        poolSize,
        strides: spec.strides === undefined ? poolSize : pair(spec.strides, 1),
        padding: spec.padding ?? 'valid',
      };
      return spec.type === 'maxPool2d' ? L.maxPooling2d(args) : L.averagePooling2d(args);
    }
    case 'globalAvgPool2d':
      return L.globalAveragePooling2d(base);
    case 'globalMaxPool2d':
      return L.globalMaxPooling2d(base);
    case 'globalAvgPool1d':
      return L.globalAveragePooling1d(base);
    case 'zeroPadding2d': {
      const p = spec.padding;
      return L.zeroPadding2d({
        ...base,
        padding:
          typeof p === 'number'
            ? [
                [p, p],
                [p, p],
              ]
            : p,
      });
    }
    case 'batchNorm':
      return L.batchNormalization({
        ...base,
        epsilon: spec.epsilon ?? 1e-3,
        momentum: spec.momentum ?? 0.99,
      });
    case 'layerNorm':
      return L.layerNormalization({ ...base, epsilon: spec.epsilon ?? 1e-3 });
    case 'dropout':
      return L.dropout({ ...base, rate: spec.rate });
    case 'flatten':
      return L.flatten(base);
    case 'reshape':
      return L.reshape({ ...base, targetShape: spec.shape });
    case 'activation':
      return L.activation({ ...base, activation: spec.activation });
    case 'add':
      return L.add(base);
    case 'concat':
      return L.concatenate({ ...base, axis: spec.axis ?? -1 });
    case 'embedding':
      return L.embedding({
        ...base,
        inputDim: spec.inputDim,
        outputDim: spec.outputDim,
        embeddingsInitializer: tfl.initializers.randomUniform({
          minval: -0.05,
          maxval: 0.05,
          seed: nextSeed(),
        }),
      });
    case 'lstm':
      return L.lstm({
        ...base,
        units: spec.units,
        returnSequences: spec.returnSequences ?? false,
        useBias: spec.useBias ?? true,
        kernelInitializer: kernelInitializer(),
        recurrentInitializer: tfl.initializers.orthogonal({ seed: nextSeed() }),
      });
    case 'gru':
      if (spec.resetAfter !== false)
        return custom.gruResetAfter({
          ...base,
          units: spec.units,
          returnSequences: spec.returnSequences ?? false,
          useBias: spec.useBias ?? true,
          seed: nextSeed(),
        });
      return L.gru({
        ...base,
        units: spec.units,
        returnSequences: spec.returnSequences ?? false,
        useBias: spec.useBias ?? true,
        kernelInitializer: kernelInitializer(),
        recurrentInitializer: tfl.initializers.orthogonal({ seed: nextSeed() }),
      });
    case 'multiHeadAttention':
      return custom.multiHeadAttention({
        ...base,
        numHeads: spec.numHeads,
        keyDim: spec.keyDim,
        valueDim: spec.valueDim ?? spec.keyDim,
        useBias: spec.useBias ?? true,
        seed: nextSeed(),
      });
  }
}

/** Builds the model; call `initBackend()` first so it lives on the chosen backend. */
export async function buildTfjsModel(
  spec: ModelSpec,
  options: BuildOptions = {},
): Promise<TfLayers.LayersModel> {
  inferShapes(spec);
  const tfl = await import('@tensorflow/tfjs-layers');
  const tfc = await import('@tensorflow/tfjs-core');
  const custom = customLayers(tfc, tfl);
  const inputNames = new Set(spec.inputs.map((input) => input.name));
  const rng = new Random(options.seed ?? 0);
  const nextSeed = () => rng.nextUint32() % 2_147_483_647;
  const tensors = new Map<string, SymbolicTensor>();
  const inputs = spec.inputs.map((input) => {
    const t = tfl.input({ shape: input.shape, name: input.name, dtype: input.dtype ?? 'float32' });
    tensors.set(input.name, t);
    return t;
  });
  for (const layerSpec of spec.layers) {
    const layer = layerFor(tfl, custom, layerSpec, nextSeed);
    if (
      layerSpec.type === 'conv2d' &&
      (layerSpec.groups ?? 1) === 1 &&
      layerSpec.inputs.every((name) => inputNames.has(name))
    )
      skipInputGradient(tfc, layer);
    const args = layerSpec.inputs.map((name) => tensors.get(name) as SymbolicTensor);
    const out = layer.apply(args.length === 1 ? args[0] : args) as SymbolicTensor;
    tensors.set(layerSpec.name, out);
  }
  const outputs = spec.outputs.map((name) => tensors.get(name) as SymbolicTensor);
  return tfl.model({ inputs, outputs, name: spec.name });
}
