/**
 * Quantization: weights to k-bit integers (2..8, per layer), ternary or binary codes with their
 * scales; optionally activations too (full mode), and optionally quantization-aware training first.
 *
 * - Post-training (qatEpochs 0): each weight tensor is quantized once (per tensor or per output
 *   channel, symmetric or asymmetric).
 * - Quantization-aware training (qatEpochs > 0): fine-tuning runs with fake-quantized weights; the
 *   float weights are kept aside and receive the optimizer's update of the quantized ones (the
 *   straight-through estimator), then the final float weights are quantized.
 * - Full mode (activations: minmax | percentile | mse | entropy): every layer output is quantized
 *   to 8 bits over ranges calibrated on a sample of the training data; the ranges are stored, and
 *   the step's details report accuracy with quantized activations.
 *
 * The step writes `compressed.json` + `compressed.bin` (integer codes packed at their width, scales,
 * float32 biases) and hands on the weights decoded from those bytes, so every accuracy measured
 * after it is the stored model's.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../models/spec/types.js';
import type { TrainingHooks } from '../../train/trainer.js';
import { calibrateActivations, quantizedActivationAccuracy } from '../activation-quantization.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../calibration.js';
import { type CodedTensor, codedFromQuantized, decodeSymbols } from '../compressed-format.js';
import {
  checkKnownFields,
  defineMethod,
  readBoolean,
  readChoice,
  readLearningRate,
  readNumber,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import {
  buildModelWithWeights,
  cloneWeights,
  findLayer,
  type ModelWeights,
  type VariableOwner,
  type WeightMasks,
  weightTensors,
} from '../model-weights.js';
import {
  dequantize,
  type QuantGranularity,
  type QuantScheme,
  quantizeWeights,
  type WeightQuantizer,
} from '../quantizers.js';
import { lastAxisChannels, readLayerBits, storeCoded } from './layer-bits.js';

export type QuantKind = 'int' | 'ternary' | 'binary';

export interface QuantizeOptions {
  kind: QuantKind;
  /** Bits per quantized layer (int kind; ternary stores 2, binary 1). */
  bits: Record<string, number>;
  scheme: QuantScheme;
  granularity: QuantGranularity;
  thresholdFactor: number;
  activations: 'none' | CalibrationMethod;
  calibrationSamples: number;
  percentile: number;
  qatEpochs: number;
  learningRate?: number;
  huffman: boolean;
}

const FIELDS = [
  'kind',
  'bits',
  'convBits',
  'denseBits',
  'layers',
  'skip',
  'scheme',
  'granularity',
  'thresholdFactor',
  'activations',
  'calibrationSamples',
  'percentile',
  'qatEpochs',
  'learningRate',
  'huffman',
] as const;

function validate(raw: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): QuantizeOptions {
  checkKnownFields(raw, FIELDS, step);
  const kind = readChoice(raw, 'kind', step, ['int', 'ternary', 'binary'] as const, 'int');
  const bits = readLayerBits(raw, spec, step, { min: 2, max: 8 }, 8);
  if (kind !== 'int') for (const name of Object.keys(bits)) bits[name] = kind === 'ternary' ? 2 : 1;
  return {
    kind,
    bits,
    scheme: readChoice(raw, 'scheme', step, ['symmetric', 'asymmetric'] as const, 'symmetric'),
    granularity: readChoice(raw, 'granularity', step, ['tensor', 'channel'] as const, 'tensor'),
    thresholdFactor: readNumber(raw, 'thresholdFactor', step, { min: 0, max: 1, maxExclusive: true }, 0.05),
    activations: readChoice(raw, 'activations', step, ['none', ...CALIBRATION_METHODS] as const, 'none'),
    calibrationSamples: readNumber(raw, 'calibrationSamples', step, { min: 1, integer: true }, 1000),
    percentile: readNumber(raw, 'percentile', step, { min: 50, max: 100, minExclusive: true }, 99.99),
    qatEpochs: readNumber(raw, 'qatEpochs', step, { min: 0, integer: true }, 0),
    learningRate: readLearningRate(raw, step),
    huffman: readBoolean(raw, 'huffman', step, false),
  };
}

function quantizerFor(o: QuantizeOptions, bits: number): WeightQuantizer {
  if (o.kind === 'ternary')
    return { kind: 'ternary', thresholdFactor: o.thresholdFactor, granularity: o.granularity };
  if (o.kind === 'binary') return { kind: 'binary', granularity: o.granularity };
  return { kind: 'uniform', bits, scheme: o.scheme, granularity: o.granularity };
}

function transformSpec(spec: ModelSpec, o: QuantizeOptions): ModelSpec {
  const next = structuredClone(spec);
  for (const layer of next.layers) {
    const bits = o.bits[layer.name];
    if (bits === undefined) continue;
    const { storedWeightBits: _, ...rest } = layer.compression ?? {};
    layer.compression = { ...rest, weightBits: bits };
  }
  return next;
}

/**
 * Straight-through fake quantization as trainer hooks: the variables hold quantized weights for
 * the forward pass; after each optimizer step the update is moved onto the float copies, which are
 * quantized again. Returns the float copies (by layer/tensor) for the final quantization.
 */
