/**
 * Warm starts from past studies: how many trials a warm-started study needs to reach the final
 * best of a cold study on the same dataset, on digits, wine and breast cancer.
 *
 *   node --import tsx bench/warm-start.ts [--trials 30] [--epochs 10] [--seeds 0,1,2,3,4]
 *     [--datasets digits,wine,breast-cancer] [--backend cpu] [--skip-enqueue-only] [--fixed-prior]
 *     [--common-seed] [--past fashion-mnist-8x8]
 *
 * Per seed s, for every dataset D:
 * - cold: a TPE study (seed s, its usual 10 random startup trials) of `trials` trials;
 * - warm: a TPE study (seed s) whose prior is `warmStartPrior` over the cold studies of the
 *   OTHER datasets at the same seed (never D's own study: that would be the same search
 *   repeated), weighted by meta-feature similarity, with their best configurations enqueued first
 *   (`warmStartStudy`); and "enqueue only": the best configurations enqueued, no prior (not run
 *   with --skip-enqueue-only). The prior's study weights adapt to the new study's trials unless
 *   --fixed-prior.
 * Each trial trains a one-hidden-layer MLP (hidden units, dropout, AdamW learning rate and weight
 * decay, batch size; `epochs` epochs; initialised and shuffled with a seed of its trial number,
 * or with one seed for all trials with --common-seed) on D's seeded split and returns its
 * validation accuracy. `--past` names datasets whose cold studies only serve as past studies
 * (fashion-mnist-8x8: Fashion-MNIST images shrunk to the digits' 8 x 8). A study "reaches" the cold study's final best at the first trial whose running best is at least
 * as high; a study that never does counts as trials + 1. The target: the warm study's median over
 * seeds is at most half the trials.
 */
import {
  datasetMetaFeatures,
  META_FEATURES_ATTR,
  warmStartPrior,
  warmStartStudy,
} from '../src/adapt/warm-start.js';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../src/core/distributions.js';
import { Random } from '../src/core/random.js';
import type { Trial } from '../src/core/trial.js';
import { createDataset, type Dataset } from '../src/data/dataset.js';
import { loadDigits } from '../src/data/digits.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { fitStandardScaler, trainValTestSplit } from '../src/data/transforms.js';
import { type BackendName, initBackend } from '../src/models/backends/index.js';
import { sequential } from '../src/models/spec/builder.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { TPESampler } from '../src/samplers/tpe/tpe-sampler.js';
import { InMemoryStorage } from '../src/storage/memory.js';
import { createStudy } from '../src/study/create.js';
import { trainingData, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { writeBenchResults } from './lib/results.js';
import { loadSklearnCsv } from './lib/sklearn-csv.js';
import { median } from './lib/stats.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(
  ['trials', 'epochs', 'seeds', 'datasets', 'past', 'backend'],
  ['skip-enqueue-only', 'fixed-prior', 'common-seed'],
);
const skipEnqueueOnly = args.flag('skip-enqueue-only');
const adaptive = !args.flag('fixed-prior');
// Common random numbers: every trial of a seed trains with the same seed, so a configuration's
// value does not depend on which trial number it happened to get.
const commonSeed = args.flag('common-seed');
const nTrials = args.count('trials', 30);
const epochs = args.count('epochs', 10);
const seeds = args.integers('seeds', [0, 1, 2, 3, 4]);
const targetNames = args.list('datasets', ['digits', 'wine', 'breast-cancer']);
// Datasets whose cold studies only serve as past studies (never warm-started themselves).
const pastOnly = args.list('past', []).filter((n) => !targetNames.includes(n));
const datasetNames = [...targetNames, ...pastOnly];
const info = await initBackend({ backend: args.string('backend', 'cpu') as BackendName });

/**
 * 1,797 Fashion-MNIST training images (a seeded sample) shrunk to 8 x 8 like the digits (padded
 * to 32 x 32, then the mean of each 4 x 4 block, scaled to 0-16): image data of the digits' size
 * and shape but another subject, as a past study for digits.
 */
async function fashion8x8(): Promise<Dataset> {
  const { train } = await loadFashionMnist();
  const rows = new Random(0).fork('fashion-8x8').permutation(train.labels.length).subarray(0, 1797);
  const data = new Float32Array(rows.length * 64);
  const labels = new Int32Array(rows.length);
  for (const [k, i] of rows.entries()) {
    labels[k] = train.labels[i];
    const image = train.data.subarray(i * 784, (i + 1) * 784);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const [sy, sx] = [y - 2, x - 2];
        const value = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? image[sy * 28 + sx] : 0;
        data[k * 64 + (y >> 2) * 8 + (x >> 2)] += value / 16;
      }
  }
  let top = 0;
  for (const v of data) top = Math.max(top, v);
  for (let j = 0; j < data.length; j++) data[j] = (16 * data[j]) / (top || 1);
  return createDataset({
    name: 'fashion-mnist-8x8',
    data,
    numFeatures: 64,
    labels,
    classNames: [...train.classNames],
    provenance: { source: 'Fashion-MNIST, 1,797 training images shrunk to 8 x 8', location: 'memory' },
  });
}

