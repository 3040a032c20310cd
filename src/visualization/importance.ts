/**
 * Hyperparameter importance by mean decrease in impurity (MDI) of a small seeded random forest of
 * regression trees fitted to (parameters -> objective) over the COMPLETE trials. A parameter's
 * importance is the variance its splits remove, summed over each tree, normalised per tree and
 * averaged, then scaled to sum to 1. Parameters are the ones every completed trial has (the
 * intersection search space); log-scaled parameters are split in log space, categoricals by index.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { Random } from '../core/random.js';
import { axisValue, checkObjectiveIndex, completedTrials, paramAxes } from './common.js';

export interface ImportanceOptions {
  objective?: number;
  /** Trees in the forest (default 64). */
  nTrees?: number;
  /** Depth limit of each tree (default 8). */
  maxDepth?: number;
  /** Fewest samples in a leaf (default 2). */
  minSamplesLeaf?: number;
  /** Trials used at most, drawn at random when there are more (default 2000). */
  maxTrials?: number;
  seed?: number;
  params?: readonly string[];
}

export interface ImportanceData {
  objective: number;
  direction: StudyDirection;
  /** Sorted by importance, most important first; importances sum to 1 (all 0 when the objective never varies). */
  importances: { param: string; importance: number }[];
  nTrials: number;
}

interface Sample {
  x: Float64Array;
  y: number;
}

/** Grows one tree on `samples` (indices into `data`) and adds each feature's impurity decrease to `gain`. */
function growTree(
  data: readonly Sample[],
  indices: number[],
  depth: number,
  options: { maxDepth: number; minSamplesLeaf: number },
  random: Random,
  gain: Float64Array,
): void {
  const n = indices.length;
  if (n < 2 * options.minSamplesLeaf || depth >= options.maxDepth) return;
  let sum = 0;
  let sumSq = 0;
  for (const i of indices) {
    sum += data[i].y;
    sumSq += data[i].y * data[i].y;
  }
  const parentSse = sumSq - (sum * sum) / n;
  if (parentSse <= 1e-12 * Math.max(1, Math.abs(sumSq))) return;
  // Every feature is tried at every node (trees differ by their bootstrap sample only): with a random
  // subset of one feature, as forests for prediction use, a noise parameter gets forced splits that
  // inflate its importance.
  const d = data[0].x.length;
  const perm = random.permutation(d);
  const tried = d;
  let bestFeature = -1;
  let bestThreshold = 0;
  let bestSse = parentSse;
  const order = indices.slice();
  for (let k = 0; k < tried; k++) {
    const f = perm[k];
    order.sort((a, b) => data[a].x[f] - data[b].x[f]);
    let leftSum = 0;
    let leftSq = 0;
    for (let m = 0; m < n - 1; m++) {
      const y = data[order[m]].y;
      leftSum += y;
      leftSq += y * y;
      const left = m + 1;
      const right = n - left;
      if (left < options.minSamplesLeaf || right < options.minSamplesLeaf) continue;
      const xa = data[order[m]].x[f];
      const xb = data[order[m + 1]].x[f];
      if (xa === xb) continue;
      const rightSum = sum - leftSum;
      const rightSq = sumSq - leftSq;
      const sse = leftSq - (leftSum * leftSum) / left + (rightSq - (rightSum * rightSum) / right);
      if (sse < bestSse - 1e-12) {
        bestSse = sse;
        bestFeature = f;
        bestThreshold = (xa + xb) / 2;
      }
    }
  }
  if (bestFeature < 0) return;
  gain[bestFeature] += parentSse - bestSse;
  const leftIdx: number[] = [];
  const rightIdx: number[] = [];
  for (const i of indices) (data[i].x[bestFeature] <= bestThreshold ? leftIdx : rightIdx).push(i);
  growTree(data, leftIdx, depth + 1, options, random, gain);
  growTree(data, rightIdx, depth + 1, options, random, gain);
}

export function getImportanceData(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: ImportanceOptions = {},
): ImportanceData {
  const objective = options.objective ?? 0;
  checkObjectiveIndex(objective, directions);
  const nTrees = options.nTrees ?? 64;
  const maxDepth = options.maxDepth ?? 8;
  const minSamplesLeaf = options.minSamplesLeaf ?? 2;
  const maxTrials = options.maxTrials ?? 2000;
  for (const [name, v] of Object.entries({ nTrees, maxDepth, minSamplesLeaf, maxTrials }))
    if (!Number.isInteger(v) || v < 1)
      throw new InvalidArgumentError(`importance: ${name} must be a positive integer, got ${v}`);
  const random = new Random(options.seed ?? 0);
  let done = completedTrials(trials);
  const present = done.length
    ? Object.keys(done[0].params).filter((p) => done.every((t) => p in t.params))
    : [];
  const names = (options.params ?? present).filter((p) => present.includes(p)).sort();
  if (options.params)
    for (const p of options.params)
      if (!present.includes(p))
        throw new InvalidArgumentError(`importance: parameter "${p}" is not set in every completed trial`);
  if (done.length > maxTrials) {
    const perm = random.permutation(done.length);
    done = Array.from(perm.subarray(0, maxTrials), (i) => done[i]);
  }
  const axes = names.length ? paramAxes(done, names) : [];
  const data: Sample[] = done.map((t) => ({
    x: Float64Array.from(axes, (a) => {
      const v = axisValue(t, a) as number;
      return a.log ? Math.log(v) : v;
    }),
    y: t.values?.[objective] as number,
  }));
  const total = new Float64Array(axes.length);
  if (axes.length > 0 && data.length >= 2 * minSamplesLeaf) {
    for (let tree = 0; tree < nTrees; tree++) {
      const treeRandom = random.fork(tree);
      // Bootstrap sample of the trials.
      const sample = Array.from({ length: data.length }, () => treeRandom.int(0, data.length - 1));
      const gain = new Float64Array(axes.length);
      growTree(data, sample, 0, { maxDepth, minSamplesLeaf }, treeRandom, gain);
      const sum = gain.reduce((a, b) => a + b, 0);
      if (sum > 0) for (let f = 0; f < axes.length; f++) total[f] += gain[f] / sum;
    }
  }
  const grand = total.reduce((a, b) => a + b, 0);
  const importances = axes
    .map((a, f) => ({ param: a.name, importance: grand > 0 ? total[f] / grand : 0 }))
    .sort((a, b) => b.importance - a.importance || a.param.localeCompare(b.param));
  return { objective, direction: directions[objective], importances, nTrials: data.length };
}
