/**
 * A reinforcement-learning controller as a define-by-run sampler: policy gradient (REINFORCE,
 * Williams 1992) over the decisions of a search space, as Zoph and Le's neural architecture search
 * trains its controller, with a moving-average baseline and an entropy bonus.
 *
 * Policy: one softmax over the actions of each parameter (a factorised policy; Zoph and Le's
 * controller is an RNN that conditions each decision on the earlier ones, NNI's PPO tuner an LSTM).
 * Actions are a categorical parameter's choices, an int's values when there are at most `bins` of
 * them, else `bins` equal slices of the range (in log space for log parameters); a float always
 * takes `bins` slices. A sampled slice draws its value uniformly inside the slice, so the sampler
 * still reaches every value of the range.
 *
 * Learning: finished trials are replayed in trial-number order, in batches of `batchSize`. Each
 * trial's reward is the negated objective (maximised objectives are negated first); its advantage
 * is the reward minus the baseline, an exponential moving average of past rewards (`baselineDecay`),
 * divided by the moving standard deviation so the step does not depend on the objective's scale.
 * A batch moves every logit it touched by Adam on the mean of advantage x grad log pi(action) plus
 * `entropyWeight` x grad entropy (which keeps the policy from collapsing early). A FAIL or PRUNED
 * trial without a reported value (an over-budget architecture) counts as the worst reward seen so
 * far, so the controller learns to avoid what breaks; a pruned trial with intermediate values uses
 * its last one.
 *
 * Several objectives: each trial's values are normalised to [0, 1] by the minimum and maximum over
 * the finished trials, then scalarised by the augmented Chebyshev function
 * max_i(w_i f_i) + 0.05 sum_i(w_i f_i) (to be minimised), as ParEGO does. The weights are `weights`
 * when given, else a fresh uniform draw from the simplex per trial (seeded by the trial number), so
 * over the study the controller is rewarded for points good under some trade-off, not under one.
 *
 * Reproducibility: the policy is a function of the finished trials a trial sees at ask time and of
 * the seed; every draw uses a stream forked by trial number and parameter name.
 */
import {
  clampToDistribution,
  type Distribution,
  distributionKey,
  type ParamValue,
} from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import { type FrozenTrial, lastIntermediate } from '../core/frozen-trial.js';
import { toMinimization } from '../core/multi-objective.js';
import { Random } from '../core/random.js';
import type { Sampler, SearchSpace } from '../core/sampler.js';
import type { StudyView } from '../core/study-view.js';

export interface ReinforceSamplerOptions {
  seed?: number;
  /** Adam step size on the logits (default 0.1). */
  learningRate?: number;
  /** Finished trials per policy update (default 4). */
  batchSize?: number;
  /** Decay of the moving-average baseline and scale (default 0.8: about the last five rewards). */
  baselineDecay?: number;
  /** Weight of the entropy bonus (default 0.05). */
  entropyWeight?: number;
  /** Slices of a float range, and of an int range with more values than this (default 8). */
  bins?: number;
  /** Scalarisation weights for several objectives (default: a random draw per trial). */
  weights?: number[];
}

/** The policy of one parameter: its action count and logits. */
interface ParamPolicy {
  readonly distribution: Distribution;
  readonly logits: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
  t: number;
}

/** A trained policy: per parameter (name and distribution), the softmax's logits. */
interface Policy {
  readonly params: Map<string, ParamPolicy>;
  /** Baseline and scale after the replay (for inspection). */
  baseline: number | null;
  updates: number;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const CHEBYSHEV_RHO = 0.05;

export class ReinforceSampler implements Sampler {
  readonly learningRate: number;
  readonly batchSize: number;
  readonly baselineDecay: number;
  readonly entropyWeight: number;
  readonly bins: number;
  private readonly weights: number[] | undefined;
  private readonly rng: Random;
  /** Policies by the finished trials they were learned from; most recent last. */
  private readonly cache = new Map<string, Policy>();

