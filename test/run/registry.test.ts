import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import type { Pruner } from '../../src/core/pruner.js';
import type { Sampler } from '../../src/core/sampler.js';
import { HyperbandPruner } from '../../src/pruners/hyperband.js';
import { NopPruner } from '../../src/pruners/nop.js';
import { PatientPruner } from '../../src/pruners/patient.js';
import { MedianPruner, PercentilePruner } from '../../src/pruners/percentile.js';
import { SuccessiveHalvingPruner } from '../../src/pruners/successive-halving.js';
import { ThresholdPruner } from '../../src/pruners/threshold.js';
import { WilcoxonPruner } from '../../src/pruners/wilcoxon.js';
import {
  createPruner,
  createSampler,
  gridFromSpace,
  PRUNER_NAMES,
  SAMPLER_NAMES,
} from '../../src/run/registry.js';
import { AgingEvolutionSampler } from '../../src/samplers/aging-evolution.js';
import { CmaEsSampler } from '../../src/samplers/cmaes/cmaes-sampler.js';
import { GPSampler } from '../../src/samplers/gp/gp-sampler.js';
import { GridSampler } from '../../src/samplers/grid.js';
import { NSGAIISampler } from '../../src/samplers/nsga2/nsga2-sampler.js';
import { QMCSampler } from '../../src/samplers/qmc/qmc-sampler.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { ReinforceSampler } from '../../src/samplers/reinforce.js';
import { TPESampler } from '../../src/samplers/tpe/tpe-sampler.js';
import { createStudy } from '../../src/study/create.js';
import { constant, reportOnly, runCurve } from '../pruners/helpers.js';

const space = {
  x: new FloatDistribution(0, 1, { step: 0.25 }),
  n: new IntDistribution(1, 3),
  kind: new CategoricalDistribution(['a', 'b']),
};

/** The class each name must build; a name without an entry fails the listing test. */
const PRUNER_CLASSES: Record<string, abstract new (...args: never[]) => Pruner> = {
  nop: NopPruner,
  median: MedianPruner,
  percentile: PercentilePruner,
  patient: PatientPruner,
  threshold: ThresholdPruner,
  'successive-halving': SuccessiveHalvingPruner,
  asha: SuccessiveHalvingPruner,
  hyperband: HyperbandPruner,
  wilcoxon: WilcoxonPruner,
};

const SAMPLER_CLASSES: Record<string, abstract new (...args: never[]) => Sampler> = {
  random: RandomSampler,
  tpe: TPESampler,
  gp: GPSampler,
  cmaes: CmaEsSampler,
  qmc: QMCSampler,
  nsga2: NSGAIISampler,
  grid: GridSampler,
  'aging-evolution': AgingEvolutionSampler,
  reinforce: ReinforceSampler,
};

/** Options a pruner cannot do without. */
const REQUIRED: Record<string, Record<string, unknown>> = {
  percentile: { percentile: 25 },
  patient: { patience: 2 },
  threshold: { upper: 1 },
};

