/**
 * Study files: a YAML (or JSON) description of a study whose trials run a command. Parsing checks
 * every field and reports the first problem as one line naming the file and the field path, e.g.
 * `study.yaml: space.C: float distribution: low (5) must be <= high (1)`.
 *
 *   name: svm-digits
 *   command: /usr/bin/python3 train.py --C {C} --kernel {kernel}
 *   directions: [maximize]
 *   space:
 *     C: { type: float, low: 1e-3, high: 1e3, log: true }
 *     kernel: { type: categorical, choices: [rbf, linear] }
 *   sampler: { name: tpe, seed: 1 }
 *   pruner: median
 *   trials: 50
 *
 * Relative paths (`workdir`, `logs`, `sqlite:` storage files) are relative to the study file.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { type Distribution, type DistributionConfig, distributionFromConfig } from '../core/distributions.js';
import { FileNotFoundError, InvalidArgumentError } from '../core/errors.js';
import type { StudyDirection } from '../core/frozen-trial.js';
import { sqlitePath } from '../storage/factory.js';
import { placeholderNames } from './protocol.js';
import { type ComponentSpec, checkPrunerSpec, checkSamplerSpec, suggest } from './registry.js';

export interface StudyConfig {
  /** Where the config came from (for messages); null when built from an object. */
  file: string | null;
  /** The file's text, when parsed from one (stored with the study for `parsimony worker`). */
  source?: string;
  /** Directory relative paths are resolved against. */
  baseDir: string;
  name: string;
  /** The command as separate arguments, placeholders not yet substituted. */
  command: string[];
  /** Absolute working directory of the trial processes. */
  workdir: string;
  directions: StudyDirection[];
  space: Record<string, Distribution>;
  sampler: ComponentSpec;
  pruner: ComponentSpec;
  /** Total number of finished trials the study should reach (see `runTune`). */
  trials?: number;
  timeoutMs?: number;
  trialTimeoutMs?: number;
  killGraceMs: number;
  concurrency: number;
  /** Storage URL; `sqlite:` paths are made absolute. */
  storage: string;
  env: Record<string, string>;
  /** Absolute directory of the trial logs. */
  logsDir: string;
  /** False when `logsDir` is the default, which follows the storage (see `defaultLogsDir`). */
  logsGiven: boolean;
}

const FIELDS = [
  'name',
  'command',
  'workdir',
  'direction',
  'directions',
  'space',
  'sampler',
  'pruner',
  'trials',
  'timeout',
  'trialTimeout',
  'killGrace',
  'concurrency',
  'storage',
  'env',
  'logs',
] as const;

export const DEFAULT_STORAGE = 'sqlite:parsimony.db';
export const DEFAULT_KILL_GRACE_MS = 5000;