async function fakeQuantHooks(
  owners: ReadonlyMap<string, VariableOwner>,
  start: ModelWeights,
  masks: WeightMasks,
  o: QuantizeOptions,
  shadows: Map<string, Float32Array>,
): Promise<TrainingHooks> {
  const tf = await import('@tensorflow/tfjs-core');
  const state = new Map<
    string,
    { key: string; quantizer: WeightQuantizer; channels: number; last: Float32Array }
  >();
  for (const [variable, owner] of owners) {
    const bits = o.bits[owner.layer];
    if (bits === undefined) continue;
    const layer = findLayer(start, owner.layer);
    const tensor = weightTensors(layer).find((t) => t.name === owner.tensor);
    if (!tensor) continue;
    const key = `${owner.layer}/${owner.tensor}`;
    const channels = o.granularity === 'channel' ? lastAxisChannels(layer, tensor) : 1;
    const quantizer = quantizerFor(o, bits);
    state.set(variable, { key, quantizer, channels, last: tensor.values.slice() });
  }
  return {
    afterStep: (variables) => {
      for (const v of variables) {
        const s = state.get(v.name);
        if (!s) continue;
        const shadow = shadows.get(s.key) as Float32Array;
        const current = v.dataSync() as Float32Array;
        for (let i = 0; i < shadow.length; i++) shadow[i] += current[i] - s.last[i];
        const [layer, tensor] = s.key.split('/', 2);
        s.last = dequantize(quantizeWeights(shadow, s.channels, s.quantizer));
        const mask = masks[layer]?.[tensor];
        if (mask) for (let i = 0; i < mask.length; i++) if (!mask[i]) s.last[i] = 0;
        v.assign(tf.tensor(s.last, v.shape) as TfCore.Tensor);
      }
    },
  };
}

/** The symbol that decodes to 0 in channel c (uniform: the zero point; ternary: the middle code). */
function zeroSymbol(c: CodedTensor, channel: number): number | undefined {
  if (c.table.kind === 'ternary') return 1;
  if (c.table.kind === 'uniform')
    return -c.table.qmin + (c.table.zeroPoints ? c.table.zeroPoints[channel] : 0);
  return undefined;
}

/**
 * Quantizes the weights and gives their coded form; the weights hold exactly what the codes decode
 * to. Pruned weights (mask 0) get the code of zero; binary codes have no zero, so a binary layer
 * does not keep pruned zeros.
 */
function quantizeAll(source: ModelWeights, masks: WeightMasks, o: QuantizeOptions) {
  const weights = cloneWeights(source);
  const coded = new Map<string, CodedTensor>();
  for (const layer of weights.layers) {
    const bits = o.bits[layer.layer];
    if (bits === undefined) continue;
    for (const tensor of weightTensors(layer)) {
      const channels = o.granularity === 'channel' ? lastAxisChannels(layer, tensor) : 1;
      const c = codedFromQuantized(quantizeWeights(tensor.values, channels, quantizerFor(o, bits)));
      const mask = masks[layer.layer]?.[tensor.name];
      if (mask)
        for (let i = 0; i < mask.length; i++) {
          const zero = zeroSymbol(c, i % channels);
          if (!mask[i] && zero !== undefined) c.symbols[i] = zero;
        }
      tensor.values = decodeSymbols(c);
      coded.set(`${layer.layer}/${tensor.name}`, c);
    }
  }
  return { weights, coded };
}

async function apply(input: StepInput, o: QuantizeOptions, context: StepContext): Promise<StepOutput> {
  let source = input.weights;
  let interrupted = false;
  if (o.qatEpochs > 0) {
    const shadows = new Map<string, Float32Array>();
    for (const layer of source.layers)
      if (o.bits[layer.layer] !== undefined)
        for (const t of weightTensors(layer)) shadows.set(`${layer.layer}/${t.name}`, t.values.slice());
    // Training starts from the quantized weights; the float copies start from the input.
    const start = quantizeAll(source, input.masks, o).weights;
    context.log(`quantization-aware training, ${o.qatEpochs} epochs`);
    const { result } = await context.fineTune(start, input.masks, {
      epochs: o.qatEpochs,
      learningRate: o.learningRate,
      hooks: (owners) => fakeQuantHooks(owners, start, input.masks, o, shadows),
    });
    interrupted = result.stopped === 'aborted';
    source = cloneWeights(source);
    for (const layer of source.layers)
      for (const t of layer.tensors) {
        const shadow = shadows.get(`${layer.layer}/${t.name}`);
        if (shadow) t.values = shadow;
      }
  }
  const { weights, coded } = quantizeAll(source, input.masks, o);
  let extra: Record<string, unknown> | undefined;
  const details: Record<string, unknown> = {
    kind: o.kind,
    bits: o.bits,
    scheme: o.scheme,
    granularity: o.granularity,
    qatEpochs: o.qatEpochs,
  };
  if (o.activations !== 'none') {
    const model = await buildModelWithWeights(weights);
    try {
      const activations = await calibrateActivations(model, weights.spec, context.data.train, {
        method: o.activations,
        samples: o.calibrationSamples,
        percentile: o.percentile,
      });
      extra = { activations };
      details.activations = o.activations;
      details.fullIntegerValAccuracy = (
        await quantizedActivationAccuracy(model, weights.spec, activations, context.data.validation)
      ).accuracy;
      if (context.data.test)
        details.fullIntegerTestAccuracy = (
          await quantizedActivationAccuracy(model, weights.spec, activations, context.data.test)
        ).accuracy;
    } finally {
      model.dispose();
    }
  }
  const stored = storeCoded(weights, coded, o.bits, { huffman: o.huffman, sparse: o.huffman }, extra);
  details.storedBytes = Math.ceil(stored.header.storedBits / 8);
  return {
    weights: stored.weights,
    masks: input.masks,
    details,
    files: stored.files,
    ...(interrupted ? { interrupted } : {}),
  };
}

export const quantizeMethod = defineMethod<QuantizeOptions>({
  name: 'quantize',
  summary:
    'weights to 2..8-bit integers, ternary or binary (per tensor or channel); activations calibrated to 8 bits (full mode); optional QAT',
  validate,
  transformSpec,
  exampleOptions: () => ({ bits: 8, granularity: 'channel' }),
  apply,
});
