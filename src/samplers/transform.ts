/**
 * Maps a search space to a continuous box and back, for samplers that work on real vectors
 * (GP, CMA-ES, QMC, NSGA-II). Log parameters live in log space; integer and stepped parameters get
 * half a step of room on each side so every grid point owns an equal interval; categoricals become
 * one-hot blocks decoded by argmax. With `normalize`, every column is scaled to [0, 1].
 */
import { clampToDistribution, type Distribution, type ParamValue } from '../core/distributions.js';
import type { SearchSpace } from '../core/sampler.js';

export interface TransformOptions {
  /** Scale every column to [0, 1] (default false). */
  normalize?: boolean;
}

export class SearchSpaceTransform {
  readonly names: readonly string[];
  readonly distributions: readonly Distribution[];
  /** Encoded width (categoricals take one column per choice). */
  readonly dim: number;
  /** Lower and upper bound of each encoded column. */
  readonly lows: Float64Array;
  readonly highs: Float64Array;
  /** Index in `names` of the parameter each column belongs to. */
  readonly columnToParam: Int32Array;
  /** First column of each parameter. */
  readonly paramStart: Int32Array;
  private readonly normalize: boolean;
  private readonly rawLows: Float64Array;
  private readonly rawHighs: Float64Array;

  constructor(space: SearchSpace, options: TransformOptions = {}) {
    this.names = Object.keys(space).sort();
    this.distributions = this.names.map((n) => space[n]);
    this.normalize = options.normalize ?? false;
    const lows: number[] = [];
    const highs: number[] = [];
    const owners: number[] = [];
    const starts: number[] = [];
    this.distributions.forEach((d, p) => {
      starts.push(lows.length);
      if (d.type === 'categorical') {
        for (let k = 0; k < d.choices.length; k++) {
          lows.push(0);
          highs.push(1);
          owners.push(p);
        }
        return;
      }
      const half = d.type === 'int' ? d.step / 2 : d.step !== null ? d.step / 2 : 0;
      let lo = d.low - half;
      let hi = d.high + half;
      if (d.log) {
        lo = Math.log(d.type === 'int' ? Math.max(d.low - 0.5, 1e-12) : d.low);
        hi = Math.log(d.type === 'int' ? d.high + 0.5 : d.high);
      }
      lows.push(lo);
      highs.push(hi);
      owners.push(p);
    });
    this.dim = lows.length;
    this.rawLows = Float64Array.from(lows);
    this.rawHighs = Float64Array.from(highs);
    this.columnToParam = Int32Array.from(owners);
    this.paramStart = Int32Array.from(starts);
    if (this.normalize) {
      this.lows = new Float64Array(this.dim);
      this.highs = new Float64Array(this.dim).fill(1);
    } else {
      this.lows = this.rawLows;
      this.highs = this.rawHighs;
    }
  }

  /** Encodes external parameter values (all names of the space must be present). */
  encode(params: Readonly<Record<string, ParamValue>>): Float64Array {
    const out = new Float64Array(this.dim);
    this.distributions.forEach((d, p) => {
      const start = this.paramStart[p];
      const value = params[this.names[p]];
      if (d.type === 'categorical') {
        out[start + d.toInternal(value)] = 1;
        return;
      }
      const x = d.log ? Math.log(value as number) : (value as number);
      out[start] = this.normalize ? this.toUnit(start, x) : x;
    });
    return out;
  }

  /** Decodes a vector (clipped into bounds) to external values on each distribution's grid. */
  decode(x: ArrayLike<number>): Record<string, ParamValue> {
    const out: Record<string, ParamValue> = {};
    this.distributions.forEach((d, p) => {
      const start = this.paramStart[p];
      if (d.type === 'categorical') {
        let best = 0;
        for (let k = 1; k < d.choices.length; k++) if (x[start + k] > x[start + best]) best = k;
        out[this.names[p]] = d.choices[best];
        return;
      }
      let v = this.normalize ? this.fromUnit(start, x[start]) : x[start];
      v = Math.min(Math.max(v, this.rawLows[start]), this.rawHighs[start]);
      if (d.log) v = Math.exp(v);
      out[this.names[p]] = clampToDistribution(d, v);
    });
    return out;
  }

  private toUnit(column: number, x: number): number {
    const width = this.rawHighs[column] - this.rawLows[column];
    return width === 0 ? 0.5 : (x - this.rawLows[column]) / width;
  }

  private fromUnit(column: number, u: number): number {
    return this.rawLows[column] + u * (this.rawHighs[column] - this.rawLows[column]);
  }
}