/** Reads and validates a study file. Errors are one line starting with the path as given. */
export async function loadStudyConfig(path: string): Promise<StudyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(path, 'study file', { cause: error });
    if (code === 'EISDIR') throw new InvalidArgumentError(`${path}: is a directory, expected a study file`);
    throw new InvalidArgumentError(`${path}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseStudyConfig(text, path);
}

/** Parses study-file text (YAML or JSON); `file` names it in messages and anchors relative paths. */
export function parseStudyConfig(text: string, file: string): StudyConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(quoteMemoryStorage(text), { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = lineCounter.linePos(e.pos[0]).line;
    const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new InvalidArgumentError(`${file}: line ${line}: ${message}`);
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const fail = (path: string, message: string): never => {
    throw new InvalidArgumentError(`${file}: ${path ? `${path}: ` : ''}${message}`);
  };
  if (raw === null || raw === undefined) fail('', 'the file is empty');
  if (typeof raw !== 'object' || Array.isArray(raw) || !isMap(doc.contents))
    fail('', 'expected a mapping of fields (name, command, space, ...)');
  const config = buildStudyConfig(raw as Record<string, unknown>, {
    file,
    baseDir: dirname(resolve(file)),
    fail,
  });
  return { ...config, file: resolve(file), source: text };
}

/**
 * `storage: memory:` is how the storage URL is written everywhere else, but in YAML the second
 * colon makes a nested mapping, which is an error; quote the URL on such a line (same line count).
 */
function quoteMemoryStorage(text: string): string {
  return text.replace(/^(\s*storage:[ \t]+)memory:([ \t]*(#.*)?)$/gm, '$1"memory:"$2');
}

interface BuildContext {
  file: string | null;
  baseDir: string;
  fail: (path: string, message: string) => never;
}

/** Validates a study description given as an object (what the YAML file holds). */
export function studyConfigFromObject(
  raw: Record<string, unknown>,
  options: { baseDir?: string; file?: string } = {},
): StudyConfig {
  const file = options.file ?? null;
  return buildStudyConfig(raw, {
    file,
    baseDir: resolve(options.baseDir ?? '.'),
    fail: (path, message) => {
      throw new InvalidArgumentError(`${file ? `${file}: ` : ''}${path ? `${path}: ` : ''}${message}`);
    },
  });
}

function buildStudyConfig(raw: Record<string, unknown>, ctx: BuildContext): StudyConfig {
  const { fail, baseDir } = ctx;
  for (const key of Object.keys(raw))
    if (!(FIELDS as readonly string[]).includes(key))
      fail(key, `unknown field${suggest(key, FIELDS)} (known: ${FIELDS.join(', ')})`);

  const name =
    raw.name === undefined
      ? ctx.file
        ? basename(ctx.file, extname(ctx.file))
        : fail('name', 'is required')
      : nonEmptyString(raw.name, 'name', fail);

  const command = parseCommand(raw.command, fail);

  if (raw.space === undefined) fail('space', 'is required (the parameters to tune)');
  if (raw.space === null || typeof raw.space !== 'object' || Array.isArray(raw.space))
    fail('space', 'expected a mapping of parameter names to distributions');
  const space: Record<string, Distribution> = {};
  for (const [param, config] of Object.entries(raw.space as Record<string, unknown>)) {
    if (!/^[A-Za-z_][\w.-]*$/.test(param))
      fail(`space.${param}`, 'parameter names start with a letter or _ and use letters, digits, _ . -');
    checkDistributionFields(config, `space.${param}`, fail);
    try {
      space[param] = distributionFromConfig(config as DistributionConfig, `space.${param}`);
    } catch (error) {
      if (error instanceof InvalidArgumentError) fail('', error.message);
      throw error;
    }
  }
  if (Object.keys(space).length === 0) fail('space', 'defines no parameter');
  command.forEach((arg, i) => {
    for (const p of placeholderNames(arg))
      if (!(p in space))
        fail(
          'command',
          `placeholder {${p}} in argument ${i + 1} is not a parameter of space (${Object.keys(space).join(', ')}); write {{ and }} for literal braces`,
        );
  });

  const directions = parseDirections(raw, fail);
  const workdir = resolve(
    baseDir,
    raw.workdir === undefined ? '.' : nonEmptyString(raw.workdir, 'workdir', fail),
  );

  const sampler = parseComponent(raw.sampler, 'sampler', { name: 'tpe', options: {} }, fail);
  const pruner = parseComponent(raw.pruner, 'pruner', { name: 'nop', options: {} }, fail);
  rethrowAt('', () => checkSamplerSpec(sampler, 'sampler'), fail);
  rethrowAt('', () => checkPrunerSpec(pruner, 'pruner'), fail);

  const trials = raw.trials === undefined ? undefined : positiveInteger(raw.trials, 'trials', fail, true);
  const timeoutMs = raw.timeout === undefined ? undefined : parseDurationAt(raw.timeout, 'timeout', fail);
  if (trials === undefined && timeoutMs === undefined)
    fail('trials', 'give `trials` (or `timeout`) so the study knows when to stop');
  const trialTimeoutMs =
    raw.trialTimeout === undefined ? undefined : parseDurationAt(raw.trialTimeout, 'trialTimeout', fail);
  const killGraceMs =
    raw.killGrace === undefined
      ? DEFAULT_KILL_GRACE_MS
      : parseDurationAt(raw.killGrace, 'killGrace', fail, true);
  const concurrency =
    raw.concurrency === undefined
      ? availableParallelism()
      : positiveInteger(raw.concurrency, 'concurrency', fail);

  const storage = resolveStorageUrl(
    raw.storage === undefined ? DEFAULT_STORAGE : nonEmptyString(raw.storage, 'storage', fail),
    baseDir,
  );

  const env: Record<string, string> = {};
  if (raw.env !== undefined) {
    if (raw.env === null || typeof raw.env !== 'object' || Array.isArray(raw.env))
      fail('env', 'expected a mapping of variable names to values');
    for (const [k, v] of Object.entries(raw.env as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`env.${k}`, 'not a valid environment variable name');
      if (typeof v === 'string') env[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') env[k] = String(v);
      else fail(`env.${k}`, `expected a string, got ${JSON.stringify(v)}`);
    }
  }

  const logsDir =
    raw.logs === undefined
      ? defaultLogsDir(storage, baseDir, name)
      : resolve(baseDir, nonEmptyString(raw.logs, 'logs', fail));

  return {
    file: ctx.file,
    baseDir,
    name,
    command,
    workdir,
    directions,
    space,
    sampler,
    pruner,
    trials,
    timeoutMs,
    trialTimeoutMs,
    killGraceMs,
    concurrency,
    storage,
    env,
    logsDir,
    logsGiven: raw.logs !== undefined,
  };
}

type Fail = (path: string, message: string) => never;

function parseCommand(value: unknown, fail: Fail): string[] {
  if (value === undefined) fail('command', 'is required (the program each trial runs)');
  let args: string[];
  if (typeof value === 'string') {
    try {
      args = splitCommand(value);
    } catch (error) {
      if (error instanceof InvalidArgumentError) fail('command', error.message);
      throw error;
    }
  } else if (Array.isArray(value)) {
    args = value.map((a, i) => {
      if (typeof a === 'string') return a;
      if (typeof a === 'number' || typeof a === 'boolean') return String(a);
      return fail(`command.${i}`, `expected a string, got ${JSON.stringify(a)}`);
    });
  } else return fail('command', 'expected a string or a list of arguments');
  if (args.length === 0 || args[0] === '') fail('command', 'is empty');
  return args;
}

const DISTRIBUTION_FIELDS: Record<string, readonly string[]> = {
  float: ['type', 'low', 'high', 'log', 'step'],
  int: ['type', 'low', 'high', 'log', 'step'],
  categorical: ['type', 'choices'],
};

/** Catches misspelt fields (`setp`) and non-boolean `log`, which the distribution itself ignores. */
function checkDistributionFields(config: unknown, path: string, fail: Fail): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    fail(path, 'expected a mapping such as { type: float, low: 0, high: 1 }');
  const c = config as Record<string, unknown>;
  const known = DISTRIBUTION_FIELDS[c.type as string];
  if (!known) return; // distributionFromConfig names the bad type
  for (const key of Object.keys(c))
    if (!known.includes(key))
      fail(
        `${path}.${key}`,
        `unknown field for a ${c.type} distribution${suggest(key, known)} (known: ${known.join(', ')})`,
      );
  if (c.log !== undefined && typeof c.log !== 'boolean') fail(`${path}.log`, 'expected true or false');
}

function parseDirections(raw: Record<string, unknown>, fail: Fail): StudyDirection[] {
  if (raw.direction !== undefined && raw.directions !== undefined)
    fail('direction', 'give either `direction` or `directions`, not both');
  const check = (d: unknown, path: string): StudyDirection => {
    if (d === 'minimize' || d === 'maximize') return d;
    return fail(path, `expected "minimize" or "maximize", got ${JSON.stringify(d)}`);
  };
  if (raw.direction !== undefined) return [check(raw.direction, 'direction')];
  if (raw.directions === undefined) return ['minimize'];
  if (typeof raw.directions === 'string') return [check(raw.directions, 'directions')];
  if (!Array.isArray(raw.directions) || raw.directions.length === 0)
    fail('directions', 'expected a non-empty list such as [maximize] or [minimize, minimize]');
  return (raw.directions as unknown[]).map((d, i) => check(d, `directions.${i}`));
}

function parseComponent(value: unknown, path: string, fallback: ComponentSpec, fail: Fail): ComponentSpec {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return { name: value, options: {} };
  if (typeof value !== 'object' || Array.isArray(value))
    fail(path, `expected a name or a mapping with \`name\` and options`);
  const { name, ...options } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') fail(`${path}.name`, 'is required');
  return { name: name as string, options };
}

