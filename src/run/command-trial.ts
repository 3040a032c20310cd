/**
 * Command trials: each trial runs a program as a child process and talks to it through the line
 * protocol of `protocol.ts`. The runner owns the process's whole process group (spawned detached),
 * so stopping a trial also stops whatever the program started: SIGTERM to the group, SIGKILL after
 * the grace period. When the program exits on its own, anything it left running in its group is
 * stopped the same way, and the trial ends only when the group is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, statSync, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Distribution, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError, ParsimonyError, TrialPruned } from '../core/errors.js';
import type { ObjectiveResult } from '../core/study.js';
import type { Trial } from '../core/trial.js';
import {
  ENV_PARAMS,
  ENV_STUDY,
  ENV_TRIAL_NUMBER,
  ProtocolError,
  type ProtocolMessage,
  parseProtocolLine,
  substitutePlaceholders,
  truncate,
} from './protocol.js';

/** User attribute holding the path of a trial's log file. */
export const LOG_ATTR = 'log';

export interface CommandObjectiveOptions {
  /** Program and arguments; `{name}` placeholders are replaced by the trial's parameters. */
  command: readonly string[];
  /** Parameters suggested for every trial before the program starts. */
  space: Readonly<Record<string, Distribution>>;
  /** Working directory of the program. */
  cwd: string;
  /** Extra environment variables (added to this process's environment). */
  env?: Readonly<Record<string, string>>;
  /** Trial logs go to `<logsDir>/trial-<number>.log`. */
  logsDir: string;
  studyName: string;
  /** Per-trial time limit; the trial then FAILs with reason "timed out after ...". */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping a trial (default 5000 ms). */
  killGraceMs?: number;
  /** Number of objectives; a result line with another count fails the trial. */
  objectives?: number;
  /** Aborting stops every running trial; they FAIL with the abort reason (default "interrupted"). */
  signal?: AbortSignal;
}

/**
 * A trial's program failed: it exited non-zero, printed no or a bad result, broke the protocol,
 * timed out or was interrupted. The study records the trial as FAIL and goes on.
 */
export class TrialCommandError extends ParsimonyError {
  /** The failure alone, without the error name the study prefixes to stored reasons. */
  readonly reason: string;
  readonly logFile: string | undefined;
  constructor(reason: string, logFile?: string) {
    super('INVALID_DATA', reason);
    this.reason = reason;
    this.logFile = logFile;
  }
}

/** The program cannot be started at all (not found, not executable): no later trial can run either. */
export class CommandNotFoundError extends ParsimonyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FILE_NOT_FOUND', message, options);
  }
}

/**
 * An objective for `study.optimize` that runs `command` per trial. It resolves with the value(s) of
 * the program's result line, throws TrialPruned when the pruner stopped it, TrialCommandError when
 * it failed, and CommandNotFoundError when the program cannot be started.
 */
