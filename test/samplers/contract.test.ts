/**
 * The sampler contract, run against every sampler: what a user relies on whichever sampler they pick.
 *
 * - Suggested values stay within their distributions: bounds, log scale, step grid, integers,
 *   categorical choices, and a conditional parameter appears exactly when its condition holds.
 * - The same seed gives the same trials, serially and with `concurrency: 3` on an async objective
 *   whose trials finish in a random order; another seed gives other trials.
 * - Trials that throw (before or after suggesting) and trials pruned after reporting do not break
 *   the sampler.
 * - Multi-objective studies work, or fail at ask time with an InvalidArgumentError (documented per
 *   sampler below).
 *
 * Implementations are loaded by path so the suite can run while some samplers are still being
 * written: a missing module skips its tests, except under CI, where it fails them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadOptionalExport, missingIsFatal } from '../../bench/lib/load.js';
import type { ParamValue } from '../../src/core/distributions.js';
import { InvalidArgumentError, TrialPruned } from '../../src/core/errors.js';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Objective, Study } from '../../src/core/study.js';
import type { Trial } from '../../src/core/trial.js';
import { createStudy } from '../../src/study/create.js';

// ---------------------------------------------------------------------------------------------
// Search spaces

type ParamSpec =
  | { kind: 'float' | 'int'; low: number; high: number; log?: boolean; step?: number }
  | { kind: 'categorical'; choices: readonly (string | number | boolean | null)[] };

/** A space with every kind of distribution; `momentum` only exists when optimizer is "sgd". */
const MIXED: Record<string, ParamSpec> = {
  lr: { kind: 'float', low: 1e-5, high: 1e-1, log: true },
  dropout: { kind: 'float', low: 0, high: 0.5, step: 0.05 },
  x: { kind: 'float', low: -3, high: 3 },
  units: { kind: 'int', low: 8, high: 256, log: true },
  layers: { kind: 'int', low: 1, high: 7, step: 2 },
  optimizer: { kind: 'categorical', choices: ['adam', 'sgd', 'rmsprop'] },
  momentum: { kind: 'float', low: 0.5, high: 0.99 },
};
const UNCONDITIONAL = ['lr', 'dropout', 'x', 'units', 'layers', 'optimizer'];

/** GridSampler only proposes grid values; every value lies in the matching MIXED distribution. */
const GRID: Record<string, ParamValue[]> = {
  lr: [1e-4, 1e-3, 1e-2],
  dropout: [0, 0.25, 0.5],
  x: [-1, 2],
  units: [16, 128],
  layers: [1, 5],
  optimizer: ['adam', 'sgd'],
  momentum: [0.9, 0.95],
};

function suggest(trial: Trial, name: string): ParamValue {
  const spec = MIXED[name];
  if (spec.kind === 'categorical') return trial.suggestCategorical(name, spec.choices);
  const options = { log: spec.log, step: spec.step };
  return spec.kind === 'int'
    ? trial.suggestInt(name, spec.low, spec.high, options)
    : trial.suggestFloat(name, spec.low, spec.high, options);
}

/** A smooth function of the mixed space with its optimum inside (lr 1e-3, dropout 0.2, x 0.5...). */
function lossOf(p: Record<string, ParamValue>): number {
  let v = (Math.log10(p.lr as number) + 3) ** 2;
  v += 10 * ((p.dropout as number) - 0.2) ** 2 + ((p.x as number) - 0.5) ** 2;
  v += (Math.log2(p.units as number) - 6) ** 2 / 4 + ((p.layers as number) - 3) ** 2 / 8;
  v += p.optimizer === 'adam' ? 0 : p.optimizer === 'sgd' ? 0.2 : 0.5;
  if (p.optimizer === 'sgd') v += 4 * ((p.momentum as number) - 0.9) ** 2;
  return v;
}

function suggestAll(trial: Trial, names = UNCONDITIONAL): Record<string, ParamValue> {
  const p: Record<string, ParamValue> = {};
  for (const name of names) p[name] = suggest(trial, name);
  if (names.includes('optimizer') && p.optimizer === 'sgd') p.momentum = suggest(trial, 'momentum');
  return p;
}

const mixedObjective: Objective = (trial) => lossOf(suggestAll(trial));

// ---------------------------------------------------------------------------------------------
// Implementations

type SamplerClass = new (...args: never[]) => Sampler;

