import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import type { CommandIO } from '../output.js';
import { executeTune } from './tune.js';

export interface WorkerCommandOptions {
  storage: string;
  study?: string;
  config?: string;
  concurrency?: number;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Joins a study from any machine. With `--study`, the study file stored by the `tune` (or worker)
 * that created the study is used; with `--config`, the study is created from the file if it does
 * not exist yet. Either way this is `tune` on a shared storage: the study's `trials` is a budget
 * for all workers together, and lost workers' trials are failed and retried by the others.
 */
export async function runWorker(io: CommandIO, options: WorkerCommandOptions): Promise<void> {
  if (!options.storage) throw new InvalidArgumentError('worker: --storage is required');
  if (!options.study === !options.config)
    throw new InvalidArgumentError('worker: give --study NAME to join a study, or --config FILE');
  const run = { storage: options.storage, concurrency: options.concurrency };
  if (options.config) {
    await executeTune(io, { ...run, file: options.config }, options);
    return;
  }
  const { createStorage } = await import('../../storage/factory.js');
  const { parseStudyConfig } = await import('../../run/study-config.js');
  const { STUDY_FILE_KEY } = await import('../../run/tune.js');
  const storage = await createStorage(options.storage);
  let stored: unknown;
  try {
    const id = await storage.getStudyIdFromName(options.study!);
    stored = (await storage.getStudySystemAttrs(id))[STUDY_FILE_KEY];
  } finally {
    await storage.close();
  }
  const file = stored as { file?: unknown; text?: unknown } | undefined;
  if (!file || typeof file.file !== 'string' || typeof file.text !== 'string')
    throw new InvalidArgumentError(
      `study "${options.study}" has no stored study file (it was not created by \`parsimony tune\`); give --config FILE`,
    );
  const config = parseStudyConfig(file.text, file.file);
  if (config.name !== options.study)
    throw new InvalidArgumentError(
      `the stored study file names study "${config.name}", not "${options.study}"`,
    );
  await executeTune(io, { ...run, config }, options);
}

export function registerWorkerCommand(program: Command, io: CommandIO): void {
  program
    .command('worker')
    .description('join a study on a shared storage (SQLite file or PostgreSQL) and run its trials')
    .requiredOption('--storage <url>', 'sqlite:<path> or postgres://user@host/db')
    .option('--study <name>', 'the study to join (created earlier by `parsimony tune`)')
    .option('--config <file>', 'study file: join its study, creating it if needed')
    .option('--concurrency <n>', 'trials this worker runs at once', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        throw new InvalidArgumentError(`--concurrency must be an integer >= 1, got "${v}"`);
      return n;
    })
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .action((options: WorkerCommandOptions) => runWorker(io, options));
}