function rethrowAt(path: string, check: () => void, fail: Fail): void {
  try {
    check();
  } catch (error) {
    if (error instanceof InvalidArgumentError) fail(path, error.message);
    throw error;
  }
}

function nonEmptyString(value: unknown, path: string, fail: Fail): string {
  if (typeof value !== 'string' || value.trim() === '')
    fail(path, `expected a non-empty string, got ${JSON.stringify(value)}`);
  return value as string;
}

function positiveInteger(value: unknown, path: string, fail: Fail, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1))
    fail(path, `expected an integer >= ${allowZero ? 0 : 1}, got ${JSON.stringify(value)}`);
  return value as number;
}

function parseDurationAt(value: unknown, path: string, fail: Fail, allowZero = false): number {
  try {
    const ms = parseDuration(value);
    if (ms === 0 && !allowZero) fail(path, 'must be longer than 0');
    return ms;
  } catch (error) {
    if (error instanceof InvalidArgumentError) fail(path, error.message);
    throw error;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration in milliseconds from a study file's value: a number of seconds (as `--timeout` and
 * Optuna's `timeout` count), or a string of number-unit pairs with units ms, s, m, h, d (`500ms`,
 * `30s`, `10m`, `1.5h`, `1h30m`); a string holding only a number is seconds too.
 */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new InvalidArgumentError(`expected a duration >= 0, got ${value}`);
    return value * 1000;
  }
  if (typeof value !== 'string')
    throw new InvalidArgumentError(
      `expected a duration such as 3600 (seconds), "30s" or "10m", got ${JSON.stringify(value)}`,
    );
  const text = value.trim().toLowerCase();
  if (/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
    while (text[pos] === ' ') pos++;
  }
  if (text === '' || pos !== text.length)
    throw new InvalidArgumentError(
      `not a duration: ${JSON.stringify(value)} (use a number of seconds or e.g. "30s", "10m", "2h")`,
    );
  return total;
}

