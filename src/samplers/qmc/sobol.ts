/**
 * Sobol sequences in up to 1024 dimensions (Joe and Kuo's direction numbers), optionally with
 * nested uniform (Owen) scrambling.
 *
 * Points are addressed by index, in Gray-code order (the order of Joe and Kuo's reference generator
 * and of scipy): point i is the XOR of the direction numbers selected by the bits of i ^ (i >> 1).
 * Random access is what lets a sampler give trial n the n-th point, whatever order concurrent
 * workers ask in.
 *
 * Scrambling. Owen's nested uniform scrambling flips bit k of a coordinate with a random bit chosen
 * independently for every node of the binary tree of dyadic intervals, i.e. for every value of the
 * k leading bits. Drawing those bits from a keyed hash of the node (instead of storing a tree) keeps
 * random access. The scrambled points keep the net property of the sequence (any 2^m consecutive
 * points aligned on a multiple of 2^m fill every elementary interval of volume 2^-m the same way the
 * unscrambled ones do), and each point is uniform on [0, 1)^d; bits below the 32nd are random too.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Random } from '../../core/random.js';
import { JOE_KUO_TABLE } from './joe-kuo.js';

export const SOBOL_MAX_DIMENSION = 1024;
/** Points per sequence: indices are 32-bit. */
export const SOBOL_MAX_POINTS = 2 ** 32;

const TWO_32 = 4294967296;
const TWO_21 = 2097152;

interface TableEntry {
  readonly poly: number;
  readonly m: readonly number[];
}

let parsedTable: TableEntry[] | null = null;

function joeKuoTable(): TableEntry[] {
  if (parsedTable === null) {
    parsedTable = JOE_KUO_TABLE.trim()
      .split(/\s+/)
      .map((item) => {
        const [poly, m] = item.split(':');
        return { poly: Number(poly), m: m.split(',').map(Number) };
      });
  }
  return parsedTable;
}

/**
 * The 32 direction numbers V_1..V_32 of dimension `d` (0-based) as 32-bit integers: V_k / 2^32 is
 * the k-th direction number as a binary fraction.
 */
export function sobolDirectionNumbers(d: number): Uint32Array {
  if (!Number.isInteger(d) || d < 0 || d >= SOBOL_MAX_DIMENSION)
    throw new InvalidArgumentError(`Sobol: dimension index must be in [0, ${SOBOL_MAX_DIMENSION}), got ${d}`);
  const v = new Uint32Array(32);
  if (d === 0) {
    for (let k = 0; k < 32; k++) v[k] = 2 ** (31 - k);
    return v;
  }
  const { poly, m } = joeKuoTable()[d - 1];
  const s = m.length;
  for (let k = 0; k < Math.min(s, 32); k++) v[k] = m[k] * 2 ** (31 - k);
  for (let k = s; k < 32; k++) {
    // V_k = a_1 V_{k-1} ^ ... ^ a_{s-1} V_{k-s+1} ^ V_{k-s} ^ (V_{k-s} >> s); a_i is bit s-i of poly.
    let x = v[k - s] ^ (v[k - s] >>> s);
    for (let i = 1; i < s; i++) if ((poly >>> (s - i)) & 1) x ^= v[k - i];
    v[k] = x >>> 0;
  }
  return v;
}

export class SobolSequence {
  readonly dimension: number;
  readonly scrambled: boolean;
  private readonly directions: Uint32Array[];
  /** Two hash keys per dimension for the scrambling bits. */
  private readonly keys: Uint32Array;

