/**
 * Population-based training against random search and ASHA at equal compute, in one run.
 *
 *   node --import tsx bench/pbt.ts [--dataset digits] [--population 8] [--rounds 5]
 *     [--epochs-per-round 2] [--hidden 32] [--train-size 0] [--seeds 0,1,2] [--backend cpu]
 *
 * Budget per method and seed: population x rounds x epochs-per-round epochs.
 * - PBT: `runPbt` (exploit the bottom 25% from the top 25%, explore x0.8/x1.2 or resample p=0.25).
 * - Random search: `population` configurations drawn from the same space, each trained for
 *   rounds x epochs-per-round epochs with fixed values.
 * - ASHA: a study with the random sampler and the successive-halving pruner (min resource
 *   epochs-per-round epochs, reduction factor 3), trials of up to rounds x epochs-per-round epochs,
 *   asked until the budget is spent (the last trial gets what is left).
 * All use the same space (learning rate, AdamW weight decay, dropout, augmentation strength, batch
 * size), the same MLP and the same seeded split. Each method's best model is the one with the best
 * validation accuracy; its test accuracy is on the held-out test split. For PBT the best member's
 * schedule is also replayed and its test accuracy printed beside it.
 */
import {
  augmentationFor,
  buildPbtModel,
  PBT_DEFAULT_HYPERPARAMETERS,
  type PbtHyperparameters,
  type PbtSetup,
  type PbtSpace,
  pbtMlpSpec,
  replayPbtSchedule,
  runPbt,
  sampleHyperparameters,
} from '../src/adapt/pbt.js';
import { TrialPruned } from '../src/core/errors.js';
import { Random } from '../src/core/random.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../src/data/transforms.js';
import { type BackendName, initBackend } from '../src/models/backends/index.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { SuccessiveHalvingPruner } from '../src/pruners/successive-halving.js';
import { RandomSampler } from '../src/samplers/random.js';
import { createStudy } from '../src/study/create.js';
import { evaluate, trainingData, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { writeBenchResults } from './lib/results.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs([
  'dataset',
  'population',
  'rounds',
  'epochs-per-round',
  'hidden',
  'train-size',
  'seeds',
  'backend',
]);
const datasetName = args.string('dataset', 'digits');
const population = args.count('population', 8);
const rounds = args.count('rounds', 5);
const epochsPerRound = args.count('epochs-per-round', 2);
const hidden = args.count('hidden', 32);
const trainSize = args.integers('train-size', [0])[0];
const seeds = args.integers('seeds', [0, 1, 2]);
const backend = args.string('backend', 'cpu') as BackendName;
const info = await initBackend({ backend });

const splits = splitBundle(await loadDataset(datasetName), { seed: 0 });
// Optionally a seeded subsample of the training part (Fashion-MNIST on the cpu backend).
const trainPart =
  trainSize > 0 && trainSize < splits.train.labels.length
    ? subset(splits.train, new Random(0).permutation(splits.train.labels.length).subarray(0, trainSize))
    : splits.train;
const scaler = fitStandardScaler(trainPart);
const shape = datasetName === 'digits' ? [8, 8, 1] : [...splits.train.featureShape];
if (shape.length !== 3) throw new Error(`bench/pbt: ${datasetName} is not an image dataset`);
const train = trainingData(scaler.transform(trainPart), shape);
const validation = trainingData(scaler.transform(splits.validation), shape);
const test = trainingData(scaler.transform(splits.test), shape);
const space: PbtSpace = {
  learningRate: { low: 1e-4, high: 1e-1 },
  weightDecay: { low: 1e-6, high: 1e-1 },
  dropout: { low: 0, high: 0.5 },
  augmentation: { low: 0, high: 1 },
  batchSize: [16, 32, 64, 128],
};
const setup: PbtSetup = {
  train,
  validation,
  buildSpec: (hp) => pbtMlpSpec(shape, train.numClasses, [hidden], hp.dropout),
  space,
  epochsPerRound,
};
const budget = population * rounds * epochsPerRound;
const maxEpochs = rounds * epochsPerRound;

