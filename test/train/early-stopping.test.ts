import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { EarlyStopping, type EarlyStoppingOptions } from '../../src/train/early-stopping.js';

/** Feeds values for epochs 0, 1, ... and returns the epoch at which `stop` first came, or null. */
function stopEpoch(options: EarlyStoppingOptions, values: readonly number[]): number | null {
  const es = new EarlyStopping(options);
  for (let epoch = 0; epoch < values.length; epoch++) if (es.update(values[epoch], epoch).stop) return epoch;
  return null;
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement and remembers the best epoch', () => {
    const es = new EarlyStopping({ mode: 'min', patience: 2 });
    const steps = [1, 0.9, 0.95, 0.92].map((v, epoch) => es.update(v, epoch));
    assert.deepEqual(
      steps.map((s) => s.improved),
      [true, true, false, false],
    );
    assert.deepEqual(
      steps.map((s) => s.stop),
      [false, false, false, true],
    );
    assert.equal(es.bestValue, 0.9);
    assert.equal(es.bestEpoch, 1);
    assert.equal(es.stoppedEpoch, 3);
  });

  it('resets the count on every improvement', () => {
    assert.equal(stopEpoch({ mode: 'min', patience: 2 }, [5, 6, 4, 6, 3, 6, 7, 8]), 6);
  });

  it('treats patience 0 like 1: the first epoch without improvement stops', () => {
    assert.equal(stopEpoch({ mode: 'min', patience: 0 }, [3, 2, 2.5]), 2);
    assert.equal(stopEpoch({ mode: 'min', patience: 1 }, [3, 2, 2.5]), 2);
  });

  it('maximises in max mode', () => {
    const es = new EarlyStopping({ mode: 'max', patience: 1 });
    assert.equal(es.update(0.5, 0).improved, true);
    assert.equal(es.update(0.6, 1).improved, true);
    assert.deepEqual(es.update(0.55, 2), { improved: false, stop: true });
    assert.equal(es.bestValue, 0.6);
  });

  it('does not count a change smaller than minDelta as an improvement', () => {
    const es = new EarlyStopping({ mode: 'min', patience: 3, minDelta: 0.05 });
    assert.equal(es.update(1, 0).improved, true);
    assert.equal(es.update(0.97, 1).improved, false);
    assert.equal(es.update(0.94, 2).improved, true);
    assert.equal(es.bestValue, 0.94);
    assert.equal(stopEpoch({ mode: 'max', patience: 2, minDelta: 0.1 }, [1, 1.05, 1.09, 1.2]), 2);
  });

  it('keeps a snapshot of the best epoch only when restoring', () => {
    let calls = 0;
    const weights = [[1], [2], [3], [4]];
    const es = new EarlyStopping<number[]>({ mode: 'min', patience: 5, restoreBestWeights: true });
    const values = [0.5, 0.4, 0.45, 0.42];
    for (let epoch = 0; epoch < values.length; epoch++)
      es.update(values[epoch], epoch, () => {
        calls++;
        return [...weights[epoch]];
      });
    assert.equal(calls, 2, 'snapshot taken on improving epochs only');
    assert.deepEqual(es.bestSnapshot, [2]);

    let off = 0;
    const plain = new EarlyStopping<number[]>({ mode: 'min', patience: 5 });
    plain.update(1, 0, () => {
      off++;
      return [];
    });
    assert.equal(off, 0);
    assert.equal(plain.bestSnapshot, undefined);
  });

  it('stops when the baseline is not reached within patience, even while improving', () => {
    assert.equal(stopEpoch({ mode: 'min', patience: 3, baseline: 0.5 }, [0.9, 0.8, 0.7, 0.6]), 2);
    // Beating the baseline resets the count as usual.
    assert.equal(
      stopEpoch({ mode: 'min', patience: 3, baseline: 0.5 }, [0.9, 0.8, 0.45, 0.4, 0.41, 0.42]),
      null,
    );
    assert.equal(stopEpoch({ mode: 'max', patience: 2, baseline: 0.8 }, [0.5, 0.85, 0.84, 0.83]), 3);
  });

  it('never counts NaN as an improvement', () => {
    const es = new EarlyStopping({ mode: 'min', patience: 2 });
    assert.equal(es.update(Number.NaN, 0).improved, false);
    assert.equal(es.bestValue, undefined);
    assert.equal(es.update(1, 1).improved, true);
    assert.equal(es.update(Number.NaN, 2).stop, false);
    assert.equal(es.update(Number.NaN, 3).stop, true);
  });

  it('starts over after reset', () => {
    const es = new EarlyStopping({ mode: 'min', patience: 1, monitor: 'valLoss' });
    es.update(1, 0);
    assert.equal(es.update(2, 1).stop, true);
    es.reset();
    assert.equal(es.bestValue, undefined);
    assert.equal(es.stoppedEpoch, undefined);
    assert.equal(es.update(5, 0).improved, true);
    assert.equal(es.monitor, 'valLoss');
  });

  it('validates its options', () => {
    assert.throws(() => new EarlyStopping({ mode: 'auto' as 'min', patience: 1 }), InvalidArgumentError);
    assert.throws(() => new EarlyStopping({ mode: 'min', patience: -1 }), /patience/);
    assert.throws(() => new EarlyStopping({ mode: 'min', patience: 1, minDelta: -1 }), /minDelta/);
    assert.throws(() => new EarlyStopping({ mode: 'min', patience: 1, baseline: Number.NaN }), /baseline/);
    assert.throws(() => new EarlyStopping({ mode: 'min', patience: 1 }).update(1, Number.NaN), /epoch/);
  });
});