  /** Owen-scrambled with keys drawn from `scrambler` when it is given; the plain sequence otherwise. */
  constructor(dimension: number, scrambler?: Random) {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > SOBOL_MAX_DIMENSION)
      throw new InvalidArgumentError(
        `Sobol: dimension must be an integer in [1, ${SOBOL_MAX_DIMENSION}], got ${dimension}`,
      );
    this.dimension = dimension;
    this.scrambled = scrambler !== undefined;
    this.directions = Array.from({ length: dimension }, (_, d) => sobolDirectionNumbers(d));
    this.keys = new Uint32Array(2 * dimension);
    if (scrambler) for (let i = 0; i < this.keys.length; i++) this.keys[i] = scrambler.nextUint32();
  }

  /** Point `index` (0-based, in Gray-code order) with coordinates in [0, 1). */
  point(index: number, out: Float64Array = new Float64Array(this.dimension)): Float64Array {
    if (!Number.isInteger(index) || index < 0 || index >= SOBOL_MAX_POINTS)
      throw new InvalidArgumentError(`Sobol: point index must be an integer in [0, 2^32), got ${index}`);
    const gray = (index ^ (index >>> 1)) >>> 0;
    for (let d = 0; d < this.dimension; d++) {
      const v = this.directions[d];
      let x = 0;
      for (let bits = gray, k = 0; bits !== 0; bits >>>= 1, k++) if (bits & 1) x ^= v[k];
      x >>>= 0;
      out[d] = this.scrambled ? this.scramble(x, d) : x / TWO_32;
    }
    return out;
  }

  /** Owen-scrambles the 32-bit coordinate `x` of dimension `d` and fills the bits below. */
  private scramble(x: number, d: number): number {
    const k1 = this.keys[2 * d];
    const k2 = this.keys[2 * d + 1];
    let flips = 0;
    for (let level = 0; level < 32; level++) {
      // The node is identified by its depth and the bits above it: a leading 1 then the prefix.
      const prefix = level === 0 ? 0 : x >>> (32 - level);
      const node = (2 ** level + prefix) >>> 0;
      flips |= (hash32(node, k1, k2) >>> 31) << (31 - level);
    }
    const y = (x ^ flips) >>> 0;
    // Below the 32nd bit every point lies in its own subtree, so the remaining bits are uniform.
    const tail = hash32(x, k2, k1) >>> 11;
    return (y + tail / TWO_21) / TWO_32;
  }
}

/** A 32-bit hash of `node` under the key (k1, k2): two rounds of MurmurHash3's finaliser. */
function hash32(node: number, k1: number, k2: number): number {
  return fmix32((fmix32(node ^ k1) + k2) >>> 0);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Halton sequences: coordinate d is the radical inverse of the index in the d-th prime base. When
 * scrambled, every digit position of every dimension gets its own random permutation of the digits
 * (random digit permutation, as in scipy), applied to enough digits to resolve 2^32 points; this
 * keeps the stratification of each coordinate in its base and removes the correlations between high
 * dimensions that plain Halton points are known for.
 */
export class HaltonSequence {
  readonly dimension: number;
  readonly scrambled: boolean;
  readonly bases: readonly number[];
  /** Per dimension: digits per coordinate and, when scrambled, one permutation per digit position. */
  private readonly digits: number[];
  private readonly permutations: (Int32Array[] | null)[];

  /** Scrambled with permutations drawn from `scrambler` when it is given. */
  constructor(dimension: number, scrambler?: Random) {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > HALTON_MAX_DIMENSION)
      throw new InvalidArgumentError(
        `Halton: dimension must be an integer in [1, ${HALTON_MAX_DIMENSION}], got ${dimension}`,
      );
    this.dimension = dimension;
    this.scrambled = scrambler !== undefined;
    this.bases = firstPrimes(dimension);
    this.digits = this.bases.map((b) => Math.ceil((32 * Math.LN2) / Math.log(b)));
    this.permutations = this.bases.map((b, d) =>
      scrambler ? Array.from({ length: this.digits[d] }, () => scrambler.permutation(b)) : null,
    );
  }

  /** Point `index` (0-based) with coordinates in [0, 1). */
  point(index: number, out: Float64Array = new Float64Array(this.dimension)): Float64Array {
    if (!Number.isInteger(index) || index < 0 || index >= SOBOL_MAX_POINTS)
      throw new InvalidArgumentError(`Halton: point index must be an integer in [0, 2^32), got ${index}`);
    for (let d = 0; d < this.dimension; d++) {
      const b = this.bases[d];
      const perms = this.permutations[d];
      let rest = index;
      let scale = 1 / b;
      let x = 0;
      // Scrambled coordinates need every digit position (a zero digit is permuted too).
      const n = perms ? this.digits[d] : Number.POSITIVE_INFINITY;
      for (let k = 0; k < n && (perms || rest > 0); k++) {
        const digit = rest % b;
        x += (perms ? perms[k][digit] : digit) * scale;
        rest = (rest - digit) / b;
        scale /= b;
      }
      out[d] = Math.min(x, 1 - Number.EPSILON);
    }
    return out;
  }
}

export const HALTON_MAX_DIMENSION = 1024;

/** The first `n` primes (trial division; n is at most a few thousand). */
function firstPrimes(n: number): number[] {
  const primes: number[] = [];
  for (let c = 2; primes.length < n; c++) {
    let prime = true;
    for (const p of primes) {
      if (p * p > c) break;
      if (c % p === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push(c);
  }
  return primes;
}
