import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { classCounts } from '../../src/data/dataset.js';
import { DIGITS_PATH, loadDigits } from '../../src/data/digits.js';

describe('loadDigits', () => {
  const d = loadDigits();

  it('loads the embedded 1797 x 64 digits with 10 classes', () => {
    assert.ok(existsSync(DIGITS_PATH));
    assert.ok(DIGITS_PATH.endsWith('assets/datasets/digits.csv.gz'));
    assert.equal(d.name, 'digits');
    assert.equal(d.numSamples, 1797);
    assert.equal(d.numFeatures, 64);
    assert.equal(d.data.length, 1797 * 64);
    assert.deepEqual(d.featureShape, [8, 8, 1]);
    assert.deepEqual(d.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual(classCounts(d), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  });

  it('keeps the raw grey levels 0..16 and the rows of the file', () => {
    // The first row of the file: a zero.
    assert.deepEqual(
      [...d.features[0]],
      [
        0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8,
        0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0,
        0,
      ],
    );
    assert.deepEqual([...d.labels.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of d.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.deepEqual([min, max], [0, 16]);
    assert.equal(d.features[5].buffer, d.data.buffer);
  });

  it('records where the data comes from', () => {
    assert.match(d.provenance.source, /Optical Recognition of Handwritten Digits \(UCI/);
    assert.match(d.provenance.citation ?? '', /Alpaydin.*Kaynak/);
    assert.equal(d.provenance.license, 'CC BY 4.0');
    assert.equal(d.provenance.location, DIGITS_PATH);
  });
});
