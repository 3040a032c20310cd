/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011; Optuna 3.x). Trials are split into a
 * "good" group (the best gamma(n)) and the rest; a Parzen estimator l(x) is fitted to the good
 * group and g(x) to the rest, nEiCandidates points are drawn from l and the one maximising
 * log l(x) - log g(x) is proposed. Constraints (c-TPE-lite as in Optuna 3.x): feasible trials rank
 * above infeasible ones, which rank by total violation. Several objectives (MOTPE): the good group
 * is filled by non-dominated fronts and hypervolume subset selection, weighted by hypervolume
 * contribution.
 *
 * Differences from Optuna, for reproducible parallel runs and speed:
 * - Univariate mode also samples at ask time: the intersection search space is sampled in
 *   `sampleRelative` with one independent Parzen estimator per parameter (the same univariate TPE),
 *   so a trial's parameters are fixed when it starts. Running trials then expose their parameters to
 *   the constant liar, and concurrent runs are reproducible. Parameters outside that space
 *   (conditional or new ones) go through `sampleIndependent`, which models them on the trials that
 *   have them.
 * - The startup phase counts finished (COMPLETE or PRUNED) trials only, and startup draws are the
 *   same as `RandomSampler`'s for the same seed.
 * - Kernel densities include the 1/sigma factor (Optuna 3.1's truncated-normal log-density omits
 *   it, which silently weights wide kernels up).
 * - Finished trials never change, so their ranking keys and model-space values are cached per trial.
 *
 * Defaults follow Optuna 3.1's TPESampler (nStartupTrials 10, nEiCandidates 24, gamma, weights,
 * prior) except for the model, chosen on the shared benchmark suite (Branin, Hartmann-6,
 * Rosenbrock, Ackley, Levy, Styblinski-Tang at 200 trials), where Optuna 3.1's univariate TPE lost
 * to it on all six: `multivariate` is true, joint bandwidths follow Scott's rule on the good and bad
 * points' spread (floored at 3% of the range) with good points weighted by improvement
 * (`bandwidth: 'scott'`, after Watanabe 2023, "TPE: understanding its algorithm components"), and
 * every fourth trial samples univariately (`univariateEvery: 4`), which joint kernels alone do
 * poorly on separable objectives such as Levy. Multi-objective studies keep Optuna's bandwidths.
 * `multivariate: false` gives Optuna's default univariate TPE.
 */

import type { Distribution, ParamValue } from '../../core/distributions.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { type FrozenTrial, lastIntermediate, type StudyDirection } from '../../core/frozen-trial.js';
import { Random } from '../../core/random.js';
import type { Sampler, SearchSpace } from '../../core/sampler.js';
import { type StudyView, trialConstraints } from '../../core/study-view.js';
import { warn } from '../../core/warnings.js';
import { sampleUniform } from '../random.js';
import { hypervolumeContributionWeights, selectBelowMultiObjective } from './mo-tpe.js';
import {
  argsort,
  fromModel,
  type ModelDimension,
  modelDimension,
  ParzenEstimator,
  type ParzenEstimatorOptions,
  toModel,
} from './parzen-estimator.js';

export interface TPESamplerOptions {
  seed?: number;
  /** Trials sampled uniformly at random before TPE starts (default 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per decision (default 24). */
  nEiCandidates?: number;
  /** Model the relative search space jointly with product kernels (default true; see the module comment). */
  multivariate?: boolean;
  /** Split the space into groups of parameters that always appear together, each modelled jointly (needs multivariate). */
  group?: boolean;
  /** Count running trials, with the parameters they have so far, as bad observations (default false). */
  constantLiar?: boolean;
  /** Weight of the prior kernel relative to an observation's (default 1). */
  priorWeight?: number;
  /** Add a prior kernel spanning the whole range (default true). */
  considerPrior?: boolean;
  /** Floor bandwidths at range / min(100, 1 + kernels) (default true). */
  considerMagicClip?: boolean;
  /** Let the search bounds act as neighbours of the outermost kernels (default false). */
  considerEndpoints?: boolean;
  /** Size of the good group for n observations (default `defaultGamma`). */
  gamma?: (n: number) => number;
  /** Weights of n observations in trial order, oldest first (default `defaultWeights`). */
  weights?: (n: number) => ArrayLike<number>;
  /** Warn once per parameter when multivariate TPE has to sample it independently (default true). */
  warnIndependentSampling?: boolean;
  /**
   * With multivariate, every k-th trial (trial numbers k-1, 2k-1, ...) models each parameter on
   * its own instead (univariate TPE), which explores coordinate by coordinate and helps on
   * separable objectives; 0 never does (default 4).
   */
  univariateEvery?: number;
  /**
   * Kernel rules. 'scott': joint bandwidths by Scott's rule on the observations' spread, every
   * bandwidth floored at `minBandwidthFactor` of the range, and good observations of
   * single-objective studies weighted by their improvement over the best bad one. 'optuna':
   * Optuna 3.1's rules, i.e. joint bandwidths as a shrinking share of the range, the magic clip,
   * and `weights` for both groups. Default: 'scott' for multivariate single-objective studies,
   * 'optuna' otherwise (univariate TPE is Optuna's, and MOTPE's hypervolume-weighted good group
   * collapses the front with data-driven bandwidths).
   */
  bandwidth?: 'scott' | 'optuna';
  /** Bandwidth floor as a fraction of each parameter's range under bandwidth 'scott' (default 0.03). */
  minBandwidthFactor?: number;
  /**
   * Past studies' trials as a prior (warm start): each past study's observations are split into
   * good and bad by its own ranking (gamma of its size) and join l(x) and g(x) with the study's
   * weight, so TPE models the space from the first trial on (see `TpePrior`).
   */
  prior?: TpePrior;
}

