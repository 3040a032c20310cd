/**
 * Every combination of the given values, each exactly once, in a seeded shuffled order. The first
 * study object to start enqueues the whole grid as WAITING trials (guarded by an atomic study
 * attribute), and storages hand each WAITING trial to exactly one worker, so no point runs twice
 * even with many processes on many machines. When every point has a trial, `shouldStop` ends
 * `optimize`.
 *
 * Grid values are used as given, like Optuna: a value outside the distribution the objective
 * suggests (7 for `suggestFloat('x', 0, 1)`) is still what the trial gets; only its kind (number,
 * string, boolean) is checked. A parameter that is not in the grid is an error.
 */
import { createHash } from 'node:crypto';
import type { CategoricalChoice, Distribution, ParamValue } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { Random } from '../core/random.js';
import type { Sampler, SamplerStudyContext, SearchSpace } from '../core/sampler.js';
import type { StudyView } from '../core/study-view.js';

export interface GridSamplerOptions {
  seed?: number;
}

export const GRID_ID_KEY = 'gridId';

export class GridSampler implements Sampler {
  readonly searchSpace: Readonly<Record<string, readonly CategoricalChoice[]>>;
  readonly size: number;
  private readonly names: string[];
  private readonly rng: Random;
  private readonly key: string;

  constructor(searchSpace: Record<string, readonly CategoricalChoice[]>, options: GridSamplerOptions = {}) {
    this.names = Object.keys(searchSpace).sort();
    if (this.names.length === 0) throw new InvalidArgumentError('grid sampler: the search space is empty');
    let size = 1;
    for (const name of this.names) {
      const values = searchSpace[name];
      if (!Array.isArray(values) || values.length === 0)
        throw new InvalidArgumentError(`grid sampler: "${name}" needs a non-empty array of values`);
      for (const v of values) {
        const t = typeof v;
        if (!(v === null || t === 'number' || t === 'string' || t === 'boolean'))
          throw new InvalidArgumentError(
            `grid sampler: "${name}" has an unsupported value ${JSON.stringify(v)}`,
          );
      }
      size *= values.length;
    }
    this.searchSpace = Object.freeze(Object.fromEntries(this.names.map((n) => [n, [...searchSpace[n]]])));
    this.size = size;
    this.rng = Random.fromSeed(options.seed);
    const canonical = JSON.stringify(this.names.map((n) => [n, this.searchSpace[n]]));
    this.key = `grid:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
  }

  /** Parameters of grid point `id` (mixed radix over the sorted names). */
  point(id: number): Record<string, ParamValue> {
    const params: Record<string, ParamValue> = {};
    let rest = id;
    for (let i = this.names.length - 1; i >= 0; i--) {
      const values = this.searchSpace[this.names[i]];
      params[this.names[i]] = values[rest % values.length];
      rest = Math.floor(rest / values.length);
    }
    return params;
  }

  async initialize(context: SamplerStudyContext): Promise<void> {
    if (!(await context.trySetStudySystemAttr(this.key, this.size))) return;
    const visited = this.visitedIds(context.view.getTrials());
    const ids = Array.from({ length: this.size }, (_, i) => i).filter((i) => !visited.has(i));
    this.rng.fork('order').shuffle(ids);
    for (const id of ids) await context.enqueueTrial(this.point(id), { [GRID_ID_KEY]: id });
  }

  inferRelativeSearchSpace(): SearchSpace {
    return {};
  }

  sampleRelative(): Record<string, ParamValue> {
    return {};
  }

  sampleIndependent(
    _study: StudyView,
    trial: FrozenTrial,
    name: string,
    _distribution: Distribution,
  ): ParamValue {
    // Reached only by trials that did not come from the grid queue (the grid was exhausted or the
    // trial was asked directly): choose from the grid's values so the trial stays on the grid.
    const values = this.searchSpace[name];
    if (!values)
      throw new InvalidArgumentError(
        `grid sampler: parameter "${name}" is not in the grid (${this.names.join(', ')})`,
      );
    return values[this.rng.fork(`${trial.number}/${name}`).int(0, values.length - 1)];
  }

  shouldStop(study: StudyView): boolean {
    const trials = study.getTrials();
    if (trials.some((t) => t.state === 'WAITING')) return false;
    return this.visitedIds(trials).size >= this.size;
  }

  private visitedIds(trials: readonly FrozenTrial[]): Set<number> {
    const ids = new Set<number>();
    for (const t of trials) {
      const id = t.systemAttrs[GRID_ID_KEY];
      if (typeof id === 'number' && t.state !== 'WAITING') ids.add(id);
      else if (this.names.every((n) => n in t.params)) {
        const found = this.idOf(t.params);
        if (found !== undefined && t.state !== 'WAITING') ids.add(found);
      }
    }
    return ids;
  }

  private idOf(params: Readonly<Record<string, ParamValue>>): number | undefined {
    let id = 0;
    for (const name of this.names) {
      const values = this.searchSpace[name];
      const k = values.indexOf(params[name]);
      if (k < 0) return undefined;
      id = id * values.length + k;
    }
    return id;
  }
}
