import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { dominates, hypervolume } from '../../src/core/multi-objective.js';
import { Random } from '../../src/core/random.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Trial } from '../../src/core/trial.js';
import {
  constrainedRanks,
  crowdingDistances,
  NSGAIISampler,
} from '../../src/samplers/nsga2/nsga2-sampler.js';
import { blxAlpha, polynomialMutation, sbx } from '../../src/samplers/nsga2/variation.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy, loadStudy } from '../../src/study/create.js';

/** ZDT1 in 10 dimensions, as in the shared benchmark functions (Pareto front f2 = 1 - sqrt(f1)). */
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

/** A mixed space: log float, log int, stepped float, stepped int, categorical. */
async function mixed(t: Trial): Promise<number> {
  const lr = t.suggestFloat('lr', 1e-5, 1e-1, { log: true });
  const units = t.suggestInt('units', 8, 512, { log: true });
  const drop = t.suggestFloat('drop', 0, 0.5, { step: 0.05 });
  const layers = t.suggestInt('layers', 1, 7, { step: 2 });
  const act = t.suggestCategorical('act', ['relu', 'gelu', 'tanh']);
  await new Promise((r) => setTimeout(r, Math.random() * 2));
  return (Math.log10(lr) + 3) ** 2 + units / 512 + drop + layers + (act === 'gelu' ? 0 : 1);
}