async function testAccuracy(
  hp: PbtHyperparameters,
  initSeed: number,
  weights: Float32Array[],
): Promise<number> {
  const model = await buildPbtModel(setup, hp, initSeed, weights);
  const accuracy = (await evaluate(model, test)).accuracy;
  model.dispose();
  return accuracy;
}

interface Outcome {
  valAccuracy: number;
  testAccuracy: number;
  epochs: number;
  trials: number;
  seconds: number;
}

/** Trains one configuration; returns its final validation accuracy, weights and epochs trained. */
async function trainConfig(
  hp: PbtHyperparameters,
  seed: number,
  epochs: number,
  trial?: { report(v: number, s: number): void; shouldPrune(): boolean },
): Promise<{ valAccuracy: number; weights: Float32Array[]; epochs: number; pruned: boolean }> {
  const model = await buildTfjsModel(setup.buildSpec(hp), { seed });
  let trained = 0;
  let valAccuracy = 0;
  let pruned = false;
  const augmentation = augmentationFor(hp.augmentation);
  try {
    await trainModel(model, train, {
      epochs,
      batchSize: hp.batchSize,
      optimizer: { type: 'adamw', learningRate: hp.learningRate, weightDecay: hp.weightDecay },
      validation,
      seed,
      ...(augmentation ? { augmentation } : {}),
      ...(trial ? { trial } : {}),
      onEpoch: (m) => {
        trained++;
        valAccuracy = m.valAccuracy ?? 0;
      },
    });
  } catch (error) {
    if (!(error instanceof TrialPruned)) throw error;
    pruned = true;
  }
  const weights = model.getWeights().map((t) => (t.dataSync() as Float32Array).slice());
  model.dispose();
  return { valAccuracy, weights, epochs: trained, pruned };
}

async function runRandom(seed: number): Promise<Outcome> {
  const started = performance.now();
  let best = { valAccuracy: -1, testAccuracy: 0 };
  const rng = new Random(seed).fork('random-search');
  for (let i = 0; i < population; i++) {
    const hp = sampleHyperparameters(space, rng.fork(i));
    const initSeed = seed * 1000 + i;
    const out = await trainConfig(hp, initSeed, maxEpochs);
    if (out.valAccuracy > best.valAccuracy)
      best = { valAccuracy: out.valAccuracy, testAccuracy: await testAccuracy(hp, initSeed, out.weights) };
  }
  return { ...best, epochs: budget, trials: population, seconds: (performance.now() - started) / 1000 };
}

async function runAsha(seed: number): Promise<Outcome> {
  const started = performance.now();
  const study = await createStudy({
    direction: 'maximize',
    sampler: new RandomSampler({ seed }),
    pruner: new SuccessiveHalvingPruner({ minResource: epochsPerRound, reductionFactor: 3 }),
  });
  let used = 0;
  let trials = 0;
  let best = { valAccuracy: -1, testAccuracy: 0 };
  while (used < budget) {
    const trial = await study.ask();
    const hp: PbtHyperparameters = {
      ...PBT_DEFAULT_HYPERPARAMETERS,
      learningRate: trial.suggestFloat('learningRate', 1e-4, 1e-1, { log: true }),
      weightDecay: trial.suggestFloat('weightDecay', 1e-6, 1e-1, { log: true }),
      dropout: trial.suggestFloat('dropout', 0, 0.5),
      augmentation: trial.suggestFloat('augmentation', 0, 1),
      batchSize: trial.suggestCategorical('batchSize', [16, 32, 64, 128]),
    };
    const initSeed = seed * 1000 + trial.number;
    const out = await trainConfig(hp, initSeed, Math.min(maxEpochs, budget - used), trial);
    used += out.epochs;
    trials++;
    await study.tell(trial, out.pruned ? { state: 'PRUNED' } : out.valAccuracy);
    // Only trials that ran their full length compete (a pruned trial's model is discarded).
    if (!out.pruned && out.valAccuracy > best.valAccuracy)
      best = { valAccuracy: out.valAccuracy, testAccuracy: await testAccuracy(hp, initSeed, out.weights) };
  }
  return { ...best, epochs: used, trials, seconds: (performance.now() - started) / 1000 };
}

