import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrateRange, roundTripError } from '../../src/compress/calibration.js';
import {
  dequantize,
  quantizeBinary,
  quantizeTernary,
  quantizeUniform,
} from '../../src/compress/quantizers.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { randoms } from '../helpers/random.js';

function maxError(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('uniform quantization', () => {
  it('symmetric int8 per tensor: codes in range, error at most half a step', () => {
    const w = randoms(1000, 3, -0.7, 0.4);
    const q = quantizeUniform(w, 10, { bits: 8 });
    assert.equal(q.channels, 1);
    for (const c of q.codes) assert.ok(c >= -128 && c <= 127, `code ${c} out of int8`);
    const bound = Math.max(...w.map(Math.abs));
    assert.ok(Math.abs(q.scales[0] - bound / 127) < 1e-9, `scale ${q.scales[0]} for bound ${bound}`);
    assert.ok(maxError(w, dequantize(q)) <= q.scales[0] / 2 + 1e-7, 'round-trip error above half a step');
  });

  it('asymmetric uses the whole unsigned range and keeps zero exact', () => {
    const w = Float32Array.from([0, 0.1, 0.5, 1.0, 2.0]);
    const q = quantizeUniform(w, 1, { bits: 4, scheme: 'asymmetric' });
    assert.equal(Math.min(...q.codes), 0);
    assert.equal(Math.max(...q.codes), 15);
    assert.equal(dequantize(q)[0], 0);
  });

  it('per channel scales follow each channel (channel = index mod channels)', () => {
    // Channel 0 small, channel 1 large: one scale would flatten channel 0 to zero at 2 bits... per channel keeps it.
    const w = new Float32Array(200);
    for (let i = 0; i < 100; i++) {
      w[2 * i] = 0.01 * Math.sin(i);
      w[2 * i + 1] = 10 * Math.cos(i);
    }
    const perTensor = quantizeUniform(w, 2, { bits: 4, granularity: 'tensor' });
    const perChannel = quantizeUniform(w, 2, { bits: 4, granularity: 'channel' });
    assert.equal(perChannel.channels, 2);
    const err = (q: typeof perTensor) => {
      const d = dequantize(q);
      let e = 0;
      for (let i = 0; i < 100; i++) e += (d[2 * i] - w[2 * i]) ** 2;
      return e;
    };
    assert.ok(
      err(perChannel) < err(perTensor) / 100,
      `per channel ${err(perChannel)} vs tensor ${err(perTensor)}`,
    );
  });

  it('fewer bits, larger error; bits outside 2..8 are refused', () => {
    const w = randoms(2000, 5);
    const errors = [2, 4, 8].map((bits) => maxError(w, dequantize(quantizeUniform(w, 1, { bits }))));
    assert.ok(errors[0] > errors[1] && errors[1] > errors[2], `errors ${errors}`);
    assert.throws(() => quantizeUniform(w, 1, { bits: 9 }), InvalidArgumentError);
    assert.throws(() => quantizeUniform(w, 1, { bits: 1 }), /bits must be an integer from 2 to 8/);
    assert.throws(() => quantizeUniform(w, 3, { bits: 8, granularity: 'channel' }), /do not split into 3/);
  });
});

describe('ternary and binary', () => {
  it('ternary: three values per channel, scales are the means beyond the threshold', () => {
    const w = Float32Array.from([1, -2, 0.01, 3, -0.02, -4]);
    const q = quantizeTernary(w, 1, { thresholdFactor: 0.1, granularity: 'tensor' });
    assert.deepEqual([...q.codes], [1, -1, 0, 1, 0, -1]);
    assert.equal(q.positiveScales[0], 2);
    assert.equal(q.negativeScales[0], 3);
    assert.deepEqual([...dequantize(q)], [2, -3, 0, 2, 0, -3]);
  });

  it('binary: sign times the mean magnitude of the channel', () => {
    const w = Float32Array.from([1, -4, -3, 2]);
    const q = quantizeBinary(w, 2);
    assert.deepEqual([...q.codes], [1, -1, -1, 1]);
    assert.deepEqual([...q.scales], [2, 3]);
    assert.deepEqual([...dequantize(q)], [2, -3, -2, 3]);
  });
});

describe('activation calibration', () => {
  // ReLU-like activations in [0, 1] with five outliers at 5.
  const values = randoms(20000, 11, 0, 1).map((v, i) => (i % 4000 === 7 ? 5 : v * v));

  it('minmax covers everything; percentile and the error-minimising methods clip outliers', () => {
    const minmax = calibrateRange(values, { method: 'minmax' });
    assert.equal(minmax.low, 0);
    assert.equal(minmax.high, 5);
    for (const method of ['percentile', 'mse', 'entropy'] as const) {
      // At 4 bits the outliers' clipping error is smaller than the rounding error they would cause.
      const r = calibrateRange(values, { method, percentile: 99.9, bits: 4 });
      assert.ok(r.high < 2.5 && r.high > 0.5, `${method} high ${r.high}`);
      assert.equal(r.low, 0, `${method} low ${r.low}`);
    }
  });

  it('mse range has no larger round-trip error than minmax at 4 bits', () => {
    const minmax = calibrateRange(values, { method: 'minmax', bits: 4 });
    const mse = calibrateRange(values, { method: 'mse', bits: 4 });
    assert.ok(
      roundTripError(values, mse, 4, 'asymmetric') < roundTripError(values, minmax, 4, 'asymmetric'),
      'mse calibration did not lower the error',
    );
  });

  it('signed data gets a symmetric entropy range', () => {
    const r = calibrateRange(randoms(5000, 2, -1, 1), { method: 'entropy' });
    assert.ok(r.low < -0.5 && Math.abs(r.low + r.high) < 1e-9, `range ${r.low}..${r.high}`);
  });
});
