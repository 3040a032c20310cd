/**
 * Activation range calibration: from activation values observed on a sample of the training data,
 * the real range [low, high] an 8-bit (or k-bit) activation quantizer should cover.
 * - minmax: the observed extremes.
 * - percentile: the p-th and (100 - p)-th percentiles (outliers are clipped).
 * - mse: the clipping range whose quantize-dequantize round trip has the least squared error.
 * - entropy: the clipping threshold whose quantized histogram is closest in KL divergence to the
 *   observed one (the method TensorRT's int8 calibrator popularised), over a 2048-bin histogram.
 * A range always includes 0 (zero padding and ReLU zeros stay exact).
 */
import { InvalidArgumentError } from '../core/errors.js';
import { codeRange, type QuantScheme, rangeParameters } from './quantizers.js';

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse', 'entropy'];

export interface CalibrationOptions {
  method: CalibrationMethod;
  bits?: number;
  /** For percentile (default 99.99). */
  percentile?: number;
}

export interface Range {
  low: number;
  high: number;
}

function extremes(values: Float32Array): Range {
  let low = 0;
  let high = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return { low, high };
}

function quantile(sorted: Float32Array, q: number): number {
  if (sorted.length === 0) return 0;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** Squared error of quantizing values to the range [low, high] (asymmetric, `bits`). */
export function roundTripError(
  values: Float32Array,
  range: Range,
  bits: number,
  scheme: QuantScheme,
): number {
  const { scale, zeroPoint } = rangeParameters(range.low, range.high, bits, scheme);
  const { qmin, qmax } = codeRange(bits, scheme);
  let error = 0;
  for (let i = 0; i < values.length; i++) {
    let q = Math.round(values[i] / scale) + zeroPoint;
    q = Math.max(qmin, Math.min(qmax, q));
    const d = values[i] - scale * (q - zeroPoint);
    error += d * d;
  }
  return error;
}

function mseRange(values: Float32Array, bits: number): Range {
  const full = extremes(values);
  let best = full;
  let bestError = roundTripError(values, full, bits, 'asymmetric');
  // Shrink both ends together over 100 candidate fractions of the observed range.
  for (let step = 1; step < 100; step++) {
    const f = 1 - step / 100;
    const range = { low: full.low * f, high: full.high * f };
    const error = roundTripError(values, range, bits, 'asymmetric');
    if (error < bestError) {
      bestError = error;
      best = range;
    }
  }
  return best;
}

/** KL(P || Q) of two unnormalised histograms (bins where P is 0 contribute nothing). */
function klDivergence(p: Float64Array, q: Float64Array): number {
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0) return 0;
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    // A bin P sees but Q lost gets a tiny mass instead of an infinite divergence.
    const qi = q[i] > 0 ? q[i] / sq : 1e-12;
    const pi = p[i] / sp;
    kl += pi * Math.log(pi / qi);
  }
  return kl;
}

/**
 * Entropy calibration of magnitudes: the threshold T over |x| whose `levels`-level quantized
 * histogram (outliers folded into the last bin) diverges least from the observed histogram.
 */
function entropyThreshold(magnitudes: Float32Array, maxMagnitude: number, levels: number): number {
  const bins = 2048;
  if (maxMagnitude <= 0) return 0;
  const hist = new Float64Array(bins);
  const width = maxMagnitude / bins;
  for (let i = 0; i < magnitudes.length; i++) hist[Math.min(bins - 1, Math.floor(magnitudes[i] / width))]++;
  let bestKl = Number.POSITIVE_INFINITY;
  let bestBins = bins;
  for (let n = levels; n <= bins; n++) {
    const p = hist.slice(0, n);
    let outliers = 0;
    for (let i = n; i < bins; i++) outliers += hist[i];
    p[n - 1] += outliers;
    // Merge the n bins (without the outliers) into `levels` groups, then spread each group's mass
    // back over its non-empty bins: what the quantized activations keep. P has the outliers, so
    // clipping them costs divergence.
    const q = new Float64Array(n);
    const per = n / levels;
    for (let g = 0; g < levels; g++) {
      const start = Math.floor(g * per);
      const end = g === levels - 1 ? n : Math.floor((g + 1) * per);
      let mass = 0;
      let nonEmpty = 0;
      for (let i = start; i < end; i++) {
        mass += hist[i];
        if (p[i] > 0) nonEmpty++;
      }
      if (nonEmpty === 0) continue;
      for (let i = start; i < end; i++) if (p[i] > 0) q[i] = mass / nonEmpty;
    }
    const kl = klDivergence(p, q);
    if (kl < bestKl) {
      bestKl = kl;
      bestBins = n;
    }
  }
  return (bestBins + 0.5) * width;
}

export function calibrateRange(values: Float32Array, options: CalibrationOptions): Range {
  const bits = options.bits ?? 8;
  switch (options.method) {
    case 'minmax':
      return extremes(values);
    case 'percentile': {
      const p = options.percentile ?? 99.99;
      if (!(p > 50 && p <= 100))
        throw new InvalidArgumentError(`calibration percentile must be in (50, 100], got ${p}`);
      const sorted = Float32Array.from(values).sort();
      return {
        low: Math.min(0, quantile(sorted, 1 - p / 100)),
        high: Math.max(0, quantile(sorted, p / 100)),
      };
    }
    case 'mse':
      return mseRange(values, bits);
    case 'entropy': {
      const { low, high } = extremes(values);
      const magnitudes = Float32Array.from(values, Math.abs);
      const maxMagnitude = Math.max(-low, high);
      // Non-negative data (after ReLU) uses every level on one side; signed data half per side.
      const signed = low < 0;
      const threshold = entropyThreshold(magnitudes, maxMagnitude, signed ? 2 ** (bits - 1) : 2 ** bits);
      return signed ? { low: -threshold, high: threshold } : { low: 0, high: Math.min(high, threshold) };
    }
    default:
      throw new InvalidArgumentError(
        `unknown calibration method ${String(options.method)} (${CALIBRATION_METHODS.join(', ')})`,
      );
  }
}