/** One past study whose trials inform a new study (single objective). */
export interface TpePriorStudy {
  /** Finished trials of the past study: their parameters and objective value. */
  observations: readonly { params: Readonly<Record<string, ParamValue>>; value: number }[];
  direction: StudyDirection;
  /** Weight of one of its observations relative to one of the new study's (> 0; e.g. by dataset similarity). */
  weight: number;
}

/** Past studies over the same search space, used as a prior by TPE. */
export interface TpePrior {
  /** The space the past trials were sampled from; parameters elsewhere ignore the prior. */
  space: SearchSpace;
  studies: readonly TpePriorStudy[];
  /** Finished trials of the new study before TPE takes over from random sampling (default 0). */
  startupTrials?: number;
  /**
   * Re-weigh each past study by how well it ranks the new study's own trials (default true): from
   * `relevanceAfter` completed trials on, a past study's weight is multiplied by Kendall's rank
   * correlation (clipped at 0) between the new trials' values and how good the past study finds
   * their neighbourhood, so a past study that misleads fades out (the ranking loss of RGPE,
   * Feurer et al. 2018, applied to TPE's good/bad split). false keeps the weights fixed.
   */
  adaptive?: boolean;
  /** Completed trials of the new study before the weights adapt (default 5, at least 2). */
  relevanceAfter?: number;
}

/** The prior's observations in model space, per parameter, with their good share and weight. */
interface PriorColumns {
  /** Model-space values by parameter (NaN where absent or outside the distribution). */
  columns: Map<string, { distKey: string; values: Float64Array }>;
  /**
   * Share of each observation in the good group: 1 or 0, or in between for observations tied
   * with the cut (the good group's remaining places are split evenly among them).
   */
  good: Float64Array;
  weight: Float64Array;
  /** Index of each observation's past study. */
  study: Int32Array;
  nStudies: number;
  startupTrials: number;
  adaptive: boolean;
  relevanceAfter: number;
}

/** Kernel width, as a share of each parameter's range, of a past study's goodness around a point. */
const RELEVANCE_BANDWIDTH = 0.2;

/** Optuna's default gamma: 10% of the trials, at most 25. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Hyperopt's gamma: ceil(0.25 sqrt(n)), at most 25. */
export function hyperoptDefaultGamma(n: number): number {
  return Math.min(Math.ceil(0.25 * Math.sqrt(n)), 25);
}

/** Optuna's default weights: all 1 below 25 observations, else a linear ramp up to the newest 25. */
export function defaultWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  if (n >= 25) {
    const ramp = n - 25;
    for (let i = 0; i < ramp; i++) w[i] = ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  }
  return w;
}

const DEFAULT_MULTIVARIATE = true;
const DEFAULT_UNIVARIATE_EVERY = 4;
const DEFAULT_MIN_BANDWIDTH_FACTOR = 0.03;
/** Weight floor of good observations with no improvement, so their kernels do not vanish. */
const MIN_IMPROVEMENT_WEIGHT = 1e-12;

const KIND_COMPLETE = 0;
const KIND_PRUNED = 1;
const KIND_RUNNING = 2;

/** What TPE needs of a trial; cached for finished trials, which never change. */
interface TrialRecord {
  readonly trial: FrozenTrial;
  readonly kind: number;
  /** Primary ranking key (lower is better): complete first, then pruned by deeper step. */
  readonly primary: number;
  /** Objective values, sign-adjusted for minimisation (a pruned trial's last intermediate value). */
  readonly values: readonly number[];
  /** Sum of positive constraint values; Infinity when the trial has none recorded. */
  readonly violation: number;
  readonly hasConstraints: boolean;
  /** Parameter names and distributions, a key into the study's space registry. */
  readonly paramsKey: string;
}

/** Model-space values of one parameter (under one distribution) by trial number; NaN when unusable. */
interface ColumnCache {
  values: Float64Array;
  known: Uint8Array;
}

interface SpaceEntry {
  readonly distKey: string;
  readonly distribution: Distribution;
}

/** Per-study caches, keyed by trial number. */
class StudyCache {
  readonly records: (TrialRecord | undefined)[] = [];
  readonly spaces = new Map<string, Map<string, SpaceEntry>>();
  readonly intersections = new Map<string, SearchSpace>();
  readonly groupings = new Map<string, SearchSpace[]>();
  readonly columns = new Map<string, ColumnCache>();

  /** Stores a (new) record for a finished trial, forgetting cached values of the one it replaces. */
  setRecord(number: number, rec: TrialRecord): void {
    if (this.records[number] !== undefined)
      for (const column of this.columns.values()) if (number < column.known.length) column.known[number] = 0;
    this.records[number] = rec;
  }
}

interface Collected {
  readonly records: TrialRecord[];
  readonly nFinished: number;
  readonly constraintsEnabled: boolean;
  readonly nObjectives: number;
  readonly cache: StudyCache;
  /** Column arrays over `records`, built on first use. */
  readonly memo: Map<string, Float64Array>;
}

const distKeys = new WeakMap<Distribution, string>();

function distKey(d: Distribution): string {
  let key = distKeys.get(d);
  if (key === undefined) {
    key = JSON.stringify(d.getConfig());
    distKeys.set(d, key);
  }
  return key;
}

