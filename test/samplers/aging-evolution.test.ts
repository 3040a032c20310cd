/**
 * Aging evolution: it beats random search at the same budget on test functions of the benchmark
 * suite, each child differs from its parent in exactly one parameter, the oldest member leaves the
 * population, multi-objective tournaments pick non-dominated parents, and seeds reproduce.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getProblem,
  type MultiObjectiveProblem,
  type SingleObjectiveProblem,
} from '../../bench/functions.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { dominates, hypervolume } from '../../src/core/multi-objective.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Trial } from '../../src/core/trial.js';
import { AgingEvolutionSampler } from '../../src/samplers/aging-evolution.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { createStudy } from '../../src/study/create.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function bestOf(problem: SingleObjectiveProblem, sampler: Sampler, trials: number): Promise<number> {
  const study = await createStudy({ sampler });
  await study.optimize(
    (t) => problem.fn(problem.lower.map((lo, i) => t.suggestFloat(`x${i}`, lo, problem.upper[i]))),
    { nTrials: trials },
  );
  return study.bestValue!;
}

/** A space with every kind of parameter. */
function mixed(t: Trial): number {
  const lr = t.suggestFloat('lr', 1e-5, 1e-1, { log: true });
  const dropout = t.suggestFloat('dropout', 0, 0.5, { step: 0.05 });
  const x = t.suggestFloat('x', -3, 3);
  const units = t.suggestInt('units', 8, 256, { log: true });
  const layers = t.suggestInt('layers', 1, 7, { step: 2 });
  const optimizer = t.suggestCategorical('optimizer', ['adam', 'sgd', 'rmsprop']);
  return (
    (Math.log10(lr) + 3) ** 2 +
    (dropout - 0.2) ** 2 +
    x ** 2 +
    (Math.log2(units) - 6) ** 2 +
    (layers - 3) ** 2 +
    (optimizer === 'adam' ? 0 : 1)
  );
}

