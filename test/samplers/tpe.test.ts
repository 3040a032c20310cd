import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FloatDistribution, type ParamValue } from '../../src/core/distributions.js';
import { InvalidArgumentError, TrialPruned } from '../../src/core/errors.js';
import type { FrozenTrial, TrialState } from '../../src/core/frozen-trial.js';
import { hypervolume, paretoFrontIndices } from '../../src/core/multi-objective.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Objective } from '../../src/core/study.js';
import type { StudyView } from '../../src/core/study-view.js';
import type { Trial } from '../../src/core/trial.js';
import { RandomSampler } from '../../src/samplers/random.js';
import {
  defaultGamma,
  defaultWeights,
  TPESampler,
  type TPESamplerOptions,
} from '../../src/samplers/tpe/tpe-sampler.js';
import { createStudy } from '../../src/study/create.js';

function sphere(trial: Trial, dims = 5): number {
  let s = 0;
  for (let i = 0; i < dims; i++) {
    const x = trial.suggestFloat(`x${i}`, -5, 5);
    s += x * x;
  }
  return s;
}

async function bestOf(sampler: Sampler, objective: Objective, nTrials: number): Promise<number> {
  const study = await createStudy({ sampler });
  await study.optimize(objective, { nTrials });
  return study.bestValue;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
}

const MODES: [string, TPESamplerOptions][] = [
  ['univariate', { multivariate: false }],
  ['multivariate', { multivariate: true, warnIndependentSampling: false }],
  ['group', { multivariate: true, group: true, warnIndependentSampling: false }],
];

/** Every kind of distribution, and `momentum` only when optimizer is "sgd". */
function mixedObjective(seen: Record<string, ParamValue>[]): Objective {
  return (trial) => {
    const p: Record<string, ParamValue> = {
      lr: trial.suggestFloat('lr', 1e-5, 1e-1, { log: true }),
      dropout: trial.suggestFloat('dropout', 0, 0.5, { step: 0.05 }),
      x: trial.suggestFloat('x', -3, 3),
      units: trial.suggestInt('units', 8, 256, { log: true }),
      layers: trial.suggestInt('layers', 1, 7, { step: 2 }),
      batch: trial.suggestInt('batch', 1, 4),
      optimizer: trial.suggestCategorical('optimizer', ['adam', 'sgd', 'rmsprop']),
    };
    if (p.optimizer === 'sgd') p.momentum = trial.suggestFloat('momentum', 0.5, 0.99);
    seen.push(p);
    let v = (Math.log10(p.lr as number) + 3) ** 2 + 10 * ((p.dropout as number) - 0.2) ** 2;
    v += ((p.x as number) - 0.5) ** 2 + (Math.log2(p.units as number) - 6) ** 2 / 4;
    v += ((p.layers as number) - 3) ** 2 / 8 + ((p.batch as number) - 2) ** 2;
    v += p.optimizer === 'adam' ? 0 : 0.3;
    if (p.optimizer === 'sgd') v += 4 * ((p.momentum as number) - 0.9) ** 2;
    return v;
  };
}