export class TPESampler implements Sampler {
  private readonly rng: Random;
  private readonly nStartupTrials: number;
  private readonly nEiCandidates: number;
  private readonly multivariate: boolean;
  private readonly group: boolean;
  private readonly constantLiar: boolean;
  private readonly gamma: (n: number) => number;
  private readonly weights: (n: number) => ArrayLike<number>;
  private readonly warnIndependent: boolean;
  private readonly univariateEvery: number;
  private readonly bandwidth: 'scott' | 'optuna' | undefined;
  private readonly parzen: Omit<ParzenEstimatorOptions, 'multivariate' | 'bandwidth' | 'minBandwidthFactor'>;
  private readonly minBandwidthFactor: number;
  private readonly caches = new Map<string, StudyCache>();
  private readonly warned = new Set<string>();
  private readonly prior: PriorColumns | undefined;
  private readonly priorSpace: SearchSpace | undefined;

  constructor(options: TPESamplerOptions = {}) {
    if (options.seed !== undefined && !Number.isFinite(options.seed))
      throw new InvalidArgumentError(`TPESampler: seed must be a finite number, got ${options.seed}`);
    this.rng = Random.fromSeed(options.seed);
    this.nStartupTrials = checkInteger('nStartupTrials', options.nStartupTrials ?? 10, 0);
    this.nEiCandidates = checkInteger('nEiCandidates', options.nEiCandidates ?? 24, 1);
    this.multivariate = options.multivariate ?? DEFAULT_MULTIVARIATE;
    this.group = options.group ?? false;
    if (this.group && !this.multivariate)
      throw new InvalidArgumentError('TPESampler: group requires multivariate: true');
    this.constantLiar = options.constantLiar ?? false;
    const priorWeight = options.priorWeight ?? 1;
    if (!(Number.isFinite(priorWeight) && priorWeight > 0))
      throw new InvalidArgumentError(`TPESampler: priorWeight must be a positive number, got ${priorWeight}`);
    this.univariateEvery = checkInteger(
      'univariateEvery',
      options.univariateEvery ?? DEFAULT_UNIVARIATE_EVERY,
      0,
    );
    const bandwidth = options.bandwidth;
    if (bandwidth !== undefined && bandwidth !== 'scott' && bandwidth !== 'optuna')
      throw new InvalidArgumentError(
        `TPESampler: bandwidth must be "scott" or "optuna", got ${JSON.stringify(bandwidth)}`,
      );
    this.bandwidth = bandwidth;
    const minBandwidthFactor = options.minBandwidthFactor ?? DEFAULT_MIN_BANDWIDTH_FACTOR;
    if (!(minBandwidthFactor > 0 && minBandwidthFactor <= 1))
      throw new InvalidArgumentError(
        `TPESampler: minBandwidthFactor must be in (0, 1], got ${options.minBandwidthFactor}`,
      );
    this.minBandwidthFactor = minBandwidthFactor;
    this.parzen = {
      considerPrior: options.considerPrior ?? true,
      priorWeight,
      considerMagicClip: options.considerMagicClip ?? true,
      considerEndpoints: options.considerEndpoints ?? false,
    };
    if (options.gamma !== undefined && typeof options.gamma !== 'function')
      throw new InvalidArgumentError('TPESampler: gamma must be a function of the number of trials');
    if (options.weights !== undefined && typeof options.weights !== 'function')
      throw new InvalidArgumentError('TPESampler: weights must be a function of the number of trials');
    this.gamma = options.gamma ?? defaultGamma;
    this.weights = options.weights ?? defaultWeights;
    this.warnIndependent = options.warnIndependentSampling ?? true;
    this.prior = options.prior ? priorColumns(options.prior, this.gamma) : undefined;
    this.priorSpace = options.prior?.space;
  }

  /** Whether TPE (rather than random sampling) models these parameters after `finished` trials. */
  private ready(finished: number, names: readonly string[], space: SearchSpace): boolean {
    if (finished >= this.nStartupTrials && finished > 0) return true;
    const prior = this.prior;
    if (!prior || finished < prior.startupTrials) return false;
    return names.every((n) => prior.columns.get(n)?.distKey === distKey(space[n]));
  }

