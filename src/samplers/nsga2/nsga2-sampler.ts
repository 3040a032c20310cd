/**
 * NSGA-II (Deb, Pratap, Agarwal and Meyarivan 2002) as a define-by-run sampler, after Optuna's
 * NSGAIISampler, for one or several objectives.
 *
 * Generations. Trial k belongs to generation floor(k / populationSize), so every worker, thread or
 * process agrees on generations without writing anything. Generation 0 is sampled uniformly. The
 * parents of generation g are the elite of (parents of g-1) plus (complete trials of g-1): fronts
 * of non-dominated sorting, then crowding distance to cut the last front. With constraints
 * (`createStudy({ constraints })`), domination is constrained: a feasible trial beats an infeasible
 * one, and infeasible trials are ranked by their total violation. Finished trials never change, so
 * parent populations are cached per generation and checked against the trial numbers they came
 * from; a trial still running when a child is asked is simply not a candidate yet.
 *
 * Children. Two parents are chosen by binary tournaments (lower rank wins, then larger crowding
 * distance). With probability `crossoverProb` they are recombined: numeric parameters by SBX
 * (default), uniform crossover or BLX-alpha in the sampler's continuous encoding (log space for log
 * parameters, half a step of room around integer and stepped ranges), categoricals by uniform
 * crossover with `swappingProb`. Then each parameter mutates with probability `mutationProb`:
 * polynomial mutation for numeric ones, a uniformly drawn choice for categoricals. A child equal to
 * one of its parents is mutated again, so no trial is spent on a known point. Each child draws from
 * a stream seeded by its trial number, so results are reproducible with concurrency.
 *
 * Measured on ZDT1/ZDT2 (10-D, 1000 trials, reference point 11, 11; mean of 20 seeds): hypervolume
 * 118.6/112.2, against 116.6/110.4 for Optuna 3.1's NSGAIISampler (6 seeds) and 105/91 for random
 * search.
 *
 * The relative search space is what every parent holds with the same distribution; other
 * parameters (dynamic spaces) are sampled uniformly. About 0.1 ms per trial over random sampling
 * at 1000 trials.
 */
import { type Distribution, distributionsEqual, type ParamValue } from '../../core/distributions.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { FrozenTrial } from '../../core/frozen-trial.js';
import { nonDominatedRanks, toMinimization } from '../../core/multi-objective.js';
import { Random } from '../../core/random.js';
import type { Sampler, SearchSpace } from '../../core/sampler.js';
import { type StudyView, trialConstraints } from '../../core/study-view.js';
import { sampleUniform } from '../random.js';
import { SearchSpaceTransform } from '../transform.js';
import { blxAlpha, polynomialMutation, sbx } from './variation.js';

export type NSGAIICrossover = 'sbx' | 'uniform' | 'blxalpha';

export interface NSGAIISamplerOptions {
  seed?: number;
  /** Trials per generation (default 50). */
  populationSize?: number;
  /** Probability to mutate each parameter (default null: 1 / number of parameters). */
  mutationProb?: number | null;
  /** Crossover of numeric parameters (default 'sbx'); categoricals always use uniform crossover. */
  crossover?: NSGAIICrossover;
  /** Probability that a child comes from crossover rather than a copy of one parent (default 0.9). */
  crossoverProb?: number;
  /** Probability to take the second parent's value in uniform crossover (default 0.5). */
  swappingProb?: number;
  /** SBX distribution index (default 20 with several objectives, 2 with one, as in Optuna). */
  sbxEta?: number;
  /**
   * Polynomial-mutation distribution index (default 2 with several objectives, 20 with one). Wide
   * mutations keep the spread of a front (ZDT1/ZDT2 at 1000 trials: hypervolume 118.6/112.2 against
   * 117.1/107.5 with 20), while one objective gains from local moves.
   */
  mutationEta?: number;
  /** BLX-alpha widening (default 0.5). */
  blxAlpha?: number;
}

/** A complete trial as a candidate parent. */
interface Member {
  readonly trial: FrozenTrial;
  /** Objective values, all minimised. */
  readonly values: readonly number[];
  /** Total constraint violation (0 when feasible). */
  readonly violation: number;
}

/** A parent population with the rank and crowding distance each member got in its selection. */
interface Population {
  readonly members: readonly Member[];
  readonly rank: readonly number[];
  readonly crowding: readonly number[];
}

interface Checkpoint {
  /** Numbers of the complete trials of the generation that produced `population`. */
  readonly key: string;
  readonly population: Population;
}