  constructor(options: ReinforceSamplerOptions = {}) {
    this.learningRate = options.learningRate ?? 0.1;
    if (!(this.learningRate > 0))
      throw new InvalidArgumentError(
        `ReinforceSampler: learningRate must be > 0, got ${options.learningRate}`,
      );
    this.batchSize = options.batchSize ?? 4;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new InvalidArgumentError(
        `ReinforceSampler: batchSize must be a positive integer, got ${options.batchSize}`,
      );
    this.baselineDecay = options.baselineDecay ?? 0.8;
    if (!(this.baselineDecay >= 0 && this.baselineDecay < 1))
      throw new InvalidArgumentError(
        `ReinforceSampler: baselineDecay must be in [0, 1), got ${options.baselineDecay}`,
      );
    this.entropyWeight = options.entropyWeight ?? 0.05;
    if (!(this.entropyWeight >= 0))
      throw new InvalidArgumentError(
        `ReinforceSampler: entropyWeight must be >= 0, got ${options.entropyWeight}`,
      );
    this.bins = options.bins ?? 8;
    if (!Number.isInteger(this.bins) || this.bins < 2)
      throw new InvalidArgumentError(`ReinforceSampler: bins must be an integer >= 2, got ${options.bins}`);
    if (options.weights !== undefined && !options.weights.every((w) => Number.isFinite(w) && w >= 0))
      throw new InvalidArgumentError(
        `ReinforceSampler: weights must be non-negative numbers, got ${JSON.stringify(options.weights)}`,
      );
    this.weights = options.weights;
    this.rng = Random.fromSeed(options.seed);
  }

  inferRelativeSearchSpace(): SearchSpace {
    return {};
  }

  sampleRelative(): Record<string, ParamValue> {
    return {};
  }

  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    const rng = this.rng.fork(`${trial.number}/${name}`);
    const entry = this.policy(study).params.get(policyKey(name, distribution));
    const actions = actionCount(distribution, this.bins);
    const probs = entry ? softmax(entry.logits) : new Float64Array(actions).fill(1 / actions);
    let u = rng.next();
    let action = actions - 1;
    for (let a = 0; a < actions; a++) {
      u -= probs[a];
      if (u < 0) {
        action = a;
        break;
      }
    }
    return valueOfAction(rng, distribution, action, this.bins);
  }

  /**
   * The controller's probabilities for a parameter after learning from the finished trials of
   * `study` (uniform when no finished trial has it), by action: the choices of a categorical, the
   * values or slices of a numeric parameter.
   */
  probabilities(study: StudyView, name: string, distribution: Distribution): number[] {
    const entry = this.policy(study).params.get(policyKey(name, distribution));
    const actions = actionCount(distribution, this.bins);
    return entry ? [...softmax(entry.logits)] : new Array<number>(actions).fill(1 / actions);
  }

  /** How many policy updates the finished trials of `study` have made. */
  updates(study: StudyView): number {
    return this.policy(study).updates;
  }