  inferRelativeSearchSpace(study: StudyView, trial: FrozenTrial): SearchSpace {
    const collected = this.collect(study, trial, false);
    if (collected.nFinished < this.nStartupTrials) {
      // Warm-started: the prior's space is modelled from the start.
      const prior = this.prior;
      if (!prior || collected.nFinished < prior.startupTrials) return {};
      const space: SearchSpace = {};
      for (const [name, d] of Object.entries(this.priorSpace ?? {})) if (!d.single()) space[name] = d;
      return space;
    }
    if (this.group) {
      const union: SearchSpace = {};
      for (const sub of this.groups(collected)) Object.assign(union, sub);
      return union;
    }
    return this.intersection(collected);
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, searchSpace: SearchSpace): Record<string, ParamValue> {
    const names = Object.keys(searchSpace).sort();
    if (names.length === 0) return {};
    const collected = this.collect(study, trial, true);
    if (!this.ready(collected.nFinished, names, searchSpace)) return {};
    const rng = this.rng.fork(trial.number);
    const out: Record<string, ParamValue> = {};
    const every = this.univariateEvery;
    if (!this.multivariate || (every > 0 && trial.number % every === every - 1)) {
      // Univariate TPE: one split over all trials, one estimator pair per parameter.
      const all = collected.records.map((_, i) => i);
      Object.assign(out, this.sampleSubspace(collected, all, names, searchSpace, rng, false));
      return out;
    }
    const subspaces = this.group
      ? this.groups(collected)
          .map((g) => Object.keys(g).filter((n) => searchSpace[n] !== undefined))
          .filter((g) => g.length > 0)
      : [names];
    for (const sub of subspaces) {
      const columns = sub.map((n) => column(collected, n, searchSpace[n]));
      const subset: number[] = [];
      for (let i = 0; i < collected.records.length; i++) {
        let complete = true;
        for (let j = 0; j < sub.length && complete; j++) complete = !Number.isNaN(columns[j][i]);
        if (complete) subset.push(i);
      }
      let finished = 0;
      for (const i of subset) if (collected.records[i].kind !== KIND_RUNNING) finished++;
      // Too few trials for this group: its parameters fall back to independent sampling.
      if (!this.ready(finished, sub, searchSpace)) continue;
      Object.assign(out, this.sampleSubspace(collected, subset, sub, searchSpace, rng, true));
    }
    return out;
  }

  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    const rng = this.rng.fork(`${trial.number}/${name}`);
    const collected = this.collect(study, trial, true);
    const alone = { [name]: distribution };
    if (!this.ready(collected.nFinished, [name], alone)) return sampleUniform(rng, distribution);
    const values = column(collected, name, distribution);
    const subset: number[] = [];
    let finished = 0;
    for (let i = 0; i < collected.records.length; i++) {
      if (Number.isNaN(values[i])) continue;
      subset.push(i);
      if (collected.records[i].kind !== KIND_RUNNING) finished++;
    }
    // A parameter seen before but left out of the joint model deserves a warning (a new one does not).
    if (this.multivariate && this.warnIndependent && finished > 0 && !this.warned.has(name)) {
      this.warned.add(name);
      warn(
        'INDEPENDENT_SAMPLING',
        `TPESampler: parameter "${name}" (trial ${trial.number}) is sampled independently, outside the ` +
          `multivariate model${this.group ? '' : '; group: true models conditional parameters jointly'}`,
      );
    }
    if (!this.ready(finished, [name], alone)) return sampleUniform(rng, distribution);
    const sampled = this.sampleSubspace(collected, subset, [name], alone, rng, false);
    return sampled[name];
  }

  /**
   * TPE on the trials `subset` (indices into collected.records) for parameters `names`: split into
   * good and bad, fit l and g, return the best of nEiCandidates draws from l, per parameter
   * (`jointly` false) or for all at once.
   */
  private sampleSubspace(
    collected: Collected,
    subset: readonly number[],
    names: readonly string[],
    space: SearchSpace,
    rng: Random,
    jointly: boolean,
  ): Record<string, ParamValue> {
    const records = collected.records;
    const below = this.splitBelow(collected, subset);
    const dists = names.map((n) => space[n]);
    const dims = dists.map(modelDimension);
    const columns = names.map((n, j) => column(collected, n, dists[j]));
    const out: Record<string, ParamValue> = {};
    const blocks = jointly ? [names.map((_, j) => j)] : names.map((_, j) => [j]);
    const moWeights = new Map<string, Float64Array>();
    const bandwidth =
      this.bandwidth ?? (this.multivariate && collected.nObjectives === 1 ? 'scott' : 'optuna');
    const scott = bandwidth === 'scott';
    for (const block of blocks) {
      // Observations with a value for every parameter of the block, in trial order.
      const belowIdx: number[] = [];
      const aboveIdx: number[] = [];
      for (let s = 0; s < subset.length; s++) {
        let ok = true;
        for (const j of block) if (Number.isNaN(columns[j][subset[s]])) ok = false;
        if (!ok) continue;
        (below[s] ? belowIdx : aboveIdx).push(subset[s]);
      }
      const blockDims: ModelDimension[] = block.map((j) => dims[j]);
      const obs = (idx: readonly number[]) =>
        block.map((j) => {
          const col = new Float64Array(idx.length);
          for (let i = 0; i < idx.length; i++) col[i] = columns[j][idx[i]];
          return col;
        });
      let belowWeights: ArrayLike<number>;
      if (collected.nObjectives > 1) {
        const key = belowIdx.join(',');
        let w = moWeights.get(key);
        if (!w) {
          w = hypervolumeContributionWeights(
            belowIdx.map((i) => records[i].values),
            collected.constraintsEnabled ? belowIdx.map((i) => records[i].violation <= 0) : undefined,
          );
          moWeights.set(key, w);
        }
        belowWeights = w;
      } else {
        belowWeights =
          (scott && improvementWeights(collected, belowIdx, aboveIdx)) ||
          this.observationWeights(belowIdx.length);
      }
      const options: ParzenEstimatorOptions = {
        ...this.parzen,
        multivariate: jointly,
        bandwidth,
        minBandwidthFactor: scott ? this.minBandwidthFactor : undefined,
      };
      const blockNames = block.map((j) => names[j]);
      const blockSpace: SearchSpace = {};
      for (const j of block) blockSpace[names[j]] = dists[j];
      const relevance = this.priorRelevance(collected);
      const [belowObs, belowW] = withPrior(
        this.prior,
        relevance,
        blockNames,
        blockSpace,
        obs(belowIdx),
        belowWeights,
        true,
      );
      const [aboveObs, aboveW] = withPrior(
        this.prior,
        relevance,
        blockNames,
        blockSpace,
        obs(aboveIdx),
        this.observationWeights(aboveIdx.length),
        false,
      );
      const l = new ParzenEstimator(blockDims, belowObs, belowW, options);
      const g = new ParzenEstimator(blockDims, aboveObs, aboveW, options);
      const candidates = l.sample(rng, this.nEiCandidates);
      const ll = l.logPdf(candidates);
      const lg = g.logPdf(candidates);
      let best = 0;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < this.nEiCandidates; i++) {
        const score = ll[i] - lg[i];
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      for (let b = 0; b < block.length; b++) {
        const j = block[b];
        out[names[j]] = dists[j].toExternal(fromModel(dists[j], candidates[b][best]));
      }
    }
    return out;
  }

  /**
   * Per past study of the prior, the factor its weight is multiplied by: 1 until the new study has
   * `relevanceAfter` completed trials, then Kendall's tau (clipped at 0) between the new trials'
   * values and the past study's goodness around them (kernel-weighted share of its good group).
   */
  private priorRelevance(collected: Collected): Float64Array | undefined {
    const prior = this.prior;
    if (!prior?.adaptive || collected.nObjectives !== 1) return undefined;
    const key = '\u0000prior-relevance';
    const memo = collected.memo.get(key);
    if (memo) return memo;
    const names = [...prior.columns.keys()];
    const dims = names.map((n) => modelDimension((this.priorSpace as SearchSpace)[n]));
    const own = names.map((n) => column(collected, n, (this.priorSpace as SearchSpace)[n]));
    const rows: number[] = [];
    for (let i = 0; i < collected.records.length; i++)
      if (collected.records[i].kind === KIND_COMPLETE && own.every((c) => !Number.isNaN(c[i]))) rows.push(i);
    const relevance = new Float64Array(prior.nStudies).fill(1);
    if (rows.length >= prior.relevanceAfter) {
      const past = names.map((n) => (prior.columns.get(n) as { values: Float64Array }).values);
      // Distance per parameter as a share of its range; categorical: 0 if equal, else 1.
      const gap = (j: number, a: number, b: number) => {
        const d = dims[j];
        if (d.categorical) return a === b ? 0 : 1;
        return (a - b) / (d.high - d.low || 1);
      };
      const goodness = new Float64Array(prior.nStudies * rows.length);
      const mass = new Float64Array(prior.nStudies * rows.length);
      for (let r = 0; r < prior.good.length; r++) {
        if (past.some((c) => Number.isNaN(c[r]))) continue;
        const k = prior.study[r];
        for (let i = 0; i < rows.length; i++) {
          let sq = 0;
          for (let j = 0; j < names.length; j++) sq += gap(j, own[j][rows[i]], past[j][r]) ** 2;
          const kernel = Math.exp((-0.5 * sq) / RELEVANCE_BANDWIDTH ** 2);
          goodness[k * rows.length + i] += kernel * prior.good[r];
          mass[k * rows.length + i] += kernel;
        }
      }
      // values are sign-adjusted: lower is better.
      const value = rows.map((i) => collected.records[i].values[0]);
      for (let k = 0; k < prior.nStudies; k++) {
        const score = (i: number) => {
          const m = mass[k * rows.length + i];
          return m > 0 ? goodness[k * rows.length + i] / m : 0;
        };
        let agree = 0;
        let pairs = 0;
        for (let a = 0; a < rows.length; a++)
          for (let b = a + 1; b < rows.length; b++) {
            if (value[a] === value[b]) continue;
            pairs++;
            const better = value[a] < value[b] ? a : b;
            const worse = better === a ? b : a;
            const diff = score(better) - score(worse);
            agree += diff > 0 ? 1 : diff < 0 ? -1 : 0;
          }
        relevance[k] = pairs > 0 ? Math.max(0, agree / pairs) : 1;
      }
    }
    collected.memo.set(key, relevance);
    return relevance;
  }

  /** Flags (by position in `subset`) of the good group. */
  private splitBelow(collected: Collected, subset: readonly number[]): Uint8Array {
    const records = collected.records;
    const size = subset.length;
    // Like Optuna, gamma sees the finished trials only; running ones (constant liar) are never good.
    let n = 0;
    for (const i of subset) if (records[i].kind !== KIND_RUNNING) n++;
    const raw = this.gamma(n);
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0)
      throw new InvalidArgumentError(`TPESampler: gamma must return a non-negative number, got ${raw}`);
    const nBelow = Math.min(Math.ceil(raw), n);
    const flags = new Uint8Array(size);
    if (nBelow === 0) return flags;
    // Pruned trials only rank for single-objective studies.
    const eligible: number[] = [];
    for (let s = 0; s < size; s++) {
      const kind = records[subset[s]].kind;
      if (kind === KIND_COMPLETE || (kind === KIND_PRUNED && collected.nObjectives === 1)) eligible.push(s);
    }
    let chosen: number[];
    if (collected.constraintsEnabled) {
      const byViolation = [...eligible].sort(
        (a, b) => records[subset[a]].violation - records[subset[b]].violation || a - b,
      );
      const feasible = byViolation.filter((s) => records[subset[s]].violation <= 0);
      chosen =
        feasible.length <= nBelow
          ? byViolation.slice(0, nBelow)
          : this.bestByObjective(collected, subset, feasible, nBelow);
    } else chosen = this.bestByObjective(collected, subset, eligible, nBelow);
    for (const s of chosen) flags[s] = 1;
    return flags;
  }

  private bestByObjective(
    collected: Collected,
    subset: readonly number[],
    candidates: readonly number[],
    nBelow: number,
  ): number[] {
    const records = collected.records;
    if (collected.nObjectives === 1) {
      const primary = records[subset[candidates[0]]]?.primary;
      if (candidates.every((c) => records[subset[c]].primary === primary)) {
        // The common case (no pruned trials): a stable argsort by value.
        const order = argsort(candidates.map((c) => records[subset[c]].values[0]));
        return Array.from(order.subarray(0, nBelow), (o) => candidates[o]);
      }
      const order = [...candidates].sort((a, b) => {
        const ra = records[subset[a]];
        const rb = records[subset[b]];
        if (ra.primary !== rb.primary) return ra.primary < rb.primary ? -1 : 1;
        if (ra.values[0] !== rb.values[0]) return ra.values[0] < rb.values[0] ? -1 : 1;
        return a - b;
      });
      return order.slice(0, nBelow);
    }
    const points = candidates.map((s) => records[subset[s]].values);
    return selectBelowMultiObjective(points, nBelow).map((k) => candidates[k]);
  }

  private observationWeights(n: number): ArrayLike<number> {
    const w = this.weights(n);
    if (w === null || typeof w !== 'object' || typeof w.length !== 'number' || w.length < n)
      throw new InvalidArgumentError(`TPESampler: weights(${n}) must return at least ${n} numbers`);
    for (let i = 0; i < n; i++)
      if (!(Number.isFinite(w[i]) && w[i] >= 0))
        throw new InvalidArgumentError(`TPESampler: weights must be finite and non-negative, got ${w[i]}`);
    return w;
  }

  /** The trials TPE uses, as (mostly cached) records. */
  private collect(study: StudyView, trial: FrozenTrial, includeRunning: boolean): Collected {
    let cache = this.caches.get(study.studyName);
    if (!cache) {
      cache = new StudyCache();
      this.caches.set(study.studyName, cache);
    }
    const directions = study.directions;
    const records: TrialRecord[] = [];
    let nFinished = 0;
    let constraintsEnabled = false;
    for (const t of study.getTrials()) {
      if (t.number === trial.number) continue;
      if (t.state === 'COMPLETE' || t.state === 'PRUNED') {
        let rec = cache.records[t.number];
        if (!rec || !sameTrial(rec.trial, t)) {
          rec = makeRecord(t, directions, cache);
          if (rec) cache.setRecord(t.number, rec);
        }
        if (!rec) continue;
        records.push(rec);
        nFinished++;
        if (rec.hasConstraints) constraintsEnabled = true;
      } else if (t.state === 'RUNNING' && includeRunning && this.constantLiar) {
        const rec = makeRecord(t, directions, cache);
        if (rec) records.push(rec);
      }
    }
    return {
      records,
      nFinished,
      constraintsEnabled,
      nObjectives: directions.length,
      cache,
      memo: new Map(),
    };
  }

  /** Parameters with one distribution in every finished trial (Optuna's IntersectionSearchSpace with pruned trials). */
  private intersection(collected: Collected): SearchSpace {
    const keys = distinctParamsKeys(collected);
    const key = keys.join('\n');
    let space = collected.cache.intersections.get(key);
    if (space) return space;
    space = {};
    if (keys.length > 0) {
      const maps = keys.map((k) => collected.cache.spaces.get(k)!);
      for (const name of [...maps[0].keys()].sort()) {
        const first = maps[0].get(name)!;
        if (first.distribution.single()) continue;
        if (maps.every((m) => m.get(name)?.distKey === first.distKey)) space[name] = first.distribution;
      }
    }
    collected.cache.intersections.set(key, space);
    return space;
  }

  /**
   * Groups of parameters that appear in exactly the same finished trials (Optuna's group
   * decomposition); a parameter seen with different distributions is left to independent sampling.
   */
  private groups(collected: Collected): SearchSpace[] {
    const keys = distinctParamsKeys(collected);
    const cacheKey = keys.join('\n');
    let groups = collected.cache.groupings.get(cacheKey);
    if (groups) return groups;
    const maps = keys.map((k) => collected.cache.spaces.get(k)!);
    const seen = new Map<string, SpaceEntry | null>();
    for (const m of maps)
      for (const [name, entry] of m) {
        const prior = seen.get(name);
        if (prior === undefined) seen.set(name, entry);
        else if (prior !== null && prior.distKey !== entry.distKey) seen.set(name, null);
      }
    const bySignature = new Map<string, SearchSpace>();
    for (const name of [...seen.keys()].sort()) {
      const entry = seen.get(name);
      if (!entry || entry.distribution.single()) continue;
      const signature = maps.map((m) => (m.has(name) ? '1' : '0')).join('');
      let g = bySignature.get(signature);
      if (!g) {
        g = {};
        bySignature.set(signature, g);
      }
      g[name] = entry.distribution;
    }
    groups = [...bySignature.values()];
    collected.cache.groupings.set(cacheKey, groups);
    return groups;
  }
}

