/**
 * Progressive growing against training the same final network from scratch, in one run.
 *
 *   node --import tsx bench/growth.ts [--dataset digits] [--schedule linear] [--max-params 10000]
 *     [--stages 5] [--epochs-per-stage 4] [--seeds 0,1,2] [--backend cpu] [--learning-rate 0.01]
 *
 * For each seed: grow an MLP (64-input digits: one hidden layer of 8 units to start) with
 * `growNetwork` up to the budget, then build the grown net's final spec with fresh weights and
 * train it for the same total number of epochs the growth used. Both use Adam (lr 0.01 unless
 * --learning-rate, batch 32)
 * and the same seeded split; test accuracy is on the held-out test split, time is wall-clock
 * training (and, for growth, the growth steps). Whatever the outcome, both are printed.
 */
import { loadDataset } from '../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../src/data/transforms.js';
import { buildNet } from '../src/grow/net2net.js';
import { formatGrowthCurve, type GrowthScheduleKind, growNetwork } from '../src/grow/schedule.js';
import { type BackendName, initBackend } from '../src/models/backends/index.js';
import { countParams } from '../src/models/complexity/analyze.js';
import { sequential } from '../src/models/spec/builder.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { evaluate, trainingData, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { writeBenchResults } from './lib/results.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs([
  'dataset',
  'schedule',
  'max-params',
  'stages',
  'epochs-per-stage',
  'seeds',
  'backend',
  'learning-rate',
]);
const datasetName = args.string('dataset', 'digits');
const schedule = args.string('schedule', 'linear') as GrowthScheduleKind;
const maxParams = args.count('max-params', 10_000);
const stages = args.count('stages', 5);
const epochsPerStage = args.count('epochs-per-stage', 4);
const seeds = args.integers('seeds', [0, 1, 2]);
const backend = args.string('backend', 'cpu') as BackendName;

const learningRate = args.number('learning-rate', 0.01);
const optimizer = { type: 'adam' as const, learningRate };
const info = await initBackend({ backend });
const splits = splitBundle(await loadDataset(datasetName), { seed: 0 });
const scaler = fitStandardScaler(splits.train);
const flat = [splits.train.numFeatures];
const train = trainingData(scaler.transform(splits.train), flat);
const validation = trainingData(scaler.transform(splits.validation), flat);
const test = trainingData(scaler.transform(splits.test), flat);
const start = sequential(flat)
  .add('dense', { units: 8, activation: 'relu' })
  .add('dense', { units: train.numClasses, activation: 'softmax' })
  .build();

interface Row {
  seed: number;
  params: number;
  hidden: string;
  epochs: number;
  grownAccuracy: number;
  grownSeconds: number;
  scratchAccuracy: number;
  scratchSeconds: number;
}
const rows: Row[] = [];
const curves: unknown[] = [];
for (const seed of seeds) {
  const grown = await growNetwork(start, {
    train,
    validation,
    schedule,
    maxParams,
    stages,
    epochsPerStage,
    optimizer,
    minGainPerThousand: -Infinity, // the full schedule, so both arms end at the same size
    seed,
  });
  console.log(`seed ${seed}: growth curve (${grown.stopped})\n${formatGrowthCurve(grown.curve)}\n`);
  curves.push({ seed, curve: grown.curve });
  const grownModel = await buildNet(grown.net);
  const grownAccuracy = (await evaluate(grownModel, test)).accuracy;
  grownModel.dispose();

  const scratchStart = performance.now();
  const scratch = await buildTfjsModel(grown.net.spec, { seed });
  await trainModel(scratch, train, { epochs: grown.totalEpochs, optimizer, seed });
  const scratchSeconds = (performance.now() - scratchStart) / 1000;
  const scratchAccuracy = (await evaluate(scratch, test)).accuracy;
  scratch.dispose();
  const last = grown.curve[grown.curve.length - 1];
  rows.push({
    seed,
    params: countParams(grown.net.spec),
    hidden: last.hidden.join('-'),
    epochs: grown.totalEpochs,
    grownAccuracy,
    grownSeconds: grown.seconds,
    scratchAccuracy,
    scratchSeconds,
  });
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const table = markdownTable(
  ['seed', 'params', 'hidden', 'epochs', 'grown test acc', 'grown s', 'scratch test acc', 'scratch s'],
  [
    ...rows.map((r) => [
      String(r.seed),
      String(r.params),
      r.hidden,
      String(r.epochs),
      pct(r.grownAccuracy),
      r.grownSeconds.toFixed(1),
      pct(r.scratchAccuracy),
      r.scratchSeconds.toFixed(1),
    ]),
    [
      'mean',
      '',
      '',
      '',
      pct(mean(rows.map((r) => r.grownAccuracy))),
      mean(rows.map((r) => r.grownSeconds)).toFixed(1),
      pct(mean(rows.map((r) => r.scratchAccuracy))),
      mean(rows.map((r) => r.scratchSeconds)).toFixed(1),
    ],
  ],
);
const heading = `Growth (${schedule}, ${stages} stages x ${epochsPerStage} epochs, budget ${maxParams}, Adam lr ${learningRate}) vs the final MLP from scratch, ${datasetName}, backend ${info.name}`;
console.log(`${heading}\n\n${table}`);
const files = writeBenchResults(
  `growth-${datasetName}`,
  {
    dataset: datasetName,
    learningRate,
    schedule,
    maxParams,
    stages,
    epochsPerStage,
    backend: info.name,
    rows,
    curves,
  },
  `${heading}\n\n${table}`,
);
console.log(`\nwrote ${files.json} and ${files.markdown}`);
