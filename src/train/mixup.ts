/**
 * Mixup (Zhang et al. 2018) on a batch held in JS memory: every image becomes
 * lambda * itself + (1 - lambda) * a partner from the same batch (a seeded permutation), with one
 * lambda ~ Beta(a, a) per batch; the targets mix with the same lambda. A teacher that reads the
 * mixed batch labels exactly what the student sees (the "function matching" of Beyer et al. 2022).
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Random } from '../core/random.js';

export function checkMixup(concentration: number): void {
  if (!(Number.isFinite(concentration) && concentration > 0))
    throw new InvalidArgumentError(`train: mixup must be a Beta concentration > 0, got ${concentration}`);
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 through the u^(1/shape) boost. */
export function sampleGamma(rng: Random, shape: number): number {
  if (shape < 1) return sampleGamma(rng, shape + 1) * (1 - rng.next()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = rng.normal();
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Random, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x + y > 0 ? x / (x + y) : 0.5;
}

export interface MixedBatch {
  lambda: number;
  /** partner[i]: the row image i was mixed with. */
  partner: Int32Array;
}

/** Mixes the first `count` images of `size` values in `batch` in place; `scratch` holds `count` images. */
export function mixBatch(
  batch: Float32Array,
  count: number,
  size: number,
  concentration: number,
  rng: Random,
  scratch: Float32Array,
): MixedBatch {
  const lambda = sampleBeta(rng, concentration, concentration);
  const partner = rng.permutation(count);
  scratch.set(batch.subarray(0, count * size));
  const rest = 1 - lambda;
  for (let i = 0; i < count; i++) {
    const to = i * size;
    const from = partner[i] * size;
    for (let j = 0; j < size; j++) batch[to + j] = lambda * scratch[to + j] + rest * scratch[from + j];
  }
  return { lambda, partner };
}