const LOADERS: Record<string, () => Dataset | Promise<Dataset>> = {
  digits: () => loadDigits(),
  wine: () => loadSklearnCsv('../shared/data/wine_data.csv', 'wine'),
  'breast-cancer': () => loadSklearnCsv('../shared/data/breast_cancer.csv', 'breast-cancer'),
  'fashion-mnist-8x8': fashion8x8,
};
const datasets = new Map<string, { dataset: Dataset; meta: ReturnType<typeof datasetMetaFeatures> }>();
for (const name of datasetNames) {
  const load = LOADERS[name];
  if (!load)
    throw new Error(`bench/warm-start: unknown dataset ${name} (${Object.keys(LOADERS).join(', ')})`);
  const dataset = await load();
  datasets.set(name, { dataset, meta: datasetMetaFeatures(dataset) });
}

const SPACE = {
  learningRate: new FloatDistribution(1e-4, 0.3, { log: true }),
  weightDecay: new FloatDistribution(1e-6, 1e-1, { log: true }),
  hidden: new IntDistribution(4, 256, { log: true }),
  dropout: new FloatDistribution(0, 0.6),
  batchSize: new CategoricalDistribution([8, 16, 32, 64, 128]),
};

/** Trains the trial's MLP on the dataset's split for this seed; returns validation accuracy. */
function objectiveFor(name: string, seed: number) {
  const { dataset } = datasets.get(name)!;
  const splits = trainValTestSplit(dataset, { seed });
  const scaler = fitStandardScaler(splits.train);
  const shape = [dataset.numFeatures];
  const train = trainingData(scaler.transform(splits.train), shape);
  const validation = trainingData(scaler.transform(splits.validation), shape);
  return async (trial: Trial): Promise<number> => {
    const lr = trial.suggestFloat('learningRate', 1e-4, 0.3, { log: true });
    const wd = trial.suggestFloat('weightDecay', 1e-6, 1e-1, { log: true });
    const hidden = trial.suggestInt('hidden', 4, 256, { log: true });
    const dropout = trial.suggestFloat('dropout', 0, 0.6);
    const batchSize = trial.suggestCategorical('batchSize', [8, 16, 32, 64, 128]);
    const spec = sequential(shape, { name: 'warm-start-mlp' })
      .add('dense', { units: hidden, activation: 'relu' })
      .add('dropout', { rate: dropout })
      .add('dense', { units: dataset.classNames.length, activation: 'softmax' })
      .build();
    const trainSeed = seed * 10_000 + (commonSeed ? 0 : trial.number);
    const model = await buildTfjsModel(spec, { seed: trainSeed });
    try {
      const result = await trainModel(model, train, {
        epochs,
        batchSize,
        optimizer: { type: 'adamw', learningRate: lr, weightDecay: wd },
        validation,
        seed: trainSeed,
      });
      return result.history[result.history.length - 1].valAccuracy ?? 0;
    } finally {
      model.dispose();
    }
  };
}

/** Running best after each trial. */
async function runningBest(study: Awaited<ReturnType<typeof createStudy>>): Promise<number[]> {
  const values = (await study.getTrials())
    .sort((a, b) => a.number - b.number)
    .map((t) => (t.state === 'COMPLETE' && t.values ? t.values[0] : Number.NEGATIVE_INFINITY));
  let best = Number.NEGATIVE_INFINITY;
  return values.map((v) => (best = Math.max(best, v)));
}

function trialsToReach(curve: readonly number[], target: number): number {
  const at = curve.findIndex((v) => v >= target);
  return at < 0 ? curve.length + 1 : at + 1;
}

