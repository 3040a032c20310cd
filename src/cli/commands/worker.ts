import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, UsageError } from '../../core/errors.js';
import { parseIntegerOption } from '../options.js';
import type { CommandIO } from '../output.js';
import { executeTune } from './tune.js';

export interface WorkerCommandOptions {
  /** Required with `study`; with `config`, overrides the file's storage. */
  storage?: string;
  /** Where the stored study file's relative paths resolve (default: the current directory). */
  dir?: string;
  study?: string;
  config?: string;
  concurrency?: number;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Joins a study from any machine. With `--study`, the study file stored by the `tune` (or worker)
 * that created the study is used, its relative paths (workdir, logs) resolved against `--dir` (the
 * current directory by default), as if the file were there; with `--config`, the study is created
 * from the file if it does not exist yet, in the file's storage unless `--storage` says otherwise.
 * Either way this is `tune` on a shared storage: the study's `trials` is a budget for all workers
 * together, and lost workers' trials are failed and retried by the others.
 */
export async function runWorker(io: CommandIO, options: WorkerCommandOptions): Promise<void> {
  if (!options.study === !options.config)
    throw new UsageError('worker: give --study NAME to join a study, or --config FILE');
  if (options.config) {
    if (options.dir !== undefined)
      throw new UsageError('worker: --dir applies to --study; with --config, paths are relative to the file');
    const run = { storage: options.storage, concurrency: options.concurrency };
    await executeTune(io, { ...run, file: options.config }, options);
    return;
  }
  if (!options.storage)
    throw new UsageError('worker: --study needs --storage URL (the storage that holds the study)');
  const run = { storage: options.storage, concurrency: options.concurrency };
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
  // Older versions stored the file's absolute path; only its name is used.
  const config = parseStudyConfig(file.text, resolve(options.dir ?? '.', basename(file.file)));
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
    .option(
      '--storage <url>',
      "sqlite:<path> or postgres://user@host/db (required with --study; with --config, default: the file's storage)",
    )
    .option('--study <name>', 'the study to join (created earlier by `parsimony tune`)')
    .option('--config <file>', 'study file: join its study, creating it if needed')
    .option(
      '--dir <path>',
      "with --study: where the stored study file's relative paths (workdir, logs) resolve (default: the current directory)",
    )
    .option('--concurrency <n>', 'trials this worker runs at once', parseIntegerOption('--concurrency', 1))
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .action((options: WorkerCommandOptions) => runWorker(io, options));
}
