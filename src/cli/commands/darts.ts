/**
 * `parsimony darts --dataset D`: differentiable architecture search (first-order DARTS) of a small
 * image cell, then the derived cell retrained from scratch and measured on the test part.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { DartsCell, DartsEpoch, DartsOp } from '../../search/darts.js';
import { parseIntegerOption, parsePositiveNumberOption } from '../options.js';
import type { CommandIO } from '../output.js';

interface DartsCommandOptions {
  dataset: string;
  epochs: number;
  retrainEpochs: number;
  channels: number;
  cells: number;
  nodes: number;
  edgesPerNode: number;
  opsPerEdge: number;
  batchSize: number;
  learningRate: number;
  archLearningRate: number;
  trainSamples?: number;
  testSamples?: number;
  seed: number;
  out?: string;
  json?: boolean;
}

export interface DartsRunResult {
  dataset: string;
  ops: DartsOp[];
  weights: number[][];
  cell: DartsCell;
  history: DartsEpoch[];
  secondsPerEpoch: number;
  searchSeconds: number;
  supernetParams: number;
  params: number;
  macs: number;
  retrain: { validation: number; test: number; seconds: number };
  saved: string | null;
}

export function registerDartsCommand(program: Command, io: CommandIO): void {
  const int = (flag: string, min = 1) => parseIntegerOption(flag, min);
  program
    .command('darts')
    .description(
      'differentiable architecture search (first-order DARTS) of a small image cell; derives the discrete cell, retrains it and reports its test accuracy',
    )
    .requiredOption('--dataset <name>', 'an image dataset: digits, fashion-mnist, or csv:<path> of images')
    .option('--epochs <n>', 'search epochs', int('--epochs'), 10)
    .option(
      '--retrain-epochs <n>',
      'epochs of retraining the derived cell from scratch',
      int('--retrain-epochs'),
      10,
    )
    .option('--channels <n>', 'channels of the stem and every cell', int('--channels'), 8)
    .option('--cells <n>', 'cells, with 2x2 max pooling between them', int('--cells'), 2)
    .option('--nodes <n>', 'intermediate nodes per cell', int('--nodes'), 3)
    .option('--edges-per-node <n>', 'incoming edges kept per node when deriving', int('--edges-per-node'), 2)
    .option('--ops-per-edge <n>', 'operations kept per kept edge', int('--ops-per-edge'), 1)
    .option('--batch-size <n>', 'batch size of search and retraining', int('--batch-size'), 32)
    .option(
      '--learning-rate <lr>',
      'Adam step size of the weights',
      parsePositiveNumberOption('--learning-rate'),
      0.01,
    )
    .option(
      '--arch-learning-rate <lr>',
      'Adam step size of the architecture parameters',
      parsePositiveNumberOption('--arch-learning-rate'),
      0.01,
    )
    .option(
      '--train-samples <n>',
      'use a seeded random subset of the training pool',
      int('--train-samples', 10),
    )
    .option('--test-samples <n>', 'use a seeded random subset of the test part', int('--test-samples', 10))
    .option('--seed <n>', 'seed of the subset, split, initialisation and shuffling', int('--seed', 0), 0)
    .option(
      '--out <dir>',
      'save the retrained derived model (spec, weights) and darts.json to this directory',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: DartsCommandOptions) => {
      if (options.out && existsSync(options.out))
        throw new UsageError(`--out ${options.out}: the directory exists; give a new one`);
      const result = await runDarts(options, (e) => {
        if (!options.json)
          io.stderr(
            `search epoch ${e.epoch + 1}/${options.epochs}: loss ${e.loss.toFixed(4)}, supernet accuracy ${(100 * e.accuracy).toFixed(1)}% train, ${(100 * e.valAccuracy).toFixed(1)}% validation, ${e.seconds.toFixed(1)} s`,
          );
      });
      if (options.json) {
        io.stdout(JSON.stringify(result, null, 2));
        return;
      }
      const { formatCell, formatMixingWeights, dartsEdges } = await import('../../search/darts.js');
      io.stdout(`mixing weights softmax(alpha) after ${result.history.length} search epochs:`);
      io.stdout(formatMixingWeights(result.ops, dartsEdges(result.cell.nodes), result.weights));
      io.stdout('');
      io.stdout('derived cell:');
      io.stdout(formatCell(result.cell));
      io.stdout('');
      io.stdout(
        `search: ${result.searchSeconds.toFixed(1)} s (${result.secondsPerEpoch.toFixed(1)} s per epoch, supernet ${result.supernetParams.toLocaleString('en-US')} parameters)`,
      );
      io.stdout(
        `derived network: ${result.params.toLocaleString('en-US')} parameters, ${result.macs.toLocaleString('en-US')} MACs; retrained ${options.retrainEpochs} epochs in ${result.retrain.seconds.toFixed(1)} s: validation ${(100 * result.retrain.validation).toFixed(2)}%, test ${(100 * result.retrain.test).toFixed(2)}%`,
      );
      if (result.saved) io.stdout(`saved to ${result.saved}`);
    });
}

export async function runDarts(
  options: Omit<DartsCommandOptions, 'json'>,
  onEpoch?: (epoch: DartsEpoch) => void,
): Promise<DartsRunResult> {
  const darts = await import('../../search/darts.js');
  const { analyzeModel } = await import('../../models/complexity/analyze.js');
  const { initBackend } = await import('../../models/backends/index.js');
  const data = await darts.dartsImageData(options.dataset, {
    seed: options.seed,
    trainSamples: options.trainSamples,
    testSamples: options.testSamples,
  });
  const network = {
    inputShape: data.shape,
    classes: data.train.numClasses,
    channels: options.channels,
    cells: options.cells,
    nodes: options.nodes,
  };
  if (options.edgesPerNode > options.nodes)
    throw new UsageError(
      `--edges-per-node ${options.edgesPerNode} is more than --nodes ${options.nodes} allows`,
    );
  await initBackend();
  const started = performance.now();
  const search = await darts.dartsSearch({
    ...network,
    train: data.train,
    validation: data.validation,
    epochs: options.epochs,
    batchSize: options.batchSize,
    weightLearningRate: options.learningRate,
    archLearningRate: options.archLearningRate,
    edgesPerNode: options.edgesPerNode,
    opsPerEdge: options.opsPerEdge,
    seed: options.seed,
    onEpoch,
  });
  const searchSeconds = (performance.now() - started) / 1000;
  const spec = darts.dartsCellSpec(search.cell, network);
  const complexity = analyzeModel(spec);
  let saved: string | null = null;
  const staging = options.out ? `${options.out}.partial-${process.pid}` : undefined;
  const retrain = await darts.retrainCell(
    spec,
    data.train,
    { validation: data.validation, test: data.test },
    {
      epochs: options.retrainEpochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      seed: options.seed,
      saveTo: staging,
    },
  );
  const result: DartsRunResult = {
    dataset: options.dataset,
    ops: search.ops,
    weights: search.weights,
    cell: search.cell,
    history: search.history,
    secondsPerEpoch: search.secondsPerEpoch,
    searchSeconds,
    supernetParams: search.supernetParams,
    params: complexity.params,
    macs: complexity.macs,
    retrain: {
      validation: retrain.accuracy.validation,
      test: retrain.accuracy.test,
      seconds: retrain.seconds,
    },
    saved: null,
  };
  if (staging && options.out) {
    // Written whole, then renamed: an interrupted run leaves no half-written --out directory.
    const { writeFileSync, renameSync } = await import('node:fs');
    const { join } = await import('node:path');
    writeFileSync(
      join(staging, 'darts.json'),
      `${JSON.stringify({ ...result, saved: options.out }, null, 1)}\n`,
    );
    renameSync(staging, options.out);
    saved = options.out;
  }
  return { ...result, saved };
}
