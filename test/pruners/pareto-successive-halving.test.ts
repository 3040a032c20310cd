import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrialPruned } from '../../src/core/errors.js';
import type { StudyDirection } from '../../src/core/frozen-trial.js';
import type { Study } from '../../src/core/study.js';
import { ParetoSuccessiveHalvingPruner } from '../../src/pruners/pareto-successive-halving.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { createStudy } from '../../src/study/create.js';
import { reportOnly, runCurve } from './helpers.js';

/** A learning curve for a two-objective point: both objectives fall towards `end` over the steps. */
function curve(end: readonly number[], length = 6): number[][] {
  return Array.from({ length }, (_, t) => end.map((v) => v * (1 + 2 / (t + 1))));
}

async function paretoStudy(
  reductionFactor: number,
  directions: StudyDirection[] = ['minimize', 'minimize'],
): Promise<Study> {
  return createStudy({
    directions,
    pruner: new ParetoSuccessiveHalvingPruner({ minResource: 1, reductionFactor }),
  });
}

describe('ParetoSuccessiveHalvingPruner', () => {
  it('keeps front curves and prunes dominated ones', async () => {
    const study = await paretoStudy(2);
    // Rungs at steps 1, 2 and 4. Three curves end on the front, two are dominated by [2, 2].
    const front = [
      [1, 4],
      [4, 1],
      [2, 2],
    ];
    for (const end of front) assert.equal((await runCurve(study, curve(end))).prunedAt, null, `front ${end}`);
    for (const end of [
      [3, 3],
      [5, 5],
    ])
      assert.equal((await runCurve(study, curve(end))).prunedAt, 1, `dominated ${end}`);
    assert.deepEqual(
      study.bestTrials.map((t) => t.number),
      [0, 1, 2],
    );
  });

  it('keeps ceil(n / eta) trials by rank', async () => {
    // One objective: the rule is ASHA's with ceil. Rung 0 holds 1, 2, 3, 4; with a newcomer n = 5, k = 2.
    for (const [x, kept] of [
      [1.5, true],
      [2, true],
      [2.5, false],
    ] as const) {
      const study = await paretoStudy(4, ['minimize']);
      for (let v = 1; v <= 4; v++) await reportOnly(study, [v, v]);
      assert.equal((await runCurve(study, [x, x, x])).prunedAt, kept ? null : 1, `value ${x}`);
    }
  });

  it('breaks ties on the boundary front by hypervolume contribution', async () => {
    // Rung 0 holds the front A = [0, 4], M = [2, 2], B = [4, 0]; a fourth front point makes n = 4, k = 2,
    // so two of the four must go. Reference point: [4.4, 4.4].
    async function judge(point: number[]): Promise<number | null> {
      const study = await paretoStudy(2);
      for (const p of [
        [0, 4],
        [2, 2],
        [4, 0],
      ])
        await reportOnly(study, [p, p]);
      return (await runCurve(study, [point, point])).prunedAt;
    }
    // [2.05, 1.95] crowds M: its exclusive hypervolume (0.0975) is the smallest of the four.
    assert.equal(await judge([2.05, 1.95]), 1);
    // [1, 3] fills the gap between A and M: A (0.4) then B (0.8) are dropped before it.
    assert.equal(await judge([1, 3]), null);
  });

  it('favours the arriving trial on exact ties', async () => {
    const study = await paretoStudy(2);
    assert.equal((await runCurve(study, curve([1, 4]))).prunedAt, null);
    // Mirror image: equal contributions, k = 1: the earlier trial is the one set aside.
    assert.equal((await runCurve(study, curve([4, 1]))).prunedAt, null);
  });

  it('turns maximised objectives around', async () => {
    const study = await paretoStudy(2, ['maximize', 'minimize']);
    await reportOnly(study, [
      [5, 1],
      [5, 1],
    ]);
    // [4, 2] is dominated by [5, 1] (lower first objective, higher second): pruned.
    assert.equal(
      (
        await runCurve(study, [
          [4, 2],
          [4, 2],
          [4, 2],
        ])
      ).prunedAt,
      1,
    );
    // [6, 2] trades off against [5, 1]: both on the front, tie goes to the newcomer.
    assert.equal(
      (
        await runCurve(study, [
          [6, 2],
          [6, 2],
          [6, 2],
        ])
      ).prunedAt,
      null,
    );
  });

  it('prunes a NaN rung value and treats NaN competitors as worst', async () => {
    const study = await paretoStudy(2);
    assert.equal(
      (
        await runCurve(study, [
          [1, 1],
          [Number.NaN, 1],
        ])
      ).prunedAt,
      1,
    );
    // The NaN trial reached rung 0 but ranks last: a poor newcomer is still the better of the two.
    const other = await paretoStudy(2);
    await reportOnly(other, [
      [9, Number.NaN],
      [9, Number.NaN],
    ]);
    assert.equal(
      (
        await runCurve(other, [
          [8, 8],
          [8, 8],
        ])
      ).prunedAt,
      null,
    );
  });

  it('is reproducible for a seed on a two-objective curve family', async () => {
    async function run(): Promise<string[]> {
      const study = await createStudy({
        directions: ['minimize', 'minimize'],
        sampler: new RandomSampler({ seed: 11 }),
        pruner: new ParetoSuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 }),
      });
      await study.optimize(
        async (trial) => {
          const x = trial.suggestFloat('x', 0, 1);
          const q = trial.suggestFloat('q', 0.5, 2);
          let v: number[] = [];
          for (let t = 0; t < 27; t++) {
            v = [x * q + 1 / (t + 1), (1 - x) * q + 1 / (t + 1)];
            trial.report(v, t);
            await new Promise((resolve) => setImmediate(resolve));
            if (trial.shouldPrune()) throw new TrialPruned();
          }
          return v;
        },
        { nTrials: 40, concurrency: 2 },
      );
      return study.trials.map((t) => `${t.state}@${Object.keys(t.intermediateValues).length}`);
    }
    const first = await run();
    assert.deepEqual(await run(), first);
    const pruned = first.filter((s) => s.startsWith('PRUNED')).length;
    assert.ok(pruned > 10 && pruned < 40, `${pruned} pruned`);
  });

  it('refuses a single number reported in a multi-objective study', async () => {
    const study = await paretoStudy(2);
    const trial = await study.ask();
    trial.report(1, 0);
    trial.report(1, 1);
    assert.throws(() => trial.shouldPrune(), /intermediate value has 1 objectives but the study has 2/);
  });
});
