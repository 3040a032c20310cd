/**
 * The `parsimony` command: a thin layer over the programmatic API. Each command lives in
 * `commands/<name>.ts`, parses its options and calls an exported `runX(options)` function;
 * heavy modules are imported inside the action so `parsimony --help` stays fast. Command modules
 * are themselves loaded on demand: `parsimony analyze ...` loads only analyze's module (start-up
 * time is most of a short command), `--help` or an unknown command loads them all.
 */
import { Command, CommanderError } from 'commander';
import { isParsimonyError } from '../core/errors.js';
import { type CommandIO, processIO } from './output.js';
import { VERSION } from './version.js';

type Register = (program: Command, io: CommandIO) => void;

/** Each top-level command name and how to load the function that registers it. */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  analyze: async () => (await import('./commands/analyze.js')).registerAnalyzeCommand,
  // one module registers both `automl` and `predict`
  automl: async () => (await import('./commands/automl.js')).registerAutomlCommand,
  compress: async () => (await import('./commands/compress.js')).registerCompressCommand,
  cv: async () => (await import('./commands/cv.js')).registerCvCommand,
  darts: async () => (await import('./commands/darts.js')).registerDartsCommand,
  datasets: async () => (await import('./commands/datasets.js')).registerDatasetsCommand,
  dashboard: async () => (await import('./commands/dashboard.js')).registerDashboardCommand,
  describe: async () => (await import('./commands/describe.js')).registerDescribeCommand,
  dynamic: async () => (await import('./commands/dynamic.js')).registerDynamicCommand,
  evaluate: async () => (await import('./commands/evaluate.js')).registerEvaluateCommand,
  export: async () => (await import('./commands/export.js')).registerExportCommand,
  pbt: async () => (await import('./commands/pbt.js')).registerPbtCommand,
  // one module registers both `plot` and `report`
  plot: async () => (await import('./commands/plot.js')).registerPlotCommands,
  grow: async () => (await import('./commands/grow.js')).registerGrowCommand,
  search: async () => (await import('./commands/search.js')).registerSearchCommand,
  studies: async () => (await import('./commands/studies.js')).registerStudiesCommand,
  tune: async () => (await import('./commands/tune.js')).registerTuneCommand,
  worker: async () => (await import('./commands/worker.js')).registerWorkerCommand,
};
const LOADER_OF: Readonly<Record<string, string>> = { report: 'plot', predict: 'automl' };

/**
 * The program with every command, or with only `command` (and whatever shares its module) when it
 * names one: that is all a run of that command needs.
 */
export async function buildProgram(io: CommandIO = processIO, command?: string): Promise<Command> {
  const program = new Command('parsimony')
    .description('Find the right size for a model: measure complexity, search hyperparameters and structure.')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'show stack traces and debug detail on errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    })
    .exitOverride();
  const key = command === undefined ? undefined : (LOADER_OF[command] ?? command);
  const names = key !== undefined && Object.hasOwn(COMMANDS, key) ? [key] : Object.keys(COMMANDS);
  const registers = await Promise.all(names.map((name) => COMMANDS[name]()));
  for (const register of registers) register(program, io);
  const configure = (c: Command) => {
    c.exitOverride().configureOutput(program.configureOutput());
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can drive it in-process. */
export async function runCli(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    // The first argument that is not an option names the command (global options come first).
    const program = await buildProgram(
      io,
      argv.find((a) => !a.startsWith('-')),
    );
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error, verbose, io);
  }
}

export function reportError(error: unknown, verbose: boolean, io: CommandIO): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (help, version, or a usage error). Every usage error
    // (unknown command or option, missing argument or option) exits 2, as ours do.
    if (error.exitCode !== 0 && error.code.startsWith('commander.')) return 2;
    return error.exitCode;
  }
  if (isParsimonyError(error)) {
    io.stderr(`error: ${error.message}`);
    if (verbose) io.stderr(error.stack ?? '');
    if (verbose && error.cause)
      io.stderr(`caused by: ${String((error.cause as Error)?.stack ?? error.cause)}`);
    return error.code === 'USAGE' ? 2 : 1;
  }
  // Not one of ours: a bug. Say so on one line; the stack needs --verbose.
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`internal error: ${message}`);
  if (verbose) io.stderr(error instanceof Error ? (error.stack ?? '') : '');
  else io.stderr('(run again with --verbose for the stack trace; this is a bug, please report it)');
  return 70;
}
