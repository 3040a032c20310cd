import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BitReader, BitWriter } from '../../src/compress/bit-stream.js';
import { HuffmanCode, huffmanCodeLengths } from '../../src/compress/huffman.js';
import { kMeans1d } from '../../src/compress/kmeans.js';
import { decodeRelativeIndices, encodeRelativeIndices } from '../../src/compress/sparse-index.js';
import { DataError } from '../../src/core/errors.js';
import { randoms } from '../helpers/random.js';

describe('Huffman coding', () => {
  it('matches the textbook lengths and round-trips through bits', () => {
    const lengths = huffmanCodeLengths([45, 13, 12, 16, 9, 5]);
    assert.deepEqual([...lengths], [1, 3, 3, 3, 4, 4]);
    const symbols = Int32Array.from(randoms(5000, 4, 0, 1), (u) =>
      u < 0.7 ? 0 : u < 0.9 ? 1 : Math.floor(u * 40) % 7,
    );
    const code = HuffmanCode.fromSymbols(symbols, 7);
    const out = new BitWriter();
    code.encode(symbols, out);
    assert.equal(out.length, code.encodedBits(symbols));
    // Skewed symbols take fewer than the 3 fixed bits 7 symbols need.
    assert.ok(out.length < 5000 * 2, `encoded ${out.length} bits`);
    const back = new HuffmanCode(code.lengths).decode(new BitReader(out.finish()), symbols.length);
    assert.deepEqual(back, symbols);
  });

  it('a truncated stream is a data error', () => {
    const code = HuffmanCode.fromSymbols([0, 1, 1, 2, 2, 2], 3);
    const out = new BitWriter();
    code.encode([0, 1, 2, 0], out);
    assert.throws(() => code.decode(new BitReader(out.finish().slice(0, 0)), 4), DataError);
  });
});

describe('relative sparse indices', () => {
  it('inserts a padding zero when a gap exceeds 2^bits (Han et al. figure 2)', () => {
    // 3-bit offsets: gap 1..8 fits; position 4 then 15 (gap 11) needs one padding entry at 12.
    const r = encodeRelativeIndices([1, 4, 15], 3);
    assert.deepEqual([...r.positions], [1, 4, 12, 15]);
    assert.deepEqual([...r.padding], [0, 0, 1, 0]);
    assert.deepEqual([...r.offsets], [1, 2, 7, 2]);
    assert.deepEqual([...decodeRelativeIndices(r.offsets)], [1, 4, 12, 15]);
  });

  it('round-trips random sparse positions', () => {
    const positions = [...randoms(50000, 9, 0, 1)].flatMap((u, i) => (u < 0.08 ? [i] : []));
    const r = encodeRelativeIndices(positions, 5);
    const decoded = decodeRelativeIndices(r.offsets).filter((_, i) => r.padding[i] === 0);
    assert.deepEqual([...decoded], positions);
  });
});

describe('one-dimensional k-means', () => {
  const values = Float32Array.from(randoms(3000, 7, 0, 1), (u, i) => [-1, 0.2, 3][i % 3] + 0.01 * u);

  for (const init of ['linear', 'density', 'kmeans++'] as const)
    it(`${init} init finds three separated groups`, () => {
      const r = kMeans1d(values, { k: 3, init, seed: 1 });
      assert.deepEqual(
        [...r.centroids].map((c) => Math.round(c * 10) / 10),
        [-1, 0.2, 3],
        `${init} centroids ${[...r.centroids]}`,
      );
      for (let i = 0; i < values.length; i++) assert.equal(r.assignments[i], i % 3);
    });

  it('more clusters, less error; kmeans++ is seeded', () => {
    const w = randoms(4000, 8);
    const sse = (k: number) => {
      const r = kMeans1d(w, { k, init: 'linear' });
      return w.reduce((a, v, i) => a + (v - r.centroids[r.assignments[i]]) ** 2, 0);
    };
    assert.ok(sse(16) < sse(4) / 4, `sse 16 ${sse(16)} vs 4 ${sse(4)}`);
    const a = kMeans1d(w, { k: 8, init: 'kmeans++', seed: 3 });
    const b = kMeans1d(w, { k: 8, init: 'kmeans++', seed: 3 });
    assert.deepEqual(a.centroids, b.centroids);
  });
});
