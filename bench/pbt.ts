/**
 * Population-based training against random search and ASHA at equal compute, in one run.
 *
 *   node --import tsx bench/pbt.ts [--dataset digits] [--population 8] [--rounds 5]
 *     [--epochs-per-round 2] [--hidden 32] [--train-size 0] [--seeds 0,1,2] [--backend cpu]
 *     [--explore perturb|pb2] [--fraction 0.25] [--resample 0.25] [--factors 0.8,1.2]
 *     [--fresh-optimizer] [--threads 1] [--lr 1e-4,1e-1] [--methods pbt,random,asha[,random-lhs]]
 *     [--initial latin-hypercube|random]
 *
 * Budget per method and seed: population x rounds x epochs-per-round epochs.
 * - PBT: `runPbt` (starting values a Latin hypercube unless --initial random; exploit the bottom `fraction` from the top `fraction`; explore 'perturb'
 *   multiplies by one of `factors` or resamples with probability `resample`, 'pb2' uses the GP
 *   bandit; the AdamW state is carried and copied unless --fresh-optimizer).
 * - Random search: `population` configurations drawn from the same space, each trained for
 *   rounds x epochs-per-round epochs with fixed values; 'random-lhs' (not run by default): the
 *   same with the configurations a Latin hypercube, as PBT's starting values.
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
  latinHypercubeHyperparameters,
  PBT_DEFAULT_HYPERPARAMETERS,
  type PbtHyperparameters,
  type PbtSetup,
  type PbtSpace,
  pbtMlpSpec,
  replayPbtSchedule,
  runPbt,
  sampleHyperparameters,
  withDropoutRate,
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
import { mean, median } from './lib/stats.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(
  [
    'dataset',
    'population',
    'rounds',
    'epochs-per-round',
    'hidden',
    'train-size',
    'seeds',
    'backend',
    'explore',
    'fraction',
    'resample',
    'factors',
    'threads',
    'lr',
    'methods',
    'initial',
  ],
  ['fresh-optimizer'],
);
const datasetName = args.string('dataset', 'digits');
const population = args.count('population', 8);
const rounds = args.count('rounds', 5);
const epochsPerRound = args.count('epochs-per-round', 2);
const hidden = args.count('hidden', 32);
const trainSize = args.integers('train-size', [0])[0];
const seeds = args.integers('seeds', [0, 1, 2]);
const backend = args.string('backend', 'cpu') as BackendName;
const explore = args.string('explore', 'perturb') as 'perturb' | 'pb2';
const fraction = args.number('fraction', 0.25);
const resampleProbability = args.number('resample', 0.25);
const factors = args.list('factors', ['0.8', '1.2']).map(Number) as [number, number];
const carryOptimizerState = !args.flag('fresh-optimizer');
const threads = args.count('threads', 1);
const [lrLow, lrHigh] = args.list('lr', ['1e-4', '1e-1']).map(Number);
const methods = args.list('methods', ['pbt', 'random', 'asha']);
const initialDesign = args.string('initial', 'latin-hypercube') as 'latin-hypercube' | 'random';
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
  learningRate: { low: lrLow, high: lrHigh },
  weightDecay: { low: 1e-6, high: 1e-1 },
  dropout: { low: 0, high: 0.5 },
  augmentation: { low: 0, high: 1 },
  batchSize: [16, 32, 64, 128],
};
// The network as a spec (its dropout layers follow each member's rate), so members can train in threads.
const setup: PbtSetup = {
  train,
  validation,
  spec: pbtMlpSpec(shape, train.numClasses, [hidden], 0),
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
  const model = await buildTfjsModel(withDropoutRate(setup.spec!, hp.dropout), { seed });
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

/** Random search; `design` 'latin-hypercube' trains the same kind of design PBT starts from instead of independent draws. */
async function runRandom(seed: number, design: 'random' | 'latin-hypercube'): Promise<Outcome> {
  const started = performance.now();
  let best = { valAccuracy: -1, testAccuracy: 0 };
  const rng = new Random(seed).fork('random-search');
  const lhs = latinHypercubeHyperparameters(space, population, rng.fork('latin-hypercube'));
  for (let i = 0; i < population; i++) {
    const hp = design === 'random' ? sampleHyperparameters(space, rng.fork(i)) : lhs[i];
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
      learningRate: trial.suggestFloat('learningRate', lrLow, lrHigh, { log: true }),
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
  pbt?: Outcome;
  replayTestAccuracy?: number;
  random?: Outcome;
  randomLhs?: Outcome;
  asha?: Outcome;
}
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const rows: Row[] = [];
for (const seed of seeds) {
  const row: Row = { seed };
  if (methods.includes('pbt')) {
    const started = performance.now();
    const result = await runPbt({
      ...setup,
      population,
      rounds,
      seed,
      explore,
      fraction,
      resampleProbability,
      perturbFactors: factors,
      carryOptimizerState,
      threads,
      initialDesign,
      study: await createStudy({ direction: 'maximize' }),
    });
    const bestMember = result.members[result.best];
    row.pbt = {
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
    row.replayTestAccuracy = await testAccuracy(
      bestMember.schedule.steps[bestMember.schedule.steps.length - 1].hyperparameters,
      bestMember.schedule.initSeed,
      replay.weights,
    );
  }
  if (methods.includes('random')) row.random = await runRandom(seed, 'random');
  if (methods.includes('random-lhs')) row.randomLhs = await runRandom(seed, 'latin-hypercube');
  if (methods.includes('asha')) row.asha = await runAsha(seed);
  rows.push(row);
  const show = (label: string, o: Outcome | undefined) =>
    o
      ? `${label} val ${pct(o.valAccuracy)} test ${pct(o.testAccuracy)} (${o.trials} trials, ${o.seconds.toFixed(0)} s)`
      : '';
  console.log(
    `seed ${seed}: ${[show('PBT', row.pbt), row.replayTestAccuracy !== undefined ? `replay test ${pct(row.replayTestAccuracy)}` : '', show('random', row.random), show('random (Latin hypercube)', row.randomLhs), show('ASHA', row.asha)].filter(Boolean).join(', ')}`,
  );
}

const line = (label: string, pick: (r: Row) => Outcome | undefined): string[] => {
  const outcomes = rows.map(pick).filter((o): o is Outcome => o !== undefined);
  return [
    label,
    pct(median(outcomes.map((o) => o.valAccuracy))),
    pct(median(outcomes.map((o) => o.testAccuracy))),
    pct(mean(outcomes.map((o) => o.testAccuracy))),
    outcomes.map((o) => pct(o.testAccuracy)).join(' / '),
    String(median(outcomes.map((o) => o.epochs))),
    median(outcomes.map((o) => o.trials)).toFixed(1),
    median(outcomes.map((o) => o.seconds)).toFixed(1),
  ];
};
const table = markdownTable(
  [
    'method',
    'best val acc (median)',
    'its test acc (median)',
    'test acc (mean)',
    'test acc per seed',
    'epochs',
    'trials',
    's',
  ],
  [
    ...(methods.includes('pbt') ? [line(`PBT (${explore})`, (r) => r.pbt)] : []),
    ...(methods.includes('random') ? [line('random search', (r) => r.random)] : []),
    ...(methods.includes('random-lhs') ? [line('random search (Latin hypercube)', (r) => r.randomLhs)] : []),
    ...(methods.includes('asha') ? [line('ASHA', (r) => r.asha)] : []),
  ],
);
const pbtRows = rows.filter((r) => r.pbt && r.replayTestAccuracy !== undefined);
const replayExact = pbtRows.every((r) => r.replayTestAccuracy === r.pbt?.testAccuracy);
const heading = `PBT (${explore}, ${initialDesign} start, fraction ${fraction}, ${carryOptimizerState ? 'optimizer state carried' : 'fresh optimizer per round'}, ${threads} thread${threads > 1 ? 's' : ''}) vs random search vs ASHA at ${budget} epochs each (population ${population}, ${rounds} rounds x ${epochsPerRound} epochs), MLP [${hidden}], learning rate ${lrLow}-${lrHigh}, on ${datasetName}${trainPart === splits.train ? '' : ` (${trainSize} training samples)`}, seeds ${seeds.join(',')}, backend ${info.name}`;
const replayLine = pbtRows.length
  ? `PBT best member's schedule replayed: test accuracy ${pbtRows.map((r) => pct(r.replayTestAccuracy as number)).join(' / ')} — ${replayExact ? 'identical to the member for every seed' : 'DIFFERS from the member'}`
  : '';
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
    explore,
    fraction,
    resampleProbability,
    factors,
    carryOptimizerState,
    threads,
    initialDesign,
    space,
    rows,
  },
  `${heading}\n\n${table}\n\n${replayLine}`,
);
console.log(`\nwrote ${files.json} and ${files.markdown}`);
