/**
 * NSGA-II (Deb et al. 2002) as a define-by-run sampler. Trial k belongs to generation
 * floor(k / populationSize), so every worker agrees on generations without coordination. The
 * parents of generation g are the elite of generation g-1's finished trials together with the
 * parents of g-1: non-dominated sorting (constrained domination when the study has constraints:
 * feasible beats infeasible, infeasible ranked by total violation), then crowding distance. A
 * child takes two binary-tournament winners, SBX crossover and polynomial mutation on numeric
 * parameters (in the log space for log parameters), uniform crossover and random reset on
 * categoricals. Each child draws from a stream seeded by the trial number, so runs with
 * concurrency are reproducible. The first generation, and parameters outside the common space,
 * are sampled uniformly.
 */
import type { Distribution, ParamValue } from '../../core/distributions.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { FrozenTrial } from '../../core/frozen-trial.js';
import { nonDominatedRanks, toMinimization } from '../../core/multi-objective.js';
import { Random } from '../../core/random.js';
import { sampleUniform } from '../random.js';
import { type Sampler, type SearchSpace, type StudyView, trialConstraints } from '../sampler.js';
import { intersectionSearchSpace } from '../search-space.js';
import { SearchSpaceTransform } from '../transform.js';
import { polynomialMutation, sbx } from './variation.js';

export interface NSGAIISamplerOptions {
  seed?: number;
  /** Trials per generation (default 50). */
  populationSize?: number;
  /** Probability to mutate each parameter (default 1 / number of parameters). */
  mutationProb?: number | null;
  /** Probability that a child comes from crossover rather than a copy of one parent (default 0.9). */
  crossoverProb?: number;
  /** Probability to take the second parent's value in uniform crossover (default 0.5). */
  swappingProb?: number;
  /** SBX distribution index (default 20 for one objective, 2 for several, as in Optuna). */
  sbxEta?: number;
  /** Polynomial-mutation distribution index (default 20). */
  mutationEta?: number;
}

interface Member {
  trial: FrozenTrial;
  /** Minimised objective values. */
  values: number[];
  violation: number;
}

export class NSGAIISampler implements Sampler {
  readonly populationSize: number;
  private readonly rng: Random;
  private readonly mutationProb: number | null;
  private readonly crossoverProb: number;
  private readonly swappingProb: number;
  private readonly sbxEta: number | undefined;
  private readonly mutationEta: number;
  /** Parent populations of complete generations, by generation (finished trials never change). */
  private readonly parentsCache = new Map<string, Member[]>();

  constructor(options: NSGAIISamplerOptions = {}) {
    this.populationSize = options.populationSize ?? 50;
    if (!Number.isInteger(this.populationSize) || this.populationSize < 2)
      throw new InvalidArgumentError(`populationSize must be an integer >= 2, got ${options.populationSize}`);
    this.mutationProb = options.mutationProb ?? null;
    if (this.mutationProb !== null && !(this.mutationProb >= 0 && this.mutationProb <= 1))
      throw new InvalidArgumentError(`mutationProb must be in [0, 1], got ${this.mutationProb}`);
    this.crossoverProb = options.crossoverProb ?? 0.9;
    if (!(this.crossoverProb >= 0 && this.crossoverProb <= 1))
      throw new InvalidArgumentError(`crossoverProb must be in [0, 1], got ${this.crossoverProb}`);
    this.swappingProb = options.swappingProb ?? 0.5;
    if (!(this.swappingProb >= 0 && this.swappingProb <= 1))
      throw new InvalidArgumentError(`swappingProb must be in [0, 1], got ${this.swappingProb}`);
    this.sbxEta = options.sbxEta;
    this.mutationEta = options.mutationEta ?? 20;
    this.rng = Random.fromSeed(options.seed);
  }

