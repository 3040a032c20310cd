/**
 * Pruner benchmark on a seeded family of synthetic learning curves.
 *
 *   node --import tsx bench/pruners.ts [--trials 100] [--steps 81] [--seeds 1,2,...,10]
 *
 * Each trial samples (lr, width, dropout) with a RandomSampler and "trains" for up to `steps`
 * epochs. Its validation accuracy after e epochs is a - b * exp(-e / tau) + noise (sd 0.005): the
 * level a peaks near lr = 1e-2, dropout = 0.15, width = 128, and tau grows as lr shrinks and as
 * dropout grows, so slow configurations can overtake fast ones (the curves cross). The value a
 * finished trial returns is its exact accuracy after the last epoch: with a noisy final value the
 * best of 100 complete trials would mostly measure the luckiest noise draw, not the configuration.
 * The sampler is seeded and the noise is a function of (seed, trial, epoch), so every pruner sees
 * the same configurations and curves and the comparison is paired. Reported per pruner, averaged
 * over the seeds: resource (epochs run), its share of NopPruner's, the best final accuracy of a
 * COMPLETE trial and its gap to NopPruner's best (mean and worst seed), wall time per study.
 */

import { TrialPruned } from '../src/core/errors.js';
import type { Pruner } from '../src/core/pruner.js';
import { Random } from '../src/core/random.js';
import type { Trial } from '../src/core/trial.js';
import { HyperbandPruner } from '../src/pruners/hyperband.js';
import { NopPruner } from '../src/pruners/nop.js';
import { MedianPruner } from '../src/pruners/percentile.js';
import { SuccessiveHalvingPruner } from '../src/pruners/successive-halving.js';
import { RandomSampler } from '../src/samplers/random.js';
import { createStudy } from '../src/study/create.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const nTrials = Number(option('trials', '100'));
const nSteps = Number(option('steps', '81'));
const seeds = option('seeds', '1,2,3,4,5,6,7,8,9,10').split(',').map(Number);
const NOISE = 0.005;

/** The curve parameters a configuration implies. */
function curveOf(lr: number, width: number, dropout: number): { a: number; b: number; tau: number } {
  const lrPenalty = 0.05 * (Math.log10(lr) + 2) ** 2;
  const dropoutPenalty = 0.3 * (dropout - 0.15) ** 2;
  const widthPenalty = 0.015 * Math.abs(Math.log2(width / 128));
  const a = Math.min(0.99, Math.max(0.12, 0.97 - lrPenalty - dropoutPenalty - widthPenalty));
  const tau = 5 * (1e-2 / lr) ** 0.15 * (1 + dropout);
  return { a, b: a - 0.1, tau };
}

function objectiveFor(seed: number) {
  const noise = new Random(seed);
  return (trial: Trial): number => {
    const lr = trial.suggestFloat('lr', 1e-4, 1, { log: true });
    const width = trial.suggestInt('width', 16, 512, { log: true });
    const dropout = trial.suggestFloat('dropout', 0, 0.5);
    const { a, b, tau } = curveOf(lr, width, dropout);
    const rng = noise.fork(trial.number);
    for (let step = 0; step < nSteps; step++) {
      trial.report(a - b * Math.exp(-(step + 1) / tau) + NOISE * rng.normal(), step);
      if (trial.shouldPrune()) throw new TrialPruned();
    }
    return a - b * Math.exp(-nSteps / tau);
  };
}

interface Run {
  resource: number;
  best: number;
  ms: number;
}

async function runOnce(makePruner: () => Pruner, seed: number): Promise<Run> {
  const study = await createStudy({
    studyName: `bench-${seed}`,
    direction: 'maximize',
    sampler: new RandomSampler({ seed }),
    pruner: makePruner(),
  });
  const start = performance.now();
  await study.optimize(objectiveFor(seed), { nTrials });
  const ms = performance.now() - start;
  let resource = 0;
  for (const t of study.trials) resource += Object.keys(t.intermediateValues).length;
  return { resource, best: study.bestValue, ms };
}

const pruners: [string, () => Pruner][] = [
  ['NopPruner', () => new NopPruner()],
  ['MedianPruner()', () => new MedianPruner()],
  ["SuccessiveHalvingPruner() (ASHA, minResource 'auto' = 1, eta 4)", () => new SuccessiveHalvingPruner()],
  [
    'SuccessiveHalvingPruner({ minResource: 3, reductionFactor: 3 })',
    () => new SuccessiveHalvingPruner({ minResource: 3, reductionFactor: 3 }),
  ],
  ['HyperbandPruner() (minResource 1, eta 3)', () => new HyperbandPruner()],
  ['HyperbandPruner({ minResource: 3 })', () => new HyperbandPruner({ minResource: 3 })],
];

const results = new Map<string, Run[]>();
for (const [name, make] of pruners) {
  const runs: Run[] = [];
  for (const seed of seeds) runs.push(await runOnce(make, seed));
  results.set(name, runs);
}

const nop = results.get('NopPruner')!;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(
  `${nTrials} trials x up to ${nSteps} epochs, maximising accuracy, RandomSampler, seeds ${seeds.join(', ')} (mean over seeds)\n`,
);
console.log(
  '| pruner | resource (epochs) | % of Nop | best accuracy | gap to Nop best (mean / worst) | time per study |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name] of pruners) {
  const runs = results.get(name)!;
  const share = mean(runs.map((r, i) => (100 * r.resource) / nop[i].resource));
  const gaps = runs.map((r, i) => (100 * (nop[i].best - r.best)) / Math.abs(nop[i].best));
  console.log(
    `| ${name} | ${mean(runs.map((r) => r.resource)).toFixed(0)} | ${share.toFixed(1)}% | ${mean(
      runs.map((r) => r.best),
    ).toFixed(
      4,
    )} | ${mean(gaps).toFixed(2)}% / ${Math.max(...gaps).toFixed(2)}% | ${mean(runs.map((r) => r.ms)).toFixed(0)} ms |`,
  );
}