interface Row {
  seed: number;
  dataset: string;
  coldBest: number;
  coldReachedAt: number;
  warmReachedAt: number;
  enqueueOnlyReachedAt: number;
  warmBest: number;
  priorFrom: string;
}
const rows: Row[] = [];
for (const seed of seeds) {
  const storage = new InMemoryStorage();
  const coldCurves = new Map<string, number[]>();
  for (const name of datasetNames) {
    const study = await createStudy({
      direction: 'maximize',
      storage,
      studyName: `cold-${name}-${seed}`,
      sampler: new TPESampler({ seed }),
    });
    await study.setUserAttr(META_FEATURES_ATTR, { ...datasets.get(name)!.meta });
    await study.optimize(objectiveFor(name, seed), { nTrials });
    coldCurves.set(name, await runningBest(study));
  }
  const coldNames = datasetNames.map((n) => `cold-${n}-${seed}`);
  for (const name of targetNames) {
    const meta = datasets.get(name)!.meta;
    // Only the other datasets' cold studies: never this dataset's own, nor a warm study.
    const exclude = (await storage.getAllStudies())
      .map((s) => s.studyName)
      .filter((n) => n === `cold-${name}-${seed}` || !coldNames.includes(n));
    const prior = {
      ...(await warmStartPrior(storage, { metaFeatures: meta, space: SPACE, maxStudies: 2, exclude })),
      adaptive,
    };
    const runWarm = async (withPrior: boolean) => {
      const study = await createStudy({
        direction: 'maximize',
        storage,
        studyName: `${withPrior ? 'warm' : 'enqueue'}-${name}-${seed}`,
        sampler: new TPESampler({ seed, ...(withPrior ? { prior } : {}) }),
      });
      await warmStartStudy(study, {
        metaFeatures: meta,
        space: SPACE,
        maxStudies: 2,
        perStudy: 1,
        exclude: (await storage.getAllStudies())
          .map((s) => s.studyName)
          .filter((n) => n === `cold-${name}-${seed}` || !coldNames.includes(n)),
      });
      await study.optimize(objectiveFor(name, seed), { nTrials });
      return runningBest(study);
    };
    const warm = await runWarm(true);
    const enqueueOnly = skipEnqueueOnly ? [] : await runWarm(false);
    const cold = coldCurves.get(name)!;
    const coldBest = cold[cold.length - 1];
    const row: Row = {
      seed,
      dataset: name,
      coldBest,
      coldReachedAt: trialsToReach(cold, coldBest),
      warmReachedAt: trialsToReach(warm, coldBest),
      enqueueOnlyReachedAt: skipEnqueueOnly ? Number.NaN : trialsToReach(enqueueOnly, coldBest),
      warmBest: warm[warm.length - 1],
      priorFrom: prior.sources
        .map((s) => `${s.studyName.split('-').slice(1, -1).join('-')} (d ${s.distance.toFixed(2)})`)
        .join(', '),
    };
    rows.push(row);
    console.log(
      `seed ${seed} ${name}: cold best ${(100 * coldBest).toFixed(2)}% at trial ${row.coldReachedAt}; warm reaches it at trial ${row.warmReachedAt} (its best ${(100 * row.warmBest).toFixed(2)}%), enqueue-only at ${row.enqueueOnlyReachedAt}; prior from ${row.priorFrom}`,
    );
  }
}

const shown = (n: number) => (n > nTrials ? `>${nTrials}` : String(n));
const tableRows = targetNames.map((name) => {
  const mine = rows.filter((r) => r.dataset === name);
  const warm = median(mine.map((r) => r.warmReachedAt));
  return [
    name,
    `${(100 * median(mine.map((r) => r.coldBest))).toFixed(2)}%`,
    String(median(mine.map((r) => r.coldReachedAt))),
    skipEnqueueOnly ? 'not run' : String(median(mine.map((r) => r.enqueueOnlyReachedAt))),
    String(warm),
    mine.map((r) => shown(r.warmReachedAt)).join(' / '),
    mine.map((r) => `${(100 * r.coldBest).toFixed(2)} / ${(100 * r.warmBest).toFixed(2)}`).join(', '),
    warm <= nTrials / 2 ? 'yes' : 'no',
  ];
});
const table = markdownTable(
  [
    'dataset',
    'cold final best (median)',
    'cold reaches it at (median)',
    'enqueue only (median)',
    'warm: prior + enqueue (median)',
    'warm per seed',
    'final best % cold / warm per seed',
    `warm <= ${nTrials / 2}`,
  ],
  tableRows,
);
const heading = `Warm start vs cold TPE (${adaptive ? 'prior weights adapt to the new trials' : 'fixed prior weights'}, ${commonSeed ? 'one training seed per study seed' : 'training seed per trial'}), ${nTrials} trials per study, MLP (${epochs} epochs) on ${targetNames.join(', ')}${pastOnly.length ? ` (past only: ${pastOnly.join(', ')})` : ''}, seeds ${seeds.join(',')}, backend ${info.name}; trials until the running best reaches the cold study's final best (a study that never does counts ${nTrials + 1}); the prior comes from the other datasets' cold studies at the same seed`;
console.log(`\n${heading}\n\n${table}`);
const files = writeBenchResults(
  'warm-start',
  { nTrials, epochs, seeds, datasets: targetNames, pastOnly, backend: info.name, adaptive, commonSeed, rows },
  `${heading}\n\n${table}`,
);
console.log(`\nwrote ${files.json} and ${files.markdown}`);
