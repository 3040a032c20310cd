/** Uniform sampling (log-uniform for log distributions). The baseline every other sampler must beat. */
import { clampToDistribution, type Distribution, type ParamValue } from '../core/distributions.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { Random } from '../core/random.js';
import type { Sampler, SearchSpace } from '../core/sampler.js';

export interface RandomSamplerOptions {
  seed?: number;
}

export class RandomSampler implements Sampler {
  private readonly rng: Random;

  constructor(options: RandomSamplerOptions = {}) {
    this.rng = Random.fromSeed(options.seed);
  }

  inferRelativeSearchSpace(): SearchSpace {
    return {};
  }

  sampleRelative(): Record<string, ParamValue> {
    return {};
  }

  sampleIndependent(
    _study: unknown,
    trial: FrozenTrial,
    name: string,
    distribution: Distribution,
  ): ParamValue {
    // One stream per (trial, parameter): values do not depend on the order concurrent trials ask in.
    return sampleUniform(this.rng.fork(`${trial.number}/${name}`), distribution);
  }
}

/** A uniform draw from a distribution (log-uniform on log scales, uniform over grid points with a step). */
export function sampleUniform(rng: Random, distribution: Distribution): ParamValue {
  if (distribution.type === 'categorical')
    return distribution.choices[rng.int(0, distribution.choices.length - 1)];
  const { low, high } = distribution;
  if (distribution.log) {
    // Integers widen by half a unit on each side so the end points get their fair share.
    const lo = distribution.type === 'int' ? Math.log(low - 0.5) : Math.log(low);
    const hi = distribution.type === 'int' ? Math.log(high + 0.5) : Math.log(high);
    return clampToDistribution(distribution, Math.exp(lo + rng.next() * (hi - lo)));
  }
  const step = distribution.type === 'int' ? distribution.step : distribution.step;
  if (step !== null) {
    const n = Math.floor((high - low) / step + 1e-9);
    return clampToDistribution(distribution, low + rng.int(0, n) * step);
  }
  return low + rng.next() * (high - low);
}
