/**
 * `parsimony studies`: list, rename, delete, copy and export the studies of a storage.
 * Each subcommand is a thin layer over an exported `runStudiesX(options)` function.
 */
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, UsageError } from '../../core/errors.js';
import type { StudyDirection } from '../../core/frozen-trial.js';
import { paretoFrontIndices, toMinimization } from '../../core/multi-objective.js';
import type { Storage } from '../../core/storage.js';
import { isFeasible } from '../../core/study-view.js';
import { copyStudy } from '../../storage/copy.js';
import { type ExportFormat, exportTrials } from '../../storage/export.js';
import { createStorage, redact } from '../../storage/factory.js';
import { type CommandIO, formatInteger, formatTable } from '../output.js';

/** A storage URL, or an open storage (left open). */
export type StorageArg = string | Storage;

export interface StudyListing {
  name: string;
  directions: StudyDirection[];
  trials: number;
  /** Completed trials. */
  complete: number;
  /** Best feasible value of a single-objective study; null for none or several objectives. */
  bestValue: number | null;
  /** Trials on the Pareto front (feasible, completed) of a study with several objectives; else null. */
  paretoFrontSize: number | null;
  /** Start of its first trial (ISO 8601), or null. */
  started: string | null;
}

async function withStorage<T>(
  input: StorageArg,
  mustExist: boolean,
  fn: (storage: Storage) => Promise<T>,
): Promise<T> {
  if (typeof input !== 'string') return fn(input);
  const storage = await createStorage(input, { mustExist });
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export async function runStudiesList(options: { storage: StorageArg }): Promise<StudyListing[]> {
  return withStorage(options.storage, true, async (storage) => {
    const out: StudyListing[] = [];
    for (const s of await storage.getAllStudies()) {
      const complete = await storage.getAllTrials(s.studyId, { states: ['COMPLETE'] });
      let bestValue: number | null = null;
      let paretoFrontSize: number | null = null;
      if (s.directions.length > 1) {
        const points = complete
          .filter((t) => t.values !== null && !t.values.some(Number.isNaN) && isFeasible(t))
          .map((t) => toMinimization(t.values!, s.directions));
        paretoFrontSize = paretoFrontIndices(points).length;
      } else {
        const sign = s.directions[0] === 'maximize' ? -1 : 1;
        for (const t of complete) {
          const v = t.values?.[0];
          if (v === undefined || Number.isNaN(v) || !isFeasible(t)) continue;
          if (bestValue === null || sign * v < sign * bestValue) bestValue = v;
        }
      }
      out.push({
        name: s.studyName,
        directions: [...s.directions],
        trials: s.nTrials,
        complete: complete.length,
        bestValue,
        paretoFrontSize,
        started: s.datetimeStart?.toISOString() ?? null,
      });
    }
    return out;
  });
}

export async function runStudiesRename(options: {
  storage: StorageArg;
  from: string;
  to: string;
}): Promise<void> {
  if (!options.to) throw new InvalidArgumentError('the new study name must not be empty');
  await withStorage(options.storage, true, async (storage) => {
    await storage.renameStudy(await storage.getStudyIdFromName(options.from), options.to);
  });
}

/** Deletes a study and its trials; returns how many trials went with it. */
export async function runStudiesDelete(options: { storage: StorageArg; studyName: string }): Promise<number> {
  return withStorage(options.storage, true, async (storage) => {
    const id = await storage.getStudyIdFromName(options.studyName);
    const summary = (await storage.getAllStudies()).find((s) => s.studyId === id);
    await storage.deleteStudy(id);
    return summary?.nTrials ?? 0;
  });
}

export async function runStudiesCopy(options: {
  studyName: string;
  from: StorageArg;
  to: StorageArg;
  as?: string;
}): Promise<{ studyName: string; nTrials: number }> {
  const result = await copyStudy({
    from: options.from,
    to: options.to,
    studyName: options.studyName,
    toStudyName: options.as,
  });
  return { studyName: result.studyName, nTrials: result.nTrials };
}

/** The study's trials as CSV or JSON text. */
export async function runStudiesExport(options: {
  storage: StorageArg;
  studyName: string;
  format?: ExportFormat;
}): Promise<string> {
  const format = options.format ?? 'csv';
  if (format !== 'csv' && format !== 'json')
    throw new InvalidArgumentError(`--format must be csv or json, got "${format}"`);
  return withStorage(options.storage, true, async (storage) => {
    const id = await storage.getStudyIdFromName(options.studyName);
    const directions = await storage.getStudyDirections(id);
    const trials = await storage.getAllTrials(id);
    return exportTrials(trials, format, { nObjectives: directions.length });
  });
}

export interface StudiesCommandOptions {
  /** Whether a person can answer a question on stdin (default: stdin is a TTY). */
  interactive?: () => boolean;
  /** Asks a yes/no question (default: on the terminal). */
  confirm?: (question: string) => Promise<boolean>;
}

/** Six significant digits for tables (JSON output keeps full precision). */
function shortNumber(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const abs = Math.abs(v);
  return abs < 1e-4 || abs >= 1e9 ? v.toExponential(5) : String(Number(v.toPrecision(6)));
}

/** The best value, or for several objectives the size of the Pareto front. */
function bestText(s: StudyListing): string {
  if (s.paretoFrontSize !== null) return `front of ${s.paretoFrontSize}`;
  return s.bestValue === null ? '-' : shortNumber(s.bestValue);
}

function trialCount(n: number): string {
  return `${formatInteger(n)} trial${n === 1 ? '' : 's'}`;
}

async function confirmOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerStudiesCommand(
  program: Command,
  io: CommandIO,
  options: StudiesCommandOptions = {},
): void {
  const interactive = options.interactive ?? (() => Boolean(process.stdin.isTTY));
  const confirm = options.confirm ?? confirmOnTerminal;
  const studies = program
    .command('studies')
    .description(
      'list, rename, delete, copy and export the studies of a storage (sqlite:FILE, postgres://...)',
    );
  const storageHelp = 'storage URL: sqlite:path/to/file.db or postgres://user@host:5432/db';

  studies
    .command('list')
    .description(
      'list the studies: directions, trials, best value (the Pareto front size with several objectives), start',
    )
    .requiredOption('--storage <url>', storageHelp)
    .option('--json', 'print JSON')
    .action(async (opts: { storage: string; json?: boolean }) => {
      const list = await runStudiesList({ storage: opts.storage });
      if (opts.json) {
        io.stdout(JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        io.stdout(`no studies in ${redact(opts.storage)}`);
        return;
      }
      io.stdout(
        formatTable(list, [
          { header: 'name', value: (s) => s.name },
          { header: 'directions', value: (s) => s.directions.join(',') },
          { header: 'trials', value: (s) => formatInteger(s.trials), align: 'right' },
          { header: 'complete', value: (s) => formatInteger(s.complete), align: 'right' },
          { header: 'best', value: bestText, align: 'right' },
          { header: 'started', value: (s) => s.started?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '-' },
        ]),
      );
    });

  studies
    .command('rename')
    .description('rename a study')
    .argument('<old>', 'current name')
    .argument('<new>', 'new name')
    .requiredOption('--storage <url>', storageHelp)
    .action(async (from: string, to: string, opts: { storage: string }) => {
      await runStudiesRename({ storage: opts.storage, from, to });
      io.stdout(`renamed study "${from}" to "${to}"`);
    });

  studies
    .command('delete')
    .description('delete a study and all its trials')
    .argument('<name>', 'study name')
    .requiredOption('--storage <url>', storageHelp)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name: string, opts: { storage: string; yes?: boolean }) => {
      if (!opts.yes) {
        if (!interactive())
          throw new UsageError(`refusing to delete study "${name}" without --yes (stdin is not a terminal)`);
        if (
          !(await confirm(`Delete study "${name}" and all its trials from ${redact(opts.storage)}? [y/N] `))
        ) {
          io.stdout('not deleted');
          return;
        }
      }
      const n = await runStudiesDelete({ storage: opts.storage, studyName: name });
      io.stdout(`deleted study "${name}" (${trialCount(n)})`);
    });

  studies
    .command('copy')
    .description('copy a study with all its trials to another storage (or under another name)')
    .argument('<name>', 'study name')
    .requiredOption('--from <url>', 'storage to copy from')
    .requiredOption('--to <url>', 'storage to copy to (a SQLite file is created if missing)')
    .option('--as <new-name>', 'name of the copy (default: the same name)')
    .action(async (name: string, opts: { from: string; to: string; as?: string }) => {
      const result = await runStudiesCopy({ studyName: name, from: opts.from, to: opts.to, as: opts.as });
      io.stdout(
        `copied study "${name}" (${trialCount(result.nTrials)}) to ${redact(opts.to)} as "${result.studyName}"`,
      );
    });

  studies
    .command('export')
    .description('write the trials of a study as CSV (pandas-friendly) or JSON')
    .argument('<name>', 'study name')
    .requiredOption('--storage <url>', storageHelp)
    .option('--format <format>', 'csv or json', 'csv')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (name: string, opts: { storage: string; format: string; output?: string }) => {
      if (opts.format !== 'csv' && opts.format !== 'json')
        throw new UsageError(`--format must be csv or json, got "${opts.format}"`);
      const text = await runStudiesExport({
        storage: opts.storage,
        studyName: name,
        format: opts.format as ExportFormat,
      });
      if (opts.output === undefined) {
        io.stdout(text);
        return;
      }
      try {
        writeFileSync(opts.output, text);
      } catch (error) {
        throw new InvalidArgumentError(`--output: cannot write ${opts.output}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      io.stderr(`wrote ${opts.output}`);
    });

  // Usage errors in subcommands must reach runCli as exceptions, not exit the process.
  for (const sub of studies.commands) sub.exitOverride().configureOutput(program.configureOutput());
}
