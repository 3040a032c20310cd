/**
 * The stored form of networks whose size changes at run time: a model directory holds the usual
 * TensorFlow.js files and `parsimony-dynamic.json`, which says how the model is run (its widths,
 * its exit heads and threshold, or its cascade members and threshold). Plain data, like the spec.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileNotFoundError, ModelSpecError } from '../core/errors.js';
import type { ModelSpec } from '../models/spec/types.js';
import { parseModelSpec } from '../models/spec/validate.js';

export const DYNAMIC_FORMAT = 'parsimony-dynamic-model';
export const DYNAMIC_FILE = 'parsimony-dynamic.json';

/** One set of weights run at several widths (fractions of every hidden layer's units or filters). */
export interface SlimmableSpec {
  format: typeof DYNAMIC_FORMAT;
  kind: 'slimmable';
  /** The network at full width. */
  model: ModelSpec;
  /** Ascending, in (0, 1], the last 1. */
  widths: number[];
}

/** A network with classifier heads after intermediate blocks: `model.outputs` are the heads, in depth order. */
export interface EarlyExitSpec {
  format: typeof DYNAMIC_FORMAT;
  kind: 'early-exit';
  model: ModelSpec;
  /** Weight of each head's cross-entropy in training. */
  lossWeights: number[];
  /** A sample leaves at the first head whose confidence exceeds it (1: never early). */
  threshold: number;
  /** Share of the validation samples each head answered at `threshold`, measured when it was chosen. */
  exitShares?: number[];
  /**
   * Per head, the temperature its probabilities are rescaled by (softmax(log p / T), fitted on
   * validation data) before the confidence is compared with the threshold; absent: raw.
   */
  temperatures?: number[];
}

/** Models of increasing size; a sample goes on to the next while the current one's confidence is at most the threshold. */
export interface CascadeSpec {
  format: typeof DYNAMIC_FORMAT;
  kind: 'cascade';
  /** Member i is saved in the sub-directory `member-<i>`. */
  members: ModelSpec[];
  threshold: number;
  /** Share of the validation samples each member answered at `threshold`, measured when it was chosen. */
  exitShares?: number[];
  /** Per member, the temperature of its confidence (as an early-exit head's). */
  temperatures?: number[];
}

export type DynamicModelSpec = SlimmableSpec | EarlyExitSpec | CascadeSpec;

export const memberDir = (dir: string, index: number): string => path.join(dir, `member-${index}`);

export async function writeDynamicSpec(dir: string, spec: DynamicModelSpec): Promise<void> {
  await writeFile(path.join(dir, DYNAMIC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks untrusted JSON; errors name the file and the field. */
export function parseDynamicSpec(text: string, source: string): DynamicModelSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelSpecError(`${source}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const fail = (message: string): never => {
    throw new ModelSpecError(`${source}: ${message}`);
  };
  if (!isObject(value)) return fail('must be a JSON object');
  if (value.format !== DYNAMIC_FORMAT) fail(`field "format" must be "${DYNAMIC_FORMAT}"`);
  const numbers = (field: string, check: (x: number) => boolean, rule: string): number[] => {
    const v = value[field];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && check(x)))
      fail(`field "${field}" must be a non-empty list of ${rule}`);
    return v as number[];
  };
  const threshold = (): number => {
    const t = value.threshold;
    if (typeof t !== 'number' || !(t >= 0 && t <= 1)) fail('field "threshold" must be a number in [0, 1]');
    return t as number;
  };
  const exitShares = (ways: number): { exitShares?: number[] } => {
    if (value.exitShares === undefined) return {};
    const shares = numbers('exitShares', (x) => x >= 0 && x <= 1, 'numbers in [0, 1]');
    if (shares.length !== ways || Math.abs(shares.reduce((a, b) => a + b, 0) - 1) > 1e-6)
      fail(`field "exitShares" must hold ${ways} shares summing to 1`);
    return { exitShares: shares };
  };
  const temperatures = (ways: number): { temperatures?: number[] } => {
    if (value.temperatures === undefined) return {};
    const list = numbers('temperatures', (x) => x > 0 && Number.isFinite(x), 'positive numbers');
    if (list.length !== ways) fail(`field "temperatures" must hold ${ways} temperatures, one per stage`);
    return { temperatures: list };
  };
  switch (value.kind) {
    case 'slimmable': {
      const model = parseModelSpec(value.model, `${source}: model`);
      const widths = numbers('widths', (x) => x > 0 && x <= 1, 'numbers in (0, 1]');
      if (widths.some((w, i) => i > 0 && w <= widths[i - 1]) || widths.at(-1) !== 1)
        fail('field "widths" must ascend and end at 1');
      return { format: DYNAMIC_FORMAT, kind: 'slimmable', model, widths };
    }
    case 'early-exit': {
      const model = parseModelSpec(value.model, `${source}: model`);
      const lossWeights = numbers('lossWeights', (x) => x >= 0 && Number.isFinite(x), 'numbers >= 0');
      if (lossWeights.length !== model.outputs.length)
        fail(`field "lossWeights" has ${lossWeights.length} entries for ${model.outputs.length} heads`);
      return {
        format: DYNAMIC_FORMAT,
        kind: 'early-exit',
        model,
        lossWeights,
        threshold: threshold(),
        ...exitShares(model.outputs.length),
        ...temperatures(model.outputs.length),
      };
    }
    case 'cascade': {
      if (!Array.isArray(value.members) || value.members.length === 0)
        fail('field "members" must be a non-empty list of model specs');
      const members = (value.members as unknown[]).map((m, i) =>
        parseModelSpec(m, `${source}: members[${i}]`),
      );
      return {
        format: DYNAMIC_FORMAT,
        kind: 'cascade',
        members,
        threshold: threshold(),
        ...exitShares(members.length),
        ...temperatures(members.length),
      };
    }
    default:
      return fail(`field "kind" must be slimmable, early-exit or cascade, got ${JSON.stringify(value.kind)}`);
  }
}

export async function readDynamicSpec(dir: string): Promise<DynamicModelSpec> {
  const file = path.join(dir, DYNAMIC_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(file, 'dynamic model file', { cause: error });
    throw error;
  }
  return parseDynamicSpec(text, file);
}
