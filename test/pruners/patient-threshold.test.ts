import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HyperbandPruner } from '../../src/pruners/hyperband.js';
import { PatientPruner } from '../../src/pruners/patient.js';
import { MedianPruner } from '../../src/pruners/percentile.js';
import { ThresholdPruner } from '../../src/pruners/threshold.js';
import { createStudy } from '../../src/study/create.js';
import { constant, runCurve } from './helpers.js';

describe('PatientPruner', () => {
  it('waits `patience` steps after the best before pruning', async () => {
    const study = await createStudy({ pruner: new PatientPruner(null, { patience: 2 }) });
    // Best at step 2; steps 3 and 4 are the patience, the stall is confirmed at step 5.
    assert.equal((await runCurve(study, [5, 4, 3, 3.5, 3.6, 3.7, 3.8])).prunedAt, 5);
    const longer = await createStudy({ pruner: new PatientPruner(null, { patience: 4 }) });
    assert.equal((await runCurve(longer, [5, 4, 3, 3.5, 3.6, 3.7, 3.8, 3.9])).prunedAt, 7);
  });

  it('never prunes an improving curve or a plateau', async () => {
    const study = await createStudy({ pruner: new PatientPruner(null, { patience: 1 }) });
    assert.equal((await runCurve(study, [5, 4, 3, 2, 1, 0.5])).prunedAt, null);
    assert.equal((await runCurve(study, [5, 4, 4, 4, 4, 4])).prunedAt, null);
  });

  it('tolerates a worsening up to minDelta', async () => {
    const tolerant = await createStudy({ pruner: new PatientPruner(null, { patience: 1, minDelta: 0.5 }) });
    assert.equal((await runCurve(tolerant, [3, 2, 2.4, 2.4, 2.4])).prunedAt, null);
    assert.equal((await runCurve(tolerant, [3, 2, 2.6, 2.6, 2.6])).prunedAt, 3);
  });

  it('follows the direction of a maximisation study', async () => {
    const study = await createStudy({
      direction: 'maximize',
      pruner: new PatientPruner(null, { patience: 1 }),
    });
    assert.equal((await runCurve(study, [1, 2, 3, 4])).prunedAt, null);
    assert.equal((await runCurve(study, [1, 3, 2, 2])).prunedAt, 3);
  });

  it('lets the wrapped pruner make the final call on a stalled trial', async () => {
    const pruner = new PatientPruner(new MedianPruner({ nStartupTrials: 1 }), { patience: 1 });
    const study = await createStudy({ pruner });
    await runCurve(study, constant(1, 6));
    // Stalled from step 3 on, but still better than the median (1): kept.
    assert.equal((await runCurve(study, [0.5, 0.4, 0.6, 0.7, 0.8, 0.9])).prunedAt, null);
    // Worse than the median from the start, but not pruned while it improves; pruned once stalled.
    assert.equal((await runCurve(study, [5, 4, 3, 4, 4, 4])).prunedAt, 4);
  });

  it("passes the wrapped pruner's sampler restriction through", async () => {
    const hyperband = new HyperbandPruner({ maxResource: 27 });
    const patient = new PatientPruner(hyperband, { patience: 2 });
    const study = await createStudy({ studyName: 'patient-hb', pruner: patient });
    for (let i = 0; i < 12; i++) await runCurve(study, [1]);
    const view = {
      studyName: 'patient-hb',
      directions: study.directions,
      systemAttrs: {},
      getTrials: () => study.trials,
    };
    const mine = patient.restrictSamplerView(view, study.trials[3]).getTrials();
    const bracket = hyperband.bracketOf(view, 3);
    assert.ok(mine.length < 12);
    assert.ok(mine.every((t) => hyperband.bracketOf(view, t.number) === bracket));
  });

  it('validates its options', () => {
    assert.throws(() => new PatientPruner(null, { patience: -1 }), /patience/);
    assert.throws(() => new PatientPruner(null, { patience: 1.5 }), /patience/);
    assert.throws(() => new PatientPruner(null, { patience: 1, minDelta: -0.1 }), /minDelta/);
  });
});

describe('ThresholdPruner', () => {
  it('prunes when the latest value leaves [lower, upper]', async () => {
    const study = await createStudy({ pruner: new ThresholdPruner({ lower: 0, upper: 10 }) });
    assert.equal((await runCurve(study, [5, 6, 7])).prunedAt, null);
    assert.equal((await runCurve(study, [5, 11, 7])).prunedAt, 1);
    assert.equal((await runCurve(study, [5, 3, -1])).prunedAt, 2);
    assert.equal((await runCurve(study, [5, Number.NaN])).prunedAt, 1);
    const upperOnly = await createStudy({ pruner: new ThresholdPruner({ upper: 1 }) });
    assert.equal((await runCurve(upperOnly, [-1e9, 1])).prunedAt, null);
  });

  it('respects warm-up and interval', async () => {
    const study = await createStudy({
      pruner: new ThresholdPruner({ upper: 1, nWarmupSteps: 2, intervalSteps: 2 }),
    });
    // Judged at steps 2, 4, 6...: the divergence at step 3 is seen at step 4.
    assert.equal((await runCurve(study, [9, 9, 0, 9, 9])).prunedAt, 4);
    assert.equal((await runCurve(study, [9, 9, 0, 9, 0])).prunedAt, null);
  });

  it('validates its options', () => {
    assert.throws(() => new ThresholdPruner({}), /lower` or `upper/);
    assert.throws(() => new ThresholdPruner({ lower: 2, upper: 1 }), /lower/);
    assert.throws(() => new ThresholdPruner({ lower: Number.NaN }), /lower/);
  });
});
