/**
 * The line protocol between `parsimony tune` and a trial program (any language).
 *
 * The program gets its parameters as `{name}` placeholders substituted into its command line and as
 * JSON in the environment variable PARSIMONY_PARAMS (also PARSIMONY_TRIAL_NUMBER, PARSIMONY_STUDY).
 * It talks back through lines on its standard output. A line that starts with `parsimony:` is a
 * protocol message; every other line (and all of stderr) is ordinary output, kept in the trial log.
 *
 *   parsimony:report <step> <value>[,<value>...]   intermediate value(s) at an integer step >= 0;
 *                                                  the pruner may then stop the trial (SIGTERM to its
 *                                                  process group), which ends it as PRUNED
 *   parsimony:result <value>[,<value>...]          the final objective value(s), one per direction
 *   parsimony:attr <key> <json>                    a user attribute of the trial (any JSON value)
 *
 * Numbers are decimal (`0.25`, `-1e-3`); `inf`, `-inf` and `nan` as Python prints them are accepted.
 * A malformed protocol line fails the trial (a typo must not silently disable pruning or results).
 * A program that exits with code 0 without a result line fails with "no result line"; one that exits
 * with another code fails with the code and its last stderr line.
 */

import type { ParamValue } from '../core/distributions.js';
import { DataError } from '../core/errors.js';
import type { AttrValue } from '../core/frozen-trial.js';

export const PROTOCOL_PREFIX = 'parsimony:';

/** Environment variables a trial program receives. */
export const ENV_PARAMS = 'PARSIMONY_PARAMS';
export const ENV_TRIAL_NUMBER = 'PARSIMONY_TRIAL_NUMBER';
export const ENV_STUDY = 'PARSIMONY_STUDY';

export type ProtocolMessage =
  | { kind: 'report'; step: number; values: number[] }
  | { kind: 'result'; values: number[] }
  | { kind: 'attr'; key: string; value: AttrValue };

/** A protocol line the runner cannot understand; the message says what is wrong with it. */
export class ProtocolError extends DataError {}

/**
 * Parses one line of a trial's stdout: null for ordinary output, the message for a protocol line.
 * Throws ProtocolError for a malformed protocol line.
 */
export function parseProtocolLine(line: string): ProtocolMessage | null {
  if (!line.startsWith(PROTOCOL_PREFIX)) return null;
  const body = line.slice(PROTOCOL_PREFIX.length).trim();
  const space = body.search(/\s/);
  const verb = space < 0 ? body : body.slice(0, space);
  const rest = space < 0 ? '' : body.slice(space).trim();
  switch (verb) {
    case 'report': {
      const m = /^(\S+)\s+(\S.*)$/.exec(rest);
      if (!m) throw new ProtocolError(`report needs a step and a value: ${JSON.stringify(line)}`);
      const step = Number(m[1]);
      if (!Number.isInteger(step) || step < 0)
        throw new ProtocolError(`report step is not an integer >= 0: ${m[1]}`);
      return { kind: 'report', step, values: parseValues(m[2], 'report value') };
    }
    case 'result':
      if (rest === '') throw new ProtocolError('result line has no value');
      return { kind: 'result', values: parseValues(rest, 'result') };
    case 'attr': {
      const m = /^(\S+)\s+(\S.*)$/.exec(rest);
      if (!m) throw new ProtocolError(`attr needs a key and a JSON value: ${JSON.stringify(line)}`);
      let value: AttrValue;
      try {
        value = JSON.parse(m[2]);
      } catch {
        throw new ProtocolError(`attr ${m[1]}: value is not JSON: ${m[2]}`);
      }
      return { kind: 'attr', key: m[1], value };
    }
    default:
      throw new ProtocolError(
        `unknown protocol line ${JSON.stringify(truncate(line, 80))} (expected parsimony:report, parsimony:result or parsimony:attr)`,
      );
  }
}

/** `0.5` or `0.5,1e-3`: finite or infinite numbers and NaN (which the study turns into a FAIL). */
function parseValues(text: string, what: string): number[] {
  return text.split(',').map((part) => {
    const v = parseNumber(part);
    if (v === null) throw new ProtocolError(`${what} is not a number: ${text}`);
    return v;
  });
}

export function parseNumber(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const lower = t.toLowerCase();
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return Number.NaN;
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity')
    return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  // Number() accepts hex, binary and '' forms no other language prints; keep to decimal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return null;
  return Number(t);
}

/**
 * How a parameter value appears in a command argument: numbers in their shortest round-trip
 * form (`0.001`, `1e-7`), strings as they are, booleans and null as JSON spells them.
 */
export function formatParam(value: ParamValue): string {
  if (typeof value === 'string') return value;
  return String(value);
}

/**
 * Substitutes `{name}` in each argument; `{{` and `}}` stand for literal braces. Unknown names
 * throw, so a typo does not reach the program as a literal `{nmae}`.
 */
export function substitutePlaceholders(arg: string, params: Readonly<Record<string, ParamValue>>): string {
  return arg.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, name: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    if (name === undefined || !(name in params))
      throw new DataError(`unknown parameter ${whole} in the command`);
    return formatParam(params[name]);
  });
}

/** Names used as `{name}` placeholders in an argument (literal `{{`/`}}` excluded). */
export function placeholderNames(arg: string): string[] {
  const names: string[] = [];
  for (const m of arg.matchAll(/\{\{|\}\}|\{([^{}]*)\}/g)) if (m[1] !== undefined) names.push(m[1]);
  return names;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
