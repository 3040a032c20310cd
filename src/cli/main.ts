/**
 * The `parsimony` command: a thin layer over the programmatic API. Each command lives in
 * `commands/<name>.ts`, parses its options and calls an exported `runX(options)` function;
 * heavy modules are imported inside the action so `parsimony --help` stays fast.
 */
import { Command, CommanderError } from 'commander';
import { isParsimonyError } from '../core/errors.js';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerCompressCommand } from './commands/compress.js';
import { registerCvCommand } from './commands/cv.js';
import { registerDartsCommand } from './commands/darts.js';
import { registerDashboardCommand } from './commands/dashboard.js';
import { registerDatasetsCommand } from './commands/datasets.js';
import { registerDescribeCommand } from './commands/describe.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerExportCommand } from './commands/export.js';
import { registerGrowCommand } from './commands/grow.js';
import { registerPbtCommand } from './commands/pbt.js';
import { registerPlotCommands } from './commands/plot.js';
import { registerSearchCommand } from './commands/search.js';
import { registerStudiesCommand } from './commands/studies.js';
import { registerTuneCommand } from './commands/tune.js';
import { registerWorkerCommand } from './commands/worker.js';
import { type CommandIO, processIO } from './output.js';
import { VERSION } from './version.js';

export function buildProgram(io: CommandIO = processIO): Command {
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
  registerAnalyzeCommand(program, io);
  registerCompressCommand(program, io);
  registerCvCommand(program, io);
  registerDartsCommand(program, io);
  registerDatasetsCommand(program, io);
  registerDashboardCommand(program, io);
  registerDescribeCommand(program, io);
  registerEvaluateCommand(program, io);
  registerExportCommand(program, io);
  registerPbtCommand(program, io);
  registerPlotCommands(program, io);
  registerGrowCommand(program, io);
  registerSearchCommand(program, io);
  registerStudiesCommand(program, io);
  registerTuneCommand(program, io);
  registerWorkerCommand(program, io);
  const configure = (command: Command) => {
    command.exitOverride().configureOutput(program.configureOutput());
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can drive it in-process. */
export async function runCli(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  const program = buildProgram(io);
  const verbose = argv.includes('--verbose');
  try {
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
