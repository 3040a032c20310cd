/**
 * Weight quantizers: uniform k-bit (symmetric or asymmetric, per tensor or per output channel),
 * ternary (a threshold and two scales, as trained ternary quantization stores them) and binary
 * (sign times a per-channel scale, as XNOR-Net). Weights are in tfjs' layout, output channel last,
 * so element i belongs to channel i % channels. Every quantizer returns the integer codes and the
 * parameters that are stored; `dequantize` rebuilds the float weights from exactly those.
 */
import { InvalidArgumentError } from '../core/errors.js';

export type QuantScheme = 'symmetric' | 'asymmetric';
export type QuantGranularity = 'tensor' | 'channel';

export interface UniformQuantOptions {
  bits: number;
  scheme?: QuantScheme;
  granularity?: QuantGranularity;
}

/** Uniform quantization: value = scale[c] * (code - zeroPoint[c]). */
export interface UniformQuantized {
  kind: 'uniform';
  bits: number;
  scheme: QuantScheme;
  /** Signed codes in [-2^(b-1), 2^(b-1) - 1] (symmetric) or unsigned in [0, 2^b - 1] (asymmetric). */
  codes: Int32Array;
  scales: Float32Array;
  zeroPoints: Int32Array;
  /** 1 for per tensor, else the number of output channels. */
  channels: number;
}

/** Ternary: value = +positiveScale[c], -negativeScale[c] or 0; codes are 1, -1, 0. */
export interface TernaryQuantized {
  kind: 'ternary';
  codes: Int32Array;
  positiveScales: Float32Array;
  negativeScales: Float32Array;
  channels: number;
}

/** Binary: value = scale[c] * code with codes +1 or -1. */
export interface BinaryQuantized {
  kind: 'binary';
  codes: Int32Array;
  scales: Float32Array;
  channels: number;
}

export type QuantizedTensor = UniformQuantized | TernaryQuantized | BinaryQuantized;

export function checkBits(bits: number, where = 'bits'): void {
  if (!(Number.isInteger(bits) && bits >= 2 && bits <= 8))
    throw new InvalidArgumentError(`${where} must be an integer from 2 to 8, got ${bits}`);
}

function channelCount(values: Float32Array, granularity: QuantGranularity, outChannels: number): number {
  if (granularity === 'tensor') return 1;
  if (!(outChannels > 0 && values.length % outChannels === 0))
    throw new InvalidArgumentError(`${values.length} weights do not split into ${outChannels} channels`);
  return outChannels;
}

/** Per channel minimum and maximum (channel of element i is i % channels). */
function channelRanges(values: Float32Array, channels: number): { min: Float64Array; max: Float64Array } {
  const min = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    const v = values[i];
    if (v < min[c]) min[c] = v;
    if (v > max[c]) max[c] = v;
  }
  return { min, max };
}

/** Scale and zero point for a real range [low, high] (the range always includes 0 so zero stays exact). */
export function rangeParameters(
  low: number,
  high: number,
  bits: number,
  scheme: QuantScheme,
): { scale: number; zeroPoint: number } {
  const lo = Math.min(low, 0);
  const hi = Math.max(high, 0);
  if (scheme === 'symmetric') {
    const qmax = 2 ** (bits - 1) - 1;
    const bound = Math.max(Math.abs(lo), Math.abs(hi));
    return { scale: bound > 0 ? bound / qmax : 1, zeroPoint: 0 };
  }
  const qmax = 2 ** bits - 1;
  if (hi - lo <= 0) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / qmax;
  const zeroPoint = Math.min(qmax, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

export function codeRange(bits: number, scheme: QuantScheme): { qmin: number; qmax: number } {
  return scheme === 'symmetric'
    ? { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 }
    : { qmin: 0, qmax: 2 ** bits - 1 };
}

export function quantizeUniform(
  values: Float32Array,
  outChannels: number,
  options: UniformQuantOptions,
): UniformQuantized {
  checkBits(options.bits);
  const scheme = options.scheme ?? 'symmetric';
  const channels = channelCount(values, options.granularity ?? 'tensor', outChannels);
  const { min, max } = channelRanges(values, channels);
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const p = rangeParameters(min[c], max[c], options.bits, scheme);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  const { qmin, qmax } = codeRange(options.bits, scheme);
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    const q = Math.round(values[i] / scales[c]) + zeroPoints[c];
    codes[i] = Math.max(qmin, Math.min(qmax, q));
  }
  return { kind: 'uniform', bits: options.bits, scheme, codes, scales, zeroPoints, channels };
}

/**
 * Ternary weights: per channel, the threshold is `thresholdFactor` times the largest magnitude
 * (TTQ's t = 0.05 by default); the positive and negative scales are the means of the weights above
 * and below it, the values TTQ starts its trained scales from.
 */
export function quantizeTernary(
  values: Float32Array,
  outChannels: number,
  options: { thresholdFactor?: number; granularity?: QuantGranularity } = {},
): TernaryQuantized {
  const t = options.thresholdFactor ?? 0.05;
  if (!(t >= 0 && t < 1))
    throw new InvalidArgumentError(`ternary threshold factor must be in [0, 1), got ${t}`);
  const channels = channelCount(values, options.granularity ?? 'channel', outChannels);
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(values[i]));
  }
  const posSum = new Float64Array(channels);
  const posCount = new Float64Array(channels);
  const negSum = new Float64Array(channels);
  const negCount = new Float64Array(channels);
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    const v = values[i];
    const threshold = t * maxAbs[c];
    if (v > threshold) {
      codes[i] = 1;
      posSum[c] += v;
      posCount[c]++;
    } else if (v < -threshold) {
      codes[i] = -1;
      negSum[c] -= v;
      negCount[c]++;
    }
  }
  const positiveScales = new Float32Array(channels);
  const negativeScales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    positiveScales[c] = posCount[c] > 0 ? posSum[c] / posCount[c] : 0;
    negativeScales[c] = negCount[c] > 0 ? negSum[c] / negCount[c] : 0;
  }
  return { kind: 'ternary', codes, positiveScales, negativeScales, channels };
}

