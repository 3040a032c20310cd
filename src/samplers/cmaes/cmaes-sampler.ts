/**
 * CMA-ES sampler, after Optuna's CmaEsSampler (which drives the cmaes library).
 *
 * The relative search space is the intersection space without categorical parameters; those, and
 * anything else outside it, go to the independent sampler. Parameters are encoded into [0, 1]
 * (log parameters in log space), where the search starts at `x0` (default: the centre) with step
 * `sigma0` (default 1/6 of every range).
 *
 * State. A sampler cannot write trial attributes, so the optimiser state is a pure function of the
 * history: the "CMA trials" (complete trials holding every parameter of the space, after the first
 * max(`nStartupTrials`, 1) complete ones, which were necessarily sampled independently) are taken in trial-number order and cut into consecutive groups of
 * `popsize`; every full group is one generation, told with the encoded parameters and values of its
 * trials. Termination criteria trigger IPOP/BIPOP restarts during that replay. States after each
 * generation are cached in memory per study and space, so an ask only replays what changed; a
 * loaded study (empty cache) rebuilds the same state from its trials. Each candidate is drawn from
 * a stream seeded by (seed, restart, generation, trial number), so concurrent asks are reproducible.
 */

import {
  type Distribution,
  distributionsEqual,
  type FloatDistribution,
  type IntDistribution,
  type ParamValue,
} from '../../core/distributions.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../../core/frozen-trial.js';
import { Random } from '../../core/random.js';
import type { Sampler, SearchSpace } from '../../core/sampler.js';
import type { StudyView } from '../../core/study-view.js';
import { warn } from '../../core/warnings.js';
import { RandomSampler } from '../random.js';
import { intersectionSearchSpace } from '../search-space.js';
import { SearchSpaceTransform } from '../transform.js';
import { CmaState, type DiscreteCoordinate } from './cma.js';

export type RestartStrategy = 'ipop' | 'bipop';

export interface CmaEsSamplerOptions {
  seed?: number;
  /** Initial mean (external values); parameters not given start at the centre of their range. */
  x0?: Record<string, number>;
  /** Initial step size as a fraction of every (normalised) range (default 1/6). */
  sigma0?: number;
  /** Complete trials sampled independently before CMA-ES starts (default 1). */
  nStartupTrials?: number;
  /** Sampler for startup trials, categoricals and other parameters outside the space (default RandomSampler). */
  independentSampler?: Sampler;
  /** Restart with a larger population (IPOP) or alternate large and small ones (BIPOP); default none. */
  restartStrategy?: RestartStrategy | null;
  /** Population growth factor of each large-population restart (default 2). */
  incPopsize?: number;
  /** Initial population size (default 4 + floor(3 ln n)). */
  popsize?: number;
  /** Warn when a parameter is sampled independently after the startup trials (default true). */
  warnIndependentSampling?: boolean;
  /** Keep a minimum probability of moving for integer and stepped parameters (CMA-ES with margin). */
  withMargin?: boolean;
  /** Diagonal covariance (sep-CMA-ES): linear cost per sample, faster learning on separable problems. */
  useSeparableCma?: boolean;
}

export interface CmaEsStatus {
  restarts: number;
  generation: number;
  popsize: number;
  /** Step size in the normalised [0, 1] space. */
  sigma: number;
  mean: Record<string, number>;
}

/** Where the replay of one (study, space) stands after some generations. */
interface RunState {
  readonly cma: CmaState;
  readonly restart: number;
  /** BIPOP: trials spent by large- and small-population runs, and large restarts so far. */
  readonly evalsLarge: number;
  readonly evalsSmall: number;
  readonly largeRestarts: number;
  readonly regime: 'large' | 'small';
}

interface Run {
  readonly initial: RunState;
  checkpoints: Checkpoint[];
  /** Whether a complete trial (by number) holds every parameter of the space; complete trials never change. */
  readonly members: Map<number, boolean>;
}

interface Checkpoint {
  /** Trial numbers of the generation that led to `state`. */
  readonly key: string;
  /** How many trials that generation held (its population size). */
  readonly size: number;
  state: RunState | null;
}

/**
 * Checkpoints that keep their full state (the most recent ones): views only move forward in
 * practice, and a full covariance per generation would otherwise grow without bound.
 */
const KEPT_STATES = 32;