const EMPTY: Population = { members: [], rank: [], crowding: [] };
const CROSSOVERS: readonly NSGAIICrossover[] = ['sbx', 'uniform', 'blxalpha'];

export class NSGAIISampler implements Sampler {
  readonly populationSize: number;
  private readonly rng: Random;
  private readonly mutationProb: number | null;
  private readonly crossover: NSGAIICrossover;
  private readonly crossoverProb: number;
  private readonly swappingProb: number;
  private readonly sbxEta: number | undefined;
  private readonly mutationEta: number | undefined;
  private readonly blxAlphaValue: number;
  /** Per study: the parent population of generation g + 1 at index g. */
  private readonly checkpoints = new Map<string, Checkpoint[]>();
  /** The population found for a view, so the search space and the child of one ask share it. */
  private readonly lastPopulation = new WeakMap<StudyView, { generation: number; population: Population }>();

  constructor(options: NSGAIISamplerOptions = {}) {
    this.populationSize = options.populationSize ?? 50;
    if (!Number.isInteger(this.populationSize) || this.populationSize < 2)
      throw new InvalidArgumentError(
        `NSGAIISampler: populationSize must be an integer >= 2, got ${options.populationSize}`,
      );
    this.mutationProb = options.mutationProb ?? null;
    if (this.mutationProb !== null) checkProbability('mutationProb', this.mutationProb);
    this.crossover = options.crossover ?? 'sbx';
    if (!CROSSOVERS.includes(this.crossover))
      throw new InvalidArgumentError(
        `NSGAIISampler: crossover must be one of ${CROSSOVERS.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(options.crossover)}`,
      );
    this.crossoverProb = checkProbability('crossoverProb', options.crossoverProb ?? 0.9);
    this.swappingProb = checkProbability('swappingProb', options.swappingProb ?? 0.5);
    this.sbxEta = options.sbxEta;
    if (this.sbxEta !== undefined) checkIndex('sbxEta', this.sbxEta);
    this.mutationEta = options.mutationEta;
    if (this.mutationEta !== undefined) checkIndex('mutationEta', this.mutationEta);
    this.blxAlphaValue = options.blxAlpha ?? 0.5;
    if (!(this.blxAlphaValue >= 0 && Number.isFinite(this.blxAlphaValue)))
      throw new InvalidArgumentError(`NSGAIISampler: blxAlpha must be >= 0, got ${options.blxAlpha}`);
    this.rng = Random.fromSeed(options.seed);
  }

