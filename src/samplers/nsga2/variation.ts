/** Variation operators of NSGA-II on a box: simulated binary crossover and polynomial mutation (Deb). */
import type { Random } from '../../core/random.js';

/**
 * SBX on one variable: children spread around the parents with a distribution index `eta`
 * (larger keeps children closer), bounded so both stay in [low, high]. Returns one child.
 */
export function sbx(rng: Random, x1: number, x2: number, low: number, high: number, eta: number): number {
  if (Math.abs(x1 - x2) < 1e-14 || high <= low) return rng.next() < 0.5 ? x1 : x2;
  const y1 = Math.min(x1, x2);
  const y2 = Math.max(x1, x2);
  const u = rng.next();
  const child = (beta: number, sign: 1 | -1) => {
    const alpha = 2 - beta ** -(eta + 1);
    const betaq = u <= 1 / alpha ? (u * alpha) ** (1 / (eta + 1)) : (1 / (2 - u * alpha)) ** (1 / (eta + 1));
    return 0.5 * (y1 + y2 + sign * betaq * (y2 - y1));
  };
  const c1 = child(1 + (2 * (y1 - low)) / (y2 - y1), -1);
  const c2 = child(1 + (2 * (high - y2)) / (y2 - y1), 1);
  const c = rng.next() < 0.5 ? c1 : c2;
  return Math.min(Math.max(c, low), high);
}

/** Polynomial mutation of one variable within [low, high] with distribution index `eta`. */
export function polynomialMutation(rng: Random, x: number, low: number, high: number, eta: number): number {
  const width = high - low;
  if (width <= 0) return x;
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
  return Math.min(Math.max(x + dq * width, low), high);
}
