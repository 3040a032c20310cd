import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Objective } from '../../src/core/study.js';
import { CmaState } from '../../src/samplers/cmaes/cma.js';
import { CmaEsSampler } from '../../src/samplers/cmaes/cmaes-sampler.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy, loadStudy } from '../../src/study/create.js';
import { captureWarnings } from '../helpers/warnings.js';

const sphere = (dim: number): Objective => {
  return (t) => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += (t.suggestFloat(`x${i}`, -5, 5) - 1) ** 2;
    return s;
  };
};

/** Ill-conditioned (condition 1e4) and rotated, so a diagonal or isotropic search cannot cheat. */
const rotatedEllipsoid: Objective = (t) => {
  const x = Array.from({ length: 5 }, (_, i) => t.suggestFloat(`x${i}`, -5, 5) - 0.5);
  let s = 0;
  for (let i = 0; i < 5; i++) {
    const zi = i + 1 < 5 ? (x[i] + x[i + 1]) / Math.SQRT2 : x[i];
    s += 10 ** (i - 1) * zi * zi;
  }
  return s;
};

const rastrigin2: Objective = (t) => {
  const x = [t.suggestFloat('x0', -5.12, 5.12), t.suggestFloat('x1', -5.12, 5.12)];
  return 20 + x.reduce((a, v) => a + v * v - 10 * Math.cos(2 * Math.PI * v), 0);
};

async function run(sampler: Sampler, objective: Objective, nTrials: number, concurrency = 1) {
  const study = await createStudy({ sampler });
  await study.optimize(objective, { nTrials, concurrency });
  return study;
}

describe('CmaState', () => {
  it('keeps the covariance symmetric positive definite and samples inside the unit box', () => {
    const cma = new CmaState({ mean: Float64Array.from([0.5, 0.2, 0.9]), sigma: 0.3, popsize: 8 });
    const rng = new Random(1);
    for (let g = 0; g < 30; g++) {
      const xs = Array.from({ length: 8 }, () => cma.sample(rng));
      for (const x of xs) assert.ok(x.every((v) => v >= 0 && v <= 1));
      cma.tell(xs.map((x) => ({ x, value: (x[0] - 0.3) ** 2 + 10 * (x[1] - x[2]) ** 2 })));
      assert.ok(cma.d.every((v) => v > 0));
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) assert.equal(cma.cov[i * 3 + j], cma.cov[j * 3 + i]);
    }
    assert.throws(() => cma.tell([]), RangeError);
  });
});

