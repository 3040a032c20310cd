import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pruner } from '../../src/core/pruner.js';
import type { Trial } from '../../src/core/trial.js';
import { threadObjective } from '../../src/run/thread-objective.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { createStudy } from '../../src/study/create.js';
import { objective as inProcess } from '../fixtures/threads/cpu-objective.js';

const fixture = new URL('../fixtures/threads/cpu-objective.ts', import.meta.url);

describe('threadObjective', () => {
  it('gives the same trials as running in-process, with trials overlapping on two threads', async () => {
    const threaded = threadObjective(fixture, { threads: 2 });
    try {
      const a = await createStudy({ sampler: new RandomSampler({ seed: 9 }) });
      await a.optimize(threaded, { nTrials: 8, concurrency: 2 });
      const b = await createStudy({ sampler: new RandomSampler({ seed: 9 }) });
      await b.optimize((t: Trial) => inProcess(t), { nTrials: 8, concurrency: 2 });
      assert.deepEqual(
        a.trials.map((t) => [t.state, t.params, t.values, t.intermediateValues]),
        b.trials.map((t) => [t.state, t.params, t.values, t.intermediateValues]),
      );
      const spans = a.trials.map((t) => t.userAttrs.span as [number, number]).filter(Boolean);
      const overlapping = spans.some((s, i) => spans.some((o, j) => i !== j && s[0] < o[1] && o[0] < s[1]));
      assert.ok(overlapping, 'two threads ran trials at the same time');
    } finally {
      await threaded.close();
    }
  });

  it('answers every synchronous call with its own answer, over thousands of calls on two threads', async () => {
    // A notify left over from one answer must not wake the wait for the next call (it used to:
    // the worker then read the previous answer again).
    const chatty = threadObjective(new URL('../fixtures/threads/chatty-objective.ts', import.meta.url), {
      threads: 2,
      context: 20000,
    });
    try {
      const study = await createStudy({ sampler: new RandomSampler({ seed: 1 }) });
      await study.optimize(chatty, { nTrials: 4, concurrency: 2, catch: [] });
      assert.deepEqual(
        study.trials.map((t) => t.state),
        new Array(4).fill('COMPLETE'),
      );
    } finally {
      await chatty.close();
    }
  });

  it('passes pruning decisions and errors across the thread boundary', async () => {
    const pruneAtStep1: Pruner = {
      prune: (_view, trial) => 1 in trial.intermediateValues && trial.number % 2 === 0,
    };
    const threaded = threadObjective(fixture, { threads: 1 });
    try {
      const study = await createStudy({ sampler: new RandomSampler({ seed: 2 }), pruner: pruneAtStep1 });
      await study.enqueueTrial({ x: 2.95, mode: 'abs' });
      await study.optimize(threaded, { nTrials: 4, catch: [Error] });
      const [refused, ...rest] = study.trials;
      assert.equal(refused.state, 'FAIL');
      assert.match(String(refused.systemAttrs.failReason), /refused x=2\.95/);
      assert.equal(rest[1].state, 'PRUNED');
      assert.deepEqual(Object.keys(rest[1].intermediateValues), ['0', '1']);
      assert.equal(rest[0].state, 'COMPLETE');
    } finally {
      await threaded.close();
    }
  });

  it('reports a module without the objective export as one clear error', async () => {
    const threaded = threadObjective(fixture, { threads: 1, exportName: 'nothing' });
    try {
      const study = await createStudy();
      await assert.rejects(study.optimize(threaded, { nTrials: 1 }), {
        code: 'INVALID_ARGUMENT',
        message: /has no function export "nothing"/,
      });
      assert.match(String(study.trials[0].systemAttrs.failReason), /has no function export "nothing"/);
    } finally {
      await threaded.close();
    }
  });

  it('ends a trial whose thread is closed while the objective module still loads', async () => {
    const slow = threadObjective(new URL('../fixtures/threads/slow-loading-objective.ts', import.meta.url), {
      threads: 1,
    });
    const study = await createStudy({ sampler: new RandomSampler({ seed: 2 }) });
    const trial = await study.ask();
    const running = slow(trial);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await slow.close();
    await assert.rejects(running, /worker thread stopped .* before it was ready/);
  });

  it('hands the context option to the objective in every thread', async () => {
    const threaded = threadObjective(fixture, { threads: 2, exportName: 'scaled', context: { scale: 1000 } });
    try {
      const study = await createStudy({ sampler: new RandomSampler({ seed: 4 }) });
      await study.optimize(threaded, { nTrials: 4, concurrency: 2 });
      for (const t of study.trials) {
        assert.equal(t.state, 'COMPLETE');
        assert.equal(t.values?.[0], (t.params.x as number) * 1000);
      }
    } finally {
      await threaded.close();
    }
  });
});