/**
 * Weights of good observations proportional to their improvement over the best bad observation
 * (an expected-improvement-like weighting: the best points shape l(x) most). Undefined when the
 * values are not comparable: pruned or infeasible good trials, or no good trial at all.
 */
function improvementWeights(
  collected: Collected,
  belowIdx: readonly number[],
  aboveIdx: readonly number[],
): Float64Array | undefined {
  const records = collected.records;
  if (belowIdx.length === 0) return undefined;
  const comparable = (i: number) =>
    records[i].kind === KIND_COMPLETE && (!collected.constraintsEnabled || records[i].violation <= 0);
  if (!belowIdx.every(comparable)) return undefined;
  let threshold = Number.POSITIVE_INFINITY;
  for (const i of aboveIdx) if (comparable(i)) threshold = Math.min(threshold, records[i].values[0]);
  if (!Number.isFinite(threshold)) {
    // No comparable bad trial: measure improvement over the worst good one.
    threshold = Number.NEGATIVE_INFINITY;
    for (const i of belowIdx) threshold = Math.max(threshold, records[i].values[0]);
  }
  const w = new Float64Array(belowIdx.length);
  let max = 0;
  for (let i = 0; i < w.length; i++) {
    w[i] = threshold - records[belowIdx[i]].values[0];
    if (w[i] > max) max = w[i];
  }
  if (!(max > 0) || !Number.isFinite(max)) return undefined;
  for (let i = 0; i < w.length; i++) w[i] = Math.max(w[i] / max, MIN_IMPROVEMENT_WEIGHT);
  return w;
}

