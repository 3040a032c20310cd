import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Study } from '../../src/core/study.js';
import { WilcoxonPruner, wilcoxonSignedRankTest } from '../../src/pruners/wilcoxon.js';
import { createStudy } from '../../src/study/create.js';
import { runCurve } from './helpers.js';

const INSTANCES = 20;
/** Per-instance losses of the reference trial: instance i costs i (mean 9.5). */
const base = Array.from({ length: INSTANCES }, (_, i) => i);

/** A study whose best complete trial has `base` on every instance. */
async function withBest(
  pruner: WilcoxonPruner,
  direction: 'minimize' | 'maximize' = 'minimize',
): Promise<Study> {
  const study = await createStudy({ direction, pruner });
  const r = await runCurve(study, base, { final: 9.5 });
  assert.equal(r.prunedAt, null);
  return study;
}

/** Evaluates instances in `order`, with loss `f(i)` on instance i. */
function curveIn(order: readonly number[], f: (i: number) => number) {
  return { values: order.map(f), steps: order };
}

const hardFirst = Array.from({ length: INSTANCES }, (_, k) => INSTANCES - 1 - k);
const easyFirst = Array.from({ length: INSTANCES }, (_, k) => k);

describe('wilcoxonSignedRankTest', () => {
  it('gives exact p-values for small samples', () => {
    // W+ = 15 of 15: only the all-positive sign pattern reaches it, p = 1/32.
    const all = wilcoxonSignedRankTest([1, 2, 3, 4, 5], 'greater');
    assert.equal(all.statistic, 15);
    assert.ok(Math.abs(all.pValue - 1 / 32) < 1e-15);
    assert.equal(all.exact, true);
    // W+ = 11: 7 of the 32 sign patterns reach 11 or more.
    const one = wilcoxonSignedRankTest([1, 2, 3, -4, 5], 'greater');
    assert.equal(one.statistic, 11);
    assert.ok(Math.abs(one.pValue - 7 / 32) < 1e-15);
    assert.ok(Math.abs(wilcoxonSignedRankTest([1, 2, 3, -4, 5]).pValue - 14 / 32) < 1e-15);
    assert.ok(Math.abs(wilcoxonSignedRankTest([1, 2, 3, -4, 5], 'less').pValue - 27 / 32) < 1e-15);
  });

  it('handles ties with average ranks and zeros by splitting their ranks', () => {
    // |d| ranks: 0 -> 1, 1 and 1 -> 2.5, 2 -> 4. W+ = 0.5 + 2.5 + 2.5 + 4 = 9.5; all three signs positive: p = 1/8.
    const r = wilcoxonSignedRankTest([0, 1, 1, 2], 'greater');
    assert.equal(r.statistic, 9.5);
    assert.ok(Math.abs(r.pValue - 1 / 8) < 1e-15);
    assert.equal(wilcoxonSignedRankTest([0, 0, 0], 'greater').pValue, 1);
  });

  it('switches to the normal approximation for large samples', () => {
    const positive = Array.from({ length: 60 }, (_, i) => i + 1);
    const r = wilcoxonSignedRankTest(positive, 'greater');
    assert.equal(r.exact, false);
    // z = (1830 - 915) / sqrt(60 * 61 * 121 / 24) = 6.736: p is about 8e-12.
    assert.ok(r.pValue > 1e-12 && r.pValue < 1e-10, String(r.pValue));
    const symmetric = [...positive, ...positive.map((v) => -v)];
    assert.ok(Math.abs(wilcoxonSignedRankTest(symmetric, 'greater').pValue - 0.5) < 0.01);
    // At the switch the approximation agrees with the exact tail to about 0.01.
    const mixed = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? -(i + 1) : i + 1));
    const exact = wilcoxonSignedRankTest(mixed, 'greater');
    const approx = wilcoxonSignedRankTest([...mixed, 0.5], 'greater');
    assert.equal(exact.exact, true);
    assert.equal(approx.exact, false);
    assert.ok(Math.abs(exact.pValue - approx.pValue) < 0.02, `${exact.pValue} vs ${approx.pValue}`);
  });
});

describe('WilcoxonPruner', () => {
  it('prunes a clearly worse trial as soon as the test is significant', async () => {
    const study = await withBest(new WilcoxonPruner({ pThreshold: 0.1 }));
    // Worse by 0.5 on every instance. Exact one-sided p after k instances is 2^-k: below 0.1 at k = 4.
    const worse = curveIn(hardFirst, (i) => i + 0.5);
    assert.equal((await runCurve(study, worse.values, { steps: worse.steps })).prunedAt, hardFirst[3]);
  });

  it('keeps a trial equal to the best, or different only by symmetric noise', async () => {
    const study = await withBest(new WilcoxonPruner());
    const equal = curveIn(hardFirst, (i) => i);
    assert.equal((await runCurve(study, equal.values, { steps: equal.steps, final: 9.5 })).prunedAt, null);
    const noisy = curveIn(hardFirst, (i) => i + (i % 2 === 0 ? 0.1 : -0.1));
    assert.equal((await runCurve(study, noisy.values, { steps: noisy.steps, final: 9.5 })).prunedAt, null);
  });

  it('waits for nStartupSteps shared instances', async () => {
    const study = await withBest(new WilcoxonPruner({ nStartupSteps: 6 }));
    const worse = curveIn(hardFirst, (i) => i + 0.5);
    assert.equal((await runCurve(study, worse.values, { steps: worse.steps })).prunedAt, hardFirst[5]);
  });

  it('never prunes while the trial mean is no worse than the best value', async () => {
    const study = await withBest(new WilcoxonPruner());
    // Easy instances first: the running mean stays <= 9.5 until the last instance.
    const worse = curveIn(easyFirst, (i) => i + 0.5);
    assert.equal((await runCurve(study, worse.values, { steps: worse.steps })).prunedAt, easyFirst[19]);
  });

  it('follows the direction of a maximisation study', async () => {
    const study = await withBest(new WilcoxonPruner(), 'maximize');
    const worse = curveIn(easyFirst, (i) => i - 0.5); // lower scores, lowest (hardest) first
    assert.equal((await runCurve(study, worse.values, { steps: worse.steps })).prunedAt, easyFirst[3]);
    const better = curveIn(easyFirst, (i) => i + 0.5);
    assert.equal((await runCurve(study, better.values, { steps: better.steps, final: 10 })).prunedAt, null);
  });

  it('abstains without a best trial or with non-finite values', async () => {
    const empty = await createStudy({ pruner: new WilcoxonPruner() });
    assert.equal(
      (
        await runCurve(
          empty,
          base.map((v) => v + 100),
        )
      ).prunedAt,
      null,
    );
    const study = await withBest(new WilcoxonPruner());
    const withInf = [Number.POSITIVE_INFINITY, ...hardFirst.slice(1).map((i) => i + 0.5)];
    assert.equal((await runCurve(study, withInf, { steps: hardFirst })).prunedAt, null);
  });

  it('refuses multi-objective studies and bad options', async () => {
    const study = await createStudy({ directions: ['minimize', 'minimize'], pruner: new WilcoxonPruner() });
    const trial = await study.ask();
    trial.report([1, 1], 0);
    assert.throws(() => trial.shouldPrune(), InvalidArgumentError);
    assert.throws(() => new WilcoxonPruner({ pThreshold: 1.5 }), /pThreshold/);
    assert.throws(() => new WilcoxonPruner({ nStartupSteps: -1 }), /nStartupSteps/);
  });
});