/**
 * Splits a command line into arguments like a POSIX shell does, without running one: whitespace
 * separates arguments, '...' is literal, "..." allows \" \\ \$ \` escapes, a backslash outside quotes
 * escapes the next character. No variables, globs, pipes or redirections.
 */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let i = 0;
  while (i < command.length) {
    const c = command[i];
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new InvalidArgumentError(`unterminated ' quote at character ${i + 1}`);
      current += command.slice(i + 1, end);
      inArg = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < command.length) {
        const d = command[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < command.length && '"\\$`\n'.includes(command[i + 1])) {
          if (command[i + 1] !== '\n') current += command[i + 1];
          i += 2;
        } else {
          current += d;
          i++;
        }
      }
      if (!closed) throw new InvalidArgumentError('unterminated " quote');
      inArg = true;
    } else if (c === '\\') {
      if (i + 1 >= command.length) throw new InvalidArgumentError('a backslash ends the command');
      if (command[i + 1] !== '\n') {
        current += command[i + 1];
        inArg = true;
      }
      i += 2;
    } else if (/\s/.test(c)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
      i++;
    } else {
      if ('|&;<>()`'.includes(c) || (c === '$' && command[i + 1] === '('))
        throw new InvalidArgumentError(
          `${JSON.stringify(c)} is shell syntax, but the command runs without a shell; quote it, or use e.g. ["/bin/sh", "-c", "..."]`,
        );
      current += c;
      inArg = true;
      i++;
    }
  }
  if (inArg) args.push(current);
  return args;
}

/** Makes a `sqlite:` path absolute against `baseDir` (other URLs are returned unchanged). */
export function resolveStorageUrl(url: string, baseDir: string): string {
  const trimmed = url.trim();
  if (!/^sqlite:/i.test(trimmed)) return trimmed;
  const path = sqlitePath(`sqlite:${trimmed.slice('sqlite:'.length)}`);
  if (path === ':memory:') return trimmed;
  return `sqlite:${isAbsolute(path) ? path : resolve(baseDir, path)}`;
}

/**
 * `<dir>/parsimony-logs/<study>`, where dir holds the SQLite file (logs go next to the data) or,
 * for other storages, the study file.
 */
export function defaultLogsDir(storage: string, baseDir: string, studyName: string): string {
  const m = /^sqlite:(.+)$/i.exec(storage);
  const root = m && isAbsolute(m[1]) ? dirname(m[1]) : baseDir;
  return resolve(root, 'parsimony-logs', safeFileName(studyName));
}

function safeFileName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}