/** The prior's observations in model space, each past study split by its own ranking. */
function priorColumns(prior: TpePrior, gamma: (n: number) => number): PriorColumns {
  const startupTrials = prior.startupTrials ?? 0;
  if (!(Number.isInteger(startupTrials) && startupTrials >= 0))
    throw new InvalidArgumentError(
      `TPESampler: prior.startupTrials must be an integer >= 0, got ${startupTrials}`,
    );
  const relevanceAfter = prior.relevanceAfter ?? 5;
  if (!(Number.isInteger(relevanceAfter) && relevanceAfter >= 2))
    throw new InvalidArgumentError(
      `TPESampler: prior.relevanceAfter must be an integer >= 2, got ${relevanceAfter}`,
    );
  const names = Object.keys(prior.space).sort();
  const rows: {
    params: Readonly<Record<string, ParamValue>>;
    good: number;
    weight: number;
    study: number;
  }[] = [];
  for (const [k, study] of prior.studies.entries()) {
    if (!(Number.isFinite(study.weight) && study.weight > 0))
      throw new InvalidArgumentError(`TPESampler: prior study ${k} needs a weight > 0, got ${study.weight}`);
    const usable = study.observations.filter((o) => Number.isFinite(o.value));
    const sign = study.direction === 'maximize' ? -1 : 1;
    const keys = usable.map((o) => sign * o.value);
    const order = argsort(keys);
    const nGood = Math.min(usable.length, Math.max(1, Math.ceil(gamma(usable.length))));
    if (order.length === 0) continue;
    // Observations tied with the cut share its remaining good places: which of equal trials
    // ranks first says nothing about the space (e.g. many at 100% accuracy).
    const cut = keys[order[nGood - 1]];
    let better = 0;
    let tied = 0;
    for (const key of keys) {
      if (key < cut) better++;
      else if (key === cut) tied++;
    }
    const tiedShare = (nGood - better) / tied;
    for (let r = 0; r < order.length; r++) {
      const key = keys[order[r]];
      const good = key < cut ? 1 : key === cut ? tiedShare : 0;
      rows.push({ params: usable[order[r]].params, good, weight: study.weight, study: k });
    }
  }
  const columns = new Map<string, { distKey: string; values: Float64Array }>();
  for (const name of names) {
    const d = prior.space[name];
    const values = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const value = rows[i].params[name];
      values[i] = Number.NaN;
      if (value === undefined) continue;
      try {
        const internal = d.toInternal(value);
        if (d.contains(internal)) values[i] = toModel(d, internal);
      } catch {
        // Not a value of this distribution: no evidence.
      }
    }
    columns.set(name, { distKey: distKey(d), values });
  }
  return {
    columns,
    good: Float64Array.from(rows, (r) => r.good),
    weight: Float64Array.from(rows, (r) => r.weight),
    study: Int32Array.from(rows, (r) => r.study),
    nStudies: prior.studies.length,
    startupTrials,
    adaptive: prior.adaptive ?? true,
    relevanceAfter,
  };
}