export class CmaEsSampler implements Sampler {
  private readonly rng: Random;
  private readonly x0: Record<string, number> | undefined;
  private readonly sigma0: number | undefined;
  private readonly nStartupTrials: number;
  private readonly independent: Sampler;
  private readonly restartStrategy: RestartStrategy | null;
  private readonly incPopsize: number;
  private readonly popsize: number | undefined;
  private readonly warnIndependent: boolean;
  private readonly withMargin: boolean;
  private readonly separable: boolean;
  /** Per study and space: the state at start and after each told generation. */
  private readonly runs = new Map<string, Run>();
  private readonly warned = new Set<string>();

  constructor(options: CmaEsSamplerOptions = {}) {
    const nStartup = options.nStartupTrials ?? 1;
    if (!Number.isInteger(nStartup) || nStartup < 0)
      throw new InvalidArgumentError(`CmaEsSampler: nStartupTrials must be an integer >= 0, got ${nStartup}`);
    if (options.sigma0 !== undefined && !(options.sigma0 > 0 && Number.isFinite(options.sigma0)))
      throw new InvalidArgumentError(`CmaEsSampler: sigma0 must be a positive number, got ${options.sigma0}`);
    const inc = options.incPopsize ?? 2;
    if (!(inc >= 1 && Number.isFinite(inc)))
      throw new InvalidArgumentError(`CmaEsSampler: incPopsize must be >= 1, got ${inc}`);
    if (options.popsize !== undefined && !(Number.isInteger(options.popsize) && options.popsize >= 2))
      throw new InvalidArgumentError(`CmaEsSampler: popsize must be an integer >= 2, got ${options.popsize}`);
    const restart = options.restartStrategy ?? null;
    if (restart !== null && restart !== 'ipop' && restart !== 'bipop')
      throw new InvalidArgumentError(
        `CmaEsSampler: restartStrategy must be 'ipop', 'bipop' or null, got ${JSON.stringify(restart)}`,
      );
    if (options.x0 !== undefined)
      for (const [name, v] of Object.entries(options.x0))
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new InvalidArgumentError(`CmaEsSampler: x0.${name} must be a finite number, got ${v}`);
    this.rng = Random.fromSeed(options.seed);
    this.x0 = options.x0;
    this.sigma0 = options.sigma0;
    this.nStartupTrials = nStartup;
    this.independent =
      options.independentSampler ?? new RandomSampler({ seed: this.rng.fork('independent').seed });
    this.restartStrategy = restart;
    this.incPopsize = inc;
    this.popsize = options.popsize;
    this.warnIndependent = options.warnIndependentSampling ?? true;
    this.withMargin = options.withMargin ?? false;
    this.separable = options.useSeparableCma ?? false;
  }

  inferRelativeSearchSpace(study: StudyView): SearchSpace {
    if (study.directions.length > 1)
      throw new InvalidArgumentError('CmaEsSampler supports single-objective studies only');
    const space: SearchSpace = {};
    for (const [name, d] of Object.entries(intersectionSearchSpace(study)))
      if (d.type !== 'categorical') space[name] = d;
    return space;
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, space: SearchSpace): Record<string, ParamValue> {
    const names = Object.keys(space);
    if (names.length === 0) return {};
    const complete = study.getTrials({ states: ['COMPLETE'] });
    if (complete.length < this.nStartupTrials) return {};

    const transform = new SearchSpaceTransform(space, { normalize: true });
    const state = this.replay(study, space, transform);
    const rng = this.rng.fork(`${state.restart}/${state.cma.generation}/${trial.number}`);
    return transform.decode(state.cma.sample(rng));
  }

