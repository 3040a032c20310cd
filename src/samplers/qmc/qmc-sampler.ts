/**
 * Quasi-Monte Carlo sampling: trial k takes point k of a (scrambled) Sobol or Halton sequence, so
 * points fill the space evenly, concurrent trials get distinct points, and runs are reproducible.
 * As in Optuna, the space is fixed by the first completed trial (trial 0 samples independently);
 * parameters outside it are sampled by the independent sampler.
 */
import type { Distribution, ParamValue } from '../../core/distributions.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { FrozenTrial } from '../../core/frozen-trial.js';
import { Random } from '../../core/random.js';
import { RandomSampler } from '../random.js';
import type { Sampler, SearchSpace, StudyView } from '../sampler.js';
import { SearchSpaceTransform } from '../transform.js';
import { HaltonSequence, SOBOL_MAX_DIMENSION, SobolSequence } from './sobol.js';

export interface QMCSamplerOptions {
  seed?: number;
  /** 'sobol' (default; up to 32 encoded dimensions) or 'halton' (any). */
  qmcType?: 'sobol' | 'halton';
  /** Randomise the sequence (default true); unscrambled Sobol starts at the origin. */
  scramble?: boolean;
  independentSampler?: Sampler;
}

export class QMCSampler implements Sampler {
  private readonly seed: number;
  private readonly qmcType: 'sobol' | 'halton';
  private readonly scramble: boolean;
  private readonly independent: Sampler;
  private readonly sequences = new Map<string, SobolSequence | HaltonSequence>();

  constructor(options: QMCSamplerOptions = {}) {
    this.seed = Random.fromSeed(options.seed).seed;
    this.qmcType = options.qmcType ?? 'sobol';
    if (this.qmcType !== 'sobol' && this.qmcType !== 'halton')
      throw new InvalidArgumentError(
        `qmcType must be "sobol" or "halton", got ${JSON.stringify(options.qmcType)}`,
      );
    this.scramble = options.scramble ?? true;
    this.independent = options.independentSampler ?? new RandomSampler({ seed: this.seed });
  }

  inferRelativeSearchSpace(study: StudyView): SearchSpace {
    const first = study.getTrials({ states: ['COMPLETE'] })[0];
    if (!first) return {};
    const space: SearchSpace = {};
    for (const [name, d] of Object.entries(first.distributions)) if (!d.single()) space[name] = d;
    return space;
  }

  sampleRelative(_study: StudyView, trial: FrozenTrial, space: SearchSpace): Record<string, ParamValue> {
    const transform = new SearchSpaceTransform(space, { normalize: true });
    const sequence = this.sequence(transform);
    const unit = sequence.point(trial.number);
    // Categoricals take one column each here: the point picks a choice by its interval.
    const encoded = new Float64Array(transform.dim);
    let column = 0;
    transform.distributions.forEach((d, p) => {
      const start = transform.paramStart[p];
      if (d.type === 'categorical') {
        const k = Math.min(Math.floor(unit[column] * d.choices.length), d.choices.length - 1);
        encoded[start + k] = 1;
      } else encoded[start] = unit[column];
      column++;
    });
    return transform.decode(encoded);
  }

  sampleIndependent(
    study: StudyView,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    return this.independent.sampleIndependent(study, trial, name, distribution);
  }

  private sequence(transform: SearchSpaceTransform): SobolSequence | HaltonSequence {
    const dims = transform.names.length;
    const key = `${this.qmcType}:${dims}`;
    let sequence = this.sequences.get(key);
    if (!sequence) {
      const rng = this.scramble ? new Random(this.seed).fork(key) : undefined;
      if (this.qmcType === 'sobol') {
        if (dims > SOBOL_MAX_DIMENSION)
          throw new InvalidArgumentError(
            `QMC sampler: Sobol supports up to ${SOBOL_MAX_DIMENSION} parameters, the space has ${dims}; use qmcType: "halton"`,
          );
        sequence = new SobolSequence(dims, rng);
      } else sequence = new HaltonSequence(dims, rng);
      this.sequences.set(key, sequence);
    }
    return sequence;
  }
}