describe('sampler and pruner registry', () => {
  it('lists the samplers and pruners a study file can name', () => {
    assert.deepEqual([...SAMPLER_NAMES].sort(), Object.keys(SAMPLER_CLASSES).sort());
    assert.deepEqual([...PRUNER_NAMES].sort(), Object.keys(PRUNER_CLASSES).sort());
    assert.deepEqual([...SAMPLER_NAMES].sort(), [
      'aging-evolution',
      'cmaes',
      'gp',
      'grid',
      'nsga2',
      'qmc',
      'random',
      'reinforce',
      'tpe',
    ]);
    assert.deepEqual([...PRUNER_NAMES].sort(), [
      'asha',
      'hyperband',
      'median',
      'nop',
      'patient',
      'percentile',
      'successive-halving',
      'threshold',
      'wilcoxon',
    ]);
  });

  // Every module must load: a missing or broken one fails here, not in a user's study.
  for (const name of SAMPLER_NAMES) {
    it(`builds the ${name} sampler, which then samples the space`, async () => {
      const sampler = await createSampler(
        { name, options: { seed: 3 } },
        { space, directions: ['minimize'] },
      );
      assert.ok(
        sampler instanceof SAMPLER_CLASSES[name],
        `"${name}" built a ${sampler.constructor.name}, not a ${SAMPLER_CLASSES[name].name}`,
      );
      const study = await createStudy({ sampler });
      await study.optimize(
        (t) => {
          for (const [param, d] of Object.entries(space)) t.suggest(param, d);
          return (t.params.x as number) + (t.params.n as number);
        },
        { nTrials: 4 },
      );
      // The grid sampler queues its whole grid as WAITING trials; the four that ran are COMPLETE.
      const trials = study.trials.filter((t) => t.state !== 'WAITING');
      assert.deepEqual(
        trials.map((t) => t.state),
        ['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE'],
      );
      for (const t of trials)
        for (const [param, d] of Object.entries(space))
          assert.ok(d.contains(d.toInternal(t.params[param])), `${name} gave ${param}=${t.params[param]}`);
    });
  }

  for (const name of PRUNER_NAMES) {
    it(`builds the ${name} pruner`, async () => {
      const pruner = await createPruner(
        { name, options: REQUIRED[name] ?? {} },
        { directions: ['minimize'] },
      );
      assert.ok(
        pruner instanceof PRUNER_CLASSES[name],
        `"${name}" built a ${pruner.constructor.name}, not a ${PRUNER_CLASSES[name].name}`,
      );
      // And it decides as that class does: a trial far worse than nine others at every step.
      // A fixed name: Hyperband assigns brackets by a hash of the study name, and a random
      // default name would put the hopeless trial in a lenient bracket now and then.
      const study = await createStudy({
        studyName: `registry-${name}`,
        sampler: new RandomSampler({ seed: 0 }),
        pruner,
      });
      for (let v = 0; v < 9; v++) await reportOnly(study, constant(v / 10, 12));
      const worst = await runCurve(
        study,
        Array.from({ length: 12 }, (_, step) => 100 + step),
      );
      assert.equal(worst.prunedAt !== null, name !== 'nop', `${name} on a hopeless trial`);
    });
  }

  it('passes options on to the constructors', async () => {
    const median = (await createPruner({
      name: 'median',
      options: { nWarmupSteps: 2, nStartupTrials: 1 },
    })) as unknown as {
      nWarmupSteps: number;
      nStartupTrials: number;
    };
    assert.deepEqual([median.nWarmupSteps, median.nStartupTrials], [2, 1]);
    const patient = (await createPruner({
      name: 'patient',
      options: { patience: 1, wrapped: { name: 'percentile', percentile: 10 } },
    })) as unknown as { patience: number; wrapped: { percentile: number } };
    assert.equal(patient.patience, 1);
    assert.equal(patient.wrapped.percentile, 10);
    const pareto = await createPruner('asha', { directions: ['minimize', 'maximize'] });
    assert.equal(pareto.constructor.name, 'ParetoSuccessiveHalvingPruner');
    assert.equal((await createPruner('successive-halving')).constructor.name, 'SuccessiveHalvingPruner');
  });

  it('rejects unknown names, unknown options and wrong kinds, naming them', async () => {
    await assert.rejects(createSampler('tpee'), /sampler: unknown sampler "tpee" \(known: random, tpe/);
    await assert.rejects(
      createSampler({ name: 'tpe', options: { nStartupTrails: 3 } }),
      /sampler\.nStartupTrails: unknown option of the tpe sampler \(did you mean "nStartupTrials"\?\)/,
    );
    await assert.rejects(createPruner({ name: 'nop', options: { x: 1 } }), /it takes no options/);
    await assert.rejects(
      createPruner({ name: 'hyperband', options: { maxResource: 'big' } }),
      /pruner\.maxResource: expected an integer or "auto", got "big"/,
    );
    await assert.rejects(
      createPruner({ name: 'patient', options: { patience: 1, wrapped: 'medain' } }),
      /pruner\.wrapped: unknown pruner "medain"/,
    );
    // Ranges are the constructors' business; the message still says which component.
    await assert.rejects(
      createPruner({ name: 'median', options: { nWarmupSteps: -1 } }),
      /^InvalidArgumentError: median: .*nWarmupSteps/,
    );
  });

  it('gives the grid sampler the grid of the space', () => {
    assert.deepEqual(gridFromSpace(space), { x: [0, 0.25, 0.5, 0.75, 1], n: [1, 2, 3], kind: ['a', 'b'] });
    assert.throws(
      () => gridFromSpace({ lr: new FloatDistribution(0, 1) }),
      /grid sampler needs a grid: give space\.lr a `step`/,
    );
  });
});