describe('AgingEvolutionSampler', () => {
  it('beats random search at the same budget (median best of 5 seeds, 3 functions)', async () => {
    for (const name of ['hartmann-6d', 'rosenbrock-5d', 'styblinski-tang-8d']) {
      const problem = getProblem(name) as SingleObjectiveProblem;
      const aging: number[] = [];
      const random: number[] = [];
      for (let seed = 1; seed <= 5; seed++) {
        aging.push(await bestOf(problem, new AgingEvolutionSampler({ seed }), 200));
        random.push(await bestOf(problem, new RandomSampler({ seed }), 200));
      }
      assert.ok(
        median(aging) < median(random),
        `${name}: aging median best ${median(aging)} is not below random's ${median(random)}`,
      );
    }
  });

  it('beats random search on ZDT1 and ZDT2 hypervolume at the same budget (median of 3 seeds)', async () => {
    for (const name of ['zdt1-10d', 'zdt2-10d']) {
      const problem = getProblem(name) as MultiObjectiveProblem;
      const run = async (sampler: Sampler) => {
        const study = await createStudy({ sampler, directions: ['minimize', 'minimize'] });
        await study.optimize(
          (t) => problem.fn(problem.lower.map((lo, i) => t.suggestFloat(`x${i}`, lo, problem.upper[i]))),
          { nTrials: 200 },
        );
        return hypervolume(
          study.trials.map((t) => t.values!),
          [11, 11],
        );
      };
      const aging: number[] = [];
      const random: number[] = [];
      for (let seed = 1; seed <= 3; seed++) {
        aging.push(await run(new AgingEvolutionSampler({ seed })));
        random.push(await run(new RandomSampler({ seed })));
      }
      assert.ok(
        median(aging) > median(random),
        `${name}: aging median hypervolume ${median(aging)} is not above random's ${median(random)}`,
      );
    }
  });

  it('changes exactly one parameter of the parent, to another value of its distribution', async () => {
    const sampler = new AgingEvolutionSampler({ seed: 4, populationSize: 10, sampleSize: 3 });
    const study = await createStudy({ sampler });
    await study.optimize(mixed, { nTrials: 80 });
    const byNumber = new Map(study.trials.map((t) => [t.number, t]));
    let children = 0;
    const mutatedNames = new Set<string>();
    for (const t of study.trials) {
      const m = sampler.mutationOf(study.studyName, t.number);
      if (t.number < 10) {
        assert.equal(m, undefined, `trial ${t.number} should be random (population not full)`);
        continue;
      }
      assert.ok(m, `trial ${t.number} has no recorded parent`);
      const parent = byNumber.get(m.parent)!.params;
      const changed = Object.keys(t.params).filter((k) => t.params[k] !== parent[k]);
      assert.deepEqual(
        changed,
        [m.param],
        `trial ${t.number}: changed ${changed} against parent ${m.parent}`,
      );
      mutatedNames.add(m.param!);
      children++;
    }
    assert.equal(children, 70);
    assert.equal(mutatedNames.size, 6, `only ${[...mutatedNames]} were ever mutated`);
  });

  it('removes the oldest member: the best trial stops being a parent once P newer trials completed', async () => {
    const P = 6;
    // With sampleSize = P the tournament always picks the population's best; trial 0 is the best ever.
    const sampler = new AgingEvolutionSampler({ seed: 2, populationSize: P, sampleSize: P });
    const study = await createStudy({ sampler });
    await study.optimize((t) => (t.number === 0 ? -1 : 0) + t.suggestFloat('x', 0, 1), { nTrials: 20 });
    assert.equal(
      sampler.mutationOf(study.studyName, P)?.parent,
      0,
      'trial 0 should be the parent of trial P',
    );
    for (let n = P + 1; n < 20; n++) {
      const parent = sampler.mutationOf(study.studyName, n)!.parent;
      assert.ok(
        parent >= n - P && parent < n,
        `trial ${n}: parent ${parent} is not among the ${P} most recent`,
      );
    }
    const population = sampler.population({
      studyName: study.studyName,
      directions: study.directions,
      getTrials: (o) => study.trials.filter((t) => !o?.states || o.states.includes(t.state)),
      systemAttrs: {},
    });
    assert.deepEqual(
      population.map((t) => t.number),
      [14, 15, 16, 17, 18, 19],
    );
  });

  it('picks non-dominated parents with several objectives', async () => {
    const P = 8;
    const sampler = new AgingEvolutionSampler({ seed: 5, populationSize: P, sampleSize: P });
    const study = await createStudy({ sampler, directions: ['minimize', 'minimize'] });
    await study.optimize(
      (t) => {
        const x = t.suggestFloat('x', 0, 1);
        const y = t.suggestFloat('y', 0, 1);
        return [x, 1 - x + y];
      },
      { nTrials: 40 },
    );
    for (let n = P; n < 40; n++) {
      const parent = study.trials[sampler.mutationOf(study.studyName, n)!.parent];
      const population = study.trials.slice(n - P, n);
      const dominated = population.some((o) => dominates(o.values!, parent.values!));
      assert.ok(!dominated, `trial ${n}: parent ${parent.number} is dominated in its population`);
    }
  });

  it('reproduces a study with the same seed and differs with another', async () => {
    const run = async (seed: number) => {
      const study = await createStudy({ sampler: new AgingEvolutionSampler({ seed, populationSize: 5 }) });
      await study.optimize(mixed, { nTrials: 30 });
      return JSON.stringify(study.trials.map((t) => [t.params, t.values]));
    };
    assert.equal(await run(7), await run(7));
    assert.notEqual(await run(7), await run(8));
  });

  it('rejects bad options with one-line errors', () => {
    assert.throws(() => new AgingEvolutionSampler({ populationSize: 1 }), InvalidArgumentError);
    assert.throws(
      () => new AgingEvolutionSampler({ populationSize: 4, sampleSize: 5 }),
      InvalidArgumentError,
    );
    assert.throws(() => new AgingEvolutionSampler({ localStepProb: 2 }), InvalidArgumentError);
  });
});