interface Implementation {
  name: string;
  /** Module and class each implementation needs, relative to the repository root. */
  needs: { module: string; exportName: string }[];
  make(classes: SamplerClass[], seed: number): Sampler;
  /** Trials per study (GP is the slow one). */
  trials: number;
  /** Multi-objective studies: 'supported', or why the sampler rejects them. */
  multiObjective: 'supported' | { rejects: string };
  /** Grid: values come from GRID, and the mixed continuous space does not apply. */
  grid?: boolean;
  /** Parameters the sampler pins (PartialFixedSampler). */
  fixed?: Record<string, ParamValue>;
}

const RANDOM = { module: 'src/samplers/random.js', exportName: 'RandomSampler' };
const TPE = { module: 'src/samplers/tpe/tpe-sampler.js', exportName: 'TPESampler' };
const GP = { module: 'src/samplers/gp/gp-sampler.js', exportName: 'GPSampler' };
const CMAES = { module: 'src/samplers/cmaes/cmaes-sampler.js', exportName: 'CmaEsSampler' };
const QMC = { module: 'src/samplers/qmc/qmc-sampler.js', exportName: 'QMCSampler' };
const NSGA2 = { module: 'src/samplers/nsga2/nsga2-sampler.js', exportName: 'NSGAIISampler' };
const AGING = { module: 'src/samplers/aging-evolution.js', exportName: 'AgingEvolutionSampler' };
const REINFORCE = { module: 'src/samplers/reinforce.js', exportName: 'ReinforceSampler' };
const GRID_SAMPLER = { module: 'src/samplers/grid.js', exportName: 'GridSampler' };
const PARTIAL_FIXED = { module: 'src/samplers/partial-fixed.js', exportName: 'PartialFixedSampler' };