  /**
   * Where CMA-ES stands for a study (a `Study` works): restarts so far, generations told in the
   * current run, its population size and step size, and its mean decoded to parameter values.
   * Null while the relative search space is empty.
   */
  inspect(study: {
    readonly studyName: string;
    readonly directions: readonly StudyDirection[];
    readonly trials: readonly FrozenTrial[];
  }): CmaEsStatus | null {
    const trials = study.trials;
    const view: StudyView = {
      studyName: study.studyName,
      directions: study.directions,
      systemAttrs: {},
      getTrials: (options = {}) => {
        const states = options.states;
        return states ? trials.filter((t) => states.includes(t.state)) : trials;
      },
    };
    const space = this.inferRelativeSearchSpace(view);
    if (Object.keys(space).length === 0) return null;
    const transform = new SearchSpaceTransform(space, { normalize: true });
    const state = this.replay(view, space, transform);
    return {
      restarts: state.restart,
      generation: state.cma.generation,
      popsize: state.cma.popsize,
      sigma: state.cma.sigma,
      mean: transform.decode(state.cma.mean) as Record<string, number>,
    };
  }

  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    if (this.warnIndependent && !this.warned.has(name)) {
      const complete = study.getTrials({ states: ['COMPLETE'] }).length;
      if (complete >= Math.max(this.nStartupTrials, 1)) {
        this.warned.add(name);
        const why =
          distribution.type === 'categorical'
            ? 'CMA-ES does not handle categorical parameters'
            : 'it is not in every completed trial (dynamic search space)';
        warn(
          'INDEPENDENT_SAMPLING',
          `CmaEsSampler: parameter "${name}" in trial ${trial.number} is sampled by the independent sampler: ${why}.`,
        );
      }
    }
    return this.independent.sampleIndependent(study, trial, name, distribution);
  }

  /** The state after every full generation of the history in `study`. */
  private replay(study: StudyView, space: SearchSpace, transform: SearchSpaceTransform): RunState {
    const key = `${study.studyName}\u0000${signature(space)}`;
    let run = this.runs.get(key);
    if (!run) {
      run = {
        initial: this.initialState(space, transform, 0, this.defaultPopsize(transform.dim), 0, 0, 0, 'large'),
        checkpoints: [],
        members: new Map(),
      };
      this.runs.set(key, run);
    }
    const members = this.cmaTrials(study, space, run.members);
    const sign = study.directions[0] === 'maximize' ? -1 : 1;
    const keyOf = (chunk: readonly FrozenTrial[]) => chunk.map((t) => t.number).join(',');
    // The checkpoints whose generations the history still holds, and the latest state kept among
    // them: the replay resumes there instead of re-telling every generation from the start.
    let matched = 0;
    let start = 0;
    let resume = { state: run.initial, generation: 0, start: 0 };
    for (const checkpoint of run.checkpoints) {
      const end = start + checkpoint.size;
      if (end > members.length || keyOf(members.slice(start, end)) !== checkpoint.key) break;
      start = end;
      matched++;
      if (checkpoint.state) resume = { state: checkpoint.state, generation: matched, start };
    }
    run.checkpoints.length = matched;
    let state = resume.state;
    start = resume.start;
    for (let generation = resume.generation; start + state.cma.popsize <= members.length; generation++) {
      const chunk = members.slice(start, start + state.cma.popsize);
      start += chunk.length;
      state = this.advance(state, chunk, space, transform, sign);
      // Generations below `matched` were dropped from memory earlier and are told again here.
      if (generation < matched) run.checkpoints[generation].state = state;
      else run.checkpoints.push({ key: keyOf(chunk), size: chunk.length, state });
    }
    for (let i = 0; i < run.checkpoints.length - KEPT_STATES; i++) run.checkpoints[i].state = null;
    return state;
  }

  /** Tells one generation and restarts when the run has converged. */
  private advance(
    previous: RunState,
    chunk: readonly FrozenTrial[],
    space: SearchSpace,
    transform: SearchSpaceTransform,
    sign: number,
  ): RunState {
    const cma = previous.cma.clone();
    cma.tell(
      chunk.map((t) => {
        const x = transform.encode(t.params);
        for (let i = 0; i < x.length; i++) x[i] = Math.min(1, Math.max(0, x[i]));
        return { x, value: sign * t.values![0] };
      }),
    );
    const evalsLarge = previous.evalsLarge + (previous.regime === 'large' ? chunk.length : 0);
    const evalsSmall = previous.evalsSmall + (previous.regime === 'small' ? chunk.length : 0);
    const continued: RunState = { ...previous, cma, evalsLarge, evalsSmall };
    if (this.restartStrategy === null || !cma.shouldStop()) return continued;

    const restart = previous.restart + 1;
    const rng = this.rng.fork(`restart/${restart}`);
    const base = this.defaultPopsize(transform.dim);
    if (this.restartStrategy === 'ipop') {
      const popsize = Math.round(previous.cma.popsize * this.incPopsize);
      return this.initialState(
        space,
        transform,
        restart,
        popsize,
        evalsLarge,
        evalsSmall,
        restart,
        'large',
        rng,
      );
    }
    // BIPOP (Hansen 2009): run whichever regime has used fewer evaluations; large runs grow the
    // population geometrically, small ones draw a population between the default and half the
    // current large one, and a step size down to 1/100 of sigma0.
    if (evalsSmall < evalsLarge) {
      const largest = base * this.incPopsize ** previous.largeRestarts;
      const u = rng.next();
      const popsize = Math.max(2, Math.floor(base * (largest / (2 * base)) ** (u * u)));
      const sigmaFactor = 10 ** (-2 * rng.next());
      return this.initialState(
        space,
        transform,
        restart,
        popsize,
        evalsLarge,
        evalsSmall,
        previous.largeRestarts,
        'small',
        rng,
        sigmaFactor,
      );
    }
    const largeRestarts = previous.largeRestarts + 1;
    const popsize = Math.round(base * this.incPopsize ** largeRestarts);
    return this.initialState(
      space,
      transform,
      restart,
      popsize,
      evalsLarge,
      evalsSmall,
      largeRestarts,
      'large',
      rng,
    );
  }

  private initialState(
    space: SearchSpace,
    transform: SearchSpaceTransform,
    restart: number,
    popsize: number,
    evalsLarge: number,
    evalsSmall: number,
    largeRestarts: number,
    regime: 'large' | 'small',
    rng?: Random,
    sigmaFactor = 1,
  ): RunState {
    const dim = transform.dim;
    let mean: Float64Array;
    if (rng) {
      // Restarts begin at a uniformly random point, as the cmaes library's IPOP does.
      mean = Float64Array.from({ length: dim }, () => rng.next());
    } else {
      const point: Record<string, ParamValue> = {};
      for (const name of transform.names) {
        const d = space[name] as FloatDistribution | IntDistribution;
        point[name] = this.x0?.[name] ?? centre(d);
      }
      mean = transform.encode(point);
      for (let i = 0; i < dim; i++) mean[i] = Math.min(1, Math.max(0, mean[i]));
    }
    const cma = new CmaState({
      mean,
      sigma: (this.sigma0 ?? 1 / 6) * sigmaFactor,
      popsize,
      separable: this.separable,
      discrete: this.withMargin ? discreteCoordinates(transform) : [],
    });
    return { cma, restart, evalsLarge, evalsSmall, largeRestarts, regime };
  }

  private defaultPopsize(dim: number): number {
    return this.popsize ?? 4 + Math.floor(3 * Math.log(dim));
  }

  /** Complete trials CMA-ES learns from, in number order (see the class comment). */
  private cmaTrials(study: StudyView, space: SearchSpace, known: Map<number, boolean>): FrozenTrial[] {
    const out: FrozenTrial[] = [];
    // The first complete trial never comes from CMA-ES (nothing was known when it was asked).
    let startupLeft = Math.max(this.nStartupTrials, 1);
    for (const t of study.getTrials({ states: ['COMPLETE'] })) {
      if (startupLeft > 0) {
        startupLeft--;
        continue;
      }
      let ok = known.get(t.number);
      if (ok === undefined) {
        ok =
          t.values !== null &&
          !Number.isNaN(t.values[0]) &&
          Object.entries(space).every(
            ([name, d]) =>
              name in t.params &&
              t.distributions[name] !== undefined &&
              distributionsEqual(t.distributions[name], d),
          );
        known.set(t.number, ok);
      }
      if (ok) out.push(t);
    }
    return out;
  }
}

