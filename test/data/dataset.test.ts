import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCounts, createDataset, subset, withData } from '../../src/data/dataset.js';

const base = {
  name: 'toy',
  data: Float32Array.from([1, 2, 3, 4, 5, 6]),
  numFeatures: 2,
  labels: Int32Array.from([0, 1, 1]),
  classNames: ['a', 'b'],
  provenance: { source: 'test', location: 'memory' },
};

describe('createDataset', () => {
  it('exposes rows as views into one contiguous buffer', () => {
    const d = createDataset(base);
    assert.equal(d.numSamples, 3);
    assert.deepEqual(d.featureShape, [2]);
    assert.deepEqual([...d.features[2]], [5, 6]);
    assert.equal(d.features[1].buffer, d.data.buffer);
    assert.equal(d.features[1].byteOffset, 2 * 4);
    assert.ok(Object.isFrozen(d) && Object.isFrozen(d.features) && Object.isFrozen(d.classNames));
  });

  it('rejects sizes that disagree, labels outside the classes and a wrong shape', () => {
    assert.throws(() => createDataset({ ...base, numFeatures: 4 }), /6 values do not divide into rows of 4/);
    assert.throws(
      () => createDataset({ ...base, labels: Int32Array.from([0, 1]) }),
      /2 labels for 3 samples/,
    );
    assert.throws(
      () => createDataset({ ...base, labels: Int32Array.from([0, 2, 1]) }),
      /label 2 of sample 1 is outside 0\.\.1/,
    );
    assert.throws(
      () => createDataset({ ...base, featureShape: [3] }),
      /shape \[3\] does not hold 2 features/,
    );
  });
});

describe('subset, withData, classCounts', () => {
  it('copies the chosen rows in order and keeps classes and provenance', () => {
    const d = createDataset(base);
    const s = subset(d, [2, 0], 'picked');
    assert.equal(s.name, 'picked');
    assert.deepEqual([...s.data], [5, 6, 1, 2]);
    assert.deepEqual([...s.labels], [1, 0]);
    assert.notEqual(s.data.buffer, d.data.buffer);
    assert.deepEqual(s.provenance, d.provenance);
    assert.throws(() => subset(d, [3]), /sample index 3 is outside 0\.\.2/);
  });

  it('replaces the values and counts classes', () => {
    const d = createDataset(base);
    const w = withData(d, new Float32Array(6).fill(9));
    assert.equal(w.labels, d.labels);
    assert.deepEqual([...w.features[0]], [9, 9]);
    assert.deepEqual(classCounts(d), [1, 2]);
  });
});