/**
 * Observations and weights of one group (good or bad) with the prior's of the same group appended
 * (an observation tied with the cut joins both with its share of the weight), for parameters the
 * prior has under the same distributions; `relevance` scales each past study's weight.
 */
function withPrior(
  prior: PriorColumns | undefined,
  relevance: Float64Array | undefined,
  names: readonly string[],
  space: SearchSpace,
  observations: Float64Array[],
  weights: ArrayLike<number>,
  good: boolean,
): [Float64Array[], ArrayLike<number>] {
  if (!prior) return [observations, weights];
  const columns = names.map((n) => prior.columns.get(n));
  if (columns.some((c, j) => c === undefined || c.distKey !== distKey(space[names[j]])))
    return [observations, weights];
  const rows: number[] = [];
  const rowWeights: number[] = [];
  for (let i = 0; i < prior.good.length; i++) {
    const share = good ? prior.good[i] : 1 - prior.good[i];
    const weight = prior.weight[i] * share * (relevance ? relevance[prior.study[i]] : 1);
    if (!(weight > 0)) continue;
    if (columns.every((c) => !Number.isNaN((c as { values: Float64Array }).values[i]))) {
      rows.push(i);
      rowWeights.push(weight);
    }
  }
  if (rows.length === 0) return [observations, weights];
  const n = observations[0]?.length ?? weights.length;
  const merged = observations.map((col, j) => {
    const out = new Float64Array(n + rows.length);
    out.set(col);
    const values = (columns[j] as { values: Float64Array }).values;
    for (let r = 0; r < rows.length; r++) out[n + r] = values[rows[r]];
    return out;
  });
  const w = new Float64Array(n + rows.length);
  for (let i = 0; i < n; i++) w[i] = weights[i];
  for (let r = 0; r < rows.length; r++) w[n + r] = rowWeights[r];
  return [merged, w];
}

