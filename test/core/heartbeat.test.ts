import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FloatDistribution } from '../../src/core/distributions.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy } from '../../src/study/create.js';

describe('heartbeats and retries', () => {
  it('fails a trial whose worker stopped beating and retries its parameters once', async () => {
    const storage = new InMemoryStorage();
    const study = await createStudy({
      studyName: 'hb',
      storage,
      sampler: new RandomSampler({ seed: 1 }),
      heartbeat: { intervalMs: 50, gracePeriodMs: 200, maxRetry: 1 },
    });
    // A trial of another worker that beat once and then vanished.
    const lost = await storage.createTrial(study.studyId);
    await storage.setTrialParam(lost.trialId, 'x', 0.25, new FloatDistribution(0, 1));
    await storage.recordHeartbeat(lost.trialId);
    await new Promise((r) => setTimeout(r, 400));

    const seen: number[] = [];
    await study.optimize(
      async (trial) => {
        const x = trial.suggestFloat('x', 0, 1);
        seen.push(x);
        // Slower than the grace period: the study's own heartbeats must keep this trial alive.
        await new Promise((r) => setTimeout(r, 300));
        return x;
      },
      { nTrials: 2 },
    );
    const trials = study.trials;
    assert.equal(trials[0].state, 'FAIL');
    assert.equal(trials[0].systemAttrs.failKind, 'stale');
    assert.match(String(trials[0].systemAttrs.failReason), /no heartbeat/);
    // The retry ran first, with the lost trial's parameters, linked to it.
    assert.equal(seen[0], 0.25);
    const retry = trials.find((t) => t.systemAttrs.retriedFrom === 0)!;
    assert.equal(retry.state, 'COMPLETE');
    assert.equal(retry.systemAttrs.retryCount, 1);
    assert.ok(trials.filter((t) => t.state === 'COMPLETE').length === 2, 'own slow trials were not failed');
  });

  it('tells a raised error apart from a lost worker', async () => {
    const study = await createStudy({ heartbeat: { intervalMs: 50 } });
    await study.optimize(
      () => {
        throw new Error('diverged');
      },
      { nTrials: 1, catch: [Error] },
    );
    assert.equal(study.trials[0].systemAttrs.failKind, 'error');
  });

  it('rejects a grace period shorter than the interval', async () => {
    await assert.rejects(createStudy({ heartbeat: { intervalMs: 100, gracePeriodMs: 50 } }), /must exceed/);
  });
});
