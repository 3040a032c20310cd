/**
 * How an AutoML run spends its wall-clock budget. Before the search, two networks are timed on a
 * few training batches here (the image space's cheapest one and the portfolio's first CNN), which
 * gives the training seconds per sample as a line in the network's MACs. From that line come the
 * default MAC cap of image runs (the largest MACs for which the final training still gets its
 * epochs over the whole training split in its share of the budget, and the search still gets its
 * trials) and each trial's reserve for validating, testing and saving before the search deadline.
 * A few seconds at the end are kept for the ensemble, the front's models and the report.
 */
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { type TrainingData, trainModel } from '../train/trainer.js';

/** Training seconds per sample of a network of `macs` MACs: `baseSeconds + secondsPerMac * macs`. */
export interface StepTiming {
  baseSeconds: number;
  secondsPerMac: number;
}

/** Epochs over the whole training split the final training must fit in its share, at the cap. */
export const CAP_FINAL_EPOCHS = 10;
/** Trials of `CAP_SEARCH_EPOCHS` epochs over the search samples the search must fit, at the cap. */
export const CAP_SEARCH_TRIALS = 10;
export const CAP_SEARCH_EPOCHS = 3;
/** A forward pass costs about a third of a training step (forward, backward, update). */
const FORWARD_SHARE = 1 / 3;

/** Training seconds of `samples` samples (one epoch over them) of a network of `macs` MACs. */
export function trainingSeconds(timing: StepTiming, macs: number, samples: number): number {
  return samples * (timing.baseSeconds + timing.secondsPerMac * macs);
}

/** Seconds to predict `samples` samples (validation, test) with a network of `macs` MACs. */
export function predictionSeconds(timing: StepTiming, macs: number, samples: number): number {
  return trainingSeconds(timing, macs, samples) * FORWARD_SHARE;
}

/** Seconds kept at the end of a run for the ensemble, the front's models and the report. */
export function wrapUpSeconds(budgetSeconds: number): number {
  return Math.min(20, Math.max(1, 0.02 * budgetSeconds));
}

export interface MacCapInput {
  /** Seconds of the search and of the final training (0: none). */
  searchSeconds: number;
  finalSeconds: number;
  /** Trials at once. */
  threads: number;
  searchSamples: number;
  trainSamples: number;
  /** MACs of the cheapest network of the space: the cap never goes below it. */
  smallestMacs: number;
}

export interface MacCap {
  maxMacs: number;
  /** Why this cap, in one sentence for the run's header. */
  rule: string;
}

/**
 * The default MAC cap of an image run: the largest MACs (rounded down to a thousand) for which
 * `CAP_FINAL_EPOCHS` epochs over the whole training split fit in 90% of the final training's
 * seconds (the rest tests and saves), and `CAP_SEARCH_TRIALS` trials of `CAP_SEARCH_EPOCHS` epochs
 * over the search samples fit in the search's seconds on its threads; never below the cheapest
 * network of the space.
 */
export function defaultMaxMacs(timing: StepTiming, input: MacCapInput): MacCap {
  const limits: { perSample: number; rule: string }[] = [];
  if (input.finalSeconds > 0)
    limits.push({
      perSample: (0.9 * input.finalSeconds) / (CAP_FINAL_EPOCHS * input.trainSamples),
      rule: `${CAP_FINAL_EPOCHS} epochs over ${input.trainSamples} training samples fit in the final training's ${Math.round(input.finalSeconds)} s`,
    });
  limits.push({
    perSample:
      (input.searchSeconds * input.threads) / (CAP_SEARCH_TRIALS * CAP_SEARCH_EPOCHS * input.searchSamples),
    rule: `${CAP_SEARCH_TRIALS} trials of ${CAP_SEARCH_EPOCHS} epochs over ${input.searchSamples} samples fit in the search's ${Math.round(input.searchSeconds)} s on ${input.threads} thread(s)`,
  });
  const binding = limits.reduce((a, b) => (b.perSample < a.perSample ? b : a));
  const macs = (binding.perSample - timing.baseSeconds) / timing.secondsPerMac;
  const perMmac = (timing.secondsPerMac * 1e6 * 1e3).toFixed(3);
  const base = (timing.baseSeconds * 1e3).toFixed(3);
  const measured = `measured ${base} ms + ${perMmac} ms per million MACs per training sample`;
  if (!(macs >= input.smallestMacs))
    return {
      maxMacs: input.smallestMacs,
      rule: `the cheapest network of the space (${input.smallestMacs} MACs): not even it lets ${binding.rule} (${measured})`,
    };
  return {
    maxMacs: Math.max(input.smallestMacs, Math.floor(macs / 1000) * 1000),
    rule: `the largest for which ${binding.rule} (${measured})`,
  };
}

/**
 * Seconds per sample of training `spec` here: the fastest of a few steps after two warm-up steps.
 * The fastest, not the median: on a shared machine the slower steps time the other jobs, and a
 * long training ran faster than the median of a few fresh steps said (about 3x under load 12).
 */
async function perSampleSeconds(spec: ModelSpec, train: TrainingData, batchSize: number): Promise<number> {
  const size = train.shape.reduce((a, b) => a * b, 1);
  const n = Math.min(train.labels.length, batchSize * 8);
  const part = { ...train, x: train.x.subarray(0, n * size), labels: train.labels.subarray(0, n) };
  const model = await buildTfjsModel(spec, { seed: 0 });
  const stamps = [performance.now()];
  try {
    await trainModel(model, part, {
      epochs: 1,
      batchSize,
      seed: 0,
      onStep: () => stamps.push(performance.now()),
    });
  } finally {
    model.dispose();
  }
  const steps = stamps.slice(1).map((t, i) => t - stamps[i]);
  // The first two steps warm up (kernels) when enough others were timed.
  const timed = steps.length > 3 ? steps.slice(2) : steps;
  const fastest = timed.length > 0 ? Math.min(...timed) : Number.POSITIVE_INFINITY;
  return fastest / 1000 / Math.min(batchSize, n);
}

/**
 * The step timing line through two networks of different MACs, each timed on a few batches of
 * `train`; with one network (or equal MACs, or a noisy slope) the line through the origin.
 */
export async function measureStepTiming(
  networks: readonly { spec: ModelSpec; macs: number }[],
  train: TrainingData,
  batchSize = 64,
): Promise<StepTiming & { points: { macs: number; seconds: number }[] }> {
  const points: { macs: number; seconds: number }[] = [];
  for (const { spec, macs } of networks)
    points.push({ macs, seconds: await perSampleSeconds(spec, train, batchSize) });
  const [a, b] = [...points].sort((x, y) => x.macs - y.macs);
  if (b && b.macs > a.macs && b.seconds > a.seconds) {
    const secondsPerMac = (b.seconds - a.seconds) / (b.macs - a.macs);
    return { baseSeconds: Math.max(0, a.seconds - secondsPerMac * a.macs), secondsPerMac, points };
  }
  const top = b ?? a;
  return { baseSeconds: 0, secondsPerMac: top.seconds / Math.max(1, top.macs), points };
}