  /**
   * The parameters every parent holds with the same distribution. Parents are complete trials, so
   * this contains the intersection space of the study (and conditional parameters all parents
   * share); it costs O(population) instead of a pass over every trial.
   */
  inferRelativeSearchSpace(study: StudyView, trial: FrozenTrial): SearchSpace {
    const generation = Math.floor(trial.number / this.populationSize);
    // The first generation is uniform: no need to look at the history.
    if (generation === 0) return {};
    const members = this.parentPopulation(study, generation).members;
    if (members.length === 0) return {};
    const space: SearchSpace = {};
    const first = members[0].trial.distributions;
    for (const name of Object.keys(first).sort()) {
      const d = first[name];
      if (d.single()) continue;
      if (
        members.every(
          (m) => m.trial.distributions[name] && distributionsEqual(m.trial.distributions[name], d),
        )
      )
        space[name] = d;
    }
    return space;
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, space: SearchSpace): Record<string, ParamValue> {
    const names = Object.keys(space).sort();
    const generation = Math.floor(trial.number / this.populationSize);
    if (generation === 0 || names.length === 0) return {};
    const population = this.parentPopulation(study, generation);
    // Parents must hold every parameter of the space (a dynamic space can leave some out).
    const eligible: number[] = [];
    population.members.forEach((m, i) => {
      if (names.every((n) => n in m.trial.params)) eligible.push(i);
    });
    if (eligible.length === 0) return {};

    const rng = this.rng.fork(trial.number);
    const first = this.tournament(rng, population, eligible);
    const rest = eligible.length > 1 ? eligible.filter((i) => i !== first) : eligible;
    const second = this.tournament(rng, population, rest);
    const p1 = population.members[first].trial.params;
    const p2 = population.members[second].trial.params;
    const recombine = rng.next() < this.crossoverProb;
    const mutationProb = this.mutationProb ?? 1 / names.length;
    const several = study.directions.length > 1;
    const eta = this.sbxEta ?? (several ? 20 : 2);
    const mutationEta = this.mutationEta ?? (several ? 2 : 20);

    const child: Record<string, ParamValue> = {};
    const numeric: SearchSpace = {};
    for (const name of names) {
      const d = space[name];
      if (d.type !== 'categorical') numeric[name] = d;
    }
    const transform = new SearchSpaceTransform(numeric);
    const x1 = transform.dim > 0 ? transform.encode(p1) : new Float64Array(0);
    const x2 = transform.dim > 0 ? transform.encode(p2) : x1;
    const x = new Float64Array(transform.dim);
    for (const name of names) {
      const d = space[name];
      if (d.type === 'categorical') {
        let v = recombine && rng.next() < this.swappingProb ? p2[name] : p1[name];
        if (rng.next() < mutationProb) v = sampleUniform(rng, d);
        child[name] = v;
        continue;
      }
      const c = transform.paramStart[transform.names.indexOf(name)];
      const [low, high] = [transform.lows[c], transform.highs[c]];
      let v = x1[c];
      if (recombine) {
        if (this.crossover === 'sbx') v = sbx(rng, x1[c], x2[c], low, high, eta);
        else if (this.crossover === 'uniform') v = rng.next() < this.swappingProb ? x2[c] : x1[c];
        else v = blxAlpha(rng, x1[c], x2[c], low, high, this.blxAlphaValue);
      }
      if (rng.next() < mutationProb) v = polynomialMutation(rng, v, low, high, mutationEta);
      x[c] = v;
    }
    if (transform.dim > 0) Object.assign(child, transform.decode(x));
    // A child equal to a parent would spend a trial on a known point: mutate until it differs.
    for (
      let attempt = 0;
      attempt < 8 && (sameParams(child, p1, names) || sameParams(child, p2, names));
      attempt++
    ) {
      const name = names[rng.int(0, names.length - 1)];
      const d = space[name];
      if (d.type === 'categorical') {
        if (d.choices.length > 1) {
          const current = d.toInternal(child[name]);
          const k = rng.int(0, d.choices.length - 2);
          child[name] = d.choices[k >= current ? k + 1 : k];
        }
        continue;
      }
      const c = transform.paramStart[transform.names.indexOf(name)];
      x[c] = polynomialMutation(rng, x[c], transform.lows[c], transform.highs[c], mutationEta);
      child[name] = transform.decode(x)[name];
    }
    return child;
  }

  sampleIndependent(
    _study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    return sampleUniform(this.rng.fork(`${trial.number}/${name}`), distribution);
  }

  /**
   * Binary tournament among `candidates` (indices into the population): lower rank wins, then the
   * larger crowding distance, then a coin flip.
   */
  private tournament(rng: Random, population: Population, candidates: readonly number[]): number {
    if (candidates.length === 1) return candidates[0];
    const i = rng.int(0, candidates.length - 1);
    let j = rng.int(0, candidates.length - 2);
    if (j >= i) j++;
    const a = candidates[i];
    const b = candidates[j];
    const { rank, crowding } = population;
    if (rank[a] !== rank[b]) return rank[a] < rank[b] ? a : b;
    if (crowding[a] !== crowding[b]) return crowding[a] > crowding[b] ? a : b;
    return rng.bool() ? a : b;
  }

  /** The parents of `generation`, replaying elite selection from generation 0 (cached). */
  private parentPopulation(study: StudyView, generation: number): Population {
    const last = this.lastPopulation.get(study);
    if (last && last.generation === generation) return last.population;
    const population = this.replay(study, generation);
    this.lastPopulation.set(study, { generation, population });
    return population;
  }

  private replay(study: StudyView, generation: number): Population {
    const size = this.populationSize;
    const byGeneration: FrozenTrial[][] = Array.from({ length: generation }, () => []);
    for (const t of study.getTrials({ states: ['COMPLETE'] })) {
      const g = Math.floor(t.number / size);
      if (g < generation && t.values !== null) byGeneration[g].push(t);
    }
    const cacheKey = `${study.studyName}\u0000${study.directions.join(',')}`;
    let checkpoints = this.checkpoints.get(cacheKey);
    if (!checkpoints) {
      checkpoints = [];
      this.checkpoints.set(cacheKey, checkpoints);
    }
    let population = EMPTY;
    for (let g = 0; g < generation; g++) {
      const key = byGeneration[g].map((t) => t.number).join(',');
      const cached = checkpoints[g];
      if (cached && cached.key === key) {
        population = cached.population;
        continue;
      }
      // A different history from here on (a view where more trials have finished): recompute.
      checkpoints.length = g;
      const pool = [...population.members, ...byGeneration[g].map((t) => toMember(t, study))];
      population = selectElite(pool, size);
      checkpoints.push({ key, population });
    }
    return population;
  }
}

