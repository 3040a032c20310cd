import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dominates, hypervolume } from '../../src/core/multi-objective.js';
import { Random } from '../../src/core/random.js';
import { createStudy } from '../../src/core/study.js';
import type { Trial } from '../../src/core/trial.js';
import { NSGAIISampler } from '../../src/samplers/nsga2/nsga2-sampler.js';
import { polynomialMutation, sbx } from '../../src/samplers/nsga2/variation.js';
import { RandomSampler } from '../../src/samplers/random.js';
import type { Sampler } from '../../src/samplers/sampler.js';

function zdt1(trial: Trial): number[] {
  const x = Array.from({ length: 10 }, (_, i) => trial.suggestFloat(`x${i}`, 0, 1));
  const g = 1 + (9 * x.slice(1).reduce((a, b) => a + b, 0)) / 9;
  return [x[0], g * (1 - Math.sqrt(x[0] / g))];
}

async function front(sampler: Sampler, nTrials: number) {
  const study = await createStudy({ directions: ['minimize', 'minimize'], sampler });
  await study.optimize(zdt1, { nTrials });
  const points = study.bestTrials.map((t) => [...t.values!]);
  return { points, hv: hypervolume(points, [11, 11]) };
}

describe('NSGAIISampler', () => {
  it('beats random search on ZDT1: higher hypervolume, and its front dominates most of random front', async () => {
    const nsga = await front(new NSGAIISampler({ seed: 0, populationSize: 40 }), 800);
    const random = await front(new RandomSampler({ seed: 0 }), 800);
    assert.ok(nsga.hv > random.hv, `NSGA-II ${nsga.hv} vs random ${random.hv}`);
    const dominated = random.points.filter((r) => nsga.points.some((p) => dominates(p, r))).length;
    assert.ok(dominated / random.points.length > 0.8, `${dominated} of ${random.points.length} dominated`);
  });

  it('respects bounds, log, int, step and categorical parameters, reproducibly with concurrency', async () => {
    const run = async () => {
      const study = await createStudy({ sampler: new NSGAIISampler({ seed: 4, populationSize: 8 }) });
      await study.optimize(
        async (t) => {
          const lr = t.suggestFloat('lr', 1e-5, 1e-1, { log: true });
          const units = t.suggestInt('units', 8, 512, { log: true });
          const drop = t.suggestFloat('drop', 0, 0.5, { step: 0.05 });
          const layers = t.suggestInt('layers', 1, 7, { step: 2 });
          const act = t.suggestCategorical('act', ['relu', 'gelu', 'tanh']);
          await new Promise((r) => setImmediate(r));
          return Math.log10(lr) ** 2 + units / 512 + drop + layers + (act === 'gelu' ? 0 : 1);
        },
        { nTrials: 60, concurrency: 3 },
      );
      return study.trials;
    };
    const trials = await run();
    for (const t of trials) {
      const p = t.params as Record<string, number | string>;
      assert.ok((p.lr as number) >= 1e-5 && (p.lr as number) <= 1e-1);
      assert.ok(Number.isInteger(p.units) && (p.units as number) >= 8 && (p.units as number) <= 512);
      assert.ok(Math.abs(Math.round((p.drop as number) / 0.05) * 0.05 - (p.drop as number)) < 1e-9);
      assert.ok([1, 3, 5, 7].includes(p.layers as number));
      assert.ok(['relu', 'gelu', 'tanh'].includes(p.act as string));
    }
    assert.deepEqual(
      trials.map((t) => t.params),
      (await run()).map((t) => t.params),
    );
  });

  it('keeps the front feasible under constraints', async () => {
    const study = await createStudy({
      directions: ['minimize', 'minimize'],
      sampler: new NSGAIISampler({ seed: 1, populationSize: 20 }),
      constraints: (t) => [0.3 - (t.params.x0 as number)],
    });
    await study.optimize(zdt1, { nTrials: 200 });
    assert.ok(study.bestTrials.length > 0);
    assert.ok(study.bestTrials.every((t) => (t.params.x0 as number) >= 0.3));
    const late = study.trials.slice(100);
    const feasibleShare = late.filter((t) => (t.params.x0 as number) >= 0.3).length / late.length;
    assert.ok(feasibleShare > 0.8, `later generations are mostly feasible: ${feasibleShare}`);
  });

  it('keeps SBX children and mutants within bounds', () => {
    const rng = new Random(3);
    for (let i = 0; i < 5000; i++) {
      const low = -rng.next() * 10;
      const high = low + rng.next() * 10;
      const a = low + rng.next() * (high - low);
      const b = low + rng.next() * (high - low);
      const c = sbx(rng, a, b, low, high, 1 + rng.next() * 20);
      const m = polynomialMutation(rng, a, low, high, 20);
      assert.ok(c >= low && c <= high && m >= low && m <= high);
    }
  });
});
