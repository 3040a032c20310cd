import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCounts } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';

describe('loadDigits', () => {
  it('loads the embedded 1797 x 64 digits with 10 classes', () => {
    const d = loadDigits();
    assert.equal(d.numSamples, 1797);
    assert.equal(d.numFeatures, 64);
    assert.deepEqual(d.featureShape, [8, 8, 1]);
    assert.equal(d.classNames.length, 10);
    assert.deepEqual(classCounts(d), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // First row of the UCI file: a zero.
    assert.deepEqual([...d.features[0].subarray(0, 8)], [0, 0, 5, 13, 9, 1, 0, 0]);
    assert.equal(d.labels[0], 0);
    assert.equal(d.labels[1], 1);
    // Rows are views into the one contiguous buffer.
    assert.equal(d.features[5].buffer, d.data.buffer);
    assert.match(d.provenance.source, /UCI/);
    assert.equal(d.provenance.license, 'CC BY 4.0');
  });
});