describe('NSGAIISampler', () => {
  it('beats random search on ZDT1 at 1000 trials: more hypervolume, and its front dominates random front', async () => {
    const nsga = await front(new NSGAIISampler({ seed: 0 }), 1000);
    const random = await front(new RandomSampler({ seed: 0 }), 1000);
    // Measured: about 118 against 106 (the Pareto front's hypervolume is 120.67).
    assert.ok(nsga.hv > random.hv + 5, `NSGA-II ${nsga.hv} vs random ${random.hv}`);
    const dominated = random.points.filter((r) => nsga.points.some((p) => dominates(p, r))).length;
    assert.ok(dominated / random.points.length > 0.9, `${dominated} of ${random.points.length} dominated`);
  });

  it('respects bounds, log, int, step and categorical parameters, reproducibly with concurrency 4', async () => {
    const run = async () => {
      const study = await createStudy({ sampler: new NSGAIISampler({ seed: 4, populationSize: 8 }) });
      await study.optimize(mixed, { nTrials: 60, concurrency: 4 });
      return study.trials;
    };
    const trials = await run();
    assert.ok(trials.every((t) => t.state === 'COMPLETE'));
    for (const t of trials) {
      const p = t.params as Record<string, number | string>;
      assert.ok((p.lr as number) >= 1e-5 && (p.lr as number) <= 1e-1);
      assert.ok(Number.isInteger(p.units) && (p.units as number) >= 8 && (p.units as number) <= 512);
      assert.ok(Math.abs(Math.round((p.drop as number) / 0.05) * 0.05 - (p.drop as number)) < 1e-9);
      assert.ok((p.drop as number) >= 0 && (p.drop as number) <= 0.5);
      assert.ok([1, 3, 5, 7].includes(p.layers as number));
      assert.ok(['relu', 'gelu', 'tanh'].includes(p.act as string));
    }
    assert.deepEqual(
      trials.map((t) => t.params),
      (await run()).map((t) => t.params),
    );
    const other = await createStudy({ sampler: new NSGAIISampler({ seed: 5, populationSize: 8 }) });
    await other.optimize(mixed, { nTrials: 20 });
    assert.notDeepEqual(
      other.trials.map((t) => t.params),
      trials.slice(0, 20).map((t) => t.params),
    );
  });

  it('resumes a study with a fresh sampler exactly as one sampler would have continued', async () => {
    const objective = (t: Trial) => zdt1(t);
    const whole = await createStudy({
      directions: ['minimize', 'minimize'],
      sampler: new NSGAIISampler({ seed: 9, populationSize: 10 }),
    });
    await whole.optimize(objective, { nTrials: 60 });
    const storage = new InMemoryStorage();
    const first = await createStudy({
      studyName: 'r',
      storage,
      directions: ['minimize', 'minimize'],
      sampler: new NSGAIISampler({ seed: 9, populationSize: 10 }),
    });
    await first.optimize(objective, { nTrials: 45 });
    // A second process: no cached parent populations, same history.
    const second = await loadStudy({
      studyName: 'r',
      storage,
      sampler: new NSGAIISampler({ seed: 9, populationSize: 10 }),
    });
    await second.optimize(objective, { nTrials: 15 });
    assert.deepEqual(
      (await second.getTrials()).map((t) => t.params),
      whole.trials.map((t) => t.params),
    );
  });

  it('keeps the front feasible under constraints and moves the population into the feasible region', async () => {
    // Feasible only when x0 + x1 <= 0.3: about 4.5% of the box.
    const constraints = (t: { params: Record<string, unknown> }) => [
      (t.params.x0 as number) + (t.params.x1 as number) - 0.3,
    ];
    const run = async (sampler: Sampler) => {
      const study = await createStudy({ directions: ['minimize', 'minimize'], sampler, constraints });
      await study.optimize(zdt1, { nTrials: 300 });
      return study;
    };
    const nsga = await run(new NSGAIISampler({ seed: 1, populationSize: 20 }));
    const random = await run(new RandomSampler({ seed: 1 }));
    const feasible = (t: { params: Record<string, unknown> }) => constraints(t)[0] <= 0;
    assert.ok(nsga.bestTrials.length > 0);
    assert.ok(nsga.bestTrials.every(feasible));
    const share = (trials: readonly { params: Record<string, unknown> }[]) =>
      trials.filter(feasible).length / trials.length;
    const late = share(nsga.trials.slice(200));
    assert.ok(late > 0.7, `the last generations are mostly feasible: ${late}`);
    assert.ok(share(random.trials) < 0.15, `random: ${share(random.trials)}`);
    assert.ok(
      hypervolume(
        nsga.bestTrials.map((t) => [...t.values!]),
        [11, 11],
      ) >
        hypervolume(
          random.bestTrials.map((t) => [...t.values!]),
          [11, 11],
        ),
    );
  });

  it('optimises a single objective better than random search', async () => {
    const sphere = (t: Trial) =>
      Array.from({ length: 5 }, (_, i) => (t.suggestFloat(`x${i}`, -5, 5) - 1) ** 2).reduce((a, b) => a + b);
    const best = async (sampler: Sampler) => {
      const study = await createStudy({ sampler });
      await study.optimize(sphere, { nTrials: 400 });
      return study.bestValue;
    };
    const nsga = await best(new NSGAIISampler({ seed: 2, populationSize: 20 }));
    const random = await best(new RandomSampler({ seed: 2 }));
    assert.ok(nsga < random / 3, `NSGA-II ${nsga} vs random ${random}`);
  });

  it('offers uniform and BLX-alpha crossover', async () => {
    for (const crossover of ['uniform', 'blxalpha'] as const) {
      const result = await front(new NSGAIISampler({ seed: 3, populationSize: 20, crossover }), 300);
      const random = await front(new RandomSampler({ seed: 3 }), 300);
      assert.ok(result.hv > random.hv, `${crossover}: ${result.hv} vs random ${random.hv}`);
    }
  });

  it('rejects invalid options with the option named', () => {
    const bad: [object, RegExp][] = [
      [{ populationSize: 1 }, /populationSize/],
      [{ populationSize: 2.5 }, /populationSize/],
      [{ mutationProb: 1.5 }, /mutationProb/],
      [{ crossoverProb: -0.1 }, /crossoverProb/],
      [{ swappingProb: 2 }, /swappingProb/],
      [{ crossover: 'spx' }, /crossover must be one of/],
      [{ sbxEta: -1 }, /sbxEta/],
      [{ mutationEta: Number.NaN }, /mutationEta/],
      [{ blxAlpha: -1 }, /blxAlpha/],
    ];
    for (const [options, message] of bad)
      assert.throws(
        () => new NSGAIISampler(options),
        (e: unknown) => {
          assert.ok(e instanceof InvalidArgumentError);
          assert.match(e.message, message);
          return true;
        },
      );
  });
});