interface Row {
  seed: number;
  pbt: Outcome;
  replayTestAccuracy: number;
  random: Outcome;
  asha: Outcome;
}
const rows: Row[] = [];
for (const seed of seeds) {
  const started = performance.now();
  const result = await runPbt({
    ...setup,
    population,
    rounds,
    seed,
    study: await createStudy({ direction: 'maximize' }),
  });
  const bestMember = result.members[result.best];
  const pbt: Outcome = {
    valAccuracy: bestMember.valAccuracy,
    testAccuracy: await testAccuracy(
      bestMember.hyperparameters,
      bestMember.schedule.initSeed,
      bestMember.weights,
    ),
    epochs: result.totalEpochs,
    trials: population,
    seconds: (performance.now() - started) / 1000,
  };
  const replay = await replayPbtSchedule(bestMember.schedule, setup);
  const replayTestAccuracy = await testAccuracy(
    bestMember.schedule.steps[bestMember.schedule.steps.length - 1].hyperparameters,
    bestMember.schedule.initSeed,
    replay.weights,
  );
  const random = await runRandom(seed);
  const asha = await runAsha(seed);
  rows.push({ seed, pbt, replayTestAccuracy, random, asha });
  console.log(
    `seed ${seed}: PBT val ${pbt.valAccuracy.toFixed(4)} test ${pbt.testAccuracy.toFixed(4)} (replay ${replayTestAccuracy.toFixed(4)}), random val ${random.valAccuracy.toFixed(4)} test ${random.testAccuracy.toFixed(4)}, ASHA val ${asha.valAccuracy.toFixed(4)} test ${asha.testAccuracy.toFixed(4)} (${asha.trials} trials)`,
  );
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const line = (label: string, pick: (r: Row) => Outcome): string[] => [
  label,
  pct(mean(rows.map((r) => pick(r).valAccuracy))),
  pct(mean(rows.map((r) => pick(r).testAccuracy))),
  rows.map((r) => pct(pick(r).testAccuracy)).join(' / '),
  String(mean(rows.map((r) => pick(r).epochs))),
  mean(rows.map((r) => pick(r).trials)).toFixed(1),
  mean(rows.map((r) => pick(r).seconds)).toFixed(1),
];
const table = markdownTable(
  ['method', 'best val acc (mean)', 'its test acc (mean)', 'test acc per seed', 'epochs', 'trials', 's'],
  [line('PBT', (r) => r.pbt), line('random search', (r) => r.random), line('ASHA', (r) => r.asha)],
);
const replayExact = rows.every((r) => r.replayTestAccuracy === r.pbt.testAccuracy);
const heading = `PBT vs random search vs ASHA at ${budget} epochs each (population ${population}, ${rounds} rounds x ${epochsPerRound} epochs), MLP [${hidden}] on ${datasetName}${trainPart === splits.train ? '' : ` (${trainSize} training samples)`}, seeds ${seeds.join(',')}, backend ${info.name}`;
const replayLine = `PBT best member's schedule replayed: test accuracy ${rows.map((r) => pct(r.replayTestAccuracy)).join(' / ')} — ${replayExact ? 'identical to the member for every seed' : 'DIFFERS from the member'}`;
console.log(`\n${heading}\n\n${table}\n\n${replayLine}`);
const files = writeBenchResults(
  `pbt-${datasetName}`,
  {
    dataset: datasetName,
    population,
    rounds,
    epochsPerRound,
    hidden,
    trainSize,
    backend: info.name,
    space,
    rows,
  },
  `${heading}\n\n${table}\n\n${replayLine}`,
);
console.log(`\nwrote ${files.json} and ${files.markdown}`);
