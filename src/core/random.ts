/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32. Every random choice in
 * Parsimony takes a seed and goes through this class, so runs are reproducible.
 *
 * `fork(label)` depends only on the seed and the label, never on how many numbers were drawn:
 * samplers fork one stream per trial and parameter, so concurrent trials get the same values in
 * whatever order they ask.
 */
import { randomInt } from 'node:crypto';

export class Random {
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.seed = seed;
    let s = mixSeed(seed);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A seeded generator, or one seeded from the operating system when `seed` is undefined. */
  static fromSeed(seed?: number): Random {
    return new Random(seed ?? randomInt(0, 2 ** 48 - 1));
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [low, high], both inclusive. */
  int(low: number, high: number): number {
    if (high < low) throw new RangeError(`int(${low}, ${high}): high < low`);
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /** Shuffles in place (Fisher-Yates) and returns the array. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  choice<T>(array: readonly T[]): T {
    if (array.length === 0) throw new RangeError('choice from an empty array');
    return array[Math.floor(this.next() * array.length)];
  }

  /** An independent generator determined by this generator's seed and `label` only. */
  fork(label: string | number): Random {
    return new Random(hashSeed(this.seed, String(label)));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Folds any finite number (including large or fractional seeds) into 32 bits. */
function mixSeed(seed: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const frac = Math.floor((seed - Math.floor(seed)) * 4294967296) >>> 0;
  return (Math.imul(lo ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(hi + 0x165667b1, 0x85ebca6b) ^ frac) | 0;
}

/** FNV-1a over the label, mixed with the parent seed; 48 bits so forks rarely collide. */
function hashSeed(seed: number, label: string): number {
  let h1 = 0x811c9dc5 ^ mixSeed(seed);
  let h2 = 0x01000193 ^ mixSeed(seed + 0.5);
  for (let i = 0; i < label.length; i++) {
    const ch = label.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 15), 0x2c1b3c6d) >>> 0;
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x297a2d39) >>> 16;
  return h2 * 4294967296 + h1;
}
