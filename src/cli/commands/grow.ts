/**
 * `parsimony grow <model.json|zoo:name> --dataset D --schedule linear|log|exp --max-params N`:
 * progressive growing of an MLP or small CNN with function-preserving Net2Net steps, printing the
 * growth curve (parameters against validation accuracy per stage) as a table or JSON, and saving
 * the grown model with `--out`.
 */
import type { Command } from 'commander';
import { DataError, UsageError } from '../../core/errors.js';
import type { GrowthResult, GrowthScheduleKind } from '../../grow/schedule.js';
import { parseIntegerOption, parsePositiveNumberOption } from '../options.js';
import type { CommandIO } from '../output.js';
import { readModel } from './analyze.js';

interface GrowCommandOptions {
  dataset: string;
  schedule: string;
  maxParams: number;
  stages: number;
  epochsPerStage: number;
  minGain: number;
  learningRate: number;
  seed: number;
  out?: string;
  json?: boolean;
}

const SCHEDULES = ['linear', 'log', 'exp'];

function parseNumberOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`${flag} must be a number, got "${value}"`);
    return n;
  };
}

export function registerGrowCommand(program: Command, io: CommandIO): void {
  program
    .command('grow')
    .description(
      'grow a small network in stages (Net2Net widening and deepening) up to a parameter budget; prints the growth curve',
    )
    .argument('<model>', 'a Parsimony spec file or zoo:<name> to start from (dense/conv2d layers are grown)')
    .requiredOption('--dataset <name>', 'a built-in dataset or csv:<path> (see `parsimony datasets`)')
    .option(
      '--schedule <kind>',
      'how the parameter count rises over the stages: linear, log or exp',
      'linear',
    )
    .requiredOption(
      '--max-params <n>',
      'parameter budget of the last stage',
      parseIntegerOption('--max-params', 1),
    )
    .option('--stages <n>', 'growth stages after the first training', parseIntegerOption('--stages', 1), 5)
    .option(
      '--epochs-per-stage <n>',
      'training epochs per stage',
      parseIntegerOption('--epochs-per-stage', 1),
      3,
    )
    .option(
      '--min-gain <points>',
      'stop when validation accuracy gained per 1000 added parameters is below this many percentage points',
      parseNumberOption('--min-gain'),
      0.1,
    )
    .option('--learning-rate <lr>', 'Adam learning rate', parsePositiveNumberOption('--learning-rate'), 0.01)
    .option(
      '--seed <n>',
      'seed of the split, initialisation, growth and shuffling',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option('--out <dir>', 'save the grown model (spec and weights) to this directory')
    .option('--json', 'print the growth curve as JSON')
    .action(async (model: string, options: GrowCommandOptions) => {
      if (!SCHEDULES.includes(options.schedule))
        throw new UsageError(`--schedule must be linear, log or exp, got "${options.schedule}"`);
      const result = await runGrow(model, options);
      const { formatGrowthCurve } = await import('../../grow/schedule.js');
      if (options.json) {
        const { net: _net, ...rest } = result.growth;
        io.stdout(
          JSON.stringify(
            {
              ...rest,
              testAccuracy: result.testAccuracy,
              spec: result.growth.net.spec,
              saved: options.out ?? null,
            },
            null,
            2,
          ),
        );
      } else {
        io.stdout(formatGrowthCurve(result.growth.curve));
        io.stdout(
          `stopped: ${result.growth.stopped}; ${result.growth.totalEpochs} epochs in ${result.growth.seconds.toFixed(1)} s; test accuracy ${(100 * result.testAccuracy).toFixed(2)}%`,
        );
        if (options.out) io.stdout(`saved to ${options.out}`);
      }
    });
}

export async function runGrow(
  modelRef: string,
  options: Omit<GrowCommandOptions, 'json'>,
): Promise<{ growth: GrowthResult; testAccuracy: number }> {
  const spec = await readModel(modelRef);
  const { loadDatasetSplits } = await import('../../data/registry.js');
  const { fitStandardScaler } = await import('../../data/transforms.js');
  const { initBackend } = await import('../../models/backends/index.js');
  const { growNetwork } = await import('../../grow/schedule.js');
  const { buildNet } = await import('../../grow/net2net.js');
  const { evaluate, trainingData } = await import('../../train/trainer.js');
  const splits = await loadDatasetSplits(options.dataset, { seed: options.seed });
  if (spec.inputs.length !== 1) throw new UsageError(`${modelRef}: grow needs a model with one input`);
  const shape = spec.inputs[0].shape;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== splits.train.numFeatures)
    throw new DataError(
      `${modelRef}: input shape [${shape.join(',')}] holds ${size} values, but dataset ${options.dataset} has ${splits.train.numFeatures} features`,
    );
  await initBackend();
  const scaler = fitStandardScaler(splits.train);
  const growth = await growNetwork(spec, {
    train: trainingData(scaler.transform(splits.train), shape),
    validation: trainingData(scaler.transform(splits.validation), shape),
    schedule: options.schedule as GrowthScheduleKind,
    maxParams: options.maxParams,
    stages: options.stages,
    epochsPerStage: options.epochsPerStage,
    minGainPerThousand: options.minGain / 100,
    optimizer: { type: 'adam', learningRate: options.learningRate },
    seed: options.seed,
  });
  const model = await buildNet(growth.net);
  const testAccuracy = (await evaluate(model, trainingData(scaler.transform(splits.test), shape))).accuracy;
  if (options.out) {
    const { saveModel } = await import('../../models/tfjs/save.js');
    await saveModel(model, growth.net.spec, options.out);
  }
  model.dispose();
  return { growth, testAccuracy };
}