function centre(d: FloatDistribution | IntDistribution): number {
  return d.log ? Math.sqrt(d.low * d.high) : (d.low + d.high) / 2;
}

/** Margin coordinates: integer and stepped parameters, with grid cells located through the transform. */
function discreteCoordinates(transform: SearchSpaceTransform): DiscreteCoordinate[] {
  const out: DiscreteCoordinate[] = [];
  transform.distributions.forEach((d, p) => {
    if (d.type === 'categorical') return;
    const step = d.type === 'int' ? d.step : d.step;
    if (step === null) return;
    const index = transform.paramStart[p];
    const name = transform.names[p];
    const base: Record<string, ParamValue> = {};
    transform.distributions.forEach((other, q) => {
      if (other.type !== 'categorical') base[transform.names[q]] = other.low;
    });
    const encodeValue = (v: number): number => transform.encode({ ...base, [name]: v })[index];
    out.push({
      index,
      cell(value: number) {
        const x = new Float64Array(transform.dim).fill(0.5);
        x[index] = value;
        const v = transform.decode(x)[name] as number;
        return {
          low: v - step >= d.low - 1e-9 * step ? encodeValue(v - step / 2) : null,
          high: v + step <= d.high + 1e-9 * step ? encodeValue(v + step / 2) : null,
        };
      },
    });
  });
  return out;
}

function signature(space: SearchSpace): string {
  return JSON.stringify(
    Object.keys(space)
      .sort()
      .map((k) => [k, space[k].getConfig()]),
  );
}
