import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCounts, createDataset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
import {
  fitMinMaxScaler,
  fitStandardScaler,
  oneHot,
  Scaler,
  trainValTestSplit,
} from '../../src/data/transforms.js';

describe('trainValTestSplit', () => {
  const digits = loadDigits();

  it('is reproducible for a seed and different for another', () => {
    const a = trainValTestSplit(digits, { seed: 7 });
    const b = trainValTestSplit(digits, { seed: 7 });
    const c = trainValTestSplit(digits, { seed: 8 });
    assert.deepEqual(a.train.data, b.train.data);
    assert.notDeepEqual(a.train.data, c.train.data);
  });

  it('keeps class proportions and uses every sample once', () => {
    const { train, validation, test } = trainValTestSplit(digits, { seed: 1, validation: 0.2, test: 0.2 });
    assert.equal(train.numSamples + validation.numSamples + test.numSamples, 1797);
    const total = classCounts(digits);
    for (const part of [validation, test]) {
      classCounts(part).forEach((n, c) => {
        assert.ok(Math.abs(n - total[c] * 0.2) <= 1, `class ${c}: ${n} of ${total[c]}`);
      });
    }
  });

  it('rejects fractions that leave nothing to train on', () => {
    assert.throws(() => trainValTestSplit(digits, { validation: 0.6, test: 0.5 }), /must be < 1/);
  });
});

describe('scalers', () => {
  const train = createDataset({
    name: 't',
    data: Float32Array.from([0, 5, 2, 5, 4, 5]),
    numFeatures: 2,
    labels: Int32Array.from([0, 1, 0]),
    classNames: ['a', 'b'],
    provenance: { source: 'test', location: 'memory' },
  });
  const other = createDataset({
    ...train,
    name: 'o',
    data: Float32Array.from([6, 1]),
    labels: Int32Array.from([0]),
  });

  it('standardises with statistics of the training data only', () => {
    const scaler = fitStandardScaler(train);
    const t = scaler.transform(train);
    assert.deepEqual(
      [...t.data].map((v) => Math.round(v * 1000) / 1000),
      [-1.225, 0, 0, 0, 1.225, 0],
    );
    // The constant column maps to 0, not NaN; new data uses the training mean and deviation.
    const o = scaler.transform(other);
    assert.equal(Math.round(o.data[0] * 1000) / 1000, 2.449);
    assert.equal(o.data[1], -4);
  });

  it('min-max scales and round-trips its config', () => {
    const scaler = fitMinMaxScaler(train);
    assert.deepEqual([...scaler.transform(train).data], [0, 0, 0.5, 0, 1, 0]);
    const copy = Scaler.fromConfig(JSON.parse(JSON.stringify(scaler.getConfig())));
    assert.deepEqual(copy.transform(other).data, scaler.transform(other).data);
  });
});

describe('oneHot', () => {
  it('encodes labels and rejects out-of-range ones', () => {
    assert.deepEqual([...oneHot([2, 0], 3)], [0, 0, 1, 1, 0, 0]);
    assert.throws(() => oneHot([3], 3), /label 3 at index 0/);
  });
});
