/**
 * The contract every Storage backend honours. Each backend's test file calls `storageContract`
 * with a factory; SQLite and PostgreSQL reuse it unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Storage } from '../../src/core/storage.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { createStudy } from '../../src/study/create.js';

/** A random sampler whose afterTrial throws while `broken.on` is true. */
function breakingSampler(broken: { on: boolean }): Sampler {
  const inner: Sampler = new RandomSampler({ seed: 0 });
  return {
    inferRelativeSearchSpace: (study, trial) => inner.inferRelativeSearchSpace(study, trial),
    sampleRelative: (study, trial, space) => inner.sampleRelative(study, trial, space),
    sampleIndependent: (study, trial, name, d) => inner.sampleIndependent(study, trial, name, d),
    afterTrial: () => {
      if (broken.on) throw new Error('sampler broke');
    },
  };
}

/** `storage` with heartbeats counted and trial user-attribute writes failing while `failing.on`. */
function instrumented(storage: Storage, beats: { n: number }, failing: { on: boolean }): Storage {
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === 'recordHeartbeat')
        return (trialId: number) => {
          beats.n++;
          return target.recordHeartbeat(trialId);
        };
      if (prop === 'setTrialUserAttr' && failing.on)
        return async () => Promise.reject(new Error('disk full'));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export function storageContract(name: string, makeStorage: () => Promise<Storage>): void {
  describe(`storage contract: ${name}`, () => {
    const withStorage = (fn: (s: Storage) => Promise<void>) => async () => {
      const storage = await makeStorage();
      try {
        await fn(storage);
      } finally {
        await storage.close();
      }
    };

    it(
      'creates, names, lists, renames and deletes studies',
      withStorage(async (s) => {
        const a = await s.createStudy(['minimize'], 'alpha');
        const b = await s.createStudy(['maximize', 'minimize'], 'beta');
        assert.notEqual(a, b);
        assert.equal(await s.getStudyIdFromName('alpha'), a);
        assert.deepEqual(await s.getStudyDirections(b), ['maximize', 'minimize']);
        await assert.rejects(s.createStudy(['minimize'], 'alpha'), { code: 'DUPLICATED_STUDY' });
        await s.renameStudy(a, 'gamma');
        assert.equal(await s.getStudyName(a), 'gamma');
        await assert.rejects(s.renameStudy(b, 'gamma'), { code: 'DUPLICATED_STUDY' });
        const names = (await s.getAllStudies()).map((x) => x.studyName).sort();
        assert.deepEqual(names, ['beta', 'gamma']);
        await s.deleteStudy(a);
        await assert.rejects(s.getStudyIdFromName('gamma'), { code: 'STUDY_NOT_FOUND' });
        const unnamed = await s.createStudy(['minimize']);
        assert.ok((await s.getStudyName(unnamed)).length > 0);
      }),
    );

    it(
      'keeps study attributes',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'attrs');
        await s.setStudyUserAttr(id, 'note', { a: [1, 2] });
        await s.setStudySystemAttr(id, 'grid', true);
        assert.deepEqual(await s.getStudyUserAttrs(id), { note: { a: [1, 2] } });
        assert.deepEqual(await s.getStudySystemAttrs(id), { grid: true });
      }),
    );

    it(
      'numbers trials densely and records params, values, attributes and curves',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'trials');
        const t0 = await s.createTrial(id);
        const t1 = await s.createTrial(id);
        assert.deepEqual([t0.number, t1.number], [0, 1]);
        assert.equal(t0.state, 'RUNNING');
        const lr = new FloatDistribution(1e-4, 1, { log: true });
        await s.setTrialParam(t0.trialId, 'lr', 0.01, lr);
        await s.setTrialParam(t0.trialId, 'act', 'relu', new CategoricalDistribution(['relu', 'tanh']));
        await s.setTrialIntermediateValue(t0.trialId, 0, 0.5);
        await s.setTrialIntermediateValue(t0.trialId, 1, 0.25);
        await s.setTrialUserAttr(t0.trialId, 'log', 'trial-0.log');
        assert.equal(await s.setTrialState(t0.trialId, 'COMPLETE', [0.2]), true);
        const done = await s.getTrial(t0.trialId);
        assert.equal(done.state, 'COMPLETE');
        assert.deepEqual(done.values, [0.2]);
        assert.deepEqual(done.params, { lr: 0.01, act: 'relu' });
        assert.deepEqual(done.distributions.lr.getConfig(), lr.getConfig());
        assert.deepEqual(done.intermediateValues, { 0: 0.5, 1: 0.25 });
        assert.equal(done.userAttrs.log, 'trial-0.log');
        assert.ok(done.datetimeComplete instanceof Date);
        assert.ok(Object.isFrozen(done));
      }),
    );

    it(
      'deletes one trial with its records; the others keep their numbers and no number is given twice',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'prune-one');
        const kept = await s.createTrial(id);
        const done = await s.createTrial(id);
        const running = await s.createTrial(id);
        await s.setTrialParam(done.trialId, 'x', 0.5, new FloatDistribution(0, 1));
        await s.setTrialIntermediateValue(done.trialId, 0, 1);
        await s.setTrialUserAttr(done.trialId, 'log', 'x.log');
        await s.setTrialState(done.trialId, 'COMPLETE', [0.5]);
        await s.setTrialState(kept.trialId, 'COMPLETE', [0.7]);
        await s.recordHeartbeat(running.trialId);
        assert.equal((await s.getAllTrials(id)).length, 3, 'read once (finished trials cached)');
        await s.deleteTrial(done.trialId);
        await s.deleteTrial(running.trialId);
        assert.deepEqual(
          (await s.getAllTrials(id)).map((t) => t.number),
          [0],
        );
        assert.deepEqual(
          (await s.getAllTrials(id, { states: ['COMPLETE'] })).map((t) => t.values),
          [[0.7]],
        );
        await assert.rejects(s.getTrial(done.trialId), { code: 'TRIAL_NOT_FOUND' });
        await assert.rejects(s.deleteTrial(done.trialId), { code: 'TRIAL_NOT_FOUND' });
        await assert.rejects(s.setTrialUserAttr(running.trialId, 'k', 1), { code: 'TRIAL_NOT_FOUND' });
        assert.deepEqual(await s.getStaleTrials(id, -1000), [], 'the deleted trial is not stale');
        assert.equal((await s.getAllStudies()).find((x) => x.studyId === id)?.nTrials, 1);
        const next = await s.createTrial(id);
        assert.equal(next.number, 3, 'numbers of deleted trials are not given again');
        assert.equal(await s.createTrialIfBelow(id, 4), null, 'deleted trials still count toward the budget');
        assert.deepEqual(
          (await s.getAllTrials(id)).map((t) => t.number),
          [0, 3],
        );
        assert.equal((await s.getTrial(kept.trialId)).values?.[0], 0.7);
      }),
    );

    it(
      'refuses to change a finished trial',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'immutable');
        const t = await s.createTrial(id);
        await s.setTrialState(t.trialId, 'FAIL');
        assert.equal(await s.setTrialState(t.trialId, 'COMPLETE', [1]), false);
        await assert.rejects(s.setTrialParam(t.trialId, 'x', 1, new FloatDistribution(0, 2)), {
          code: 'TRIAL_FINISHED',
        });
        await assert.rejects(s.setTrialIntermediateValue(t.trialId, 0, 1), { code: 'TRIAL_FINISHED' });
        assert.equal((await s.getTrial(t.trialId)).state, 'FAIL');
      }),
    );

    it(
      'hands each WAITING trial to exactly one claimer, oldest first',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'claims');
        // WAITING trials between RUNNING ones, so "oldest" means the lowest number, not the first row.
        await s.createTrial(id);
        for (let i = 0; i < 13; i++) {
          await s.createTrial(id, { state: 'WAITING', systemAttrs: { i } });
          if (i % 4 === 1) await s.createTrial(id);
        }
        // One at a time, claims come out in the order the trials were enqueued.
        const first: unknown[] = [];
        for (let k = 0; k < 3; k++) {
          const claimed = await s.claimWaitingTrial(id);
          first.push(claimed?.systemAttrs.i);
          assert.equal(claimed?.state, 'RUNNING');
          assert.equal((await s.getTrial(claimed!.trialId)).state, 'RUNNING');
        }
        assert.deepEqual(first, [0, 1, 2], 'oldest first');
        const claims = await Promise.all(Array.from({ length: 14 }, () => s.claimWaitingTrial(id)));
        const got = claims.filter((c) => c !== null);
        assert.equal(got.length, 10);
        assert.equal(new Set(got.map((c) => c!.trialId)).size, 10);
        assert.ok(got.every((c) => c!.state === 'RUNNING'));
        assert.deepEqual(
          got.map((c) => c!.systemAttrs.i as number).sort((a, b) => a - b),
          [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        );
        assert.equal(await s.claimWaitingTrial(id), null);
        // nextTrial claims the oldest too.
        for (let i = 0; i < 3; i++) await s.createTrial(id, { state: 'WAITING', systemAttrs: { i: 20 + i } });
        assert.equal((await s.nextTrial(id))?.systemAttrs.i, 20);
      }),
    );

    it(
      'creates trials up to a cap shared by concurrent callers',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'capped');
        await s.createTrial(id, { state: 'WAITING' });
        const made = await Promise.all(Array.from({ length: 12 }, () => s.createTrialIfBelow(id, 7)));
        assert.equal(made.filter((t) => t !== null).length, 6);
        assert.deepEqual(
          (await s.getAllTrials(id)).map((t) => t.number),
          [0, 1, 2, 3, 4, 5, 6],
        );
        assert.equal(await s.createTrialIfBelow(id, 7), null);
      }),
    );

    it(
      'gives concurrent workers their next trial: WAITING ones first, then new ones up to the cap',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'next');
        for (let i = 0; i < 3; i++) await s.createTrial(id, { state: 'WAITING', systemAttrs: { i } });
        const got = await Promise.all(
          Array.from({ length: 12 }, () => s.nextTrial(id, { maxTrials: 8, heartbeat: true })),
        );
        const trials = got.filter((t) => t !== null);
        assert.equal(trials.length, 8);
        assert.equal(new Set(trials.map((t) => t.trialId)).size, 8);
        assert.ok(trials.every((t) => t.state === 'RUNNING'));
        // The enqueued trials were handed out (with their attributes), none twice.
        assert.deepEqual(
          trials
            .filter((t) => t.systemAttrs.i !== undefined)
            .map((t) => t.systemAttrs.i)
            .sort(),
          [0, 1, 2],
        );
        assert.deepEqual(
          (await s.getAllTrials(id)).map((t) => [t.number, t.state]),
          Array.from({ length: 8 }, (_, n) => [n, 'RUNNING']),
        );
        assert.equal(await s.nextTrial(id, { maxTrials: 8 }), null);
        // Every one got its first heartbeat with it: all are stale once the grace period is 0.
        await new Promise((r) => setTimeout(r, 20));
        assert.equal((await s.getStaleTrials(id, 0)).length, 8);
        // Without a cap a new trial is always made; without heartbeat none is recorded.
        const free = await s.nextTrial(id);
        assert.equal(free!.number, 8);
        await new Promise((r) => setTimeout(r, 20));
        assert.equal((await s.getStaleTrials(id, 0)).length, 8);
        await assert.rejects(s.nextTrial(id + 1000), { code: 'STUDY_NOT_FOUND' });
      }),
    );

    it(
      'filters trials by state',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'filter');
        const a = await s.createTrial(id);
        await s.createTrial(id);
        await s.createTrial(id, { state: 'WAITING' });
        await s.setTrialState(a.trialId, 'COMPLETE', [1]);
        const complete = await s.getAllTrials(id, { states: ['COMPLETE'] });
        assert.deepEqual(
          complete.map((t) => t.number),
          [0],
        );
        assert.equal((await s.getAllTrials(id)).length, 3);
        assert.equal((await s.getAllTrials(id, { states: ['RUNNING', 'WAITING'] })).length, 2);
      }),
    );

    it(
      'sets a study system attribute only once when asked to',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'once');
        const results = await Promise.all([1, 2, 3].map((v) => s.setStudySystemAttrIfAbsent(id, 'grid', v)));
        assert.deepEqual(results.filter(Boolean).length, 1);
        const winner = results.indexOf(true) + 1;
        assert.equal((await s.getStudySystemAttrs(id)).grid, winner);
      }),
    );

    it(
      'refuses a parameter name with another kind or other choices in a later trial (DISTRIBUTION_MISMATCH)',
      withStorage(async (s) => {
        const id = await s.createStudy(['minimize'], 'kinds');
        const first = await s.createTrial(id);
        await s.setTrialParam(first.trialId, 'x', 0.5, new FloatDistribution(0, 1));
        await s.setTrialParam(first.trialId, 'c', 'a', new CategoricalDistribution(['a', 'b']));
        await s.setTrialState(first.trialId, 'COMPLETE', [1]);
        const later = await s.createTrial(id);
        await assert.rejects(s.setTrialParam(later.trialId, 'x', 3, new IntDistribution(0, 5)), {
          code: 'DISTRIBUTION_MISMATCH',
          message: /"x".*float.*int/,
        });
        await assert.rejects(
          s.setTrialParam(later.trialId, 'c', 'a', new CategoricalDistribution(['a', 'z'])),
          {
            code: 'DISTRIBUTION_MISMATCH',
          },
        );
        assert.deepEqual((await s.getTrial(later.trialId)).params, {}, 'nothing written');
        // Another range of the same kind is a dynamic search space, which is allowed.
        await s.setTrialParam(later.trialId, 'x', 4, new FloatDistribution(0, 10));
        await s.setTrialParam(later.trialId, 'c', 'b', new CategoricalDistribution(['a', 'b']));
        assert.deepEqual((await s.getTrial(later.trialId)).params, { x: 4, c: 'b' });
        // The rule is per study.
        const other = await s.createStudy(['minimize'], 'kinds-other');
        const t = await s.createTrial(other);
        await s.setTrialParam(t.trialId, 'x', 2, new IntDistribution(0, 5));
        assert.equal((await s.getTrial(t.trialId)).params.x, 2);
      }),
    );

    it(
      'tell finishes a trial and stops its heartbeat even when afterTrial or a write throws',
      withStorage(async (s) => {
        const beats = { n: 0 };
        const failing = { on: false };
        const broken = { on: true };
        const study = await createStudy({
          studyName: 'tell-finally',
          storage: instrumented(s, beats, failing),
          sampler: breakingSampler(broken),
          heartbeat: { intervalMs: 10, gracePeriodMs: 60_000 },
        });
        const quiet = async () => {
          // A stopped timer never beats again; a running one beats about 10 times in this wait.
          const before = beats.n;
          await new Promise((r) => setTimeout(r, 100));
          return beats.n - before;
        };

        const a = await study.ask();
        a.suggestFloat('x', 0, 1);
        await assert.rejects(study.tell(a, 1), /sampler broke/);
        const storedA = await s.getTrial(a.trialId);
        assert.equal(storedA.state, 'COMPLETE', 'the state is written although afterTrial threw');
        assert.deepEqual(storedA.values, [1]);
        assert.equal(await quiet(), 0, 'the heartbeat stopped');

        broken.on = false;
        failing.on = true;
        const b = await study.ask();
        b.setUserAttr('note', 'lost');
        await assert.rejects(study.tell(b, 2), /disk full/);
        const storedB = await s.getTrial(b.trialId);
        assert.equal(storedB.state, 'FAIL', 'a trial whose write failed is not left RUNNING');
        assert.match(String(storedB.systemAttrs.failReason), /tell failed: Error: disk full/);
        assert.equal(await quiet(), 0, 'the heartbeat stopped');
      }),
    );

    it(
      'reports RUNNING trials whose heartbeat stopped as stale',
      withStorage(async (s) => {
        // Robust on a loaded machine: `lost` beats, `gap` ms pass, `alive` beats, and the grace
        // period lies between their ages. Only a stall longer than the grace between alive's beat
        // and the answer could make alive stale too; then the run proves nothing and the gap doubles.
        for (let gap = 200; ; gap *= 2) {
          const id = await s.createStudy(['minimize'], `beats-${gap}`);
          const alive = await s.createTrial(id);
          const lost = await s.createTrial(id);
          const silent = await s.createTrial(id);
          await s.recordHeartbeat(lost.trialId);
          await new Promise((r) => setTimeout(r, gap));
          const aliveBeatAt = Date.now();
          await s.recordHeartbeat(alive.trialId);
          const grace = gap / 2;
          const stale = await s.getStaleTrials(id, grace);
          if (Date.now() - aliveBeatAt >= grace && gap < 60_000) continue;
          assert.deepEqual(
            stale.map((t) => t.number),
            [lost.number],
            'the lost trial only: alive beat recently, silent never beat',
          );
          assert.ok(silent.number >= 0);
          await s.setTrialState(lost.trialId, 'FAIL');
          assert.ok(
            (await s.getStaleTrials(id, grace)).every((t) => t.number !== lost.number),
            'a finished trial is not stale',
          );
          return;
        }
      }),
    );
  });
}
