import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, TrialPruned } from '../../src/core/errors.js';
import type { Study } from '../../src/core/study.js';
import { SuccessiveHalvingPruner } from '../../src/pruners/successive-halving.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { createStudy } from '../../src/study/create.js';
import { constant, reportOnly, runCurve } from './helpers.js';

/** A study whose rung 0 (step 1) already holds the values 1..8 of trials that reached it. */
async function rungWithEight(direction: 'minimize' | 'maximize'): Promise<Study> {
  const study = await createStudy({
    direction,
    pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 }),
  });
  for (let v = 1; v <= 8; v++) await reportOnly(study, [v, v]);
  return study;
}

describe('SuccessiveHalvingPruner', () => {
  it('promotes exactly the top 1/eta of the values at a rung', async () => {
    // With the newcomer, 9 values compete: floor(9 / 3) = 3 go on.
    for (const [x, kept] of [
      [0.5, true],
      [3, true],
      [3.01, false],
      [8, false],
    ] as const) {
      const study = await rungWithEight('minimize');
      const r = await runCurve(study, [x, x, x]);
      assert.equal(r.prunedAt, kept ? null : 1, `value ${x}`);
    }
    for (const [x, kept] of [
      [6, true],
      [5.99, false],
    ] as const) {
      const study = await rungWithEight('maximize');
      assert.equal((await runCurve(study, [x, x, x])).prunedAt, kept ? null : 1, `maximize, value ${x}`);
    }
  });

  it('keeps only the best so far while a rung holds fewer than eta trials', async () => {
    const study = await createStudy({
      pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 }),
    });
    assert.equal((await runCurve(study, [5, 5])).prunedAt, null);
    assert.equal((await runCurve(study, [6, 6])).prunedAt, 1);
    assert.equal((await runCurve(study, [4, 4])).prunedAt, null);
  });

  it('judges each rung once, when the report that crosses it arrives', async () => {
    const study = await createStudy({
      pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 2 }),
    });
    // A passes rung 0 (step 1) alone.
    const a = await study.ask();
    a.report(5, 0);
    a.report(5, 1);
    assert.equal(a.shouldPrune(), false);
    // Three better trials reach rung 0 while A runs.
    for (const v of [3, 2, 1]) {
      const t = await study.ask();
      t.report(v, 0);
      t.report(v, 1);
      assert.equal(t.shouldPrune(), false, `trial with ${v}`);
    }
    // A's promotion at rung 0 is final; at rung 1 (step 2) it is alone again.
    a.report(5, 2);
    assert.equal(a.shouldPrune(), false);
    // A newcomer with A's value at rung 0 now has 3 better among 5: pruned.
    assert.equal((await runCurve(study, [5, 5])).prunedAt, 1);
  });

  it("estimates 'auto' minResource from the first completed trial", async () => {
    const study = await createStudy({ pruner: new SuccessiveHalvingPruner() });
    // No completed trial yet: nothing is pruned. Last step 250 gives minResource floor(250 / 100) = 2.
    assert.equal((await runCurve(study, constant(1, 251))).prunedAt, null);
    assert.equal((await runCurve(study, constant(9, 251))).prunedAt, 2);
  });

  it('starts at minResource * eta^minEarlyStoppingRate', async () => {
    const study = await createStudy({
      pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3, minEarlyStoppingRate: 1 }),
    });
    await runCurve(study, constant(1, 10));
    assert.equal((await runCurve(study, constant(9, 10))).prunedAt, 3);
  });

  it('prunes the first bootstrapCount arrivals at a rung', async () => {
    const study = await createStudy({
      pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 2, bootstrapCount: 2 }),
    });
    assert.equal((await runCurve(study, [3, 3])).prunedAt, 1);
    assert.equal((await runCurve(study, [2, 2])).prunedAt, 1);
    assert.equal((await runCurve(study, [1, 1])).prunedAt, null);
  });

  it('judges every rung a sparse report crosses, with the value at the first step past it', async () => {
    const study = await createStudy({
      pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 2 }),
    });
    await reportOnly(study, [1, 1, 1, 1, 1]); // steps 0..4: reaches rungs at steps 1, 2 and 4
    // Reports at 0 and 5 cross rungs 1, 2 and 4 at once; its value there (9) loses at rung 0.
    assert.equal((await runCurve(study, [0, 9], { steps: [0, 5] })).prunedAt, 5);
    assert.equal((await runCurve(study, [9, 0.5], { steps: [0, 5] })).prunedAt, null);
  });

  it('prunes a NaN value at a rung', async () => {
    const study = await createStudy({ pruner: new SuccessiveHalvingPruner({ minResource: 1 }) });
    assert.equal((await runCurve(study, [Number.NaN, Number.NaN])).prunedAt, 1);
  });

  it('is reproducible for a seed, even with concurrent trials', async () => {
    async function run(): Promise<string[]> {
      const study = await createStudy({
        sampler: new RandomSampler({ seed: 7 }),
        pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 }),
      });
      await study.optimize(
        async (trial) => {
          const x = trial.suggestFloat('x', 0, 1);
          let y = 0;
          for (let t = 0; t < 20; t++) {
            y = x + 1 / (t + 1);
            trial.report(y, t);
            await new Promise((resolve) => setImmediate(resolve));
            if (trial.shouldPrune()) throw new TrialPruned();
          }
          return y;
        },
        { nTrials: 30, concurrency: 3 },
      );
      return study.trials.map((t) => `${t.state}@${Object.keys(t.intermediateValues).length}`);
    }
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.some((s) => s.startsWith('PRUNED')));
    assert.ok(first.some((s) => s.startsWith('COMPLETE')));
  });

  it('refuses multi-objective studies and bad options', async () => {
    const study = await createStudy({
      directions: ['minimize', 'maximize'],
      pruner: new SuccessiveHalvingPruner({ minResource: 1 }),
    });
    const trial = await study.ask();
    trial.report([1, 1], 1);
    assert.throws(
      () => trial.shouldPrune(),
      (e: unknown) => e instanceof InvalidArgumentError && /ParetoSuccessiveHalvingPruner/.test(e.message),
    );
    assert.throws(() => new SuccessiveHalvingPruner({ reductionFactor: 1 }), /reductionFactor/);
    assert.throws(() => new SuccessiveHalvingPruner({ minResource: 0 }), /minResource/);
    assert.throws(() => new SuccessiveHalvingPruner({ bootstrapCount: 1 }), /bootstrapCount/);
  });
});