describe('TPESampler', () => {
  for (const [mode, options] of MODES) {
    it(`keeps values in bounds, on grids and among choices (${mode})`, async () => {
      const seen: Record<string, ParamValue>[] = [];
      const study = await createStudy({
        sampler: new TPESampler({ seed: 3, nStartupTrials: 5, ...options }),
      });
      await study.optimize(mixedObjective(seen), { nTrials: 60 });
      assert.equal(seen.length, 60);
      const onGrid = (v: number, low: number, step: number) =>
        Math.abs((v - low) / step - Math.round((v - low) / step)) < 1e-9;
      for (const p of seen) {
        const lr = p.lr as number;
        assert.ok(lr >= 1e-5 && lr <= 1e-1, `lr ${lr}`);
        const dropout = p.dropout as number;
        assert.ok(dropout >= 0 && dropout <= 0.5 && onGrid(dropout, 0, 0.05), `dropout ${dropout}`);
        const x = p.x as number;
        assert.ok(x >= -3 && x <= 3);
        const units = p.units as number;
        assert.ok(Number.isInteger(units) && units >= 8 && units <= 256, `units ${units}`);
        const layers = p.layers as number;
        assert.ok([1, 3, 5, 7].includes(layers), `layers ${layers}`);
        assert.ok([1, 2, 3, 4].includes(p.batch as number));
        assert.ok(['adam', 'sgd', 'rmsprop'].includes(p.optimizer as string));
        assert.equal('momentum' in p, p.optimizer === 'sgd');
        if (p.optimizer === 'sgd') assert.ok((p.momentum as number) >= 0.5 && (p.momentum as number) <= 0.99);
      }
      // TPE concentrates: later trials score better than the random start on this smooth space.
      const values = study.trials.map((t) => t.values![0]);
      assert.ok(median(values.slice(40)) < median(values.slice(0, 10)));
    });

    it(`gives the same trials for the same seed, also with concurrency 4 (${mode})`, async () => {
      const run = async (seed: number, concurrency: number) => {
        const study = await createStudy({ sampler: new TPESampler({ seed, nStartupTrials: 4, ...options }) });
        const seen: Record<string, ParamValue>[] = [];
        const objective = mixedObjective(seen);
        await study.optimize(
          async (trial) => {
            const v = await objective(trial);
            // Finish in a parameter-dependent order so concurrent trials interleave differently.
            await new Promise((r) => setTimeout(r, Math.floor(((v as number) * 997) % 4)));
            return v;
          },
          { nTrials: 24, concurrency },
        );
        return study.trials.map((t) => t.params);
      };
      assert.deepEqual(await run(7, 1), await run(7, 1));
      const concurrent = await run(7, 4);
      assert.deepEqual(concurrent, await run(7, 4));
      assert.notDeepEqual(concurrent, await run(8, 4));
    });

    it(`handles a conditional space (${mode})`, async () => {
      const study = await createStudy({
        sampler: new TPESampler({ seed: 5, nStartupTrials: 8, ...options }),
      });
      await study.optimize(
        (trial) => {
          const kind = trial.suggestCategorical('kind', ['a', 'b']);
          if (kind === 'a') {
            const x = trial.suggestFloat('a_x', -4, 4);
            return (x - 1) ** 2;
          }
          const n = trial.suggestInt('b_n', 0, 10);
          return 1 + Math.abs(n - 3);
        },
        { nTrials: 70 },
      );
      for (const t of study.trials) {
        const keys = Object.keys(t.params).sort();
        assert.deepEqual(keys, t.params.kind === 'a' ? ['a_x', 'kind'] : ['b_n', 'kind']);
      }
      // The better branch is found and refined.
      assert.equal(study.bestParams.kind, 'a');
      assert.ok(study.bestValue < 0.05, `best ${study.bestValue}`);
      const late = study.trials.slice(50);
      assert.ok(late.filter((t) => t.params.kind === 'a').length > late.length / 2);
    });
  }

  it('beats random search on a 5-D sphere', async () => {
    const tpe: number[] = [];
    const random: number[] = [];
    for (const seed of [0, 1, 2]) {
      tpe.push(await bestOf(new TPESampler({ seed }), (t) => sphere(t), 100));
      random.push(await bestOf(new RandomSampler({ seed }), (t) => sphere(t), 100));
    }
    assert.ok(median(tpe) < median(random) / 2, `tpe ${tpe} random ${random}`);
    const univariate: number[] = [];
    for (const seed of [0, 1, 2])
      univariate.push(await bestOf(new TPESampler({ seed, multivariate: false }), (t) => sphere(t), 100));
    assert.ok(median(univariate) < median(random), `univariate ${univariate} random ${random}`);
  });

  it('starts with the same uniform draws as RandomSampler', async () => {
    const params = async (sampler: Sampler) => {
      const study = await createStudy({ sampler });
      await study.optimize(
        (t) =>
          t.suggestFloat('x', 1e-3, 10, { log: true }) +
          t.suggestInt('n', 0, 9) +
          (t.suggestCategorical('c', [1, 2]) as number),
        { nTrials: 10 },
      );
      return study.trials.map((t) => t.params);
    };
    assert.deepEqual(
      await params(new TPESampler({ seed: 21 })),
      await params(new RandomSampler({ seed: 21 })),
    );
  });

  it('samples the whole univariate search space at ask time, so running trials show their parameters', async () => {
    const study = await createStudy({
      sampler: new TPESampler({ seed: 1, multivariate: false, nStartupTrials: 3 }),
    });
    await study.optimize((t) => t.suggestFloat('x', 0, 1) + t.suggestInt('k', 0, 5), { nTrials: 3 });
    const running = await study.ask();
    assert.deepEqual(Object.keys(running.relativeParams).sort(), ['k', 'x']);
    const x = running.suggestFloat('x', 0, 1);
    assert.equal(x, running.relativeParams.x);
  });

  it('counts running trials as bad observations with constantLiar', () => {
    // Good trials cluster at 0.3 and many running trials sit exactly there: the liar steers away.
    const trials: FrozenTrial[] = [];
    for (let i = 0; i < 40; i++) {
      const x = i < 8 ? 0.3 + (i - 4) * 0.002 : (i * 0.618) % 1;
      trials.push(makeTrial(i, 'COMPLETE', { x }, [Math.abs(x - 0.3)]));
    }
    for (let i = 40; i < 70; i++) trials.push(makeTrial(i, 'RUNNING', { x: 0.3 }, null));
    const current = makeTrial(70, 'RUNNING', {}, null);
    const view = makeView([...trials, current]);
    const closeCalls = (options: TPESamplerOptions) => {
      let close = 0;
      for (let seed = 0; seed < 20; seed++) {
        const sampler = new TPESampler({ seed, ...options });
        const x = sampler.sampleRelative(view, current, sampler.inferRelativeSearchSpace(view, current))
          .x as number;
        if (Math.abs(x - 0.3) < 0.03) close++;
      }
      return close;
    };
    // Optuna's bandwidths: l(x) is wider than the running trials' kernels in g(x).
    for (const options of [{ multivariate: false }, { multivariate: true, bandwidth: 'optuna' as const }]) {
      const without = closeCalls(options);
      const withLiar = closeCalls({ ...options, constantLiar: true });
      assert.ok(without >= 2 && withLiar === 0, `${JSON.stringify(options)}: ${without} vs ${withLiar}`);
    }
  });

  it('ranks pruned trials by the step they reached before their value', () => {
    // Fourteen trials pruned at step 2 (value 3) and fourteen pruned at step 0 with a better value.
    const proposals = (deepAt: number, shallowAt: number) => {
      const trials: FrozenTrial[] = [];
      for (let i = 0; i < 14; i++)
        trials.push(makeTrial(i, 'PRUNED', { x: deepAt + (i % 5) * 0.005 }, [3], { 0: 4, 1: 3.5, 2: 3 }));
      for (let i = 14; i < 28; i++)
        trials.push(makeTrial(i, 'PRUNED', { x: shallowAt + (i % 5) * 0.005 }, [0.1], { 0: 0.1 }));
      const current = makeTrial(28, 'RUNNING', {}, null);
      const view = makeView([...trials, current]);
      let nearDeep = 0;
      for (let seed = 0; seed < 20; seed++) {
        const sampler = new TPESampler({ seed, multivariate: false, gamma: (n) => Math.ceil(0.2 * n) });
        const x = sampler.sampleRelative(view, current, sampler.inferRelativeSearchSpace(view, current))
          .x as number;
        if (Math.abs(x - deepAt) < Math.abs(x - shallowAt)) nearDeep++;
      }
      return nearDeep;
    };
    assert.ok(proposals(0.2, 0.6) >= 18);
    assert.ok(proposals(0.6, 0.2) >= 18);
  });

  it('finds the best feasible point when the unconstrained optimum is infeasible', async () => {
    const run = async (sampler: Sampler) => {
      const study = await createStudy({
        sampler,
        // Feasible when x + y <= 2; the constrained optimum is (1, 1) with value 2.
        constraints: (t) => [(t.params.x as number) + (t.params.y as number) - 2],
      });
      await study.optimize(
        (t) => {
          const x = t.suggestFloat('x', -5, 5);
          const y = t.suggestFloat('y', -5, 5);
          return (x - 2) ** 2 + (y - 2) ** 2;
        },
        { nTrials: 100 },
      );
      return study;
    };
    const tpe = await run(new TPESampler({ seed: 4 }));
    const random = await run(new RandomSampler({ seed: 4 }));
    const best = tpe.bestTrial;
    assert.ok((best.params.x as number) + (best.params.y as number) <= 2);
    assert.ok(tpe.bestValue < 2.3, `best feasible ${tpe.bestValue}`);
    assert.ok(tpe.bestValue < random.bestValue);
    // Late trials hug the boundary instead of chasing the infeasible optimum at (2, 2).
    const late = tpe.trials.slice(50);
    const feasible = late.filter((t) => (t.params.x as number) + (t.params.y as number) <= 2).length;
    assert.ok(feasible >= late.length / 3, `${feasible} feasible of ${late.length}`);
  });

  it('finds a better Pareto front than random search on two objectives (MOTPE)', async () => {
    const front = async (sampler: Sampler) => {
      const study = await createStudy({ directions: ['minimize', 'minimize'], sampler });
      await study.optimize(
        (t) => {
          const x = [0, 1, 2, 3].map((i) => t.suggestFloat(`x${i}`, 0, 1));
          const g = 1 + (9 * (x[1] + x[2] + x[3])) / 3;
          return [x[0], g * (1 - Math.sqrt(x[0] / g))];
        },
        { nTrials: 80 },
      );
      const points = study.trials.map((t) => [...t.values!]);
      return hypervolume(
        paretoFrontIndices(points).map((i) => points[i]),
        [11, 11],
      );
    };
    const tpe: number[] = [];
    const random: number[] = [];
    for (const seed of [0, 1, 2]) {
      tpe.push(await front(new TPESampler({ seed })));
      random.push(await front(new RandomSampler({ seed })));
    }
    assert.ok(median(tpe) > median(random), `tpe ${tpe} random ${random}`);
  });

  it('keeps working when trials fail or are pruned without reports', async () => {
    const study = await createStudy({ sampler: new TPESampler({ seed: 2, nStartupTrials: 3 }) });
    await study.optimize(
      (t) => {
        const x = t.suggestFloat('x', 0, 1);
        if (t.number % 5 === 1) throw new Error('boom');
        if (t.number % 5 === 2) throw new TrialPruned();
        return x;
      },
      { nTrials: 30 },
    );
    const states = new Set(study.trials.map((t) => t.state));
    assert.deepEqual([...states].sort(), ['COMPLETE', 'FAIL', 'PRUNED']);
    assert.ok(study.bestValue < 0.2);
  });

  it('maximizes when the study maximizes', async () => {
    const study = await createStudy({ direction: 'maximize', sampler: new TPESampler({ seed: 6 }) });
    await study.optimize((t) => -sphere(t, 2), { nTrials: 60 });
    assert.ok(study.bestValue > -0.5, `best ${study.bestValue}`);
  });

  it('rejects invalid options with the option name', () => {
    assert.throws(() => new TPESampler({ nStartupTrials: -1 }), InvalidArgumentError);
    assert.throws(() => new TPESampler({ nEiCandidates: 0 }), /nEiCandidates/);
    assert.throws(() => new TPESampler({ priorWeight: 0 }), /priorWeight/);
    assert.throws(() => new TPESampler({ multivariate: false, group: true }), /group requires multivariate/);
    assert.throws(() => new TPESampler({ seed: Number.NaN }), /seed/);
  });

  it('reports a gamma or weights function that returns nonsense', async () => {
    const badGamma = await createStudy({
      sampler: new TPESampler({ seed: 0, nStartupTrials: 2, gamma: () => -1 }),
    });
    await assert.rejects(
      badGamma.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 4, catch: [] }),
      /gamma must return/,
    );
    const badWeights = await createStudy({
      sampler: new TPESampler({ seed: 0, nStartupTrials: 2, weights: (n) => new Array(n).fill(Number.NaN) }),
    });
    await assert.rejects(
      badWeights.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 4, catch: [] }),
      /weights must be finite/,
    );
  });

  it("follows Optuna's default gamma and weights", () => {
    assert.deepEqual([0, 1, 10, 11, 100, 1000].map(defaultGamma), [0, 1, 1, 2, 10, 25]);
    assert.deepEqual([...defaultWeights(3)], [1, 1, 1]);
    const w = defaultWeights(30);
    assert.equal(w.length, 30);
    assert.ok(Math.abs(w[0] - 1 / 30) < 1e-12);
    assert.equal(w[4], 1);
    assert.ok(w[1] > w[0] && w[3] > w[2]);
    assert.deepEqual([...w.slice(5)], new Array(25).fill(1));
  });
});

function makeTrial(
  number: number,
  state: TrialState,
  params: Record<string, number>,
  values: number[] | null,
  intermediateValues: Record<number, number> = {},
): FrozenTrial {
  const distributions: FrozenTrial['distributions'] = {};
  for (const name of Object.keys(params)) (distributions as Record<string, FloatDistribution>)[name] = X_DIST;
  return {
    trialId: number,
    number,
    state,
    values,
    params,
    distributions,
    userAttrs: {},
    systemAttrs: {},
    intermediateValues,
    datetimeStart: null,
    datetimeComplete: null,
  };
}

const X_DIST = new FloatDistribution(0, 1);

function makeView(trials: FrozenTrial[]): StudyView {
  return {
    studyName: `view-${Math.random()}`,
    directions: ['minimize'],
    systemAttrs: {},
    getTrials: (options = {}) =>
      options.states ? trials.filter((t) => options.states!.includes(t.state)) : trials,
  };
}