function checkProbability(name: string, value: number): number {
  if (!(typeof value === 'number' && value >= 0 && value <= 1))
    throw new InvalidArgumentError(`NSGAIISampler: ${name} must be in [0, 1], got ${value}`);
  return value;
}

function checkIndex(name: string, value: number): number {
  if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value)))
    throw new InvalidArgumentError(`NSGAIISampler: ${name} must be a finite number >= 0, got ${value}`);
  return value;
}

function toMember(trial: FrozenTrial, study: StudyView): Member {
  const c = trialConstraints(trial);
  return {
    trial,
    values: toMinimization(trial.values!, study.directions),
    violation: c ? totalViolation(c) : 0,
  };
}

/** Sum of the positive constraint values. */
export function totalViolation(constraints: readonly number[]): number {
  let total = 0;
  for (const c of constraints) if (c > 0) total += c;
  return total;
}

/**
 * Ranks under constrained domination: feasible points by non-dominated sorting (rank 0 = Pareto
 * front), then infeasible points after all of them, one rank per distinct total violation,
 * smallest first.
 */
export function constrainedRanks(
  points: readonly (readonly number[])[],
  violations: readonly number[],
): number[] {
  const ranks = new Array<number>(points.length).fill(0);
  const feasible: number[] = [];
  const infeasible: number[] = [];
  for (let i = 0; i < violations.length; i++) (violations[i] > 0 ? infeasible : feasible).push(i);
  const feasibleRanks = nonDominatedRanks(feasible.map((i) => points[i]));
  let next = 0;
  feasible.forEach((i, k) => {
    ranks[i] = feasibleRanks[k];
    next = Math.max(next, feasibleRanks[k] + 1);
  });
  infeasible.sort((a, b) => violations[a] - violations[b]);
  infeasible.forEach((i, k) => {
    if (k > 0 && violations[i] !== violations[infeasible[k - 1]]) next++;
    ranks[i] = next;
  });
  return ranks;
}

/**
 * Crowding distance of each point within its front: the sum over objectives of the normalised gap
 * between its neighbours. Boundary points (and every point of a front of two or fewer) get Infinity.
 */
export function crowdingDistances(points: readonly (readonly number[])[]): number[] {
  const n = points.length;
  const d = new Array<number>(n).fill(0);
  if (n <= 2) return d.fill(Number.POSITIVE_INFINITY);
  const m = points[0].length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < m; k++) {
    order.sort((a, b) => points[a][k] - points[b][k] || a - b);
    const lo = points[order[0]][k];
    const hi = points[order[n - 1]][k];
    d[order[0]] = d[order[n - 1]] = Number.POSITIVE_INFINITY;
    const range = hi - lo;
    // A constant or unbounded objective says nothing about spacing.
    if (!(range > 0) || !Number.isFinite(range)) continue;
    for (let j = 1; j < n - 1; j++) {
      const gap = (points[order[j + 1]][k] - points[order[j - 1]][k]) / range;
      if (Number.isFinite(gap)) d[order[j]] += gap;
    }
  }
  return d;
}

/**
 * NSGA-II's elite selection: whole fronts while they fit, then the members of the next front with
 * the largest crowding distance (ties: the older trial). Every selected member keeps the rank and
 * crowding distance it had in the pool, which the tournaments use.
 */
function selectElite(pool: readonly Member[], size: number): Population {
  const rank = constrainedRanks(
    pool.map((m) => m.values),
    pool.map((m) => m.violation),
  );
  const crowding = new Array<number>(pool.length).fill(0);
  const fronts = new Map<number, number[]>();
  rank.forEach((r, i) => {
    const front = fronts.get(r);
    if (front) front.push(i);
    else fronts.set(r, [i]);
  });
  for (const front of fronts.values()) {
    const distances = crowdingDistances(front.map((i) => pool[i].values));
    front.forEach((i, k) => {
      crowding[i] = distances[k];
    });
  }
  const order = pool.map((_, i) => i);
  if (pool.length > size)
    order.sort(
      (a, b) => rank[a] - rank[b] || crowding[b] - crowding[a] || pool[a].trial.number - pool[b].trial.number,
    );
  const chosen = order.slice(0, size);
  return {
    members: chosen.map((i) => pool[i]),
    rank: chosen.map((i) => rank[i]),
    crowding: chosen.map((i) => crowding[i]),
  };
}

function sameParams(
  a: Readonly<Record<string, ParamValue>>,
  b: Readonly<Record<string, ParamValue>>,
  names: readonly string[],
): boolean {
  return names.every((n) => a[n] === b[n]);
}
