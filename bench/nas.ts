/**
 * Architecture search strategies at the same trial budget, and DARTS, in one run.
 *
 *   node --import tsx bench/nas.ts [--dataset digits] [--trials 20] [--seeds 0,1,2]
 *     [--samplers reinforce,aging-evolution,tpe,random] [--epochs 3] [--max-params 20000]
 *     [--report-params 5000] [--train-samples N] [--darts-epochs 6] [--retrain-epochs 10]
 *     [--random-cells 3] [--skip-darts] [--skip-samplers] [--backend wasm]
 *
 * Strategies: each sampler runs a two-objective study (maximise validation accuracy, minimise
 * parameters) over `imageSpace` (2 stages of at most 2 blocks, filters 8..32) for `--trials`
 * trials per seed; configurations over `--max-params` are pruned before training and still count
 * toward the budget, as they would for a user. Every trial trains 3 epochs (Adam 0.01, batch 32) on
 * the same split. Per run: the hypervolume of the (validation error, params / max-params) front up
 * to the reference point (1, 1), and the best validation accuracy among trials with at most
 * `--report-params` parameters; the table gives the median over seeds.
 *
 * DARTS: a first-order search of `--darts-epochs` epochs (8 channels, 2 cells, 3 nodes), its
 * seconds per epoch, and the derived cell retrained `--retrain-epochs` epochs against random cells
 * of the same shape and nearly the same size (of 200 seeded random cells, the `--random-cells`
 * whose parameter counts are closest to the derived cell's) retrained the same way (test accuracy).
 */
import { hypervolume } from '../src/core/multi-objective.js';
import type { Sampler } from '../src/core/sampler.js';
import { type BackendName, initBackend } from '../src/models/backends/index.js';
import { analyzeModel } from '../src/models/complexity/analyze.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { createSampler } from '../src/run/registry.js';
import {
  dartsCellSpec,
  dartsImageData,
  dartsSearch,
  formatCell,
  randomCell,
  retrainCell,
} from '../src/search/darts.js';
import { imageSpace } from '../src/search/image-space.js';
import { createStudy } from '../src/study/create.js';
import { evaluate, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { writeBenchResults } from './lib/results.js';
import { median } from './lib/stats.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(
  [
    'dataset',
    'trials',
    'seeds',
    'samplers',
    'epochs',
    'max-params',
    'report-params',
    'train-samples',
    'test-samples',
    'darts-epochs',
    'retrain-epochs',
    'random-cells',
    'backend',
  ],
  ['skip-darts', 'skip-samplers'],
);
const datasetName = args.string('dataset', 'digits');
const trials = args.count('trials', 20);
const seeds = args.integers('seeds', [0, 1, 2]);
const samplers = args.list('samplers', ['reinforce', 'aging-evolution', 'tpe', 'random']);
const epochs = args.count('epochs', 3);
const maxParams = args.count('max-params', 20_000);
const reportParams = args.count('report-params', 5_000);
const dartsEpochs = args.count('darts-epochs', 6);
const retrainEpochs = args.count('retrain-epochs', 10);
const randomCells = args.count('random-cells', 3);
const backend = args.string('backend', 'wasm') as BackendName;

const info = await initBackend({ backend });
const data = await dartsImageData(datasetName, {
  seed: 0,
  trainSamples: args.has('train-samples') ? args.count('train-samples', 1) : undefined,
  testSamples: args.has('test-samples') ? args.count('test-samples', 1) : undefined,
});
const started = new Date();
const loadAverage = (await import('node:os')).loadavg()[0];
console.log(
  `${datasetName}: ${data.train.labels.length} train, ${data.validation.labels.length} validation, ${data.test.labels.length} test; backend ${info.name}; load average ${loadAverage.toFixed(1)}`,
);

/** Sampler options that fit a budget of a few dozen trials. */
function samplerSpec(name: string, seed: number) {
  const options: Record<string, unknown> = { seed };
  if (name === 'aging-evolution') Object.assign(options, { populationSize: 8, sampleSize: 3 });
  if (name === 'tpe') Object.assign(options, { nStartupTrials: 8, warnIndependentSampling: false });
  if (name === 'reinforce') Object.assign(options, { batchSize: 4 });
  return { name, options };
}

