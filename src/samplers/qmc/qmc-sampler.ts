/**
 * Quasi-Monte Carlo sampling, after Optuna's QMCSampler: trial n takes point n of a (scrambled)
 * Sobol or Halton sequence, so the points fill the space more evenly than random ones, concurrent
 * trials get distinct points, and runs are reproducible whatever order workers ask in.
 *
 * As in Optuna, the search space is fixed by the first trial (the lowest-numbered COMPLETE or
 * PRUNED one), which is sampled by the independent sampler; parameters outside that space, or
 * suggested later with another distribution, go to the independent sampler too. Each parameter of
 * the space takes one coordinate, in name order: numeric ones through the sampler encoding (log
 * space for log parameters, equal intervals for every integer or step value), categoricals by
 * cutting [0, 1) into one interval per choice.
 *
 * Scrambling needs the same seed in every worker. Without a `seed`, the first worker stores its
 * seed in the study (`qmc:seed`) and every unseeded worker uses that one.
 */

import type { Distribution, ParamValue } from '../../core/distributions.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { FrozenTrial } from '../../core/frozen-trial.js';
import { Random } from '../../core/random.js';
import type { Sampler, SamplerStudyContext, SearchSpace } from '../../core/sampler.js';
import type { StudyView } from '../../core/study-view.js';
import { warn } from '../../core/warnings.js';
import { RandomSampler } from '../random.js';
import { SearchSpaceTransform } from '../transform.js';
import { HALTON_MAX_DIMENSION, HaltonSequence, SOBOL_MAX_DIMENSION, SobolSequence } from './sobol.js';

export type QMCType = 'sobol' | 'halton';

export interface QMCSamplerOptions {
  /** Seed of the scrambling and of the default independent sampler. */
  seed?: number;
  /** 'sobol' (default, up to 1024 parameters) or 'halton' (up to 1024). */
  qmcType?: QMCType;
  /** Randomise the sequence (default true); the plain Sobol sequence starts at the origin. */
  scramble?: boolean;
  /** Sampler for the first trial and for parameters outside the space (default RandomSampler). */
  independentSampler?: Sampler;
  /** Warn when a parameter is sampled independently after the first trial (default true). */
  warnIndependentSampling?: boolean;
}

/** Study system attribute holding the scrambling seed shared by unseeded workers. */
export const QMC_SEED_KEY = 'qmc:seed';

type Sequence = SobolSequence | HaltonSequence;

export class QMCSampler implements Sampler {
  readonly qmcType: QMCType;
  readonly scramble: boolean;
  private readonly seed: number;
  private readonly seeded: boolean;
  private readonly independent: Sampler;
  private readonly warnIndependent: boolean;
  private readonly warned = new Set<string>();
  /** Search space per study once no earlier trial can still finish and take its place. */
  private readonly spaces = new Map<string, SearchSpace>();
  private readonly sequences = new Map<string, Sequence>();

  constructor(options: QMCSamplerOptions = {}) {
    const type = options.qmcType ?? 'sobol';
    if (type !== 'sobol' && type !== 'halton')
      throw new InvalidArgumentError(
        `QMCSampler: qmcType must be "sobol" or "halton", got ${JSON.stringify(options.qmcType)}`,
      );
    if (options.scramble !== undefined && typeof options.scramble !== 'boolean')
      throw new InvalidArgumentError(`QMCSampler: scramble must be a boolean, got ${options.scramble}`);
    const rng = Random.fromSeed(options.seed);
    this.qmcType = type;
    this.scramble = options.scramble ?? true;
    this.seed = rng.seed;
    this.seeded = options.seed !== undefined;
    this.independent =
      options.independentSampler ?? new RandomSampler({ seed: rng.fork('independent').seed });
    this.warnIndependent = options.warnIndependentSampling ?? true;
  }

  async initialize(context: SamplerStudyContext): Promise<void> {
    if (this.scramble) await context.trySetStudySystemAttr(QMC_SEED_KEY, this.seed);
    await this.independent.initialize?.(context);
  }

  inferRelativeSearchSpace(study: StudyView): SearchSpace {
    const cached = this.spaces.get(study.studyName);
    if (cached) return cached;
    const trials = study.getTrials();
    const first = trials.find((t) => t.state === 'COMPLETE' || t.state === 'PRUNED');
    if (!first) return {};
    const space: SearchSpace = {};
    for (const name of Object.keys(first.distributions).sort()) {
      const d = first.distributions[name];
      if (!d.single()) space[name] = d;
    }
    // An earlier trial still running (or waiting) could finish and become the first one.
    const settled = trials.every(
      (t) => t.number >= first.number || !(t.state === 'RUNNING' || t.state === 'WAITING'),
    );
    if (settled) this.spaces.set(study.studyName, space);
    return space;
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, space: SearchSpace): Record<string, ParamValue> {
    const names = Object.keys(space).sort();
    if (names.length === 0) return {};
    const unit = this.sequence(study, names.length).point(trial.number);
    const numeric: SearchSpace = {};
    for (const name of names) if (space[name].type !== 'categorical') numeric[name] = space[name];
    const transform = new SearchSpaceTransform(numeric, { normalize: true });
    const encoded = new Float64Array(transform.dim);
    const out: Record<string, ParamValue> = {};
    names.forEach((name, column) => {
      const d = space[name];
      if (d.type === 'categorical') {
        const k = Math.min(Math.floor(unit[column] * d.choices.length), d.choices.length - 1);
        out[name] = d.choices[k];
      } else encoded[transform.paramStart[transform.names.indexOf(name)]] = unit[column];
    });
    if (transform.dim > 0) Object.assign(out, transform.decode(encoded));
    return out;
  }

  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    if (this.warnIndependent && !this.warned.has(name)) {
      const space = this.inferRelativeSearchSpace(study);
      if (Object.keys(space).length > 0) {
        this.warned.add(name);
        const why = space[name]
          ? 'it was suggested with another distribution than in the first trial'
          : 'it is not in the first trial, which fixed the search space';
        warn(
          'INDEPENDENT_SAMPLING',
          `QMCSampler: parameter "${name}" in trial ${trial.number} is sampled by the independent sampler: ${why}.`,
        );
      }
    }
    return this.independent.sampleIndependent(study, trial, name, distribution);
  }

  /** The sequence for `dimension` coordinates, scrambled with the seed every worker shares. */
  private sequence(study: StudyView, dimension: number): Sequence {
    const max = this.qmcType === 'sobol' ? SOBOL_MAX_DIMENSION : HALTON_MAX_DIMENSION;
    if (dimension > max)
      throw new InvalidArgumentError(
        `QMCSampler: qmcType "${this.qmcType}" supports up to ${max} parameters, the search space has ${dimension}`,
      );
    const stored = study.systemAttrs[QMC_SEED_KEY];
    const seed = !this.seeded && typeof stored === 'number' && Number.isFinite(stored) ? stored : this.seed;
    const key = `${this.qmcType}:${dimension}:${this.scramble ? seed : 'plain'}`;
    let sequence = this.sequences.get(key);
    if (!sequence) {
      const scrambler = this.scramble ? new Random(seed).fork(`${this.qmcType}/${dimension}`) : undefined;
      sequence =
        this.qmcType === 'sobol'
          ? new SobolSequence(dimension, scrambler)
          : new HaltonSequence(dimension, scrambler);
      this.sequences.set(key, sequence);
    }
    return sequence;
  }
}
