/**
 * Regularized (aging) evolution (Real, Aggarwal, Huang and Le 2019) as a define-by-run sampler, for
 * one or several objectives.
 *
 * Population: the `populationSize` most recent complete trials (by trial number, so every worker
 * agrees on it without writing anything). Until that many trials have completed, trials are sampled
 * uniformly. Afterwards each trial takes `sampleSize` members at random, picks the best of them as
 * its parent (tournament selection), copies the parent's parameters and changes exactly one of them:
 * a categorical takes another choice, an int or float either a new uniform value or a local step.
 * The oldest member leaves the population as each new trial completes: this ageing is what
 * distinguishes it from keeping the best, and what Real et al. found to regularise the search.
 *
 * With several objectives the tournament is won by the lower non-dominated rank (computed over the
 * population), then the larger crowding distance. With constraints (`createStudy({ constraints })`)
 * a feasible member beats an infeasible one, and infeasible ones are compared by total violation.
 *
 * Parameters the parent never suggested (a branch of a dynamic space the mutation opened) are
 * sampled uniformly. Each child draws from a stream seeded by the sampler's seed and its trial
 * number, so a seed reproduces the study, also with concurrent trials.
 */
import type { Distribution, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { toMinimization } from '../core/multi-objective.js';
import { Random } from '../core/random.js';
import type { Sampler, SearchSpace } from '../core/sampler.js';
import { type StudyView, trialConstraints } from '../core/study-view.js';
import { constrainedRanks, crowdingDistances, totalViolation } from './nsga2/nsga2-sampler.js';
import { sampleUniform } from './random.js';

export interface AgingEvolutionSamplerOptions {
  seed?: number;
  /** P: how many of the most recent complete trials form the population (default 20). */
  populationSize?: number;
  /** S: members drawn for each tournament (default 5; at most populationSize). */
  sampleSize?: number;
  /**
   * Probability that a numeric mutation is a local step rather than a new uniform value (default
   * 0.5). A local step moves an int by one step (or one unit on a log scale) and a float by a normal
   * step with a tenth of its range (in log space for log parameters).
   */
  localStepProb?: number;
}

/** The parent a child was copied from and the one parameter it changed. */
export interface Mutation {
  readonly parent: number;
  readonly param: string | null;
}

interface Plan {
  readonly parent: FrozenTrial;
  readonly space: SearchSpace;
  readonly child: Record<string, ParamValue>;
  readonly mutated: string | null;
}

export class AgingEvolutionSampler implements Sampler {
  readonly populationSize: number;
  readonly sampleSize: number;
  private readonly localStepProb: number;
  private readonly rng: Random;
  /** The plan of the last ask, so the search space and the child of one ask share it. */
  private readonly lastPlan = new WeakMap<StudyView, { trial: number; plan: Plan | null }>();
  /** Parent and mutated parameter of each child this sampler proposed, by study and trial number. */
  private readonly mutations = new Map<string, Mutation>();

  constructor(options: AgingEvolutionSamplerOptions = {}) {
    this.populationSize = options.populationSize ?? 20;
    if (!Number.isInteger(this.populationSize) || this.populationSize < 2)
      throw new InvalidArgumentError(
        `AgingEvolutionSampler: populationSize must be an integer >= 2, got ${options.populationSize}`,
      );
    this.sampleSize = options.sampleSize ?? Math.min(5, this.populationSize);
    if (!Number.isInteger(this.sampleSize) || this.sampleSize < 1 || this.sampleSize > this.populationSize)
      throw new InvalidArgumentError(
        `AgingEvolutionSampler: sampleSize must be an integer in [1, populationSize=${this.populationSize}], got ${options.sampleSize}`,
      );
    this.localStepProb = options.localStepProb ?? 0.5;
    if (!(this.localStepProb >= 0 && this.localStepProb <= 1))
      throw new InvalidArgumentError(
        `AgingEvolutionSampler: localStepProb must be in [0, 1], got ${options.localStepProb}`,
      );
    this.rng = Random.fromSeed(options.seed);
  }

  /** The parent trial number and mutated parameter of a child, when this sampler mutated it. */
  mutationOf(studyName: string, trialNumber: number): Mutation | undefined {
    return this.mutations.get(`${studyName}\u0000${trialNumber}`);
  }

  /** The population a trial asked now would select from: the most recent complete trials, oldest first. */
  population(study: StudyView): FrozenTrial[] {
    const complete = study.getTrials({ states: ['COMPLETE'] }).filter((t) => t.values !== null);
    return complete.slice(Math.max(0, complete.length - this.populationSize));
  }

  inferRelativeSearchSpace(study: StudyView, trial: FrozenTrial): SearchSpace {
    return this.plan(study, trial)?.space ?? {};
  }

  sampleRelative(study: StudyView, trial: FrozenTrial): Record<string, ParamValue> {
    const plan = this.plan(study, trial);
    if (!plan) return {};
    this.mutations.set(`${study.studyName}\u0000${trial.number}`, {
      parent: plan.parent.number,
      param: plan.mutated,
    });
    return plan.child;
  }

  sampleIndependent(
    _study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    return sampleUniform(this.rng.fork(`${trial.number}/${name}`), distribution);
  }

  private plan(study: StudyView, trial: FrozenTrial): Plan | null {
    const last = this.lastPlan.get(study);
    if (last && last.trial === trial.number) return last.plan;
    const plan = this.makePlan(study, trial);
    this.lastPlan.set(study, { trial: trial.number, plan });
    return plan;
  }

  private makePlan(study: StudyView, trial: FrozenTrial): Plan | null {
    const population = this.population(study);
    // Random sampling until the population is full.
    if (population.length < this.populationSize) return null;
    const rng = this.rng.fork(trial.number);
    const parent = population[this.tournament(rng, study, population)];
    const space: SearchSpace = {};
    const child: Record<string, ParamValue> = {};
    for (const name of Object.keys(parent.distributions).sort()) {
      space[name] = parent.distributions[name];
      child[name] = parent.params[name];
    }
    const mutable = Object.keys(space)
      .sort()
      .filter((name) => !space[name].single());
    let mutated: string | null = null;
    if (mutable.length > 0) {
      mutated = mutable[rng.int(0, mutable.length - 1)];
      child[mutated] = this.mutate(rng, space[mutated], child[mutated]);
    }
    return { parent, space, child, mutated };
  }

  /** The index of the tournament winner among `sampleSize` distinct members drawn at random. */
  private tournament(rng: Random, study: StudyView, population: readonly FrozenTrial[]): number {
    const indices = Array.from({ length: population.length }, (_, i) => i);
    rng.shuffle(indices);
    const contestants = indices.slice(0, this.sampleSize);
    const values = population.map((t) => toMinimization(t.values!, study.directions));
    const violations = population.map((t) => {
      const c = trialConstraints(t);
      return c ? totalViolation(c) : 0;
    });
    let rank: number[];
    let crowding: number[];
    if (study.directions.length === 1) {
      // One objective: infeasible members rank by violation after every feasible one.
      rank = violations.map((v) => v);
      crowding = values.map((v) => -v[0]);
    } else {
      rank = constrainedRanks(values, violations);
      crowding = new Array<number>(population.length).fill(0);
      for (const r of new Set(rank)) {
        const front = rank.flatMap((x, i) => (x === r ? [i] : []));
        const d = crowdingDistances(front.map((i) => values[i]));
        front.forEach((i, k) => {
          crowding[i] = d[k];
        });
      }
    }
    let best = contestants[0];
    for (const c of contestants.slice(1)) {
      if (rank[c] !== rank[best]) {
        if (rank[c] < rank[best]) best = c;
      } else if (crowding[c] > crowding[best]) best = c;
    }
    return best;
  }

  /** A value of `d` different from `current`: another choice, a local step or a new uniform value. */
  private mutate(rng: Random, d: Distribution, current: ParamValue): ParamValue {
    if (d.type === 'categorical') {
      const index = d.toInternal(current);
      const k = rng.int(0, d.choices.length - 2);
      return d.choices[k >= index ? k + 1 : k];
    }
    const local = rng.next() < this.localStepProb;
    for (let attempt = 0; attempt < 16; attempt++) {
      const value = local ? localStep(rng, d, current as number) : sampleUniform(rng, d);
      if (value !== current && d.contains(value as number)) return value;
    }
    // A tiny range where draws keep landing on the current value: take the nearest other value.
    return nearestOther(d, current as number);
  }
}

/** A step of one grid unit (int, stepped float) or a normal step of a tenth of the range (float). */
function localStep(rng: Random, d: Distribution, current: number): number {
  if (d.type === 'categorical') throw new InvalidArgumentError('localStep: numeric distribution expected');
  const up = rng.bool();
  if (d.type === 'int') {
    if (d.log) {
      // One unit on a log scale: multiply or divide by a factor, at least one integer apart.
      const factor = Math.exp(Math.abs(rng.normal(0, 0.1 * Math.log(d.high / d.low))));
      const next = up
        ? Math.max(current + 1, Math.round(current * factor))
        : Math.min(current - 1, Math.round(current / factor));
      return reflect(next, d.low, d.high, current, d.step);
    }
    return reflect(current + (up ? d.step : -d.step), d.low, d.high, current, d.step);
  }
  if (d.step !== null) return reflect(current + (up ? d.step : -d.step), d.low, d.high, current, d.step);
  if (d.log) {
    const [lo, hi] = [Math.log(d.low), Math.log(d.high)];
    const x = Math.log(current) + rng.normal(0, 0.1 * (hi - lo));
    return Math.exp(Math.min(hi, Math.max(lo, x)));
  }
  const x = current + rng.normal(0, 0.1 * (d.high - d.low));
  return Math.min(d.high, Math.max(d.low, x));
}

/** A grid step that would leave [low, high] goes the other way instead. */
function reflect(next: number, low: number, high: number, current: number, step: number): number {
  if (next > high) return Math.max(low, current - step);
  if (next < low) return Math.min(high, current + step);
  return next;
}

function nearestOther(d: Distribution, current: number): ParamValue {
  if (d.type === 'categorical') return current;
  const step = d.type === 'int' ? d.step : (d.step ?? (d.high - d.low) / 2);
  return current + step <= d.high ? current + step : current - step;
}