// biome-ignore lint/suspicious/noExplicitAny: constructors are loaded by path and typed per call
type AnyClass = new (...args: any[]) => Sampler;
const as = (c: SamplerClass) => c as unknown as AnyClass;

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: 'RandomSampler',
    needs: [RANDOM],
    make: ([C], seed) => new (as(C))({ seed }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'TPESampler (univariate)',
    needs: [TPE],
    make: ([C], seed) => new (as(C))({ seed, multivariate: false }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'TPESampler (multivariate)',
    needs: [TPE],
    make: ([C], seed) => new (as(C))({ seed, multivariate: true, warnIndependentSampling: false }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    // The option made for concurrency: running trials count as bad observations.
    name: 'TPESampler (multivariate, constantLiar)',
    needs: [TPE],
    make: ([C], seed) => new (as(C))({ seed, constantLiar: true, warnIndependentSampling: false }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'GPSampler',
    needs: [GP],
    make: ([C], seed) => new (as(C))({ seed, nStartupTrials: 5 }),
    trials: 16,
    multiObjective: 'supported',
  },
  {
    name: 'CmaEsSampler',
    needs: [CMAES],
    make: ([C], seed) => new (as(C))({ seed, warnIndependentSampling: false }),
    trials: 40,
    multiObjective: { rejects: 'CMA-ES evolves one objective; Optuna 3.1 also refuses several' },
  },
  {
    name: 'QMCSampler',
    needs: [QMC],
    make: ([C], seed) => new (as(C))({ seed }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'NSGAIISampler',
    needs: [NSGA2],
    // A small population so 40 trials go through several generations of crossover and mutation.
    make: ([C], seed) => new (as(C))({ seed, populationSize: 10 }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'AgingEvolutionSampler',
    needs: [AGING],
    // A small population so most of the 40 trials are mutated children, not random ones.
    make: ([C], seed) => new (as(C))({ seed, populationSize: 8, sampleSize: 3 }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'ReinforceSampler',
    needs: [REINFORCE],
    // Small batches so the 40 trials make several policy updates.
    make: ([C], seed) => new (as(C))({ seed, batchSize: 3 }),
    trials: 40,
    multiObjective: 'supported',
  },
  {
    name: 'GridSampler',
    needs: [GRID_SAMPLER],
    make: ([C], seed) => new (as(C))(GRID, { seed }),
    trials: 40,
    multiObjective: 'supported',
    grid: true,
  },
  {
    name: 'PartialFixedSampler(TPESampler)',
    needs: [PARTIAL_FIXED, TPE],
    make: ([P, T], seed) => new (as(P))({ units: 64, x: 0.5 }, new (as(T))({ seed })),
    trials: 40,
    multiObjective: 'supported',
    fixed: { units: 64, x: 0.5 },
  },
];

interface Loaded {
  impl: Implementation;
  classes: SamplerClass[] | null;
  missing: string[];
}

const loaded: Loaded[] = [];
for (const impl of IMPLEMENTATIONS) {
  const classes: SamplerClass[] = [];
  const missing: string[] = [];
  for (const need of impl.needs) {
    const r = await loadOptionalExport<SamplerClass>(need.module, need.exportName);
    if (r.status === 'ok') classes.push(r.value);
    else missing.push(r.path);
  }
  loaded.push({ impl, classes: missing.length === 0 ? classes : null, missing });
}

// ---------------------------------------------------------------------------------------------
// Checks

function checkValue(name: string, value: ParamValue, where: string): void {
  const spec = MIXED[name];
  assert.ok(spec, `${where}: unexpected parameter "${name}"`);
  if (spec.kind === 'categorical') {
    assert.ok(spec.choices.includes(value as string), `${where}: ${name}=${String(value)} is not a choice`);
    return;
  }
  assert.equal(typeof value, 'number', `${where}: ${name} is not a number`);
  const v = value as number;
  assert.ok(Number.isFinite(v), `${where}: ${name}=${v} is not finite`);
  assert.ok(v >= spec.low && v <= spec.high, `${where}: ${name}=${v} outside [${spec.low}, ${spec.high}]`);
  if (spec.kind === 'int') assert.ok(Number.isInteger(v), `${where}: ${name}=${v} is not an integer`);
  if (spec.step !== undefined) {
    const k = (v - spec.low) / spec.step;
    assert.ok(Math.abs(k - Math.round(k)) < 1e-8, `${where}: ${name}=${v} is off the step-${spec.step} grid`);
  }
}

/** Every value of a trial lies in its distribution, the conditional parameter follows its condition. */
function checkTrial(impl: Implementation, t: FrozenTrial, names = UNCONDITIONAL): void {
  const where = `${impl.name}, trial ${t.number}`;
  for (const [name, value] of Object.entries(t.params)) {
    checkValue(name, value, where);
    if (impl.grid)
      assert.ok(GRID[name].includes(value), `${where}: ${name}=${String(value)} is not in the grid`);
    if (impl.fixed && name in impl.fixed)
      assert.equal(value, impl.fixed[name], `${where}: ${name} should be fixed to ${impl.fixed[name]}`);
  }
  if (t.state === 'COMPLETE') {
    for (const name of names) assert.ok(name in t.params, `${where}: ${name} missing`);
    if (names.includes('optimizer'))
      assert.equal(
        'momentum' in t.params,
        t.params.optimizer === 'sgd',
        `${where}: momentum is conditional on sgd`,
      );
  }
}

/** Not stuck on one point: the sampler keeps proposing new values. */
function checkExplores(impl: Implementation, trials: readonly FrozenTrial[]): void {
  const distinct = (name: string) =>
    new Set(trials.filter((t) => name in t.params).map((t) => t.params[name])).size;
  const want = impl.grid ? 2 : Math.min(8, Math.floor(trials.length / 4));
  assert.ok(
    distinct('lr') >= want,
    `${impl.name}: only ${distinct('lr')} distinct lr values in ${trials.length} trials`,
  );
  assert.ok(distinct('optimizer') >= 2, `${impl.name}: always the same optimizer`);
}

/**
 * The trials that ran, in number order. A sampler may enqueue WAITING trials of its own (GridSampler
 * enqueues its grid), so the study can hold more trials than `optimize` ran.
 */
function ran(study: Study): FrozenTrial[] {
  return study.trials.filter((t) => t.state !== 'WAITING').sort((a, b) => a.number - b.number);
}

/** Trial number, state, parameters (sorted) and values: what "the same trials" means. */
function fingerprint(study: Study): string {
  return JSON.stringify(
    ran(study).map((t) => [
      t.number,
      t.state,
      Object.keys(t.params)
        .sort()
        .map((k) => [k, t.params[k]]),
      t.values,
    ]),
  );
}

async function newStudy(impl: Implementation, classes: SamplerClass[], seed: number, objectives = 1) {
  return createStudy({
    directions: objectives === 1 ? ['minimize'] : ['minimize', 'maximize'],
    sampler: impl.make(classes, seed),
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The suite

for (const { impl, classes, missing } of loaded) {
  const fatal = missing.length > 0 && missingIsFatal();
  const skip = missing.length > 0 && !fatal ? 'module not written yet' : false;
  /** Runs `body` with the sampler classes; fails under CI when a module is missing. */
  const test = (title: string, body: (c: SamplerClass[]) => Promise<void>, reason: string | false = skip) =>
    it(title, { skip: reason }, async () => {
      if (classes === null) assert.fail(`${impl.name}: module not written: ${missing.join(', ')}`);
      await body(classes);
    });

  describe(`sampler contract: ${impl.name}`, () => {
    if (impl.grid)
      test(
        'samples the mixed continuous space',
        async () => {},
        'GridSampler only proposes the values of its grid; the tests below run over a grid of the same kinds of parameters',
      );
    else
      test('keeps values within bounds, log, step, int, categorical and conditional parameters', async (c) => {
        const study = await newStudy(impl, c, 1);
        await study.optimize(mixedObjective, { nTrials: impl.trials });
        assert.equal(ran(study).length, impl.trials);
        for (const t of ran(study)) {
          assert.equal(t.state, 'COMPLETE', `trial ${t.number}: ${String(t.systemAttrs.failReason)}`);
          checkTrial(impl, t);
        }
        checkExplores(impl, ran(study));
      });

    if (impl.grid)
      test('proposes grid values that lie in their distributions, conditional ones included', async (c) => {
        const study = await newStudy(impl, c, 1);
        await study.optimize(mixedObjective, { nTrials: impl.trials });
        assert.equal(ran(study).length, impl.trials);
        for (const t of ran(study)) {
          assert.equal(t.state, 'COMPLETE', `trial ${t.number}: ${String(t.systemAttrs.failReason)}`);
          checkTrial(impl, t);
        }
        checkExplores(impl, ran(study));
      });

    test('gives the same trials for the same seed and other trials for another seed', async (c) => {
      const runs: string[] = [];
      for (const seed of [7, 7, 8]) {
        const study = await newStudy(impl, c, seed);
        await study.optimize(mixedObjective, { nTrials: impl.trials });
        runs.push(fingerprint(study));
      }
      assert.equal(runs[1], runs[0], 'two runs with seed 7 differ');
      assert.notEqual(runs[2], runs[0], 'seeds 7 and 8 gave the same trials');
    });

    test('gives the same trials for the same seed with concurrency 3 and an async objective', async (c) => {
      let running = 0;
      let maxRunning = 0;
      // Two runs with opposite schedules: trials started together finish in start order in the
      // first run and in reverse order in the second, so each trial is asked while a different set
      // of its predecessors has finished. Suggestions on both sides of an await make concurrent
      // trials interleave their independent sampling.
      const objectiveFor = (reverse: boolean): Objective => {
        let calls = 0;
        return async (trial) => {
          const slot = calls++ % 3;
          running++;
          maxRunning = Math.max(maxRunning, running);
          try {
            const p = suggestAll(trial, ['lr', 'x', 'units']);
            await new Promise((resolve) => setImmediate(resolve));
            Object.assign(p, suggestAll(trial, ['dropout', 'layers', 'optimizer']));
            await delay(4 * (reverse ? 2 - slot : slot));
            return lossOf(p);
          } finally {
            running--;
          }
        };
      };
      const runs: string[] = [];
      for (let r = 0; r < 2; r++) {
        const study = await newStudy(impl, c, 11);
        await study.optimize(objectiveFor(r === 1), { nTrials: impl.trials, concurrency: 3 });
        assert.equal(ran(study).length, impl.trials);
        for (const t of ran(study)) {
          assert.equal(t.state, 'COMPLETE', `trial ${t.number}: ${String(t.systemAttrs.failReason)}`);
          checkTrial(impl, t);
        }
        runs.push(fingerprint(study));
      }
      assert.ok(maxRunning >= 2, `trials never overlapped (max ${maxRunning} at once)`);
      assert.equal(runs[1], runs[0], 'two concurrent runs with the same seed differ');
    });

    test('keeps sampling when the objective throws on some trials', async (c) => {
      const study = await newStudy(impl, c, 3);
      const expected = new Map<number, 'early' | 'late' | 'ok'>();
      let calls = 0;
      await study.optimize(
        (trial) => {
          // Some trials fail before suggesting anything, others half-way.
          const k = calls++;
          const fate = k % 8 === 3 ? 'early' : k % 4 === 1 ? 'late' : 'ok';
          expected.set(trial.number, fate);
          if (fate === 'early') throw new Error('no resources');
          const p = suggestAll(trial);
          if (fate === 'late') throw new RangeError('diverged');
          return lossOf(p);
        },
        { nTrials: impl.trials, catch: [Error] },
      );
      const trials = ran(study);
      assert.equal(trials.length, impl.trials);
      for (const t of trials) {
        const fate = expected.get(t.number);
        assert.equal(t.state, fate === 'ok' ? 'COMPLETE' : 'FAIL', `trial ${t.number} (${fate})`);
        if (fate === 'early') assert.deepEqual(t.params, {});
        checkTrial(impl, t);
      }
      const complete = trials.filter((t) => t.state === 'COMPLETE');
      assert.ok(complete.length >= impl.trials / 2 - 1, `only ${complete.length} trials completed`);
      checkExplores(impl, complete);
    });

    test('keeps sampling when some trials are pruned after reporting', async (c) => {
      const study = await newStudy(impl, c, 5);
      const pruned = new Set<number>();
      let calls = 0;
      await study.optimize(
        (trial) => {
          const loss = lossOf(suggestAll(trial));
          trial.report(loss + 1, 0);
          if (calls++ % 3 === 2) {
            pruned.add(trial.number);
            throw new TrialPruned();
          }
          trial.report(loss + 0.5, 1);
          return loss;
        },
        { nTrials: impl.trials },
      );
      const trials = ran(study);
      assert.equal(trials.length, impl.trials);
      assert.ok(pruned.size >= impl.trials / 3 - 1);
      for (const t of trials) {
        assert.equal(t.state, pruned.has(t.number) ? 'PRUNED' : 'COMPLETE', `trial ${t.number}`);
        checkTrial(impl, t);
      }
      checkExplores(impl, trials);
    });

    const mo = impl.multiObjective;
    if (mo === 'supported')
      test('runs multi-objective studies (minimise and maximise)', async (c) => {
        const study = await newStudy(impl, c, 2, 2);
        await study.optimize(
          (trial) => {
            const p = suggestAll(trial);
            return [lossOf(p), (p.x as number) + Math.log10(p.lr as number)];
          },
          { nTrials: impl.trials },
        );
        assert.equal(ran(study).length, impl.trials);
        for (const t of ran(study)) {
          assert.equal(t.state, 'COMPLETE', `trial ${t.number}: ${String(t.systemAttrs.failReason)}`);
          checkTrial(impl, t);
        }
        assert.ok(study.bestTrials.length >= 1);
        checkExplores(impl, ran(study));
      });
    else
      test(`rejects multi-objective studies with an InvalidArgumentError (${mo.rejects})`, async (c) => {
        const study = await newStudy(impl, c, 2, 2);
        let objectiveCalls = 0;
        await assert.rejects(
          study.optimize(
            (trial) => {
              objectiveCalls++;
              const p = suggestAll(trial);
              return [lossOf(p), p.x as number];
            },
            { nTrials: impl.trials },
          ),
          (error: unknown) => {
            assert.ok(
              error instanceof InvalidArgumentError,
              `expected InvalidArgumentError, got ${String(error)}`,
            );
            assert.ok(error.message.length > 0);
            return true;
          },
        );
        // Refused when a trial is asked, not by failing trials one after the other.
        assert.ok(ran(study).every((t) => t.state !== 'FAIL'));
        assert.ok(objectiveCalls < impl.trials);
      });

    if (impl.grid) {
      test('visits every grid point exactly once, then stops', async (c) => {
        const grid = { a: [1, 2, 3], b: ['u', 'v'] };
        const study = await createStudy({ sampler: new (as(c[0]))(grid, { seed: 4 }) });
        await study.optimize(
          (trial) => {
            const a = trial.suggestInt('a', 1, 3);
            const b = trial.suggestCategorical('b', ['u', 'v']);
            return a + (b === 'u' ? 0 : 10);
          },
          { nTrials: 10 },
        );
        const seen = ran(study)
          .map((t) => `${t.params.a}/${t.params.b}`)
          .sort();
        assert.deepEqual(seen, ['1/u', '1/v', '2/u', '2/v', '3/u', '3/v']);
      });
    }

    if (impl.fixed) {
      test('pins the fixed parameters and samples the others with the base sampler', async (c) => {
        const study = await newStudy(impl, c, 9);
        await study.optimize(mixedObjective, { nTrials: impl.trials });
        for (const t of ran(study))
          for (const [k, v] of Object.entries(impl.fixed!)) assert.equal(t.params[k], v);
        const lr = new Set(ran(study).map((t) => t.params.lr));
        assert.ok(lr.size > impl.trials / 2, `lr took only ${lr.size} values`);
      });
    }
  });
}
