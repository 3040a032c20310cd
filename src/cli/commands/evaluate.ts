/**
 * `parsimony evaluate <model.onnx | model dir> --dataset D [--compare other] [--json]`: accuracy,
 * latency per sample and per batch, and size on disk (src/deploy/evaluate.ts);
 * with --compare, both models side by side on the same data.
 */
import type { Command } from 'commander';
import type { EvaluationResult } from '../../deploy/evaluate.js';
import { parseIntegerOption } from '../options.js';
import { type CommandIO, formatTable } from '../output.js';

export interface EvaluateCommandOptions {
  dataset: string;
  compare?: string;
  batchSize: number;
  repeats: number;
  threads: number;
  seed: number;
  json?: boolean;
}

export async function runEvaluate(
  model: string,
  options: EvaluateCommandOptions,
): Promise<EvaluationResult[]> {
  const { evaluateModel } = await import('../../deploy/evaluate.js');
  const targets = options.compare ? [model, options.compare] : [model];
  const results: EvaluationResult[] = [];
  for (const target of targets) results.push(await evaluateModel(target, options));
  return results;
}

export function formatEvaluation(results: readonly EvaluationResult[]): string {
  const first = results[0];
  const rows: [string, (r: EvaluationResult) => string][] = [
    ['runtime', (r) => r.runtime],
    ['threads', (r) => (r.threads === null ? 'backend default' : String(r.threads))],
    [`accuracy (${first.split}, ${first.samples} samples)`, (r) => `${(100 * r.accuracy).toFixed(2)}%`],
    ['latency / sample (batch 1)', (r) => `${r.latencyPerSampleMs.toFixed(3)} ms`],
    [`latency / batch (${first.batchSize})`, (r) => `${r.latencyPerBatchMs.toFixed(3)} ms`],
    ['size on disk', (r) => `${r.fileBytes} B`],
  ];
  const table = formatTable(rows, [
    { header: 'measure', value: (row) => row[0] },
    ...results.map((r) => ({
      header: r.model,
      value: (row: (typeof rows)[number]) => row[1](r),
      align: 'right' as const,
    })),
  ]);
  return `${table}\n(dataset ${first.dataset}; latencies are medians of ${first.repeats} runs)`;
}

export function registerEvaluateCommand(program: Command, io: CommandIO): void {
  program
    .command('evaluate')
    .description(
      'accuracy, latency per sample and per batch, and size of a model (ONNX in onnxruntime-node, or a Parsimony model directory in TensorFlow.js); --compare puts a second model beside it',
    )
    .argument('<model>', 'a .onnx file or a saved model directory')
    .requiredOption(
      '--dataset <name>',
      'a built-in dataset or csv:<path>; the held-out split, standardised as in training',
    )
    .option('--compare <model>', 'a second model (.onnx or directory) evaluated on the same data')
    .option('--batch-size <n>', 'samples per batch', parseIntegerOption('--batch-size', 1), 64)
    .option(
      '--repeats <n>',
      'timed runs of each latency (median reported)',
      parseIntegerOption('--repeats', 1),
      20,
    )
    .option('--threads <n>', 'onnxruntime intra-op threads', parseIntegerOption('--threads', 1), 1)
    .option(
      '--seed <n>',
      'seed of the dataset split: the one the model was trained or compressed with (its scaler and held-out samples)',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option('--json', 'print the results as JSON')
    .action(async (model: string, options: EvaluateCommandOptions) => {
      const results = await runEvaluate(model, options);
      io.stdout(
        options.json
          ? JSON.stringify(options.compare ? results : results[0], null, 2)
          : formatEvaluation(results),
      );
    });
}