  private policy(study: StudyView): Policy {
    const finished = study
      .getTrials({ states: ['COMPLETE', 'PRUNED', 'FAIL'] })
      .filter((t) => Object.keys(t.params).length > 0)
      .sort((a, b) => a.number - b.number);
    const key = `${study.studyName}\u0000${finished.map((t) => `${t.number}${t.state[0]}`).join(',')}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const policy = this.learn(study, finished);
    this.cache.set(key, policy);
    // A few recent policies are enough: concurrent trials ask with nearly the same finished set.
    if (this.cache.size > 16) this.cache.delete(this.cache.keys().next().value as string);
    return policy;
  }

  private learn(study: StudyView, finished: readonly FrozenTrial[]): Policy {
    const policy: Policy = { params: new Map(), baseline: null, updates: 0 };
    const rewards = this.rewards(study, finished);
    let baseline: number | null = null;
    let variance = 0;
    let worst = Number.POSITIVE_INFINITY;
    let batch: { trial: FrozenTrial; advantage: number }[] = [];
    for (let i = 0; i < finished.length; i++) {
      let reward = rewards[i];
      if (reward === null) {
        // Failed or pruned without a value: the worst reward so far (nothing to learn before one).
        if (!Number.isFinite(worst)) continue;
        reward = worst;
      }
      worst = Math.min(worst, reward);
      let advantage = 0;
      if (baseline === null) baseline = reward;
      else {
        const deviation = reward - baseline;
        advantage = variance > 0 ? deviation / Math.sqrt(variance) : Math.sign(deviation);
        baseline += (1 - this.baselineDecay) * deviation;
        variance = this.baselineDecay * variance + (1 - this.baselineDecay) * deviation * deviation;
      }
      batch.push({ trial: finished[i], advantage });
      if (batch.length === this.batchSize) {
        this.update(policy, batch);
        batch = [];
      }
    }
    policy.baseline = baseline;
    return policy;
  }

  /** Rewards to maximise, one per finished trial; null where a trial gave no value. */
  private rewards(study: StudyView, finished: readonly FrozenTrial[]): (number | null)[] {
    const values = finished.map((t): number[] | null => {
      if (t.state === 'COMPLETE' && t.values) return toMinimization(t.values, study.directions);
      const last = t.state === 'PRUNED' ? lastIntermediate(t) : undefined;
      if (last === undefined) return null;
      const v = Array.isArray(last.value) ? last.value : [last.value];
      return v.length === study.directions.length && v.every(Number.isFinite)
        ? toMinimization(v, study.directions)
        : null;
    });
    const m = study.directions.length;
    if (m === 1) return values.map((v) => (v === null ? null : -v[0]));
    const low = new Array<number>(m).fill(Number.POSITIVE_INFINITY);
    const high = new Array<number>(m).fill(Number.NEGATIVE_INFINITY);
    for (const v of values)
      if (v)
        for (let k = 0; k < m; k++) {
          low[k] = Math.min(low[k], v[k]);
          high[k] = Math.max(high[k], v[k]);
        }
    return values.map((v, i) => {
      if (v === null) return null;
      const w = this.weightsFor(finished[i].number, m);
      let max = Number.NEGATIVE_INFINITY;
      let sum = 0;
      for (let k = 0; k < m; k++) {
        const f = high[k] > low[k] ? (v[k] - low[k]) / (high[k] - low[k]) : 0;
        max = Math.max(max, w[k] * f);
        sum += w[k] * f;
      }
      return -(max + CHEBYSHEV_RHO * sum);
    });
  }

  private weightsFor(trialNumber: number, m: number): number[] {
    if (this.weights) {
      if (this.weights.length !== m)
        throw new InvalidArgumentError(
          `ReinforceSampler: ${this.weights.length} weights given for ${m} objectives`,
        );
      return this.weights;
    }
    // Uniform on the simplex: normalised exponential draws.
    const rng = this.rng.fork(`weights/${trialNumber}`);
    const e = Array.from({ length: m }, () => -Math.log(1 - rng.next()));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / total);
  }

  /** One Adam step on the logits each trial of the batch touched. */
  private update(policy: Policy, batch: readonly { trial: FrozenTrial; advantage: number }[]): void {
    const grads = new Map<string, Float64Array>();
    for (const { trial, advantage } of batch) {
      for (const [name, distribution] of Object.entries(trial.distributions)) {
        if (distribution.single()) continue;
        const key = policyKey(name, distribution);
        let entry = policy.params.get(key);
        if (!entry) {
          const n = actionCount(distribution, this.bins);
          entry = {
            distribution,
            logits: new Float64Array(n),
            m: new Float64Array(n),
            v: new Float64Array(n),
            t: 0,
          };
          policy.params.set(key, entry);
        }
        const probs = softmax(entry.logits);
        const action = actionOfValue(distribution, trial.params[name], this.bins);
        let g = grads.get(key);
        if (!g) {
          g = new Float64Array(entry.logits.length);
          grads.set(key, g);
        }
        // Ascent direction: advantage x d log pi(a) / d logits + beta x d entropy / d logits.
        let entropy = 0;
        for (const p of probs) if (p > 0) entropy -= p * Math.log(p);
        for (let a = 0; a < probs.length; a++) {
          const logGrad = (a === action ? 1 : 0) - probs[a];
          const entropyGrad = probs[a] > 0 ? -probs[a] * (Math.log(probs[a]) + entropy) : 0;
          g[a] += (advantage * logGrad + this.entropyWeight * entropyGrad) / batch.length;
        }
      }
    }
    for (const [key, g] of grads) {
      const entry = policy.params.get(key)!;
      entry.t++;
      const c1 = 1 - ADAM_BETA1 ** entry.t;
      const c2 = 1 - ADAM_BETA2 ** entry.t;
      for (let a = 0; a < g.length; a++) {
        entry.m[a] = ADAM_BETA1 * entry.m[a] + (1 - ADAM_BETA1) * g[a];
        entry.v[a] = ADAM_BETA2 * entry.v[a] + (1 - ADAM_BETA2) * g[a] * g[a];
        entry.logits[a] += (this.learningRate * (entry.m[a] / c1)) / (Math.sqrt(entry.v[a] / c2) + 1e-8);
      }
    }
    policy.updates++;
  }
}

function policyKey(name: string, distribution: Distribution): string {
  return `${name}\u0000${distributionKey(distribution)}`;
}

function softmax(logits: Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const z of logits) max = Math.max(max, z);
  const out = new Float64Array(logits.length);
  let total = 0;
  for (let a = 0; a < logits.length; a++) {
    out[a] = Math.exp(logits[a] - max);
    total += out[a];
  }
  for (let a = 0; a < out.length; a++) out[a] /= total;
  return out;
}

/** Values of an int distribution on its grid. */
function gridSize(d: Distribution): number {
  if (d.type !== 'int') return Number.POSITIVE_INFINITY;
  return Math.floor((d.high - d.low) / d.step + 1e-9) + 1;
}

/** The number of actions a parameter has. */
export function actionCount(d: Distribution, bins: number): number {
  if (d.type === 'categorical') return d.choices.length;
  const n = gridSize(d);
  return Math.min(n, bins);
}

/** Position of a numeric value in [0, 1] along its range (log space for log distributions). */
function position(d: Distribution, x: number): number {
  if (d.type === 'categorical') return 0;
  const [lo, hi, v] = d.log ? [Math.log(d.low), Math.log(d.high), Math.log(x)] : [d.low, d.high, x];
  return hi > lo ? (v - lo) / (hi - lo) : 0;
}

/** The action a value of a trial was (its choice, grid value or slice). */
export function actionOfValue(d: Distribution, value: ParamValue, bins: number): number {
  if (d.type === 'categorical') return d.toInternal(value);
  const x = value as number;
  if (gridSize(d) <= bins) return Math.round((x - d.low) / (d as { step: number }).step);
  return Math.min(bins - 1, Math.max(0, Math.floor(position(d, x) * bins)));
}

/** A value for an action: the choice, the grid value, or a uniform draw inside the slice. */
function valueOfAction(rng: Random, d: Distribution, action: number, bins: number): ParamValue {
  if (d.type === 'categorical') return d.choices[action];
  if (d.type === 'int' && gridSize(d) <= bins) return d.low + action * d.step;
  const u = (action + rng.next()) / bins;
  const [lo, hi] = d.log ? [Math.log(d.low), Math.log(d.high)] : [d.low, d.high];
  const t = lo + u * (hi - lo);
  return clampToDistribution(d, d.log ? Math.exp(t) : t);
}
