/**
 * Canonical Huffman coding of small alphabets (codebook indices, relative sparse offsets), as
 * Deep Compression's last stage. A code is stored as one length per symbol; the decoder rebuilds
 * the canonical codes from the lengths alone. Code lengths are limited to 24 bits by flattening
 * the frequencies when a tree would be deeper (never reached by alphabets of at most 2^8 + 1).
 */
import { DataError } from '../core/errors.js';
import type { BitReader, BitWriter } from './bit-stream.js';

export const MAX_CODE_LENGTH = 24;

/** Code length per symbol from counts (0 for symbols that never occur). */
export function huffmanCodeLengths(counts: ArrayLike<number>): Uint8Array {
  const n = counts.length;
  const lengths = new Uint8Array(n);
  const used: number[] = [];
  for (let s = 0; s < n; s++) if (counts[s] > 0) used.push(s);
  if (used.length === 0) return lengths;
  if (used.length === 1) {
    lengths[used[0]] = 1;
    return lengths;
  }
  let weights = used.map((s) => counts[s]);
  for (;;) {
    // Nodes: leaves 0..m-1, then internal nodes; repeatedly merge the two lightest.
    const m = used.length;
    const parent = new Int32Array(2 * m - 1).fill(-1);
    const weight = new Float64Array(2 * m - 1);
    for (let i = 0; i < m; i++) weight[i] = weights[i];
    const queue = Array.from({ length: m }, (_, i) => i);
    let next = m;
    while (queue.length > 1) {
      queue.sort((a, b) => weight[a] - weight[b] || a - b);
      const a = queue.shift() as number;
      const b = queue.shift() as number;
      weight[next] = weight[a] + weight[b];
      parent[a] = next;
      parent[b] = next;
      queue.push(next++);
    }
    let deepest = 0;
    for (let i = 0; i < m; i++) {
      let depth = 0;
      for (let p = parent[i]; p >= 0; p = parent[p]) depth++;
      lengths[used[i]] = depth;
      deepest = Math.max(deepest, depth);
    }
    if (deepest <= MAX_CODE_LENGTH) return lengths;
    weights = weights.map((w) => Math.ceil(Math.sqrt(w)));
  }
}

/** Canonical codes from lengths: shorter codes first, ties by symbol. */
export function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const codes = new Uint32Array(lengths.length);
  const order = Array.from(lengths.keys())
    .filter((s) => lengths[s] > 0)
    .sort((a, b) => lengths[a] - lengths[b] || a - b);
  let code = 0;
  let previous = 0;
  for (const s of order) {
    code <<= lengths[s] - previous;
    previous = lengths[s];
    codes[s] = code;
    code++;
  }
  return codes;
}

export class HuffmanCode {
  readonly lengths: Uint8Array;
  private readonly codes: Uint32Array;
  /** Decoding: symbol for (length, code). */
  private readonly table = new Map<number, number>();

  constructor(lengths: Uint8Array) {
    this.lengths = lengths;
    this.codes = canonicalCodes(lengths);
    for (let s = 0; s < lengths.length; s++)
      if (lengths[s] > 0) this.table.set(lengths[s] * 2 ** MAX_CODE_LENGTH + this.codes[s], s);
  }

  static fromSymbols(symbols: ArrayLike<number>, alphabetSize: number): HuffmanCode {
    const counts = new Float64Array(alphabetSize);
    for (let i = 0; i < symbols.length; i++) counts[symbols[i]]++;
    return new HuffmanCode(huffmanCodeLengths(counts));
  }

  /** Bits the symbols take with this code. */
  encodedBits(symbols: ArrayLike<number>): number {
    let bits = 0;
    for (let i = 0; i < symbols.length; i++) bits += this.lengths[symbols[i]];
    return bits;
  }

  encode(symbols: ArrayLike<number>, out: BitWriter): void {
    for (let i = 0; i < symbols.length; i++) {
      const s = symbols[i];
      if (this.lengths[s] === 0)
        // not a user error: the code table is built from the symbols it encodes
        throw new Error(`unreachable: symbol ${s} has no Huffman code`);
      out.write(this.codes[s], this.lengths[s]);
    }
  }

  decode(input: BitReader, count: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      let code = 0;
      let length = 0;
      for (;;) {
        code = code * 2 + input.readBit();
        length++;
        const s = this.table.get(length * 2 ** MAX_CODE_LENGTH + code);
        if (s !== undefined) {
          out[i] = s;
          break;
        }
        if (length >= MAX_CODE_LENGTH) throw new DataError('Huffman stream holds a code that no symbol has');
      }
    }
    return out;
  }
}