  inferRelativeSearchSpace(study: StudyView): SearchSpace {
    return intersectionSearchSpace(study);
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, space: SearchSpace): Record<string, ParamValue> {
    const generation = Math.floor(trial.number / this.populationSize);
    if (generation === 0) return {};
    const parents = this.parents(study, generation, space);
    if (parents.length < 2) return {};
    const rng = this.rng.fork(trial.number);
    const ranked = rankAndCrowd(parents);
    const pick = () => {
      const a = rng.int(0, parents.length - 1);
      const b = rng.int(0, parents.length - 1);
      const [ra, rb] = [ranked[a], ranked[b]];
      if (ra.rank !== rb.rank) return parents[ra.rank < rb.rank ? a : b];
      return parents[ra.crowding >= rb.crowding ? a : b];
    };
    const p1 = pick().trial.params;
    const p2 = pick().trial.params;
    const names = Object.keys(space).sort();
    const mutationProb = this.mutationProb ?? 1 / Math.max(names.length, 1);
    const eta = this.sbxEta ?? (study.directions.length > 1 ? 20 : 2);
    const crossover = rng.next() < this.crossoverProb;
    const transform = new SearchSpaceTransform(space);
    const child: Record<string, ParamValue> = {};
    for (const name of names) {
      const d = space[name];
      if (d.type === 'categorical') {
        let v = crossover && rng.next() < this.swappingProb ? p2[name] : p1[name];
        if (rng.next() < mutationProb) v = sampleUniform(rng, d);
        child[name] = v;
        continue;
      }
      const column = transform.paramStart[transform.names.indexOf(name)];
      const [low, high] = [transform.lows[column], transform.highs[column]];
      const enc = (v: ParamValue) => (d.log ? Math.log(v as number) : (v as number));
      let x = crossover ? sbx(rng, enc(p1[name]), enc(p2[name]), low, high, eta) : enc(p1[name]);
      if (rng.next() < mutationProb) x = polynomialMutation(rng, x, low, high, this.mutationEta);
      const decoded = new Float64Array(transform.dim);
      decoded[column] = x;
      child[name] = transform.decode(decoded)[name];
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

  /** Elite of generation g-1 plus its parents; cached once generation g-1 has fully finished. */
  private parents(study: StudyView, generation: number, space: SearchSpace): Member[] {
    const key = `${generation}:${Object.keys(space).sort().join(',')}`;
    const cached = this.parentsCache.get(key);
    if (cached) return cached;
    const size = this.populationSize;
    const trials = study.getTrials();
    const previous: Member[] = [];
    let complete = true;
    for (const t of trials) {
      if (Math.floor(t.number / size) !== generation - 1) continue;
      if (t.state === 'COMPLETE' && Object.keys(space).every((n) => n in t.params))
        previous.push(member(t, study));
      else if (t.state === 'RUNNING' || t.state === 'WAITING') complete = false;
    }
    const older = generation >= 2 ? this.parents(study, generation - 1, space) : [];
    const seen = new Set(previous.map((m) => m.trial.number));
    const pool = [...previous, ...older.filter((m) => !seen.has(m.trial.number))];
    const elite = selectElite(pool, size);
    const previousComplete =
      generation < 2 || this.parentsCache.has(`${generation - 1}:${key.split(':')[1]}`);
    if (complete && previousComplete) this.parentsCache.set(key, elite);
    return elite;
  }
}

function member(trial: FrozenTrial, study: StudyView): Member {
  const c = trialConstraints(trial);
  return {
    trial,
    values: toMinimization(trial.values!, study.directions),
    violation: c ? c.reduce((s, v) => s + Math.max(0, v), 0) : 0,
  };
}

/** Ranks with constrained domination, then crowding distance within each rank. */
function rankAndCrowd(members: readonly Member[]): { rank: number; crowding: number }[] {
  const feasible = members.map((m, i) => [m, i] as const).filter(([m]) => m.violation === 0);
  const infeasible = members.map((m, i) => [m, i] as const).filter(([m]) => m.violation > 0);
  const out = members.map(() => ({ rank: 0, crowding: 0 }));
  const fRanks = nonDominatedRanks(feasible.map(([m]) => m.values));
  let maxRank = -1;
  feasible.forEach(([, i], k) => {
    out[i].rank = fRanks[k];
    maxRank = Math.max(maxRank, fRanks[k]);
  });
  const byViolation = [...infeasible].sort((a, b) => a[0].violation - b[0].violation);
  let rank = maxRank;
  let last = Number.NaN;
  for (const [m, i] of byViolation) {
    if (m.violation !== last) rank++;
    last = m.violation;
    out[i].rank = rank;
  }
  const fronts = new Map<number, number[]>();
  out.forEach((o, i) => {
    fronts.set(o.rank, [...(fronts.get(o.rank) ?? []), i]);
  });
  for (const front of fronts.values()) {
    const distances = crowdingDistances(front.map((i) => members[i].values));
    front.forEach((i, k) => {
      out[i].crowding = distances[k];
    });
  }
  return out;
}

/** Crowding distance of each point within its front (boundary points get Infinity). */
export function crowdingDistances(points: readonly (readonly number[])[]): number[] {
  const n = points.length;
  const d = new Array<number>(n).fill(0);
  if (n <= 2) return d.fill(Number.POSITIVE_INFINITY);
  const m = points[0].length;
  for (let k = 0; k < m; k++) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => points[a][k] - points[b][k]);
    const lo = points[order[0]][k];
    const hi = points[order[n - 1]][k];
    d[order[0]] = d[order[n - 1]] = Number.POSITIVE_INFINITY;
    if (hi === lo) continue;
    for (let j = 1; j < n - 1; j++)
      d[order[j]] += (points[order[j + 1]][k] - points[order[j - 1]][k]) / (hi - lo);
  }
  return d;
}

/** The best `size` members by rank, the last front cut by crowding distance (ties: older trial). */
function selectElite(pool: readonly Member[], size: number): Member[] {
  if (pool.length <= size) return [...pool];
  const ranked = rankAndCrowd(pool);
  const order = pool
    .map((_, i) => i)
    .sort(
      (a, b) =>
        ranked[a].rank - ranked[b].rank ||
        ranked[b].crowding - ranked[a].crowding ||
        pool[a].trial.number - pool[b].trial.number,
    );
  return order.slice(0, size).map((i) => pool[i]);
}
