/**
 * Confidence-based exits shared by early-exit networks and model cascades: stage i (a head or a
 * cascade member) answers a sample when its confidence (largest class probability) exceeds the
 * threshold, else the sample goes on; the last stage always answers. Given every stage's
 * probabilities for a data set (computed once), the accuracy and average cost at any threshold
 * follow without running anything again, which is how thresholds are swept and chosen.
 */
import { InvalidArgumentError } from '../core/errors.js';

/** One stage's class probabilities for n samples (row-major n x classes) and its cost. */
export interface StageOutputs {
  probabilities: Float32Array;
  /** MACs a sample has run once it has this stage's answer (earlier stages included). */
  cumulativeMacs: number;
}

export interface ExitPoint {
  threshold: number;
  accuracy: number;
  /** Mean MACs per sample. */
  averageMacs: number;
  /** Share of the samples answered by each stage. */
  exitShares: number[];
}

/** Largest probability and its class, per row. */
export function confidences(
  probabilities: Float32Array,
  classes: number,
): { confidence: Float32Array; predicted: Int32Array } {
  const n = probabilities.length / classes;
  const confidence = new Float32Array(n);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[i * classes + c] > probabilities[i * classes + best]) best = c;
    predicted[i] = best;
    confidence[i] = probabilities[i * classes + best];
  }
  return { confidence, predicted };
}

/** The stage each sample leaves at: the first whose confidence exceeds the threshold, else the last. */
export function exitStages(confidence: readonly Float32Array[], threshold: number): Int32Array {
  const n = confidence[0].length;
  const last = confidence.length - 1;
  const out = new Int32Array(n).fill(last);
  for (let i = 0; i < n; i++)
    for (let s = 0; s < last; s++)
      if (confidence[s][i] > threshold) {
        out[i] = s;
        break;
      }
  return out;
}

/** Accuracy, mean cost and exit shares at each threshold. */
export function exitCurve(
  stages: readonly StageOutputs[],
  labels: Int32Array,
  classes: number,
  thresholds: readonly number[],
): ExitPoint[] {
  if (stages.length === 0) throw new InvalidArgumentError('exitCurve: no stages');
  const per = stages.map((s) => confidences(s.probabilities, classes));
  const n = labels.length;
  return thresholds.map((threshold) => {
    const exits = exitStages(
      per.map((p) => p.confidence),
      threshold,
    );
    let correct = 0;
    let macs = 0;
    const counts = new Array<number>(stages.length).fill(0);
    for (let i = 0; i < n; i++) {
      const s = exits[i];
      if (per[s].predicted[i] === labels[i]) correct++;
      macs += stages[s].cumulativeMacs;
      counts[s]++;
    }
    return { threshold, accuracy: correct / n, averageMacs: macs / n, exitShares: counts.map((c) => c / n) };
  });
}

/** Thresholds worth trying: 0, every tenth up to 0.9, finer steps up to 0.999, and 1 (never exit early). */
export const DEFAULT_THRESHOLDS: readonly number[] = [
  0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99, 0.995, 0.999, 1,
];

export interface ThresholdChoice {
  /** The cheapest point whose accuracy reaches the target; else the most accurate one. */
  chosen: ExitPoint;
  /** Whether the chosen point reaches the target accuracy. */
  met: boolean;
  curve: ExitPoint[];
}

/**
 * The threshold with the lowest average cost whose accuracy on these (validation) samples is at
 * least `targetAccuracy`; ties go to the higher accuracy. When no threshold reaches it, the most
 * accurate (then cheapest) one, with `met: false`.
 */
export function chooseThreshold(
  stages: readonly StageOutputs[],
  labels: Int32Array,
  classes: number,
  targetAccuracy: number,
  thresholds: readonly number[] = DEFAULT_THRESHOLDS,
): ThresholdChoice {
  if (!(targetAccuracy >= 0 && targetAccuracy <= 1))
    throw new InvalidArgumentError(`target accuracy must be in [0, 1], got ${targetAccuracy}`);
  const curve = exitCurve(stages, labels, classes, thresholds);
  const meeting = curve.filter((p) => p.accuracy >= targetAccuracy);
  const pick = (points: ExitPoint[], better: (a: ExitPoint, b: ExitPoint) => boolean) =>
    points.reduce((best, p) => (better(p, best) ? p : best));
  if (meeting.length > 0)
    return {
      chosen: pick(
        meeting,
        (a, b) =>
          a.averageMacs < b.averageMacs || (a.averageMacs === b.averageMacs && a.accuracy > b.accuracy),
      ),
      met: true,
      curve,
    };
  return {
    chosen: pick(
      curve,
      (a, b) => a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.averageMacs < b.averageMacs),
    ),
    met: false,
    curve,
  };
}