/** Binary weights: sign, and per channel the mean magnitude (the L2-optimal scale for signs). */
export function quantizeBinary(
  values: Float32Array,
  outChannels: number,
  options: { granularity?: QuantGranularity } = {},
): BinaryQuantized {
  const channels = channelCount(values, options.granularity ?? 'channel', outChannels);
  const sum = new Float64Array(channels);
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    sum[i % channels] += Math.abs(values[i]);
    codes[i] = values[i] >= 0 ? 1 : -1;
  }
  const per = values.length / channels;
  const scales = Float32Array.from(sum, (s) => s / per);
  return { kind: 'binary', codes, scales, channels };
}

export function dequantize(q: QuantizedTensor): Float32Array {
  const out = new Float32Array(q.codes.length);
  const { codes, channels } = q;
  if (q.kind === 'uniform') {
    for (let i = 0; i < codes.length; i++) {
      const c = i % channels;
      out[i] = q.scales[c] * (codes[i] - q.zeroPoints[c]);
    }
  } else if (q.kind === 'ternary') {
    for (let i = 0; i < codes.length; i++) {
      const c = i % channels;
      out[i] = codes[i] > 0 ? q.positiveScales[c] : codes[i] < 0 ? -q.negativeScales[c] : 0;
    }
  } else {
    for (let i = 0; i < codes.length; i++) out[i] = q.scales[i % channels] * codes[i];
  }
  return out;
}

/** Bits one stored code takes. */
export function codeBits(q: QuantizedTensor): number {
  return q.kind === 'uniform' ? q.bits : q.kind === 'ternary' ? 2 : 1;
}

/** Bytes of the stored parameters besides the codes (float32 scales, int32 zero points). */
export function parameterBytes(q: QuantizedTensor): number {
  if (q.kind === 'uniform') return q.channels * (4 + (q.scheme === 'asymmetric' ? 4 : 0));
  if (q.kind === 'ternary') return q.channels * 8;
  return q.channels * 4;
}

export type WeightQuantizer =
  | { kind: 'uniform'; bits: number; scheme?: QuantScheme; granularity?: QuantGranularity }
  | { kind: 'ternary'; thresholdFactor?: number; granularity?: QuantGranularity }
  | { kind: 'binary'; granularity?: QuantGranularity };

export function quantizeWeights(
  values: Float32Array,
  outChannels: number,
  quantizer: WeightQuantizer,
): QuantizedTensor {
  if (quantizer.kind === 'uniform') return quantizeUniform(values, outChannels, quantizer);
  if (quantizer.kind === 'ternary') return quantizeTernary(values, outChannels, quantizer);
  return quantizeBinary(values, outChannels, quantizer);
}

/** Quantize and rebuild in one go: what QAT's forward pass and calibration error measures use. */
export function fakeQuantize(
  values: Float32Array,
  outChannels: number,
  quantizer: WeightQuantizer,
): Float32Array {
  return dequantize(quantizeWeights(values, outChannels, quantizer));
}
