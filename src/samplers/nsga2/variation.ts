/**
 * Variation operators of NSGA-II on one bounded variable: simulated binary crossover (SBX) and
 * polynomial mutation (Deb and Agrawal 1995, Deb and Goyal 1996, in the bounded form of Deb's
 * reference NSGA-II code), and BLX-alpha (Eshelman and Schaffer 1993). Every result lies in
 * [low, high].
 */
import type { Random } from '../../core/random.js';

/**
 * SBX on one variable: the two children spread symmetrically around the parents with a
 * distribution index `eta` (larger keeps children closer to their parents); the spread is bounded
 * so both children stay in [low, high]. Returns one of the two children at random.
 */
export function sbx(rng: Random, x1: number, x2: number, low: number, high: number, eta: number): number {
  const y1 = Math.min(x1, x2);
  const y2 = Math.max(x1, x2);
  const gap = y2 - y1;
  // Identical parents (or a degenerate range) have nothing to recombine.
  if (!(gap > 1e-14) || !(high > low)) return clamp(rng.bool() ? x1 : x2, low, high);
  const u = rng.next();
  const spread = (beta: number) => {
    const alpha = 2 - beta ** -(eta + 1);
    return u <= 1 / alpha ? (u * alpha) ** (1 / (eta + 1)) : (1 / (2 - u * alpha)) ** (1 / (eta + 1));
  };
  const lower = 0.5 * (y1 + y2 - spread(1 + (2 * (y1 - low)) / gap) * gap);
  const upper = 0.5 * (y1 + y2 + spread(1 + (2 * (high - y2)) / gap) * gap);
  return clamp(rng.bool() ? lower : upper, low, high);
}

/**
 * BLX-alpha on one variable: uniform on the parents' interval widened by `alpha` times its width
 * on each side, clipped to [low, high].
 */
export function blxAlpha(
  rng: Random,
  x1: number,
  x2: number,
  low: number,
  high: number,
  alpha: number,
): number {
  const y1 = Math.min(x1, x2);
  const y2 = Math.max(x1, x2);
  const d = y2 - y1;
  return clamp(rng.uniform(y1 - alpha * d, y2 + alpha * d), low, high);
}

/**
 * Polynomial mutation of one variable within [low, high] with distribution index `eta`: small
 * moves are likely, and the move can reach either bound (larger `eta` keeps it smaller).
 */
export function polynomialMutation(rng: Random, x: number, low: number, high: number, eta: number): number {
  const width = high - low;
  if (!(width > 0)) return clamp(x, low, high);
  x = clamp(x, low, high);
  const d1 = (x - low) / width;
  const d2 = (high - x) / width;
  const u = rng.next();
  const power = 1 / (eta + 1);
  let dq: number;
  if (u < 0.5) {
    const v = 2 * u + (1 - 2 * u) * (1 - d1) ** (eta + 1);
    dq = v ** power - 1;
  } else {
    const v = 2 * (1 - u) + 2 * (u - 0.5) * (1 - d2) ** (eta + 1);
    dq = 1 - v ** power;
  }
  return clamp(x + dq * width, low, high);
}

function clamp(x: number, low: number, high: number): number {
  return Math.min(Math.max(x, low), high);
}
