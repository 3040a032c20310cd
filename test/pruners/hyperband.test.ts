import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Distribution, ParamValue } from '../../src/core/distributions.js';
import { TrialPruned } from '../../src/core/errors.js';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import type { Study } from '../../src/core/study.js';
import type { StudyView } from '../../src/core/study-view.js';
import { crc32, HyperbandPruner } from '../../src/pruners/hyperband.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { createStudy } from '../../src/study/create.js';
import { constant, runCurve } from './helpers.js';

function viewOf(study: Study): StudyView {
  return {
    studyName: study.studyName,
    directions: study.directions,
    systemAttrs: {},
    getTrials: (options) => study.trials.filter((t) => !options?.states || options.states.includes(t.state)),
  };
}

/** Records which trials the sampler was shown for each trial. */
class RecordingSampler extends RandomSampler {
  readonly seen = new Map<number, number[]>();
  override sampleIndependent(
    view: StudyView,
    trial: FrozenTrial,
    name: string,
    dist: Distribution,
  ): ParamValue {
    this.seen.set(
      trial.number,
      view.getTrials().map((t) => t.number),
    );
    return super.sampleIndependent(view, trial, name, dist);
  }
}

describe('HyperbandPruner', () => {
  it('computes CRC-32 as zlib does', () => {
    assert.equal(crc32('The quick brown fox jumps over the lazy dog'), 0x414fa339);
    assert.equal(crc32(''), 0);
  });

  it('has floor(log_eta(max / min)) + 1 brackets, filled in proportion to their budgets', () => {
    const pruner = new HyperbandPruner({ minResource: 1, maxResource: 81, reductionFactor: 3 });
    const view: StudyView = {
      studyName: 'hb',
      directions: ['minimize'],
      systemAttrs: {},
      getTrials: () => [],
    };
    assert.equal(pruner.nBrackets(view), 5);
    assert.equal(new HyperbandPruner({ maxResource: 80 }).nBrackets(view), 4);
    // Budgets ceil(5 * 3^s / (s + 1)) for s = 4..0: 81, 34, 15, 8, 5 of 143.
    const budgets = [81, 34, 15, 8, 5];
    const counts = [0, 0, 0, 0, 0];
    const n = 14300;
    for (let k = 0; k < n; k++) counts[pruner.bracketOf(view, k)!]++;
    for (let b = 0; b < 5; b++) {
      const expected = (n * budgets[b]) / 143;
      assert.ok(
        Math.abs(counts[b] - expected) < 0.15 * expected + 30,
        `bracket ${b}: ${counts[b]} vs ${expected}`,
      );
    }
  });

  it('assigns brackets deterministically from the study name and trial number', () => {
    const a = new HyperbandPruner({ maxResource: 27 });
    const b = new HyperbandPruner({ maxResource: 27 });
    const view = (studyName: string): StudyView => ({
      studyName,
      directions: ['minimize'],
      systemAttrs: {},
      getTrials: () => [],
    });
    const first = Array.from({ length: 50 }, (_, k) => a.bracketOf(view('s1'), k));
    assert.deepEqual(
      Array.from({ length: 50 }, (_, k) => b.bracketOf(view('s1'), k)),
      first,
    );
    const other = Array.from({ length: 50 }, (_, k) => a.bracketOf(view('s2'), k));
    assert.notDeepEqual(other, first, 'another study name shuffles the assignment');
  });

  it('runs each bracket as its own successive halving', async () => {
    // maxResource 9, eta 3: bracket 0 has rungs at steps 1 and 3, bracket 1 at 3, bracket 2 only at 9.
    const pruner = new HyperbandPruner({ minResource: 1, maxResource: 9, reductionFactor: 3 });
    const study = await createStudy({ studyName: 'brackets', pruner });
    const results = [];
    // Every trial is worse than all before it, so within a bracket only the first goes on.
    for (let k = 0; k < 30; k++) results.push(await runCurve(study, constant(k, 9)));
    const view = viewOf(study);
    const firstInBracket = new Set<number>();
    const seenBrackets = new Set<number>();
    for (const r of results) {
      const bracket = pruner.bracketOf(view, r.number)!;
      if (!seenBrackets.has(bracket)) firstInBracket.add(r.number);
      seenBrackets.add(bracket);
      const expected = firstInBracket.has(r.number) || bracket === 2 ? null : bracket === 0 ? 1 : 3;
      assert.equal(r.prunedAt, expected, `trial ${r.number} in bracket ${bracket}`);
    }
    assert.deepEqual([...seenBrackets].sort(), [0, 1, 2]);
  });

  it('shows the sampler only the trials of the same bracket', async () => {
    const sampler = new RecordingSampler({ seed: 3 });
    const pruner = new HyperbandPruner({ minResource: 1, maxResource: 27, reductionFactor: 3 });
    const study = await createStudy({ studyName: 'bohb', sampler, pruner });
    await study.optimize(
      (trial) => {
        const x = trial.suggestFloat('x', 0, 1);
        for (let t = 0; t < 27; t++) {
          trial.report(x + 1 / (t + 1), t);
          if (trial.shouldPrune()) throw new TrialPruned();
        }
        return x;
      },
      { nTrials: 40 },
    );
    const view = viewOf(study);
    let restricted = 0;
    for (let k = 0; k < 40; k++) {
      const bracket = pruner.bracketOf(view, k);
      const expected = Array.from({ length: k + 1 }, (_, j) => j).filter(
        (j) => pruner.bracketOf(view, j) === bracket,
      );
      assert.deepEqual(sampler.seen.get(k), expected, `trial ${k}`);
      if (expected.length < k + 1) restricted++;
    }
    assert.ok(restricted > 20);
    assert.ok(study.trials.some((t) => t.state === 'PRUNED'));
  });

  it("waits for a completed trial with 'auto' maxResource, then uses its last step + 1", async () => {
    const pruner = new HyperbandPruner({ reductionFactor: 3 });
    const study = await createStudy({ studyName: 'auto', pruner });
    const before = viewOf(study);
    assert.equal(pruner.nBrackets(before), undefined);
    const trial = await study.ask();
    trial.report(1, 0);
    assert.equal(pruner.restrictSamplerView(before, trial.snapshot()), before, 'unrestricted before');
    for (let t = 1; t < 27; t++) trial.report(1, t);
    assert.equal(trial.shouldPrune(), false);
    await study.tell(trial, 1);
    assert.equal(pruner.nBrackets(viewOf(study)), 4); // steps 0..26 -> maxResource 27
    // Later, longer trials do not move the brackets.
    await runCurve(study, constant(0, 100));
    assert.equal(pruner.nBrackets(viewOf(study)), 4);
  });

  it('uses the Pareto rule in multi-objective studies', async () => {
    const pruner = new HyperbandPruner({ minResource: 1, maxResource: 3, reductionFactor: 3 });
    const study = await createStudy({ studyName: 'mo-hb', directions: ['minimize', 'minimize'], pruner });
    const view = viewOf(study);
    // Find two trial numbers in bracket 0 (rung at step 1) and run a front trial, then a dominated one.
    const zero: number[] = [];
    for (let k = 0; zero.length < 2; k++) if (pruner.bracketOf(view, k) === 0) zero.push(k);
    const outcome = new Map<number, number | null>();
    for (let k = 0; k <= zero[1]; k++) {
      const curve = k === zero[1] ? constant([5, 5], 3) : constant([1, 1], 3);
      outcome.set(k, (await runCurve(study, curve)).prunedAt);
    }
    assert.equal(outcome.get(zero[0]), null);
    assert.equal(outcome.get(zero[1]), 1);
  });

  it('validates its options', () => {
    assert.throws(() => new HyperbandPruner({ maxResource: 0 }), /maxResource/);
    assert.throws(() => new HyperbandPruner({ minResource: 5, maxResource: 3 }), /maxResource/);
    assert.throws(() => new HyperbandPruner({ reductionFactor: 1 }), /reductionFactor/);
    assert.throws(() => new HyperbandPruner({ bootstrapCount: 2 }), /bootstrapCount/);
  });
});
