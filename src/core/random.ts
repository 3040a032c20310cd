/**
 * Seeded pseudo-random numbers. Every random choice in Parsimony takes a seed and goes through
 * this class, so runs are reproducible.
 *
 * Generator: xoshiro128** (Blackman and Vigna), 128 bits of state, period 2^128 - 1, 32-bit
 * outputs, fast in plain 32-bit JavaScript arithmetic. The state is filled from the seed with
 * SplitMix64, the seeding its authors recommend: a safe-integer seed `s` is read as the 64-bit
 * two's-complement integer `s`; two SplitMix64 outputs give the four state words, low half first
 * (`[lo(x1), hi(x1), lo(x2), hi(x2)]`). Other finite seeds (fractions, huge numbers) use the bits
 * of their IEEE-754 double instead, so every finite number is a valid seed.
 *
 * `fork(label)` depends only on this generator's seed and the label, never on how many numbers
 * were drawn: samplers fork one stream per trial and parameter, so concurrent trials get the
 * same values in whatever order they ask. A fork's `seed` is a 53-bit integer and
 * `new Random(child.seed)` reproduces the child exactly.
 */

import { getRandomValues } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** Everything needed to resume a generator exactly where it was (JSON-serialisable). */
export interface RandomState {
  seed: number;
  /** The four xoshiro128** state words, unsigned 32-bit. */
  words: [number, number, number, number];
  /** A cached second normal deviate from the polar method, or null. */
  spareNormal: number | null;
}

/** Anything indexable and writable by position: arrays and typed arrays. */
export interface MutableArrayLike<T> {
  length: number;
  [index: number]: T;
}

export class Random {
  /** The seed this generator (or the fork it was derived as) was created from. */
  readonly seed: number;
  private readonly key: bigint;
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw new InvalidArgumentError(`seed must be a finite number, got ${seed}`);
    this.seed = seed;
    this.key = seedKey(seed);
    const x1 = splitmix64(this.key + GOLDEN_GAMMA);
    const x2 = splitmix64(this.key + 2n * GOLDEN_GAMMA);
    this.a = Number(x1 & 0xffffffffn);
    this.b = Number(x1 >> 32n);
    this.c = Number(x2 & 0xffffffffn);
    this.d = Number(x2 >> 32n);
    // The all-zero state is the one state xoshiro cannot leave; SplitMix64 cannot produce it
    // from two consecutive counters, but guard anyway.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A seeded generator, or one seeded from the operating system (53 random bits) when `seed` is undefined. */
  static fromSeed(seed?: number): Random {
    if (seed !== undefined) return new Random(seed);
    const [hi, lo] = getRandomValues(new Uint32Array(2));
    return new Random((hi & 0x1fffff) * TWO_32 + lo);
  }

  /** Restores a generator saved with `getState()`. */
  static fromState(state: RandomState): Random {
    const { words } = state;
    if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w)))
      throw new InvalidArgumentError('Random state: expected four 32-bit integer words');
    if (words.every((w) => w >>> 0 === 0))
      throw new InvalidArgumentError('Random state: the all-zero state is invalid');
    const r = new Random(state.seed);
    r.a = words[0] >>> 0;
    r.b = words[1] >>> 0;
    r.c = words[2] >>> 0;
    r.d = words[3] >>> 0;
    r.spareNormal = state.spareNormal ?? null;
    return r;
  }

  /** The current state, to resume later with `Random.fromState`. */
  getState(): RandomState {
    return { seed: this.seed, words: [this.a, this.b, this.c, this.d], spareNormal: this.spareNormal };
  }

  /** An independent copy at the same position: both produce the same numbers from here on. */
  clone(): Random {
    return Random.fromState(this.getState());
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const b = this.b;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.c ^= this.a;
    this.d ^= b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits (every multiple of 2^-53 equally likely). */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_53;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /**
   * Uniform integer in [low, high], both inclusive, without modulo bias (rejection sampling).
   * Ranges up to 2^32 values use one 32-bit draw most of the time.
   */
  int(low: number, high: number): number {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high))
      throw new InvalidArgumentError(`int(${low}, ${high}): bounds must be safe integers`);
    if (high < low) throw new InvalidArgumentError(`int(${low}, ${high}): high < low`);
    const n = high - low + 1;
    if (n <= TWO_32) {
      const limit = TWO_32 - (TWO_32 % n);
      let u = this.nextUint32();
      while (u >= limit) u = this.nextUint32();
      return low + (u % n);
    }
    if (n > TWO_53) throw new InvalidArgumentError(`int(${low}, ${high}): range wider than 2^53`);
    const limit = TWO_53 - (TWO_53 % n);
    let u = this.next() * TWO_53;
    while (u >= limit) u = this.next() * TWO_53;
    return low + (u % n);
  }

  /** true with probability `p` (default 0.5). */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** Normal deviate, standard unless `mean` and `std` are given (Marsaglia's polar method). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
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
    return mean + std * (u * f);
  }

  /** Shuffles an array or typed array in place (Fisher-Yates, unbiased) and returns it. */
  shuffle<A extends MutableArrayLike<unknown>>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff)
      throw new InvalidArgumentError(`permutation(${n}): n must be a non-negative integer`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }

  /** One element, uniformly. */
  choice<T>(array: ArrayLike<T>): T {
    if (array.length === 0) throw new InvalidArgumentError('choice from an empty array');
    return array[this.int(0, array.length - 1)];
  }

  /**
   * An independent generator determined by this generator's seed and `label` only (numbers and
   * strings are the same label: `fork(1)` is `fork('1')`).
   */
  fork(label: string | number): Random {
    const mixed = splitmix64(this.key ^ splitmix64(fnv1a64(String(label))));
    return new Random(Number(mixed >> 11n));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The 64-bit key a seed stands for: the integer itself, or the bits of the double. */
function seedKey(seed: number): bigint {
  if (Number.isSafeInteger(seed)) return BigInt.asUintN(64, BigInt(seed));
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, seed);
  return view.getBigUint64(0);
}

/** SplitMix64's output function (Steele, Lea and Flood), applied to a counter value. */
function splitmix64(state: bigint): bigint {
  let z = state & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** 64-bit FNV-1a over the UTF-16 code units of a label. */
function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}
