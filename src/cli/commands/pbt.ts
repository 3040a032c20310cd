/**
 * `parsimony pbt --dataset D --population N --rounds R --epochs-per-round E`: population-based
 * training of a small MLP (one hidden layer with dropout) on a dataset's seeded split. Prints each
 * member's final values, validation accuracy and lineage, and the best member's test accuracy; the
 * members are trials of a study in `--storage` (memory unless given), so `parsimony studies`
 * and the dashboard show them.
 */
import type { Command } from 'commander';
import type { PbtResult } from '../../adapt/pbt.js';
import { UsageError } from '../../core/errors.js';
import { parseIntegerOption } from '../options.js';
import type { CommandIO } from '../output.js';

interface PbtCommandOptions {
  dataset: string;
  population: number;
  rounds: number;
  epochsPerRound: number;
  hidden: number;
  seed: number;
  explore: 'perturb' | 'pb2';
  threads: number;
  storage: string;
  studyName?: string;
  json?: boolean;
}

export function registerPbtCommand(program: Command, io: CommandIO): void {
  program
    .command('pbt')
    .description(
      'population-based training of a small MLP: every round the bottom 25% copy a top member and perturb its learning rate, weight decay, dropout, batch size (and augmentation on images)',
    )
    .requiredOption('--dataset <name>', 'a built-in dataset or csv:<path> (see `parsimony datasets`)')
    .requiredOption(
      '--population <n>',
      'members trained side by side (>= 2)',
      parseIntegerOption('--population', 2),
    )
    .requiredOption('--rounds <n>', 'rounds of training', parseIntegerOption('--rounds', 1))
    .option(
      '--epochs-per-round <n>',
      'epochs between exploit steps',
      parseIntegerOption('--epochs-per-round', 1),
      1,
    )
    .option('--hidden <n>', 'units of the hidden layer', parseIntegerOption('--hidden', 1), 32)
    .option(
      '--explore <kind>',
      "perturb (x0.8/x1.2 or resample) or pb2 (GP bandit on the rounds' accuracy changes)",
      (value: string) => {
        if (value !== 'perturb' && value !== 'pb2')
          throw new UsageError(`--explore must be perturb or pb2, got "${value}"`);
        return value;
      },
      'perturb',
    )
    .option(
      '--threads <n>',
      'worker threads training members side by side (same result for any number)',
      parseIntegerOption('--threads', 1),
      1,
    )
    .option(
      '--seed <n>',
      'seed of the split, initial values, training and explore',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option(
      '--storage <url>',
      'memory:, sqlite:<path> or postgres://... holding the members as trials',
      'memory:',
    )
    .option('--study-name <name>', 'name of the study (default: pbt-<dataset>-<seed>)')
    .option('--json', 'print the result as JSON')
    .action(async (options: PbtCommandOptions) => {
      const { result, testAccuracy, studyName } = await runPbtCommand(options);
      if (options.json) {
        io.stdout(
          JSON.stringify(
            {
              studyName,
              best: result.best,
              testAccuracy,
              totalEpochs: result.totalEpochs,
              members: result.members.map(({ weights: _weights, ...m }) => m),
            },
            null,
            2,
          ),
        );
        return;
      }
      io.stdout(formatPbt(result));
      io.stdout(
        `best member ${result.best}: test accuracy ${(100 * testAccuracy).toFixed(2)}%; ${result.totalEpochs} epochs in all; study "${studyName}" in ${options.storage}`,
      );
    });
}

function formatPbt(result: PbtResult): string {
  const lines = ['member  val acc   lr        wd        dropout  aug   batch  lineage (round:member)'];
  for (const m of result.members) {
    const hp = m.hyperparameters;
    const lineage = m.schedule.steps.map((s) => `${s.round}:${s.trainedBy}`).join(' ');
    lines.push(
      `${String(m.member).padEnd(8)}${(100 * m.valAccuracy).toFixed(2).padStart(6)}%  ${hp.learningRate.toExponential(2).padEnd(10)}${hp.weightDecay.toExponential(2).padEnd(10)}${hp.dropout.toFixed(3).padEnd(9)}${hp.augmentation.toFixed(2).padEnd(6)}${String(hp.batchSize).padEnd(7)}${lineage}`,
    );
  }
  return lines.join('\n');
}

export async function runPbtCommand(
  options: Omit<PbtCommandOptions, 'json'>,
): Promise<{ result: PbtResult; testAccuracy: number; studyName: string }> {
  const { loadDatasetSplits } = await import('../../data/registry.js');
  const { fitStandardScaler } = await import('../../data/transforms.js');
  const { initBackend } = await import('../../models/backends/index.js');
  const { evaluate, trainingData } = await import('../../train/trainer.js');
  const { createStudy } = await import('../../study/create.js');
  const { PBT_DEFAULT_SPACE, buildPbtModel, pbtMlpSpec, runPbt } = await import('../../adapt/pbt.js');
  if (options.storage.trim() === '') throw new UsageError('--storage must not be empty');
  const splits = await loadDatasetSplits(options.dataset, { seed: options.seed });
  await initBackend();
  const scaler = fitStandardScaler(splits.train);
  const shape = [...splits.train.featureShape];
  // Augmentation only applies to images [height, width, channels].
  const space =
    shape.length === 3 ? { ...PBT_DEFAULT_SPACE, augmentation: { low: 0, high: 1 } } : PBT_DEFAULT_SPACE;
  const classes = splits.train.classNames.length;
  const setup = {
    train: trainingData(scaler.transform(splits.train), shape),
    validation: trainingData(scaler.transform(splits.validation), shape),
    // A spec (its dropout layer follows each member's rate), so members can train in threads.
    spec: pbtMlpSpec(shape, classes, [options.hidden], 0),
    space,
    epochsPerRound: options.epochsPerRound,
  };
  const studyName = options.studyName ?? `pbt-${options.dataset}-${options.seed}`;
  const study = await createStudy({ direction: 'maximize', storage: options.storage, studyName });
  const result = await runPbt({
    ...setup,
    population: options.population,
    rounds: options.rounds,
    seed: options.seed,
    explore: options.explore,
    threads: options.threads,
    study,
  });
  const best = result.members[result.best];
  const model = await buildPbtModel(setup, best.hyperparameters, best.schedule.initSeed, best.weights);
  const testAccuracy = (await evaluate(model, trainingData(scaler.transform(splits.test), shape))).accuracy;
  model.dispose();
  return { result, testAccuracy, studyName };
}