describe('NSGA-II selection', () => {
  it('ranks feasible points by domination, then infeasible ones by total violation', () => {
    const points = [
      [1, 1],
      [0, 0], // infeasible, violation 2
      [2, 2],
      [5, 5], // infeasible, violation 0.5
      [0, 3],
      [9, 9], // infeasible, violation 2 (ties with point 1)
    ];
    const violations = [0, 2, 0, 0.5, 0, 2];
    assert.deepEqual(constrainedRanks(points, violations), [0, 3, 1, 2, 0, 3]);
  });

  it('gives boundary points infinite crowding distance and inner points their normalised gaps', () => {
    const d = crowdingDistances([
      [0, 4],
      [1, 3],
      [3, 1],
      [4, 0],
    ]);
    assert.equal(d[0], Number.POSITIVE_INFINITY);
    assert.equal(d[3], Number.POSITIVE_INFINITY);
    assert.ok(Math.abs(d[1] - (3 / 4 + 3 / 4)) < 1e-12);
    assert.ok(Math.abs(d[2] - (3 / 4 + 3 / 4)) < 1e-12);
    // An unbounded objective does not turn distances into NaN.
    const e = crowdingDistances([
      [0, 0],
      [1, Number.POSITIVE_INFINITY],
      [2, 5],
      [3, 1],
    ]);
    assert.ok(e.every((v) => !Number.isNaN(v)));
  });
});

describe('NSGA-II variation operators', () => {
  it('keep SBX, BLX-alpha and polynomial-mutation results within bounds (property test)', () => {
    const rng = new Random(3);
    for (let i = 0; i < 20000; i++) {
      const low = (rng.next() - 0.5) * 20;
      const high = low + (rng.bool(0.05) ? 0 : rng.next() * 10);
      // Parents anywhere in the box, on its bounds, or equal.
      const pick = () => (rng.bool(0.2) ? (rng.bool() ? low : high) : low + rng.next() * (high - low));
      const a = pick();
      const b = rng.bool(0.1) ? a : pick();
      const eta = rng.bool(0.1) ? 0 : rng.next() * 30;
      for (const v of [
        sbx(rng, a, b, low, high, eta),
        blxAlpha(rng, a, b, low, high, rng.next()),
        polynomialMutation(rng, a, low, high, eta),
      ]) {
        assert.ok(Number.isFinite(v) && v >= low && v <= high, `${v} outside [${low}, ${high}]`);
      }
    }
  });

  it('spread SBX children around the parents, closer for a larger distribution index', () => {
    const spread = (eta: number) => {
      const rng = new Random(1);
      let total = 0;
      for (let i = 0; i < 4000; i++) total += Math.abs(sbx(rng, 0.4, 0.6, -100, 100, eta) - 0.5);
      return total / 4000;
    };
    assert.ok(spread(20) < spread(2));
    assert.ok(
      spread(20) > 0.09 && spread(20) < 0.12,
      `eta 20 keeps children near the parents: ${spread(20)}`,
    );
    // Identical parents have nothing to recombine.
    assert.equal(sbx(new Random(1), 0.3, 0.3, 0, 1, 20), 0.3);
    // Polynomial mutation moves, and a large index keeps the move small.
    const rng = new Random(2);
    const moves = Array.from({ length: 2000 }, () => Math.abs(polynomialMutation(rng, 0.5, 0, 1, 20) - 0.5));
    assert.ok(moves.some((m) => m > 0));
    assert.ok(moves.reduce((a, b) => a + b) / moves.length < 0.05);
  });
});
