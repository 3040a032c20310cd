import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import type { StudyView } from '../../src/core/study-view.js';
import { GridSampler } from '../../src/samplers/grid.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy, loadStudy } from '../../src/study/create.js';

const space = { lr: [0.1, 0.01, 0.001], act: ['relu', 'tanh'], depth: [1, 2, 3, 4] };

function objective(trial: import('../../src/core/trial.js').Trial) {
  const lr = trial.suggestCategorical('lr', [0.1, 0.01, 0.001]);
  const act = trial.suggestCategorical('act', ['relu', 'tanh']);
  const depth = trial.suggestInt('depth', 1, 4);
  return lr * depth + (act === 'relu' ? 0 : 1);
}

const key = (p: Record<string, unknown>) => JSON.stringify([p.lr, p.act, p.depth]);

function viewOf(trials: readonly FrozenTrial[]): StudyView {
  return {
    studyName: 'view',
    directions: ['minimize'],
    systemAttrs: {},
    getTrials: (options = {}) =>
      options.states ? trials.filter((t) => options.states!.includes(t.state)) : trials,
  };
}

describe('GridSampler', () => {
  it('runs every point exactly once with concurrency, then stops by itself', async () => {
    const study = await createStudy({ sampler: new GridSampler(space, { seed: 1 }) });
    await study.optimize(
      async (t) => {
        await new Promise((r) => setImmediate(r));
        return objective(t);
      },
      { nTrials: 100, concurrency: 4 },
    );
    const trials = study.trials;
    assert.equal(trials.length, 24);
    assert.equal(new Set(trials.map((t) => key(t.params))).size, 24);
    assert.ok(trials.every((t) => t.state === 'COMPLETE'));
  });

  it('shares one grid between two study objects on one storage (two workers)', async () => {
    const storage = new InMemoryStorage();
    await createStudy({ studyName: 'g', storage });
    const a = await loadStudy({ studyName: 'g', storage, sampler: new GridSampler(space, { seed: 2 }) });
    const b = await loadStudy({ studyName: 'g', storage, sampler: new GridSampler(space, { seed: 2 }) });
    await Promise.all([
      a.optimize(async (t) => objective(t), { nTrials: 30, concurrency: 2 }),
      b.optimize(async (t) => objective(t), { nTrials: 30, concurrency: 2 }),
    ]);
    const trials = await a.getTrials();
    assert.equal(trials.length, 24);
    assert.equal(new Set(trials.map((t) => key(t.params))).size, 24);
  });

  it('orders points by seed, reproducibly', async () => {
    const order = async (seed: number) => {
      const study = await createStudy({ sampler: new GridSampler(space, { seed }) });
      await study.optimize(objective, { nTrials: 24 });
      return study.trials.map((t) => key(t.params));
    };
    assert.deepEqual(await order(5), await order(5));
    assert.notDeepEqual(await order(5), await order(6));
  });

  it('rejects a parameter outside the grid and an empty grid', async () => {
    assert.throws(() => new GridSampler({}), /search space is empty/);
    assert.throws(() => new GridSampler({ x: [] }), /"x" needs a non-empty array/);
    const study = await createStudy({ sampler: new GridSampler({ x: [1, 2] }) });
    await study.optimize(
      (t) => {
        t.suggestCategorical('x', [1, 2]);
        return t.suggestFloat('y', 0, 1);
      },
      { nTrials: 1 },
    );
    assert.match(String(study.trials[0].systemAttrs.failReason), /"y" is not in the grid/);
  });

  it('reports exhaustion through shouldStop only once every point has a trial', async () => {
    const sampler = new GridSampler({ x: [1, 2, 3] }, { seed: 1 });
    const study = await createStudy({ sampler });
    assert.equal(sampler.shouldStop(viewOf(study.trials)), false, 'nothing has run');
    await study.optimize((t) => t.suggestCategorical('x', [1, 2, 3]), { nTrials: 2 });
    // The third point is still WAITING in the queue.
    assert.equal(sampler.shouldStop(viewOf(study.trials)), false);
    await study.optimize((t) => t.suggestCategorical('x', [1, 2, 3]), { nTrials: 5 });
    assert.equal(study.trials.length, 3);
    assert.equal(sampler.shouldStop(viewOf(study.trials)), true);
  });

  it('enqueues nothing when the study already covers the grid, and runs no duplicate', async () => {
    const storage = new InMemoryStorage();
    const first = await createStudy({
      studyName: 'covered',
      storage,
      sampler: new RandomSampler({ seed: 1 }),
    });
    for (const x of [1, 2]) await first.enqueueTrial({ x });
    await first.optimize((t) => t.suggestInt('x', 1, 2), { nTrials: 2 });
    const grid = await loadStudy({ studyName: 'covered', storage, sampler: new GridSampler({ x: [1, 2] }) });
    await grid.optimize((t) => t.suggestInt('x', 1, 2), { nTrials: 10 });
    assert.deepEqual(
      (await grid.getTrials()).map((t) => t.params.x),
      [1, 2],
    );
  });

  it('uses a grid value even when the suggested distribution does not contain it (as Optuna)', async () => {
    const study = await createStudy({ sampler: new GridSampler({ x: [0.5, 7] }) });
    await study.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 2 });
    assert.deepEqual(study.trials.map((t) => t.params.x).sort(), [0.5, 7]);
  });
});