describe('CmaEsSampler', () => {
  it('rejects bad options', () => {
    assert.throws(() => new CmaEsSampler({ sigma0: 0 }), InvalidArgumentError);
    assert.throws(() => new CmaEsSampler({ popsize: 1 }), InvalidArgumentError);
    assert.throws(() => new CmaEsSampler({ incPopsize: 0.5 }), InvalidArgumentError);
    assert.throws(() => new CmaEsSampler({ nStartupTrials: -1 }), InvalidArgumentError);
    assert.throws(() => new CmaEsSampler({ restartStrategy: 'nope' as 'ipop' }), InvalidArgumentError);
    assert.throws(() => new CmaEsSampler({ x0: { a: Number.NaN } }), InvalidArgumentError);
  });

  it('keeps log, int and stepped parameters in their domains', async () => {
    const study = await run(
      new CmaEsSampler({ seed: 1 }),
      (t) => {
        const lr = t.suggestFloat('lr', 1e-5, 1, { log: true });
        const units = t.suggestInt('units', 4, 512, { log: true });
        const depth = t.suggestInt('depth', 1, 8);
        const drop = t.suggestFloat('drop', 0, 0.5, { step: 0.05 });
        return (Math.log10(lr) + 5) ** 2 + (units - 4) ** 2 / 100 + (depth - 8) ** 2 + drop;
      },
      120,
    );
    for (const t of study.trials)
      for (const [name, value] of Object.entries(t.params)) {
        const d = t.distributions[name];
        assert.ok(d.contains(d.toInternal(value)), `${name}=${value}`);
      }
    // The corners of the box are reachable: the optimum is at lr = 1e-5, units = 4, depth = 8, drop = 0.
    assert.ok(study.bestValue < 0.5, `best ${study.bestValue}`);
  });

  it('is reproducible with a seed, also with 4 concurrent trials', async () => {
    const objective: Objective = async (t) => {
      const v =
        (t.suggestFloat('x', -5, 5) - 1) ** 2 + t.suggestFloat('y', -5, 5) ** 2 + t.suggestInt('k', 0, 9);
      await new Promise((r) => setTimeout(r, (t.number * 13) % 4));
      return v;
    };
    const params = async (concurrency: number) =>
      (await run(new CmaEsSampler({ seed: 5 }), objective, 40, concurrency)).trials.map((t) => t.params);
    assert.deepEqual(await params(1), await params(1));
    const concurrent = await params(4);
    assert.deepEqual(concurrent, await params(4));
    // Trials of one generation are distinct draws even when asked from the same state.
    assert.equal(new Set(concurrent.map((p) => JSON.stringify(p))).size, concurrent.length);
  });

  it('converges on a 5-D sphere and a rotated ellipsoid far better than random search', async () => {
    for (const objective of [sphere(5), rotatedEllipsoid]) {
      const cma = (await run(new CmaEsSampler({ seed: 3 }), objective, 300)).bestValue;
      const random = (await run(new RandomSampler({ seed: 3 }), objective, 300)).bestValue;
      assert.ok(cma < random / 100, `CMA-ES ${cma} vs random ${random}`);
    }
  });

  it('learns a separable problem with the diagonal variant', async () => {
    const cma = (await run(new CmaEsSampler({ seed: 4, useSeparableCma: true }), sphere(5), 300)).bestValue;
    const random = (await run(new RandomSampler({ seed: 4 }), sphere(5), 300)).bestValue;
    assert.ok(cma < random / 100, `sep-CMA-ES ${cma} vs random ${random}`);
  });

  it('works on a single parameter and on maximisation', async () => {
    const study = await createStudy({ direction: 'maximize', sampler: new CmaEsSampler({ seed: 2 }) });
    await study.optimize((t) => -((t.suggestFloat('x', -10, 10) - 3) ** 2), { nTrials: 80 });
    assert.ok(study.bestValue > -1e-3, `best ${study.bestValue}`);
  });

  it('samples categorical parameters with the independent sampler', async () => {
    const sampler = new CmaEsSampler({ seed: 6 });
    const { result: study, warnings } = await captureWarnings(() =>
      run(
        sampler,
        (t) => {
          const x = t.suggestFloat('x', -1, 1);
          const kind = t.suggestCategorical('kind', ['a', 'b', 'c']);
          return x * x + (kind === 'b' ? 0 : 1);
        },
        40,
      ),
    );
    const status = sampler.inspect(study);
    assert.deepEqual(Object.keys(status!.mean), ['x']);
    assert.equal(new Set(study.trials.map((t) => t.params.kind)).size, 3);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].code, 'INDEPENDENT_SAMPLING');
    assert.match(warnings[0].message, /"kind".*categorical/);
  });

  it('starts from x0 with step sigma0', async () => {
    const study = await run(
      new CmaEsSampler({ seed: 7, x0: { a: 8, b: -8 }, sigma0: 0.01, nStartupTrials: 0 }),
      (t) => (t.suggestFloat('a', -10, 10) - 8) ** 2 + (t.suggestFloat('b', -10, 10) + 8) ** 2,
      10,
    );
    // sigma0 = 0.01 of a range of 20: samples stay within a few tenths of x0.
    for (const t of study.trials.slice(1)) {
      assert.ok(Math.abs((t.params.a as number) - 8) < 1, `a=${t.params.a}`);
      assert.ok(Math.abs((t.params.b as number) + 8) < 1, `b=${t.params.b}`);
    }
  });

  it('rebuilds the same state from the stored trials of a loaded study', async () => {
    // Two identical histories; the second is reloaded into a fresh sampler with an empty cache.
    const next = async (reload: boolean) => {
      const storage = new InMemoryStorage();
      const live = new CmaEsSampler({ seed: 8, restartStrategy: 'ipop' });
      const study = await createStudy({ storage, studyName: 's', sampler: live });
      await study.optimize(sphere(4), { nTrials: 70 });
      if (!reload) return { status: live.inspect(study), params: (await study.ask()).relativeParams };
      const fresh = new CmaEsSampler({ seed: 8, restartStrategy: 'ipop' });
      const loaded = await loadStudy({ storage, studyName: 's', sampler: fresh });
      return { status: fresh.inspect(loaded), params: (await loaded.ask()).relativeParams };
    };
    const live = await next(false);
    assert.ok(live.status && live.status.generation >= 7);
    assert.equal(Object.keys(live.params).length, 4);
    assert.deepEqual(await next(true), live);
  });

  it('answers for an earlier history after many generations, as a fresh sampler would', async () => {
    const live = new CmaEsSampler({ seed: 3 });
    const study = await run(live, sphere(2), 260);
    const final = live.inspect(study);
    assert.ok(final && final.generation > 40);
    // A view of the first 60 trials needs generations whose full states were dropped from memory.
    const early = {
      studyName: study.studyName,
      directions: study.directions,
      trials: study.trials.slice(0, 60),
    };
    assert.deepEqual(live.inspect(early), new CmaEsSampler({ seed: 3 }).inspect(early));
    assert.deepEqual(live.inspect(study), final);
  });

  it('restarts on a multimodal function, doubling the population with IPOP', async () => {
    const sampler = new CmaEsSampler({ seed: 1, restartStrategy: 'ipop' });
    const study = await run(sampler, rastrigin2, 800);
    const status = sampler.inspect(study)!;
    assert.ok(status.restarts >= 1, `restarts ${status.restarts}`);
    assert.equal(status.popsize, 6 * 2 ** status.restarts);
  });

  it('alternates small and large populations with BIPOP', async () => {
    const sampler = new CmaEsSampler({ seed: 1, restartStrategy: 'bipop' });
    const study = await run(sampler, rastrigin2, 800);
    const status = sampler.inspect(study)!;
    assert.ok(status.restarts >= 1);
    // The first restart is a small-population run (its budget so far is below the large one's).
    assert.ok(status.popsize <= 6, `popsize ${status.popsize}`);
  });

  it('keeps integer parameters moving with a margin', async () => {
    const objective: Objective = (t) => {
      const a = t.suggestInt('a', -10, 10);
      const b = t.suggestInt('b', -10, 10);
      const c = t.suggestFloat('c', -1, 1);
      return (a - 3) ** 2 + (b + 2) ** 2 + c * c;
    };
    const moved = async (withMargin: boolean) => {
      const study = await run(new CmaEsSampler({ seed: 2, withMargin }), objective, 400);
      assert.deepEqual({ a: study.bestParams.a, b: study.bestParams.b }, { a: 3, b: -2 });
      return study.trials.slice(-100).filter((t) => t.params.a !== 3 || t.params.b !== -2).length;
    };
    // Plain CMA-ES freezes the integers once sigma is below the grid spacing; the margin keeps a
    // few percent of samples on neighbouring values.
    assert.equal(await moved(false), 0);
    assert.ok((await moved(true)) >= 3);
  });

  it('refuses multi-objective studies', async () => {
    const study = await createStudy({
      directions: ['minimize', 'minimize'],
      sampler: new CmaEsSampler({ seed: 1 }),
    });
    await assert.rejects(
      study.optimize((t) => [t.suggestFloat('x', 0, 1), t.suggestFloat('y', 0, 1)], { nTrials: 2 }),
      InvalidArgumentError,
    );
  });
});