export function commandObjective(
  options: CommandObjectiveOptions,
): (trial: Trial) => Promise<ObjectiveResult> {
  if (options.command.length === 0 || options.command[0] === '')
    throw new InvalidArgumentError('command must not be empty');
  const killGraceMs = options.killGraceMs ?? 5000;
  if (!(killGraceMs >= 0)) throw new InvalidArgumentError(`killGraceMs must be >= 0, got ${killGraceMs}`);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0))
    throw new InvalidArgumentError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
  let logsReady: Promise<unknown> | null = null;

  return async (trial: Trial): Promise<ObjectiveResult> => {
    const abortReason = () => {
      const reason = options.signal?.reason;
      return reason instanceof Error ? reason.message : String(reason ?? 'interrupted');
    };
    if (options.signal?.aborted) throw new TrialCommandError(abortReason());
    const params: Record<string, ParamValue> = {};
    for (const [name, distribution] of Object.entries(options.space))
      params[name] = trial.suggest(name, distribution);
    const args = options.command.map((arg) => substitutePlaceholders(arg, params));
    logsReady ??= mkdir(options.logsDir, { recursive: true });
    await logsReady;
    const logFile = join(options.logsDir, `trial-${trial.number}.log`);
    trial.setUserAttr(LOG_ATTR, logFile);

    let result: number[] | null = null;
    let failure: string | null = null;
    let prunedAt: number | null = null;
    /** Returns a reason to fail the trial for a message it must not send; pruner errors propagate. */
    const handle = (message: ProtocolMessage, proc: TrialProcess): string | null => {
      switch (message.kind) {
        case 'report': {
          const value = message.values.length === 1 ? message.values[0] : message.values;
          try {
            trial.report(value, message.step);
          } catch (error) {
            if (error instanceof InvalidArgumentError) return error.message;
            throw error;
          }
          if (prunedAt === null && trial.shouldPrune()) {
            prunedAt = message.step;
            proc.stop('pruned');
          }
          return null;
        }
        case 'result':
          if (result !== null) return 'more than one result line';
          if (options.objectives !== undefined && message.values.length !== options.objectives)
            return `result has ${message.values.length} value${message.values.length === 1 ? '' : 's'} but the study has ${options.objectives} objective${options.objectives === 1 ? '' : 's'}`;
          result = message.values;
          return null;
        case 'attr':
          if (message.key === LOG_ATTR) return `attr "${LOG_ATTR}" is reserved for the trial's log path`;
          trial.setUserAttr(message.key, message.value);
          return null;
      }
    };

    const proc = new TrialProcess({
      args,
      cwd: options.cwd,
      env: {
        ...process.env,
        PYTHONUNBUFFERED: '1',
        ...options.env,
        [ENV_PARAMS]: JSON.stringify(params),
        [ENV_TRIAL_NUMBER]: String(trial.number),
        [ENV_STUDY]: options.studyName,
      },
      logFile,
      header: [
        `# parsimony: study ${JSON.stringify(options.studyName)}, trial ${trial.number}`,
        `# params: ${JSON.stringify(params)}`,
        `# command: ${args.map(quoteArg).join(' ')}`,
        `# cwd: ${options.cwd}`,
      ],
      timeoutMs: options.timeoutMs,
      killGraceMs,
      signal: options.signal,
      onLine: (line, p) => {
        if (p.stopReason !== null) return; // the trial's fate is decided; later lines are just output
        try {
          const message = parseProtocolLine(line);
          const problem = message ? handle(message, p) : null;
          if (problem !== null) failure = problem;
        } catch (error) {
          if (!(error instanceof ProtocolError)) {
            p.stop('error', error);
            return;
          }
          failure = error.message;
        }
        if (failure !== null) p.stop('protocol');
      },
    });
    const outcome = await proc.run();

    if (outcome.spawnError) {
      const err = outcome.spawnError;
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        const cmd = args[0];
        const where = cmd.includes('/') && !isAbsolute(cmd) ? ` (in ${options.cwd})` : '';
        throw new CommandNotFoundError(
          err.code === 'ENOENT'
            ? `command not found: ${cmd}${where}`
            : `command is not executable: ${cmd}${where}`,
          { cause: err },
        );
      }
      throw new InvalidArgumentError(`cannot start ${args[0]}: ${err.message}`, { cause: err });
    }
    switch (outcome.stopReason) {
      case 'pruned':
        throw new TrialPruned(`pruned at step ${prunedAt}`);
      case 'protocol':
        throw new TrialCommandError(failure!, logFile);
      case 'timeout':
        throw new TrialCommandError(`timed out after ${formatMs(options.timeoutMs!)}`, logFile);
      case 'abort':
        throw new TrialCommandError(abortReason(), logFile);
      case 'error':
        throw outcome.stopError;
    }
    const tail = outcome.lastStderrLine ? `: ${outcome.lastStderrLine}` : '';
    if (outcome.exitCode !== 0) {
      const how =
        outcome.exitCode === null ? `killed by ${outcome.exitSignal}` : `exit code ${outcome.exitCode}`;
      throw new TrialCommandError(`${how}${tail}`, logFile);
    }
    if (result === null) throw new TrialCommandError('no result line', logFile);
    const values = result as number[];
    return values.length === 1 ? values[0] : values;
  };
}

type StopReason = 'pruned' | 'protocol' | 'timeout' | 'abort' | 'error';

interface TrialProcessOptions {
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  header: readonly string[];
  timeoutMs?: number;
  killGraceMs: number;
  signal?: AbortSignal;
  onLine: (line: string, proc: TrialProcess) => void;
}

interface ProcessOutcome {
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  stopReason: StopReason | null;
  stopError: unknown;
  spawnError: NodeJS.ErrnoException | null;
  lastStderrLine: string;
}

/** Longest stdout line looked at for protocol messages; longer lines are only logged. */
const MAX_LINE = 1 << 20;
/** How long to wait for stdout/stderr to close once the process group is gone. */
const CLOSE_WAIT_MS = 1000;

/** One run of a trial's program, from spawn until its process group is gone and its log closed. */
export class TrialProcess {
  stopReason: StopReason | null = null;
  private stopError: unknown = null;
  private readonly options: TrialProcessOptions;
  private child: ChildProcess | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private terminating = false;
  private killed = false;

  constructor(options: TrialProcessOptions) {
    this.options = options;
  }

  /** Stops the program (SIGTERM to its group, SIGKILL after the grace period); first reason wins. */
  stop(reason: StopReason, error?: unknown): void {
    if (this.stopReason === null) {
      this.stopReason = reason;
      this.stopError = error ?? null;
    }
    this.terminate();
  }

