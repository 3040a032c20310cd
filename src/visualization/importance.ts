/**
 * Hyperparameter importance: by PED-ANOVA (`ped-anova.ts`, no model), or from a small seeded
 * random forest of regression trees: by mean decrease in impurity (MDI, the default) or by fANOVA
 * (see `fanovaOfTree`). For MDI, of a forest of
 * regression trees fitted to (parameters -> objective) over the COMPLETE trials. A parameter's
 * importance is the variance its splits remove, summed over each tree, normalised per tree and
 * averaged, then scaled to sum to 1. Parameters are the ones every completed trial has (the
 * intersection search space); log-scaled parameters are split in log space, categoricals by index.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { Random } from '../core/random.js';
import { axisValue, checkObjectiveIndex, completedTrials, paramAxes } from './common.js';
import { pedAnovaImportances, topTrials } from './ped-anova.js';

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
  /**
   * `mdi` (default): mean decrease in impurity. `fanova`: the share of the forest's variance each
   * parameter's main effect explains (functional ANOVA over each tree, averaged). `ped-anova`: the
   * Pearson divergence between the top `quantile` trials' and all trials' densities of each parameter.
   */
  method?: ImportanceMethod;
  /** PED-ANOVA: the share of best trials whose densities are compared with all (default 0.1). */
  quantile?: number;
}

export const IMPORTANCE_METHODS = ['mdi', 'fanova', 'ped-anova'] as const;
export type ImportanceMethod = (typeof IMPORTANCE_METHODS)[number];

/** How each method is named in titles. */
export const IMPORTANCE_LABELS: Readonly<Record<ImportanceMethod, string>> = {
  mdi: 'MDI of a random forest',
  fanova: 'fANOVA of a random forest',
  'ped-anova': 'PED-ANOVA',
};

export interface ImportanceData {
  objective: number;
  direction: StudyDirection;
  /** Sorted by importance, most important first; importances sum to 1 (all 0 when the objective never varies). */
  importances: { param: string; importance: number }[];
  nTrials: number;
  method: ImportanceMethod;
}

interface Sample {
  x: Float64Array;
  y: number;
}

/** A regression tree: a split, or a leaf holding the mean objective of its samples. */
type TreeNode =
  | { feature: number; threshold: number; left: TreeNode; right: TreeNode }
  | { feature: -1; value: number };

/**
 * Grows one tree on `samples` (indices into `data`), adds each feature's impurity decrease to
 * `gain`, and returns the tree (fANOVA reads its leaves).
 */
function growTree(
  data: readonly Sample[],
  indices: number[],
  depth: number,
  options: { maxDepth: number; minSamplesLeaf: number },
  random: Random,
  gain: Float64Array,
): TreeNode {
  const n = indices.length;
  let sum = 0;
  let sumSq = 0;
  for (const i of indices) {
    sum += data[i].y;
    sumSq += data[i].y * data[i].y;
  }
  const leaf: TreeNode = { feature: -1, value: sum / n };
  if (n < 2 * options.minSamplesLeaf || depth >= options.maxDepth) return leaf;
  const parentSse = sumSq - (sum * sum) / n;
  if (parentSse <= 1e-12 * Math.max(1, Math.abs(sumSq))) return leaf;
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
  if (bestFeature < 0) return leaf;
  gain[bestFeature] += parentSse - bestSse;
  const leftIdx: number[] = [];
  const rightIdx: number[] = [];
  for (const i of indices) (data[i].x[bestFeature] <= bestThreshold ? leftIdx : rightIdx).push(i);
  return {
    feature: bestFeature,
    threshold: bestThreshold,
    left: growTree(data, leftIdx, depth + 1, options, random, gain),
    right: growTree(data, rightIdx, depth + 1, options, random, gain),
  };
}

/**
 * Functional ANOVA of one tree over the box [lo, hi] (the observed range of each parameter): the
 * fraction of the tree's variance over that box that each parameter's main effect explains. The
 * tree is piecewise constant on its leaves' boxes, so the main effect of parameter p, the tree
 * averaged over every other parameter, is constant between consecutive split points on p, and
 * its variance is an exact weighted sum over those intervals (Hutter et al. 2014).
 */