interface StrategyRun {
  sampler: string;
  seed: number;
  hypervolume: number;
  bestUnderBudget: number | null;
  complete: number;
  overBudget: number;
  seconds: number;
}

const strategyRuns: StrategyRun[] = [];
if (!args.flag('skip-samplers')) {
  for (const seed of seeds)
    for (const name of samplers) {
      const t0 = performance.now();
      const sampler: Sampler = await createSampler(samplerSpec(name, seed), {
        directions: ['maximize', 'minimize'],
      });
      const study = await createStudy({ directions: ['maximize', 'minimize'], sampler });
      await study.optimize(
        async (trial) => {
          const spec = imageSpace(trial, {
            inputShape: data.shape as [number, number, number],
            classes: data.train.numClasses,
            maxStages: 2,
            maxBlocks: 2,
            filters: [8, 16, 24, 32],
            maxParams,
          });
          const model = await buildTfjsModel(spec, { seed: trial.number });
          try {
            await trainModel(model, data.train, {
              epochs,
              batchSize: 32,
              optimizer: { type: 'adam', learningRate: 0.01 },
              seed: trial.number,
            });
            return [(await evaluate(model, data.validation)).accuracy, analyzeModel(spec).params];
          } finally {
            model.dispose();
          }
        },
        { nTrials: trials },
      );
      const complete = study.trials.filter((t) => t.state === 'COMPLETE' && t.values);
      const points = complete.map((t) => [1 - t.values![0], t.values![1] / maxParams]);
      const under = complete.filter((t) => t.values![1] <= reportParams).map((t) => t.values![0]);
      const run: StrategyRun = {
        sampler: name,
        seed,
        hypervolume: points.length > 0 ? hypervolume(points, [1, 1]) : 0,
        bestUnderBudget: under.length > 0 ? Math.max(...under) : null,
        complete: complete.length,
        overBudget: study.trials.filter((t) => t.state === 'PRUNED').length,
        seconds: (performance.now() - t0) / 1000,
      };
      strategyRuns.push(run);
      console.log(
        `seed ${seed} ${name}: hypervolume ${run.hypervolume.toFixed(4)}, best under ${reportParams} params ${run.bestUnderBudget === null ? '-' : `${(100 * run.bestUnderBudget).toFixed(1)}%`}, ${run.complete} trained, ${run.overBudget} over budget, ${run.seconds.toFixed(0)} s`,
      );
    }
}

interface DartsRun {
  secondsPerEpoch: number;
  searchSeconds: number;
  supernetParams: number;
  cell: string;
  derived: { params: number; test: number; validation: number };
  random: { seed: number; params: number; test: number; cell: string }[];
}

let dartsRun: DartsRun | null = null;
if (!args.flag('skip-darts')) {
  const network = { inputShape: data.shape, classes: data.train.numClasses, channels: 8, cells: 2, nodes: 3 };
  const t0 = performance.now();
  const search = await dartsSearch({
    ...network,
    train: data.train,
    validation: data.validation,
    epochs: dartsEpochs,
    seed: 0,
    onEpoch: (e) =>
      console.log(
        `darts epoch ${e.epoch + 1}: loss ${e.loss.toFixed(3)}, supernet validation ${(100 * e.valAccuracy).toFixed(1)}%, ${e.seconds.toFixed(1)} s`,
      ),
  });
  const searchSeconds = (performance.now() - t0) / 1000;
  const retrain = { epochs: retrainEpochs, seed: 0 };
  const derivedSpec = dartsCellSpec(search.cell, network);
  const derived = await retrainCell(
    derivedSpec,
    data.train,
    { test: data.test, validation: data.validation },
    retrain,
  );
  // Random cells of the same size: among 200 seeded random cells of the same shape, the ones whose
  // parameter count is closest to the derived cell's.
  const derivedParams = analyzeModel(derivedSpec).params;
  const candidates = Array.from({ length: 200 }, (_, k) => {
    const cell = randomCell(search.cell, search.ops, 100 + k);
    const spec = dartsCellSpec(cell, network);
    return { seed: 100 + k, cell, spec, params: analyzeModel(spec).params };
  })
    .filter((c) => formatCell(c.cell) !== formatCell(search.cell))
    .sort(
      (a, b) => Math.abs(a.params - derivedParams) - Math.abs(b.params - derivedParams) || a.seed - b.seed,
    );
  const random: DartsRun['random'] = [];
  for (const c of candidates.slice(0, randomCells)) {
    const r = await retrainCell(c.spec, data.train, { test: data.test }, retrain);
    random.push({
      seed: c.seed,
      params: c.params,
      test: r.accuracy.test,
      cell: formatCell(c.cell).replace(/\n/g, '; '),
    });
  }
  dartsRun = {
    secondsPerEpoch: search.secondsPerEpoch,
    searchSeconds,
    supernetParams: search.supernetParams,
    cell: formatCell(search.cell).replace(/\n/g, '; '),
    derived: {
      params: derivedParams,
      test: derived.accuracy.test,
      validation: derived.accuracy.validation,
    },
    random,
  };
  console.log(`derived cell: ${dartsRun.cell}`);
}

