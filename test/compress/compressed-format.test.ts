import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codedFromQuantized,
  decodeCompressed,
  decodeSymbols,
  distinctValueCoding,
  encodeCompressed,
  floatCoding,
} from '../../src/compress/compressed-format.js';
import type { ModelWeights } from '../../src/compress/model-weights.js';
import { quantizeUniform } from '../../src/compress/quantizers.js';
import { DataError } from '../../src/core/errors.js';
import { sequential } from '../../src/models/spec/builder.js';
import { randoms } from '../helpers/random.js';

/** A 100-40-10 MLP's weights with `sparsity` of the kernels zero (seeded). */
function weightsOf(sparsity: number): ModelWeights {
  const spec = sequential([100])
    .add('dense', { units: 40, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();
  const kernel = (n: number, seed: number) => {
    const v = randoms(n, seed);
    const keep = randoms(n, seed + 100, 0, 1);
    return v.map((x, i) => (keep[i] < sparsity ? 0 : x));
  };
  return {
    spec,
    layers: [
      {
        layer: spec.layers[0].name,
        type: 'dense',
        tensors: [
          { name: 'kernel', shape: [100, 40], values: kernel(4000, 1) },
          { name: 'bias', shape: [40], values: randoms(40, 2) },
        ],
      },
      {
        layer: spec.layers[1].name,
        type: 'dense',
        tensors: [
          { name: 'kernel', shape: [40, 10], values: kernel(400, 3) },
          { name: 'bias', shape: [10], values: randoms(10, 4) },
        ],
      },
    ],
  };
}

describe('compressed model file', () => {
  it('uniform int8 codes per channel round-trip exactly, dense and fixed width', () => {
    const w = weightsOf(0);
    const coded = new Map();
    for (const layer of w.layers) {
      const k = layer.tensors[0];
      const c = codedFromQuantized(
        quantizeUniform(k.values, k.shape[1], { bits: 8, granularity: 'channel' }),
      );
      k.values = decodeSymbols(c);
      coded.set(`${layer.layer}/kernel`, c);
    }
    const { header, bin } = encodeCompressed(w, coded, { huffman: false, sparse: false });
    const back = decodeCompressed(header, bin);
    for (const [i, layer] of back.layers.entries())
      for (const [j, t] of layer.tensors.entries()) assert.deepEqual(t.values, w.layers[i].tensors[j].values);
    // 8 bits per weight + a float32 scale per output channel; biases float32.
    const first = header.tensors[0];
    assert.equal(first.storedBits, 4000 * 8 + 40 * 32);
    assert.equal(header.tensors[1].storedBits, 40 * 32);
    assert.equal(header.storedBits, 4000 * 8 + 40 * 32 + 40 * 32 + 400 * 8 + 10 * 32 + 10 * 32);
  });

  it('sparse shared weights: codebook, relative indices with padding, Huffman; smaller than fixed width', () => {
    const w = weightsOf(0.95);
    const coded = new Map();
    for (const layer of w.layers) {
      const k = layer.tensors[0];
      // Four shared values.
      k.values = k.values.map((v) => (v === 0 ? 0 : Math.sign(v) * (Math.abs(v) > 0.5 ? 0.75 : 0.25)));
      coded.set(`${layer.layer}/kernel`, distinctValueCoding(k.values));
    }
    const huffman = encodeCompressed(w, coded, { huffman: true, indexBits: () => 3 });
    const fixed = encodeCompressed(w, coded, { huffman: false, indexBits: () => 3 });
    const entry = huffman.header.tensors[0].coding;
    assert.ok(entry.kind === 'coded' && entry.sparse !== null, 'sparse coding chosen at 95% zeros');
    assert.ok(entry.kind === 'coded' && (entry.sparse?.padding ?? 0) > 0, 'gaps over 8 need padding zeros');
    assert.ok(
      huffman.header.storedBits < fixed.header.storedBits,
      `huffman ${huffman.header.storedBits} vs fixed ${fixed.header.storedBits}`,
    );
    for (const encoded of [huffman, fixed]) {
      const back = decodeCompressed(encoded.header, encoded.bin);
      assert.deepEqual(back.layers[0].tensors[0].values, w.layers[0].tensors[0].values);
      assert.deepEqual(back.layers[1].tensors[0].values, w.layers[1].tensors[0].values);
    }
    // The bytes written are the bits counted (rounded up per tensor).
    const bytes = huffman.header.tensors.reduce((a, t) => a + t.byteLength, 0);
    assert.equal(bytes, huffman.bin.length);
    assert.ok(bytes * 8 - huffman.header.storedBits < 8 * huffman.header.tensors.length, 'bytes match bits');
  });

  it('float entries stay exact when sparse', () => {
    const w = weightsOf(0.9);
    const coded = new Map(w.layers.map((l) => [`${l.layer}/kernel`, floatCoding(l.tensors[0].values)]));
    const { header, bin } = encodeCompressed(w, coded);
    assert.deepEqual(
      decodeCompressed(header, bin).layers[0].tensors[0].values,
      w.layers[0].tensors[0].values,
    );
    assert.ok(
      header.tensors[0].storedBits < 4000 * 32 * 0.2,
      `sparse floats ${header.tensors[0].storedBits}`,
    );
  });

  it('a truncated .bin is a data error naming the tensor', () => {
    const w = weightsOf(0.5);
    const coded = new Map(w.layers.map((l) => [`${l.layer}/kernel`, floatCoding(l.tensors[0].values)]));
    const { header, bin } = encodeCompressed(w, coded);
    assert.throws(
      () => decodeCompressed(header, bin.subarray(0, 100)),
      (e: unknown) => e instanceof DataError && /tensor "kernel"/.test(e.message),
    );
  });
});
