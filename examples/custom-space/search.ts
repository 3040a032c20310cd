/**
 * A user's own search space: ordinary define-by-run code that asks the trial for its decisions and
 * returns a Parsimony model spec. This one chooses, for 8x8 digit images, between a convolutional
 * front end (one or two conv layers, each optionally followed by max pooling) and none, then a dense
 * head whose width it also searches. `checkBudget` records the spec's parameters and MACs on the
 * trial and prunes it before training when it breaks the budget, as the built-in spaces do.
 *
 * Run it: `node --import tsx examples/custom-space/search.ts [trials] [seed]`. In your own project
 * import from 'parsimony-ml' instead of '../../src/index.js'.
 */
import { fileURLToPath } from 'node:url';
import {
  AgingEvolutionSampler,
  buildTfjsModel,
  checkBudget,
  createStudy,
  evaluate,
  fitStandardScaler,
  initBackend,
  loadDataset,
  ModelBuilder,
  type ModelSpec,
  type Study,
  splitBundle,
  type Trial,
  trainingData,
  trainModel,
} from '../../src/index.js';

export const MAX_PARAMS = 6_000;

/** The space: a conv front end or none, then a dense head, all under MAX_PARAMS parameters. */
export function digitsSpace(trial: Trial): ModelSpec {
  const b = new ModelBuilder('my-digits-space');
  let x = b.input([8, 8, 1]);
  const front = trial.suggestCategorical('front', ['conv', 'none']);
  if (front === 'conv') {
    const convs = trial.suggestInt('convs', 1, 2);
    for (let i = 0; i < convs; i++) {
      const filters = trial.suggestCategorical(`conv${i}_filters`, [4, 8, 16]);
      x = b.conv2d(x, { filters, kernelSize: 3, padding: 'same', activation: 'relu' });
      if (trial.suggestCategorical(`conv${i}_pool`, [true, false])) x = b.maxPool2d(x, { poolSize: 2 });
    }
  }
  x = b.flatten(x);
  const hidden = trial.suggestInt('hidden', 0, 64, { step: 16 });
  if (hidden > 0) x = b.dense(x, { units: hidden, activation: 'relu' });
  const spec = b.build(b.dense(x, { units: 10, activation: 'softmax' }));
  checkBudget(trial, spec, { maxParams: MAX_PARAMS }); // pruned here, untrained, when over budget
  return spec;
}

/** A two-objective study over the space: validation accuracy up, parameters down. */
export async function runExample(trials: number, seed: number): Promise<Study> {
  await initBackend();
  const splits = splitBundle(await loadDataset('digits'), { seed, validation: 0.2, test: 0.2 });
  const scaler = fitStandardScaler(splits.train);
  const train = trainingData(scaler.transform(splits.train), [8, 8, 1]);
  const validation = trainingData(scaler.transform(splits.validation), [8, 8, 1]);
  const study = await createStudy({
    directions: ['maximize', 'minimize'],
    sampler: new AgingEvolutionSampler({ seed, populationSize: 4, sampleSize: 2 }),
  });
  await study.optimize(
    async (trial) => {
      const spec = digitsSpace(trial);
      const model = await buildTfjsModel(spec, { seed: trial.number });
      try {
        await trainModel(model, train, { epochs: 3, batchSize: 64, seed: trial.number });
        return [(await evaluate(model, validation)).accuracy, trial.userAttrs.params as number];
      } finally {
        model.dispose();
      }
    },
    { nTrials: trials },
  );
  return study;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const study = await runExample(Number(process.argv[2] ?? 12), Number(process.argv[3] ?? 0));
  for (const t of study.bestTrials.sort((a, b) => a.values![1] - b.values![1]))
    console.log(
      `trial ${t.number}: ${t.values![1]} params, ${(100 * t.values![0]).toFixed(1)}% validation accuracy`,
      JSON.stringify(t.params),
    );
}