// ---------------------------------------------------------------------------------------------
// Report

const pct = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const sections: string[] = [
  `# Architecture search on ${datasetName} (${started.toISOString().slice(0, 10)})`,
  '',
  `Backend ${info.name}; load average at the start ${loadAverage.toFixed(1)} (2 cores, shared). Command: \`node --import tsx bench/nas.ts ${process.argv.slice(2).join(' ')}\``.trim(),
  '',
];
if (strategyRuns.length > 0) {
  const rows = samplers.map((name) => {
    const runs = strategyRuns.filter((r) => r.sampler === name);
    const best = runs.map((r) => r.bestUnderBudget).filter((x): x is number => x !== null);
    return [
      name,
      median(runs.map((r) => r.hypervolume)).toFixed(4),
      runs.map((r) => r.hypervolume.toFixed(3)).join(' / '),
      best.length > 0 ? pct(median(best)) : '—',
      runs.map((r) => pct(r.bestUnderBudget)).join(' / '),
      median(runs.map((r) => r.overBudget)).toString(),
      median(runs.map((r) => r.seconds)).toFixed(0),
    ];
  });
  sections.push(
    `## Strategies: ${trials} trials per run, seeds ${seeds.join(', ')}, image space (2 stages, at most 2 blocks each), hard budget ${maxParams.toLocaleString('en-US')} parameters, ${epochs} epochs per trial`,
    '',
    markdownTable(
      [
        'sampler',
        'hypervolume (median)',
        'per seed',
        `best val acc <= ${reportParams.toLocaleString('en-US')} params (median)`,
        'per seed',
        'over budget (median)',
        'seconds (median)',
      ],
      rows,
    ),
    '',
    'Hypervolume of the (validation error, parameters / hard budget) front up to (1, 1): higher is better.',
    '',
  );
}
if (dartsRun) {
  const randomTests = dartsRun.random.map((r) => r.test);
  sections.push(
    `## DARTS: ${dartsEpochs} search epochs (8 channels, 2 cells, 3 nodes; supernet ${dartsRun.supernetParams.toLocaleString('en-US')} parameters), retraining ${retrainEpochs} epochs`,
    '',
    `Search: ${dartsRun.searchSeconds.toFixed(1)} s, ${dartsRun.secondsPerEpoch.toFixed(1)} s per epoch over ${data.train.labels.length} training images.`,
    '',
    markdownTable(
      ['cell', 'params', 'test accuracy', 'operations'],
      [
        [
          'DARTS derived',
          dartsRun.derived.params.toLocaleString('en-US'),
          pct(dartsRun.derived.test),
          dartsRun.cell,
        ],
        ...dartsRun.random.map((r) => [
          `random (seed ${r.seed})`,
          r.params.toLocaleString('en-US'),
          pct(r.test),
          r.cell,
        ]),
        ['random (median)', '', pct(median(randomTests)), ''],
      ],
    ),
    '',
  );
}
const markdown = sections.join('\n');
const name = `nas-${datasetName}${strategyRuns.length > 0 ? `-${trials}trials` : ''}${dartsRun ? '-darts' : ''}`;
const paths = writeBenchResults(name, { strategyRuns, dartsRun, loadAverage }, markdown, started);
console.log(`\n${markdown}\nwritten: ${paths.markdown}`);