function fanovaOfTree(tree: TreeNode, lo: Float64Array, hi: Float64Array): Float64Array | null {
  const d = lo.length;
  const leaves: { lo: Float64Array; hi: Float64Array; value: number; weight: number }[] = [];
  const walk = (node: TreeNode, boxLo: Float64Array, boxHi: Float64Array) => {
    if (node.feature < 0) {
      let weight = 1;
      for (let f = 0; f < d; f++) weight *= hi[f] > lo[f] ? (boxHi[f] - boxLo[f]) / (hi[f] - lo[f]) : 1;
      if (weight > 0) leaves.push({ lo: boxLo, hi: boxHi, value: (node as { value: number }).value, weight });
      return;
    }
    const split = node as { feature: number; threshold: number; left: TreeNode; right: TreeNode };
    const t = Math.min(Math.max(split.threshold, boxLo[split.feature]), boxHi[split.feature]);
    const leftHi = boxHi.slice();
    leftHi[split.feature] = t;
    const rightLo = boxLo.slice();
    rightLo[split.feature] = t;
    walk(split.left, boxLo, leftHi);
    walk(split.right, rightLo, boxHi);
  };
  walk(tree, lo.slice(), hi.slice());
  let mean = 0;
  for (const l of leaves) mean += l.weight * l.value;
  let variance = 0;
  for (const l of leaves) variance += l.weight * (l.value - mean) ** 2;
  if (!(variance > 1e-12 * Math.max(1, mean * mean))) return null;
  const out = new Float64Array(d);
  for (let p = 0; p < d; p++) {
    const width = hi[p] - lo[p];
    if (!(width > 0)) continue;
    const cuts = [...new Set(leaves.flatMap((l) => [l.lo[p], l.hi[p]]))].sort((a, b) => a - b);
    let vp = 0;
    for (let k = 0; k + 1 < cuts.length; k++) {
      const a = cuts[k];
      const b = cuts[k + 1];
      if (!(b > a)) continue;
      const mid = (a + b) / 2;
      // The main effect on (a, b): each leaf covering it, weighted by its volume in the other parameters.
      let effect = 0;
      for (const l of leaves)
        if (l.lo[p] <= mid && mid <= l.hi[p]) effect += (l.weight * width * l.value) / (l.hi[p] - l.lo[p]);
      vp += ((b - a) / width) * (effect - mean) ** 2;
    }
    out[p] = vp / variance;
  }
  return out;
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
  const method = options.method ?? 'mdi';
  if (!(IMPORTANCE_METHODS as readonly string[]).includes(method))
    throw new InvalidArgumentError(
      `importance: method must be one of ${IMPORTANCE_METHODS.join(', ')}, got "${method}"`,
    );
  const quantile = options.quantile ?? 0.1;
  if (!(quantile > 0 && quantile < 1))
    throw new InvalidArgumentError(`importance: quantile must be in (0, 1), got ${quantile}`);
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
  // PED-ANOVA is one pass per parameter: it reads every trial.
  if (done.length > maxTrials && method !== 'ped-anova') {
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
  const lo = Float64Array.from(axes, (_, f) => Math.min(...data.map((s) => s.x[f])));
  const hi = Float64Array.from(axes, (_, f) => Math.max(...data.map((s) => s.x[f])));
  if (method === 'ped-anova') {
    const top = topTrials(
      Float64Array.from(data, (s) => s.y),
      directions[objective],
      quantile,
    );
    const columns = axes.map((a, f) => ({
      kind: a.kind,
      values: Float64Array.from(data, (s) => s.x[f]),
      choices: a.categories?.length,
    }));
    total.set(pedAnovaImportances(columns, top));
  } else if (axes.length > 0 && data.length >= 2 * minSamplesLeaf) {
    for (let tree = 0; tree < nTrees; tree++) {
      const treeRandom = random.fork(tree);
      // Bootstrap sample of the trials.
      const sample = Array.from({ length: data.length }, () => treeRandom.int(0, data.length - 1));
      const gain = new Float64Array(axes.length);
      const grown = growTree(data, sample, 0, { maxDepth, minSamplesLeaf }, treeRandom, gain);
      if (method === 'fanova') {
        const shares = fanovaOfTree(grown, lo, hi);
        if (shares) for (let f = 0; f < axes.length; f++) total[f] += shares[f];
      } else {
        const sum = gain.reduce((a, b) => a + b, 0);
        if (sum > 0) for (let f = 0; f < axes.length; f++) total[f] += gain[f] / sum;
      }
    }
  }
  const grand = total.reduce((a, b) => a + b, 0);
  const importances = axes
    .map((a, f) => ({ param: a.name, importance: grand > 0 ? total[f] / grand : 0 }))
    .sort((a, b) => b.importance - a.importance || a.param.localeCompare(b.param));
  return { objective, direction: directions[objective], importances, nTrials: data.length, method };
}