function checkInteger(option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new InvalidArgumentError(`TPESampler: ${option} must be an integer >= ${min}, got ${value}`);
  return value;
}

function columnKey(name: string, d: Distribution): string {
  return `${name}\u0000${distKey(d)}`;
}

/** Model-space values of a parameter over `collected.records` (NaN where absent or unusable). */
function column(collected: Collected, name: string, d: Distribution): Float64Array {
  const key = columnKey(name, d);
  const memo = collected.memo.get(key);
  if (memo) return memo;
  let cache = collected.cache.columns.get(key);
  if (!cache) {
    cache = { values: new Float64Array(64), known: new Uint8Array(64) };
    collected.cache.columns.set(key, cache);
  }
  const records = collected.records;
  const out = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    if (rec.kind === KIND_RUNNING) {
      out[i] = modelValue(rec.trial, name, d);
      continue;
    }
    const number = rec.trial.number;
    if (number >= cache.known.length) {
      const size = Math.max(number + 1, 2 * cache.known.length);
      const values = new Float64Array(size);
      values.set(cache.values);
      const known = new Uint8Array(size);
      known.set(cache.known);
      cache.values = values;
      cache.known = known;
    }
    if (cache.known[number] === 0) {
      cache.values[number] = modelValue(rec.trial, name, d);
      cache.known[number] = 1;
    }
    out[i] = cache.values[number];
  }
  collected.memo.set(key, out);
  return out;
}

function modelValue(trial: FrozenTrial, name: string, d: Distribution): number {
  if (!(name in trial.params)) return Number.NaN;
  try {
    const internal = d.toInternal(trial.params[name]);
    // Values from another range (the bounds changed) are not evidence about this one.
    if (d.type === 'categorical' || (internal >= d.low && internal <= d.high)) return toModel(d, internal);
  } catch {
    // Not a value of this distribution (a changed categorical): ignore it.
  }
  return Number.NaN;
}

function sameTrial(a: FrozenTrial, b: FrozenTrial): boolean {
  if (a === b) return true;
  if (a.trialId !== b.trialId || a.state !== b.state || a.number !== b.number) return false;
  const va = a.values;
  const vb = b.values;
  if (va === null || vb === null) return va === vb;
  return va.length === vb.length && va.every((v, i) => v === vb[i]);
}

function makeRecord(
  t: FrozenTrial,
  directions: readonly StudyDirection[],
  cache: StudyCache,
): TrialRecord | undefined {
  const m = directions.length;
  const sign = (i: number) => (directions[i] === 'maximize' ? -1 : 1);
  let kind: number;
  let primary: number;
  let values: number[];
  if (t.state === 'COMPLETE') {
    if (t.values === null || t.values.length !== m) return undefined;
    kind = KIND_COMPLETE;
    primary = Number.NEGATIVE_INFINITY;
    values = t.values.map((v, i) => sign(i) * v);
  } else if (t.state === 'PRUNED') {
    kind = KIND_PRUNED;
    const last = lastIntermediate(t);
    if (m > 1) {
      primary = 0;
      values = new Array<number>(m).fill(Number.POSITIVE_INFINITY);
    } else if (last === undefined || typeof last.value !== 'number') {
      // Pruned before reporting anything: after every trial that reported.
      primary = 1;
      values = [0];
    } else {
      // Deeper pruned trials rank first, then by their last value.
      primary = -last.step;
      values = [Number.isNaN(last.value) ? Number.POSITIVE_INFINITY : sign(0) * last.value];
    }
  } else {
    kind = KIND_RUNNING;
    primary = Number.POSITIVE_INFINITY;
    values = new Array<number>(m).fill(Number.POSITIVE_INFINITY);
  }
  const constraints = trialConstraints(t);
  let violation = Number.POSITIVE_INFINITY;
  if (constraints !== undefined) {
    violation = 0;
    for (const c of constraints) if (c > 0) violation += c;
  }
  return {
    trial: t,
    kind,
    primary,
    values,
    violation,
    hasConstraints: constraints !== undefined,
    paramsKey: registerParams(t, cache),
  };
}

/** A key for the trial's parameter names and distributions, registered in the study cache. */
function registerParams(t: FrozenTrial, cache: StudyCache): string {
  const names = Object.keys(t.distributions).sort();
  const key = names.map((n) => `${n}\u0001${distKey(t.distributions[n])}`).join('\u0002');
  if (!cache.spaces.has(key)) {
    const entries = new Map<string, SpaceEntry>();
    for (const n of names)
      entries.set(n, { distKey: distKey(t.distributions[n]), distribution: t.distributions[n] });
    cache.spaces.set(key, entries);
  }
  return key;
}

function distinctParamsKeys(collected: Collected): string[] {
  const keys = new Set<string>();
  for (const rec of collected.records) if (rec.kind !== KIND_RUNNING) keys.add(rec.paramsKey);
  return [...keys].sort();
}
