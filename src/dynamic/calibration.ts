/**
 * Temperature scaling (Guo et al. 2017) for confidence-based exits: a threshold on raw softmax
 * confidence means something different at each head or cascade member (an early head trained on
 * less signal is over- or under-confident in its own way). One scalar T per stage, fitted on
 * validation data by minimising the negative log-likelihood of softmax(logits / T), makes a
 * confidence of 0.9 mean about 90% correct at every stage. The stages output probabilities, so
 * log p serves as the logits (softmax is unchanged by a per-row shift). T never changes a stage's
 * predicted class, only its confidence. The fit is deterministic: the NLL is convex in 1 / T, so
 * a golden-section search over log(1 / T) finds the one minimum.
 */
import { InvalidArgumentError } from '../core/errors.js';

/** Stands in for log 0 where float32 softmax underflowed (a logit gap beyond any useful T). */
const LOG_FLOOR = Math.log(1e-30);

/** The lowest and highest temperature searched. */
export const TEMPERATURE_RANGE: readonly [number, number] = [0.05, 20];

const logOf = (p: number) => (p > 0 ? Math.log(p) : LOG_FLOOR);

function checkRows(probabilities: Float32Array, labels: Int32Array, classes: number): number {
  const n = labels.length;
  if (!(classes > 0) || probabilities.length !== n * classes)
    throw new InvalidArgumentError(
      `calibration: ${probabilities.length} probabilities for ${n} samples of ${classes} classes`,
    );
  if (n === 0) throw new InvalidArgumentError('calibration: no samples');
  return n;
}

/** Mean negative log-likelihood of the labels under softmax(log p / temperature). */
export function negativeLogLikelihood(
  probabilities: Float32Array,
  labels: Int32Array,
  classes: number,
  temperature = 1,
): number {
  const n = checkRows(probabilities, labels, classes);
  const inverse = 1 / temperature;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logOf(probabilities[row + c]) * inverse);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logOf(probabilities[row + c]) * inverse - max);
    total += max + Math.log(sum) - logOf(probabilities[row + labels[i]]) * inverse;
  }
  return total / n;
}

/** softmax(log p / temperature) per row: the same classes ranked the same, confidences rescaled. */
export function applyTemperature(
  probabilities: Float32Array,
  classes: number,
  temperature: number,
): Float32Array {
  if (temperature === 1) return probabilities;
  const out = new Float32Array(probabilities.length);
  const inverse = 1 / temperature;
  const row = new Float64Array(classes);
  for (let start = 0; start < probabilities.length; start += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      row[c] = logOf(probabilities[start + c]) * inverse;
      max = Math.max(max, row[c]);
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      row[c] = Math.exp(row[c] - max);
      sum += row[c];
    }
    for (let c = 0; c < classes; c++) out[start + c] = row[c] / sum;
  }
  return out;
}

/** The temperature in `TEMPERATURE_RANGE` with the lowest negative log-likelihood on these samples. */
export function fitTemperature(probabilities: Float32Array, labels: Int32Array, classes: number): number {
  checkRows(probabilities, labels, classes);
  const nll = (logInverse: number) =>
    negativeLogLikelihood(probabilities, labels, classes, Math.exp(-logInverse));
  const ratio = (Math.sqrt(5) - 1) / 2;
  let lo = -Math.log(TEMPERATURE_RANGE[1]);
  let hi = -Math.log(TEMPERATURE_RANGE[0]);
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let fa = nll(a);
  let fb = nll(b);
  // 60 steps shrink the interval by 0.618^60: far below float precision of a temperature.
  for (let step = 0; step < 60; step++) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = nll(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = nll(b);
    }
  }
  const best = (lo + hi) / 2;
  // Never worse than leaving the stage alone (T = 1) on the data it was fitted on.
  return nll(best) <= nll(0) ? Math.exp(-best) : 1;
}

/**
 * Expected calibration error: samples binned by confidence into `bins` equal-width bins, the
 * sample-weighted mean gap between each bin's accuracy and its mean confidence.
 */
export function expectedCalibrationError(
  probabilities: Float32Array,
  labels: Int32Array,
  classes: number,
  bins = 15,
): number {
  const n = checkRows(probabilities, labels, classes);
  const count = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[i * classes + c] > probabilities[i * classes + best]) best = c;
    const p = probabilities[i * classes + best];
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    count[bin]++;
    confidence[bin] += p;
    if (best === labels[i]) correct[bin]++;
  }
  let error = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) error += Math.abs(correct[b] - confidence[b]) / n;
  return error;
}

/** What calibrating one stage did, on the data it was fitted on. */
export interface StageCalibration {
  temperature: number;
  nllBefore: number;
  nllAfter: number;
  eceBefore: number;
  eceAfter: number;
}

/** Fits one temperature per stage on validation outputs and reports NLL and ECE before and after. */
export function calibrateStages(
  stages: readonly Float32Array[],
  labels: Int32Array,
  classes: number,
): StageCalibration[] {
  return stages.map((probabilities) => {
    const temperature = fitTemperature(probabilities, labels, classes);
    const scaled = applyTemperature(probabilities, classes, temperature);
    return {
      temperature,
      nllBefore: negativeLogLikelihood(probabilities, labels, classes),
      nllAfter: negativeLogLikelihood(scaled, labels, classes),
      eceBefore: expectedCalibrationError(probabilities, labels, classes),
      eceAfter: expectedCalibrationError(scaled, labels, classes),
    };
  });
}

/** Checks a stored list of temperatures: one positive finite number per stage. */
export function checkTemperatures(temperatures: readonly number[], stages: number, what: string): void {
  if (temperatures.length !== stages || temperatures.some((t) => !(t > 0 && Number.isFinite(t))))
    throw new InvalidArgumentError(
      `${what}: ${stages} positive temperatures expected, got [${temperatures.join(', ')}]`,
    );
}
