import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { MedianPruner, PercentilePruner, percentileOf } from '../../src/pruners/percentile.js';
import { createStudy } from '../../src/study/create.js';
import { constant, runCurve } from './helpers.js';

/** Five completed trials with flat curves at 1..5 over `length` steps. */
async function withFiveFlat(
  pruner: MedianPruner | PercentilePruner,
  direction: 'minimize' | 'maximize',
  length = 10,
) {
  const study = await createStudy({ direction, pruner });
  for (let v = 1; v <= 5; v++) assert.equal((await runCurve(study, constant(v, length))).prunedAt, null);
  return study;
}

describe('MedianPruner', () => {
  it('prunes a trial worse than the median at the first step after the warm-up, not before', async () => {
    const study = await withFiveFlat(new MedianPruner({ nWarmupSteps: 3 }), 'minimize');
    const bad = await runCurve(study, constant(10, 10));
    assert.equal(bad.prunedAt, 3);
    const median = await runCurve(study, constant(3, 10));
    assert.equal(median.prunedAt, null, 'a value equal to the median is not worse than it');
    // Completed values are now 1, 2, 3, 3, 4, 5 (median 3).
    const good = await runCurve(study, constant(2.5, 10));
    assert.equal(good.prunedAt, null);
  });

  it('follows the direction of a maximisation study', async () => {
    const study = await withFiveFlat(new MedianPruner(), 'maximize');
    assert.equal((await runCurve(study, constant(2.9, 4))).prunedAt, 0);
    assert.equal((await runCurve(study, constant(3.1, 4))).prunedAt, null);
  });

  it('waits for nStartupTrials completed trials', async () => {
    const study = await createStudy({ pruner: new MedianPruner({ nStartupTrials: 5 }) });
    for (let v = 1; v <= 4; v++) await runCurve(study, constant(v, 5));
    assert.equal((await runCurve(study, constant(100, 5))).prunedAt, null, 'only 4 completed trials');
    // The trial above completed too, so there are now 5 and the next bad trial is pruned at once.
    assert.equal((await runCurve(study, constant(100, 5))).prunedAt, 0);
  });

  it('decides only at the first report of each interval', async () => {
    const study = await createStudy({ pruner: new MedianPruner({ intervalSteps: 3 }) });
    // Completed curves v - 0.5 * step: the median at step s is 3 - 0.5 s.
    for (let v = 1; v <= 5; v++)
      await runCurve(
        study,
        Array.from({ length: 10 }, (_, s) => v - 0.5 * s),
      );
    // A flat 2.2 falls behind the median at step 2, but the next pruning step is 3.
    assert.equal((await runCurve(study, constant(2.2, 10))).prunedAt, 3);
    // Sparse reports at 0, 2, 5: step 2 is inside the first interval, step 5 is the first report past 3.
    assert.equal((await runCurve(study, constant(2.2, 3), { steps: [0, 2, 5] })).prunedAt, 5);
    // With every step judged it would have gone at step 2.
    const eager = await createStudy({ pruner: new MedianPruner() });
    for (let v = 1; v <= 5; v++)
      await runCurve(
        eager,
        Array.from({ length: 10 }, (_, s) => v - 0.5 * s),
      );
    assert.equal((await runCurve(eager, constant(2.2, 10))).prunedAt, 2);
  });

  it('compares the best value so far, not the latest one', async () => {
    const study = await withFiveFlat(new MedianPruner(), 'minimize');
    // Was excellent at step 0; later values are bad, but the best so far (0.5) stays below the median.
    assert.equal((await runCurve(study, [0.5, 9, 9, 9, 9])).prunedAt, null);
  });

  it('needs nMinTrials completed trials that reported the step', async () => {
    const study = await createStudy({ pruner: new MedianPruner({ nStartupTrials: 1, nMinTrials: 2 }) });
    await runCurve(study, [1, 1, 1]);
    await runCurve(study, [1]);
    // Step 0 has two completed values, steps 1 and 2 only one.
    const r = await runCurve(study, [0, 5, 5]);
    assert.equal(r.prunedAt, null);
    assert.equal((await runCurve(study, [5])).prunedAt, 0);
  });

  it('prunes a trial whose values are all NaN', async () => {
    const study = await withFiveFlat(new MedianPruner(), 'minimize');
    assert.equal((await runCurve(study, [Number.NaN])).prunedAt, 0);
  });

  it('refuses a multi-objective study with a clear error', async () => {
    const study = await createStudy({ directions: ['minimize', 'minimize'], pruner: new MedianPruner() });
    const trial = await study.ask();
    trial.report([1, 2], 0);
    assert.throws(
      () => trial.shouldPrune(),
      (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.match(e.message, /MedianPruner supports single-objective studies only/);
        return true;
      },
    );
  });

  it('validates its options', () => {
    assert.throws(() => new MedianPruner({ intervalSteps: 0 }), /intervalSteps/);
    assert.throws(() => new MedianPruner({ nStartupTrials: -1 }), /nStartupTrials/);
    assert.throws(() => new MedianPruner({ nMinTrials: 0 }), /nMinTrials/);
    assert.throws(() => new PercentilePruner(101), /percentile/);
  });
});

describe('PercentilePruner', () => {
  it('keeps the top `percentile` percent in either direction', async () => {
    // Completed values 1..5 at every step. Top 25% when maximising means at least the 75th percentile = 4.
    const strict = await withFiveFlat(new PercentilePruner(25), 'maximize');
    assert.equal((await runCurve(strict, constant(3.5, 3))).prunedAt, 0);
    assert.equal((await runCurve(strict, constant(4, 3))).prunedAt, null);
    const lenient = await withFiveFlat(new PercentilePruner(75), 'maximize');
    assert.equal((await runCurve(lenient, constant(2.5, 3))).prunedAt, null);
    assert.equal((await runCurve(lenient, constant(1.5, 3))).prunedAt, 0);
    // Minimising, the 25th percentile is 2.
    const min = await withFiveFlat(new PercentilePruner(25), 'minimize');
    assert.equal((await runCurve(min, constant(2.5, 3))).prunedAt, 0);
    assert.equal((await runCurve(min, constant(2, 3))).prunedAt, null);
  });

  it('interpolates percentiles linearly and ignores NaN', () => {
    assert.equal(percentileOf([4, 1, 3, 2], 50), 2.5);
    assert.equal(percentileOf([1, 2, 3, 4], 25), 1.75);
    assert.equal(percentileOf([1, Number.NaN, 3], 100), 3);
    assert.ok(Number.isNaN(percentileOf([Number.NaN], 50)));
  });
});
