import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCounts, createDataset, type Dataset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
import {
  fitMinMaxScaler,
  fitStandardScaler,
  oneHot,
  Scaler,
  splitBundle,
  trainValTestSplit,
} from '../../src/data/transforms.js';

const digits = loadDigits();

/** A dataset whose only feature is the sample's index, so parts can be traced back. */
function indexed(labels: number[], classes: number): Dataset {
  return createDataset({
    name: 'indexed',
    data: Float32Array.from(labels, (_, i) => i),
    numFeatures: 1,
    labels: Int32Array.from(labels),
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
    provenance: { source: 'test', location: 'memory' },
  });
}

describe('trainValTestSplit', () => {
  it('is reproducible for a seed and different for another', () => {
    const a = trainValTestSplit(digits, { seed: 7 });
    const b = trainValTestSplit(digits, { seed: 7 });
    const c = trainValTestSplit(digits, { seed: 8 });
    assert.deepEqual(a.indices, b.indices);
    assert.deepEqual(a.train.data, b.train.data);
    assert.notDeepEqual(a.indices.train, c.indices.train);
  });

  it('uses every sample exactly once and copies the right rows', () => {
    const { train, validation, test, indices } = trainValTestSplit(digits, { seed: 1 });
    const all = [...indices.train, ...indices.validation, ...indices.test].sort((p, q) => p - q);
    assert.deepEqual(
      all,
      Array.from({ length: 1797 }, (_, i) => i),
    );
    assert.equal(train.numSamples, indices.train.length);
    assert.deepEqual([...validation.features[3]], [...digits.features[indices.validation[3]]]);
    assert.equal(test.labels[5], digits.labels[indices.test[5]]);
    assert.equal(train.name, 'digits (train)');
  });

  it('keeps each class within one sample of its share and the totals at the rounded share', () => {
    const total = classCounts(digits);
    for (const [validation, test] of [
      [0.2, 0.2],
      [0.1, 0.3],
      [0.15, 0.05],
    ]) {
      for (const seed of [0, 1, 2]) {
        const parts = trainValTestSplit(digits, { seed, validation, test });
        assert.equal(parts.validation.numSamples, Math.round(1797 * validation));
        assert.equal(parts.test.numSamples, Math.round(1797 * test));
        for (const [part, fraction] of [
          [parts.validation, validation],
          [parts.test, test],
          [parts.train, 1 - validation - test],
        ] as const)
          classCounts(part).forEach((n, c) => {
            assert.ok(
              Math.abs(n - total[c] * fraction) < 1 + 1e-9,
              `class ${c}: ${n} of ${total[c]} for ${fraction}`,
            );
          });
      }
    }
  });

  it('stratifies small classes too, and can split without stratifying', () => {
    // 3 classes of 10, 5 and 1 samples.
    const labels = [...new Array(10).fill(0), ...new Array(5).fill(1), 2];
    const parts = trainValTestSplit(indexed(labels, 3), { seed: 3, validation: 0.2, test: 0.2 });
    assert.deepEqual(classCounts(parts.test).slice(0, 2), [2, 1]);
    assert.deepEqual(classCounts(parts.validation).slice(0, 2), [2, 1]);
    assert.equal(parts.test.numSamples + parts.validation.numSamples + parts.train.numSamples, 16);
    const plain = trainValTestSplit(digits, { seed: 3, stratify: false, validation: 0.25, test: 0 });
    assert.equal(plain.validation.numSamples, Math.round(1797 * 0.25));
    assert.equal(plain.test.numSamples, 0);
  });

  it('rejects fractions that leave nothing to train on', () => {
    assert.throws(() => trainValTestSplit(digits, { validation: 0.6, test: 0.5 }), /must be < 1/);
    assert.throws(
      () => trainValTestSplit(digits, { validation: -0.1 }),
      /validation fraction must be in \[0, 1\)/,
    );
    assert.throws(
      () => trainValTestSplit(indexed([0], 1), { validation: 0.5, test: 0.4 }),
      /no samples left to train on/,
    );
  });
});

