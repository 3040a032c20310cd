import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FrozenTrial, freezeTrial, type TrialState } from '../../src/core/frozen-trial.js';
import {
  decodeIntermediate,
  decodeJson,
  decodeNumbers,
  encodeIntermediate,
  encodeJson,
  encodeNumbers,
  TrialCache,
} from '../../src/storage/serialization.js';

const awkward = [
  0.1 + 0.2,
  5e-324,
  -1.7976931348623157e308,
  1e21,
  Number.POSITIVE_INFINITY,
  -Infinity,
  Number.NaN,
];

describe('storage encodings', () => {
  it('round-trip every double, including non-finite ones', () => {
    assert.deepEqual(decodeNumbers(encodeNumbers(awkward)), awkward);
    assert.equal(encodeNumbers([1, Number.NaN]), '[1,"NaN"]');
    for (const v of awkward) assert.deepEqual(decodeIntermediate(encodeIntermediate(v)), v);
    assert.deepEqual(decodeIntermediate(encodeIntermediate([1, -Infinity])), [1, -Infinity]);
    assert.throws(() => encodeNumbers(['1' as unknown as number]), { code: 'INVALID_ARGUMENT' });
  });

  it('store attributes as JSON that keeps non-finite numbers', () => {
    const value = { a: [1, Number.NaN, { b: -Infinity }], s: '$nonFinite', d: new Date(0), u: undefined };
    assert.deepEqual(decodeJson(encodeJson(value)), {
      a: [1, Number.NaN, { b: -Infinity }],
      s: '$nonFinite',
      d: '1970-01-01T00:00:00.000Z',
    });
    assert.equal(decodeJson(encodeJson(undefined)), null);
    assert.throws(() => encodeJson({ big: 1n }, 'attribute "big"'), {
      code: 'INVALID_ARGUMENT',
      message: /attribute "big" cannot be stored as JSON/,
    });
  });
});

function trial(trialId: number, number: number, state: TrialState): FrozenTrial {
  return freezeTrial({
    trialId,
    number,
    state,
    values: null,
    params: {},
    distributions: {},
    userAttrs: {},
    systemAttrs: {},
    intermediateValues: {},
    datetimeStart: null,
    datetimeComplete: null,
  });
}

describe('TrialCache', () => {
  it('asks again only for new and unfinished trials', () => {
    const cache = new TrialCache();
    assert.deepEqual(cache.delta(1), { maxNumber: -1, unfinished: [] });
    cache.merge(1, [trial(10, 0, 'COMPLETE'), trial(11, 1, 'RUNNING'), trial(12, 2, 'WAITING')]);
    assert.deepEqual(cache.delta(1), { maxNumber: 2, unfinished: [1, 2] });
    const all = cache.merge(1, [trial(11, 1, 'FAIL'), trial(12, 2, 'WAITING'), trial(13, 3, 'RUNNING')]);
    assert.deepEqual(
      all.map((t) => [t.number, t.state]),
      [
        [0, 'COMPLETE'],
        [1, 'FAIL'],
        [2, 'WAITING'],
        [3, 'RUNNING'],
      ],
    );
    assert.deepEqual(cache.delta(1), { maxNumber: 3, unfinished: [2, 3] });
    assert.equal(cache.finished(11)?.state, 'FAIL');
  });

  it('never lets an older read undo a finished trial', () => {
    const cache = new TrialCache();
    const done = trial(5, 0, 'COMPLETE');
    cache.merge(1, [done]);
    const merged = cache.merge(1, [trial(5, 0, 'RUNNING')]);
    assert.equal(merged[0], done);
    assert.deepEqual(cache.delta(1).unfinished, []);
    cache.dropStudy(1);
    assert.equal(cache.finished(5), undefined);
    assert.deepEqual(cache.delta(1), { maxNumber: -1, unfinished: [] });
  });
});
