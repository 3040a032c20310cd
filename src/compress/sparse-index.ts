/**
 * Sparse positions as relative offsets (Deep Compression, Han et al. 2016, figure 2): each non-zero
 * weight stores the distance from the previous stored entry in `indexBits` bits. When a gap is
 * longer than 2^indexBits, a padding entry (a stored zero) is placed 2^indexBits further on, so
 * every offset fits. Offsets are stored minus one (1..2^b becomes 0..2^b - 1).
 */
import { InvalidArgumentError } from '../core/errors.js';

export interface RelativeIndices {
  /** Offset - 1 per stored entry, each in [0, 2^indexBits - 1]. */
  offsets: Int32Array;
  /** Per stored entry: 1 when it is a padding zero, 0 for a real non-zero weight. */
  padding: Uint8Array;
  /** Flat positions of the stored entries (padding included), for pairing with values. */
  positions: Int32Array;
}

export function encodeRelativeIndices(
  nonZeroPositions: ArrayLike<number>,
  indexBits: number,
): RelativeIndices {
  if (!(Number.isInteger(indexBits) && indexBits >= 1 && indexBits <= 16))
    throw new InvalidArgumentError(`index bits must be an integer from 1 to 16, got ${indexBits}`);
  const span = 2 ** indexBits;
  const offsets: number[] = [];
  const padding: number[] = [];
  const positions: number[] = [];
  let previous = -1;
  for (let i = 0; i < nonZeroPositions.length; i++) {
    const p = nonZeroPositions[i];
    if (p <= previous) throw new InvalidArgumentError('sparse positions must be strictly increasing');
    while (p - previous > span) {
      previous += span;
      offsets.push(span - 1);
      padding.push(1);
      positions.push(previous);
    }
    offsets.push(p - previous - 1);
    padding.push(0);
    positions.push(p);
    previous = p;
  }
  return {
    offsets: Int32Array.from(offsets),
    padding: Uint8Array.from(padding),
    positions: Int32Array.from(positions),
  };
}

/** Flat positions of the stored entries from their offsets. */
export function decodeRelativeIndices(offsets: ArrayLike<number>): Int32Array {
  const positions = new Int32Array(offsets.length);
  let previous = -1;
  for (let i = 0; i < offsets.length; i++) {
    previous += offsets[i] + 1;
    positions[i] = previous;
  }
  return positions;
}