describe('splitBundle', () => {
  it('keeps a fixed test part and takes validation from the training part only', () => {
    const train = indexed([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 2);
    const test = indexed([0, 1, 1], 2);
    const parts = splitBundle({ train, test }, { seed: 1, validation: 0.2, test: 0.5 });
    assert.equal(parts.test, test);
    assert.equal(parts.validation.numSamples, 2);
    assert.equal(parts.train.numSamples, 8);
    assert.equal(parts.indices.test.length, 0);
    const pooled = splitBundle({ train }, { seed: 1, validation: 0.2, test: 0.2 });
    assert.equal(pooled.test.numSamples, 2);
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

  it('standardises with statistics of the training data only; a constant column maps to 0, not NaN', () => {
    const scaler = fitStandardScaler(train);
    assert.deepEqual(scaler.getConfig(), { type: 'standard', mean: [2, 5], std: [Math.sqrt(8 / 3), 0] });
    const t = scaler.transform(train);
    assert.deepEqual(
      [...t.data].map((v) => Math.round(v * 1000) / 1000),
      [-1.225, 0, 0, 0, 1.225, 0],
    );
    const o = scaler.transform(other);
    assert.equal(Math.round(o.data[0] * 1000) / 1000, 2.449);
    assert.equal(o.data[1], -4);
    assert.equal(o.labels, other.labels);
    assert.ok([...fitStandardScaler(digits).transform(digits).data].every(Number.isFinite));
  });

  it('fitted on a training split, it does not see validation or test data', () => {
    const parts = trainValTestSplit(digits, { seed: 4 });
    const fromTrain = fitStandardScaler(parts.train).getConfig();
    const fromAll = fitStandardScaler(digits).getConfig();
    assert.notDeepEqual(fromTrain, fromAll);
    const scaled = fitStandardScaler(parts.train).transform(parts.train);
    // Mean 0 and deviation 1 on the training part (for non-constant pixels).
    let mean = 0;
    for (let i = 0; i < scaled.numSamples; i++) mean += scaled.features[i][20];
    assert.ok(Math.abs(mean / scaled.numSamples) < 1e-5);
  });

  it('min-max scales to [0, 1] on the training data and round-trips its config through JSON', () => {
    const scaler = fitMinMaxScaler(train);
    assert.deepEqual(scaler.getConfig(), { type: 'minmax', min: [0, 5], max: [4, 5] });
    assert.deepEqual([...scaler.transform(train).data], [0, 0, 0.5, 0, 1, 0]);
    assert.deepEqual(
      [...scaler.transform(other).data],
      [1.5, -4],
      'values outside the training range are not clipped',
    );
    const copy = Scaler.fromConfig(JSON.parse(JSON.stringify(scaler.getConfig())));
    assert.deepEqual(copy.transform(other).data, scaler.transform(other).data);
    const std = fitStandardScaler(train);
    assert.deepEqual(
      Scaler.fromConfig(JSON.parse(JSON.stringify(std.getConfig()))).transformData(other.data),
      std.transformData(other.data),
    );
  });

  it('rejects a scaler applied to the wrong width and broken configs', () => {
    const scaler = fitMinMaxScaler(train);
    assert.throws(() => scaler.transform(digits), /fitted on 2 features, dataset "digits" has 64/);
    assert.throws(() => Scaler.fromConfig({ type: 'minmax', min: [0, 1], max: [1] }), /same length/);
    assert.throws(() => Scaler.fromConfig({ type: 'standard', mean: [0], std: [-1] }), /negative/);
    assert.throws(() => Scaler.fromConfig({ type: 'robust' } as never), /unknown type "robust"/);
  });
});

describe('oneHot', () => {
  it('encodes labels as rows of a float matrix and rejects out-of-range ones', () => {
    const encoded = oneHot(Int32Array.from([2, 0, 1]), 3);
    assert.ok(encoded instanceof Float32Array);
    assert.deepEqual([...encoded], [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    assert.equal(
      oneHot(digits.labels, 10).reduce((a, b) => a + b, 0),
      1797,
    );
    assert.throws(() => oneHot([3], 3), /label 3 at index 0/);
    assert.throws(() => oneHot([0], 0), /positive integer/);
  });
});
