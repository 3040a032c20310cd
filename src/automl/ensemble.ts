/**
 * Ensemble selection (Caruana et al. 2004) over cross-validated trials: starting from nothing,
 * repeatedly add (with replacement) the trial whose out-of-fold class probabilities, averaged with
 * those already chosen, give the highest out-of-fold accuracy (then the lowest log loss); keep the
 * best prefix. A trial chosen m times of n gets weight m / n. Everything is scored on rows no
 * member was trained on in that fold, so the choice costs no extra training.
 *
 * Saved as a directory: `ensemble.json` (format, classes, members with their weights) and one
 * model directory per member under `members/` (each with its own pipeline), which `predict`
 * applies one by one and averages.
 */
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DataError, InvalidArgumentError } from '../core/errors.js';

export const ENSEMBLE_FILE = 'ensemble.json';

export interface EnsembleCandidate {
  trial: number;
  /** Out-of-fold probabilities, rows x classes, row-major. */
  outOfFold: ArrayLike<number>;
}

export interface EnsembleSelection {
  /** Trial numbers and weights (summing to 1), in the order first chosen. */
  members: { trial: number; weight: number }[];
  accuracy: number;
  logLoss: number;
}

function score(sum: Float64Array, count: number, labels: Int32Array, classes: number) {
  let correct = 0;
  let loss = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (sum[r * classes + c] > sum[r * classes + best]) best = c;
    if (best === labels[r]) correct++;
    loss -= Math.log(Math.max(sum[r * classes + labels[r]] / count, 1e-7));
  }
  return { accuracy: correct / labels.length, logLoss: loss / labels.length };
}

/** Greedy selection with replacement of up to `rounds` picks among `candidates`. */
export function selectEnsemble(
  candidates: readonly EnsembleCandidate[],
  labels: Int32Array,
  classes: number,
  rounds = 20,
): EnsembleSelection {
  if (candidates.length === 0)
    throw new InvalidArgumentError('ensemble selection needs at least one candidate');
  for (const c of candidates)
    if (c.outOfFold.length !== labels.length * classes)
      throw new InvalidArgumentError(
        `ensemble selection: trial ${c.trial} has ${c.outOfFold.length} probabilities, expected ${labels.length * classes}`,
      );
  const sum = new Float64Array(labels.length * classes);
  const counts = new Map<number, number>();
  const order: number[] = [];
  let best: EnsembleSelection | undefined;
  for (let round = 1; round <= rounds; round++) {
    let pick: { index: number; accuracy: number; logLoss: number } | undefined;
    candidates.forEach((candidate, index) => {
      const trialSum = Float64Array.from(sum, (v, k) => v + candidate.outOfFold[k]);
      const s = score(trialSum, round, labels, classes);
      if (!pick || s.accuracy > pick.accuracy || (s.accuracy === pick.accuracy && s.logLoss < pick.logLoss))
        pick = { index, ...s };
    });
    const chosen = pick as { index: number; accuracy: number; logLoss: number };
    const { trial, outOfFold } = candidates[chosen.index];
    for (let k = 0; k < sum.length; k++) sum[k] += outOfFold[k];
    if (!counts.has(trial)) order.push(trial);
    counts.set(trial, (counts.get(trial) ?? 0) + 1);
    if (
      !best ||
      chosen.accuracy > best.accuracy ||
      (chosen.accuracy === best.accuracy && chosen.logLoss < best.logLoss)
    )
      best = {
        members: order.map((t) => ({ trial: t, weight: (counts.get(t) ?? 0) / round })),
        accuracy: chosen.accuracy,
        logLoss: chosen.logLoss,
      };
  }
  return best as EnsembleSelection;
}

/** What `ensemble.json` holds. */
export interface EnsembleFile {
  format: 'parsimony-ensemble';
  version: 1;
  classNames: string[];
  members: { dir: string; weight: number }[];
}

/**
 * Writes an ensemble directory: each member's model directory copied under `members/`, and
 * `ensemble.json`; written under a temporary name and renamed when complete.
 */
export async function saveEnsemble(
  dir: string,
  members: readonly { modelDir: string; name: string; weight: number }[],
  classNames: readonly string[],
): Promise<void> {
  const temporary = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(path.join(temporary, 'members'), { recursive: true });
    const file: EnsembleFile = {
      format: 'parsimony-ensemble',
      version: 1,
      classNames: [...classNames],
      members: [],
    };
    for (const member of members) {
      const relative = path.join('members', member.name);
      await cp(member.modelDir, path.join(temporary, relative), { recursive: true });
      file.members.push({ dir: relative, weight: member.weight });
    }
    await writeFile(path.join(temporary, ENSEMBLE_FILE), `${JSON.stringify(file, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(temporary, dir);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** The ensemble file of `dir`, or null when `dir` is a single model; a broken file is a DataError naming it. */
export async function readEnsemble(dir: string): Promise<EnsembleFile | null> {
  const file = path.join(dir, ENSEMBLE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let value: EnsembleFile;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${file}: not JSON (${(error as Error).message})`, { cause: error });
  }
  const ok =
    value?.format === 'parsimony-ensemble' &&
    value.version === 1 &&
    Array.isArray(value.classNames) &&
    Array.isArray(value.members) &&
    value.members.length > 0 &&
    value.members.every(
      (m) =>
        typeof m?.dir === 'string' &&
        !path.isAbsolute(m.dir) &&
        !m.dir.split(/[\\/]/).includes('..') &&
        typeof m.weight === 'number' &&
        m.weight > 0,
    );
  if (!ok)
    throw new DataError(
      `${file}: not a parsimony ensemble (format "parsimony-ensemble", version 1, classNames, members with a relative dir and a positive weight)`,
    );
  return value;
}
