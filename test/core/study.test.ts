import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FloatDistribution } from '../../src/core/distributions.js';
import { DistributionMismatchError, InvalidArgumentError, TrialPruned } from '../../src/core/errors.js';
import { TrialState } from '../../src/core/frozen-trial.js';
import type { TellInput } from '../../src/core/study.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { TPESampler } from '../../src/samplers/tpe/tpe-sampler.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy, loadStudy } from '../../src/study/create.js';
import { captureWarnings } from '../helpers/warnings.js';

describe('Study', () => {
  it('optimizes a function and reports the best trial', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 1 }) });
    await study.optimize(
      (trial) => {
        const x = trial.suggestFloat('x', -10, 10);
        return (x - 2) ** 2;
      },
      { nTrials: 200 },
    );
    assert.equal(study.trials.length, 200);
    assert.ok(study.trials.every((t) => t.state === 'COMPLETE'));
    assert.ok(study.bestValue < 0.1, `best ${study.bestValue}`);
    assert.ok(Math.abs((study.bestParams.x as number) - 2) < 0.4);
    const min = Math.min(...study.trials.map((t) => t.values![0]));
    assert.equal(study.bestValue, min);
  });

  it('maximizes when asked', async () => {
    const study = await createStudy({ direction: 'maximize', sampler: new RandomSampler({ seed: 3 }) });
    await study.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 30 });
    assert.equal(study.bestValue, Math.max(...study.trials.map((t) => t.values![0])));
  });

  it('marks NaN and thrown objectives FAIL with the reason and goes on', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    await study.optimize(
      (trial) => {
        const x = trial.suggestInt('x', 0, 2);
        if (trial.number === 1) throw new Error('boom');
        if (trial.number === 2) return Number.NaN;
        return x;
      },
      { nTrials: 5, catch: [Error] },
    );
    const states = study.trials.map((t) => t.state);
    assert.deepEqual(states, ['COMPLETE', 'FAIL', 'FAIL', 'COMPLETE', 'COMPLETE']);
    assert.match(String(study.trials[1].systemAttrs.failReason), /boom/);
    assert.match(String(study.trials[2].systemAttrs.failReason), /NaN/);
  });

  it('re-raises the objective error by default after recording FAIL, and warns with the reason', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    const { warnings } = await captureWarnings(() =>
      assert.rejects(
        study.optimize(
          (trial) => {
            trial.suggestInt('x', 0, 2);
            throw new RangeError('bad');
          },
          { nTrials: 5 },
        ),
        RangeError,
      ),
    );
    assert.equal(study.trials.length, 1, 'no trial starts after the error');
    assert.equal(study.trials[0].state, 'FAIL');
    assert.equal(study.trials[0].systemAttrs.failReason, 'RangeError: bad');
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['TRIAL_FAILED'],
    );
    assert.match(warnings[0].message, /trial 0 failed with parameters \{"x":\d\}: RangeError: bad/);
  });

  it('records and goes on for the error classes in `catch`, and re-raises others', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    const { warnings } = await captureWarnings(() =>
      study.optimize(
        (trial) => {
          if (trial.number % 2 === 0) throw new RangeError(`diverged at ${trial.number}`);
          return trial.suggestFloat('x', 0, 1);
        },
        { nTrials: 5, catch: [RangeError] },
      ),
    );
    assert.deepEqual(
      study.trials.map((t) => t.state),
      ['FAIL', 'COMPLETE', 'FAIL', 'COMPLETE', 'FAIL'],
    );
    assert.deepEqual(
      warnings.map((w) => w.message.replace(/ with parameters \{[^}]*\}:/, ':')),
      [
        'trial 0 failed: RangeError: diverged at 0',
        'trial 2 failed: RangeError: diverged at 2',
        'trial 4 failed: RangeError: diverged at 4',
      ],
    );
    await assert.rejects(
      study.optimize(
        () => {
          throw new TypeError('not caught');
        },
        { nTrials: 3, catch: [RangeError] },
      ),
      TypeError,
    );
    assert.equal(study.trials.length, 6);
    assert.equal(study.trials[5].state, 'FAIL');
  });

  it('tells states by the one spelling, COMPLETE, PRUNED and FAIL, and refuses others', async () => {
    const study = await createStudy();
    const trial = await study.ask();
    await assert.rejects(
      study.tell(trial, { state: 'fail' } as unknown as TellInput),
      (error: Error) =>
        error instanceof InvalidArgumentError &&
        /state must be COMPLETE, PRUNED or FAIL, got "fail"/.test(error.message),
    );
    // Still running: a refused tell changes nothing.
    assert.equal((await study.tell(trial, { state: 'COMPLETE', values: 3 })).state, 'COMPLETE');
    const pruned = await study.ask();
    assert.equal((await study.tell(pruned, { state: 'PRUNED' })).state, TrialState.Pruned);
  });

  it('uses TPE when no sampler is given, in createStudy and loadStudy', async () => {
    const storage = new InMemoryStorage();
    const created = await createStudy({ studyName: 'default', storage });
    assert.ok(
      created.sampler instanceof TPESampler,
      `createStudy default is ${created.sampler.constructor.name}`,
    );
    const loaded = await loadStudy({ studyName: 'default', storage });
    assert.ok(
      loaded.sampler instanceof TPESampler,
      `loadStudy default is ${loaded.sampler.constructor.name}`,
    );
  });

  it('reads user attributes with getUserAttrs()', async () => {
    const study = await createStudy();
    await study.setUserAttr('owner', 'me');
    assert.deepEqual(await study.getUserAttrs(), { owner: 'me' });
  });

  it('runs enqueued parameters first', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    await study.enqueueTrial({ x: 1.5, kind: 'b' });
    await study.enqueueTrial({ x: -3, kind: 'a' });
    const seen: unknown[] = [];
    await study.optimize(
      (trial) => {
        const x = trial.suggestFloat('x', -5, 5);
        const kind = trial.suggestCategorical('kind', ['a', 'b']);
        seen.push([x, kind]);
        return x;
      },
      { nTrials: 4 },
    );
    assert.deepEqual(seen.slice(0, 2), [
      [1.5, 'b'],
      [-3, 'a'],
    ]);
    assert.equal(study.trials.length, 4);
  });

  it('skips an enqueued duplicate with skipIfExists', async () => {
    const study = await createStudy();
    await study.enqueueTrial({ x: 1 });
    await study.enqueueTrial({ x: 1 }, { skipIfExists: true });
    assert.equal(study.trials.length, 1);
  });

  it('supports ask and tell, including fixed distributions', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 5 }) });
    const trial = await study.ask({ lr: new FloatDistribution(1e-4, 1e-1, { log: true }) });
    const lr = trial.params.lr as number;
    assert.ok(lr >= 1e-4 && lr <= 1e-1);
    const frozen = await study.tell(trial, lr * 2);
    assert.equal(frozen.state, 'COMPLETE');
    assert.deepEqual(frozen.values, [lr * 2]);
    const second = await study.ask();
    await study.tell(second.number, { state: 'FAIL', reason: 'out of memory' });
    assert.equal(study.trials[1].state, 'FAIL');
    assert.equal(study.trials[1].systemAttrs.failReason, 'out of memory');
    await assert.rejects(study.tell(second.number, 1), /already FAIL/);
  });

  it('keeps the last intermediate value of a pruned trial and its curve', async () => {
    const study = await createStudy();
    await study.optimize(
      (trial) => {
        for (let step = 0; step < 3; step++) trial.report(10 - step, step);
        throw new TrialPruned();
      },
      { nTrials: 1 },
    );
    const t = study.trials[0];
    assert.equal(t.state, 'PRUNED');
    assert.deepEqual(t.values, [8]);
    assert.deepEqual(t.intermediateValues, { 0: 10, 1: 9, 2: 8 });
  });

  it('keeps the first value when a trial suggests a parameter again with another range, with a warning', async () => {
    const study = await createStudy();
    const trial = await study.ask();
    const a = trial.suggestFloat('x', 0, 1);
    const { result: same, warnings: quiet } = await captureWarnings(() => trial.suggestFloat('x', 0, 1));
    assert.equal(same, a);
    assert.deepEqual(quiet, [], 'the same range again is not worth a warning');
    const { result: again, warnings } = await captureWarnings(() => trial.suggestFloat('x', 5, 9));
    assert.equal(again, a, 'the first value stands');
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['PARAM_REDEFINED'],
    );
    assert.match(warnings[0].message, /parameter "x" was suggested again with another range/);
    assert.throws(() => trial.suggestCategorical('x', ['a']), {
      code: 'DISTRIBUTION_MISMATCH',
      message: /"x" was already suggested as float/,
    });
  });

  it('refuses a parameter with another kind in a later trial (DISTRIBUTION_MISMATCH), at suggest time', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 1 }) });
    await study.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 2 });
    const trial = await study.ask();
    assert.throws(
      () => trial.suggestInt('x', 0, 3),
      (error: Error) => error instanceof DistributionMismatchError,
    );
    assert.equal(typeof trial.suggestFloat('x', 0, 10), 'number', 'another range of the same kind is fine');
    // The storage refuses it too, for trials of other processes that this one has not read yet.
    const storage = new InMemoryStorage();
    const a = await createStudy({ studyName: 's', storage });
    const b = await loadStudy({ studyName: 's', storage });
    const early = await b.ask();
    await a.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 1 });
    early.suggestInt('x', 0, 3);
    await assert.rejects(b.tell(early, 1), { code: 'DISTRIBUTION_MISMATCH' });
    assert.equal((await storage.getTrial(early.trialId)).state, 'FAIL');
  });

  it('computes the Pareto front for several objectives', async () => {
    const study = await createStudy({
      directions: ['minimize', 'maximize'],
      sampler: new RandomSampler({ seed: 2 }),
    });
    await study.optimize(
      (trial) => {
        const x = trial.suggestFloat('x', 0, 1);
        return [x, x * x];
      },
      { nTrials: 20 },
    );
    // x and x^2 are monotonic together, so with minimize x / maximize x^2 every point is on the front.
    assert.equal(study.bestTrials.length, 20);
    assert.throws(() => study.bestTrial, /single-objective/);
  });

  it('keeps the best trial feasible under constraints', async () => {
    const study = await createStudy({
      sampler: new RandomSampler({ seed: 4 }),
      constraints: (t) => [0.5 - (t.params.x as number)],
    });
    await study.optimize((trial) => trial.suggestFloat('x', 0, 1), { nTrials: 50 });
    assert.ok((study.bestParams.x as number) >= 0.5);
    assert.ok(
      study.trials.some((t) => (t.params.x as number) < 0.5),
      'some infeasible trials ran',
    );
  });

  it('loads an existing study from its storage and refuses a duplicate name', async () => {
    const storage = new InMemoryStorage();
    const study = await createStudy({ studyName: 's', storage });
    await study.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 3 });
    await assert.rejects(createStudy({ studyName: 's', storage }), /already exists/);
    const again = await createStudy({ studyName: 's', storage, loadIfExists: true });
    assert.equal(again.trials.length, 3);
    const loaded = await loadStudy({ studyName: 's', storage });
    assert.equal(loaded.bestValue, study.bestValue);
    await assert.rejects(loadStudy({ studyName: 'nope', storage }), /no study named "nope"/);
  });

  it('runs trials concurrently and stays reproducible for a fixed seed', async () => {
    const run = async () => {
      const study = await createStudy({ sampler: new RandomSampler({ seed: 11 }) });
      let active = 0;
      let peak = 0;
      await study.optimize(
        async (trial) => {
          active++;
          peak = Math.max(peak, active);
          const x = trial.suggestFloat('x', 0, 1);
          await new Promise((r) => setTimeout(r, Math.floor(((x * 997) % 1) * 5)));
          const y = trial.suggestFloat('y', 0, 1);
          active--;
          return x + y;
        },
        { nTrials: 24, concurrency: 4 },
      );
      return { params: study.trials.map((t) => t.params), peak };
    };
    const a = await run();
    const b = await run();
    assert.equal(a.peak, 4);
    assert.deepEqual(a.params, b.params);
  });

  it('stops at the timeout', async () => {
    const study = await createStudy();
    await study.optimize(
      async (trial) => {
        await new Promise((r) => setTimeout(r, 20));
        return trial.suggestFloat('x', 0, 1);
      },
      { timeoutMs: 100 },
    );
    assert.ok(study.trials.length >= 1 && study.trials.length <= 10, `${study.trials.length} trials`);
  });
});