  async run(): Promise<ProcessOutcome> {
    const { options } = this;
    const log = createWriteStream(options.logFile, { flags: 'w' });
    const logOpened = new Promise<void>((resolve, reject) => {
      log.once('open', () => resolve());
      log.once('error', reject);
    });
    try {
      await logOpened;
    } catch (error) {
      throw new InvalidArgumentError(
        `cannot write the trial log ${options.logFile}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    log.write(`${options.header.join('\n')}\n`);
    const started = Date.now();

    const child = spawn(options.args[0], options.args.slice(1), {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const spawned = new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (error) => resolve(error as NodeJS.ErrnoException));
    });
    // Listen before the first await, so no event can slip by.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const spawnError = await spawned;
    child.on('error', () => {}); // later errors (a failed kill) must not crash the runner
    if (spawnError) {
      log.write(`# parsimony: cannot start ${options.args[0]}: ${spawnError.message}\n`);
      await closeLog(log);
      return {
        exitCode: null,
        exitSignal: null,
        stopReason: null,
        stopError: null,
        spawnError,
        lastStderrLine: '',
      };
    }

    let stdoutBuffer = '';
    const decoder = new StringDecoder('utf8');
    // Overlong lines are only logged: `skipping` drops the rest of one up to its newline.
    let skipping = false;
    const feed = (text: string, final: boolean) => {
      stdoutBuffer += text;
      let start = 0;
      let newline = stdoutBuffer.indexOf('\n');
      while (newline >= 0) {
        if (!skipping) this.options.onLine(stdoutBuffer.slice(start, newline).replace(/\r$/, ''), this);
        skipping = false;
        start = newline + 1;
        newline = stdoutBuffer.indexOf('\n', start);
      }
      stdoutBuffer = stdoutBuffer.slice(start);
      if (stdoutBuffer.length > MAX_LINE) {
        stdoutBuffer = '';
        skipping = true;
      }
      if (final && stdoutBuffer !== '' && !skipping)
        this.options.onLine(stdoutBuffer.replace(/\r$/, ''), this);
      if (final) stdoutBuffer = '';
    };
    // A program that writes faster than the disk takes it waits (the pipe fills) instead of
    // growing this process's memory.
    const toLog = (stream: NodeJS.ReadableStream, chunk: Buffer) => {
      if (!log.write(chunk)) {
        stream.pause();
        log.once('drain', () => stream.resume());
      }
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      toLog(child.stdout!, chunk);
      feed(decoder.write(chunk), false);
    });
    const stdoutEnded = new Promise<void>((resolve) => child.stdout!.once('end', () => resolve()));
    let stderrTail = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      toLog(child.stderr!, chunk);
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4096);
    });

    let timer: NodeJS.Timeout | null = null;
    if (options.timeoutMs !== undefined) timer = setTimeout(() => this.stop('timeout'), options.timeoutMs);
    const onAbort = () => this.stop('abort');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const { code, signal } = await exited;
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await this.reapGroup();
    const allClosed = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_WAIT_MS).unref()),
    ]);
    if (!allClosed) {
      // A process that left the group (setsid) still holds the pipes; stop reading them.
      child.stdout!.destroy();
      child.stderr!.destroy();
    } else await stdoutEnded;
    feed(decoder.end(), true);
    if (this.killTimer) clearTimeout(this.killTimer);

    const seconds = ((Date.now() - started) / 1000).toFixed(2);
    const ending =
      this.stopReason !== null
        ? `stopped (${this.stopReason})${this.killed ? ', killed with SIGKILL' : ''}`
        : code !== null
          ? `exit code ${code}`
          : `killed by ${signal}`;
    log.write(`\n# parsimony: ${ending} after ${seconds} s\n`);
    await closeLog(log);
    return {
      exitCode: code,
      exitSignal: signal,
      stopReason: this.stopReason,
      stopError: this.stopError,
      spawnError: null,
      lastStderrLine: lastLine(stderrTail),
    };
  }

  /** SIGTERM to the group now, SIGKILL when it is still there after the grace period. */
  private terminate(): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.terminating) return;
    this.terminating = true;
    signalGroup(pid, 'SIGTERM');
    this.killTimer = setTimeout(() => {
      if (groupAlive(pid)) {
        this.killed = true;
        signalGroup(pid, 'SIGKILL');
      }
    }, this.options.killGraceMs);
  }

  /** After the program exited: stop and wait for whatever it left behind in its group. */
  private async reapGroup(): Promise<void> {
    const pid = this.child!.pid!;
    if (!groupAlive(pid)) return;
    this.terminate();
    const limit = Date.now() + this.options.killGraceMs + 2000;
    while (groupAlive(pid) && Date.now() < limit) await delay(20);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/**
 * True while a process of the group is alive. Zombies do not count: an orphan whose reaper is slow
 * (PID 1 in some containers) is already dead.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // Fields after the command name (which may contain spaces): state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    }
    return false;
  } catch {
    return true;
  }
}

/** True for a live, non-zombie process (tests use it to check nothing was left behind). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return process.platform !== 'linux';
  }
}

function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(() => resolve()));
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i] !== '') return truncate(lines[i], 300);
  return '';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 7_200_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

/** Whether a path is an existing directory. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
