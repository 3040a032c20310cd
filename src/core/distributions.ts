/**
 * Search-space distributions. The same objects come from define-by-run calls
 * (`trial.suggestFloat(...)`) and from declarative spaces (JSON/YAML `{ type: 'float', ... }`),
 * so a study can mix both and storages keep one serialised form (`DistributionConfig`).
 *
 * Samplers work in an "internal" numeric representation: floats and ints as themselves,
 * categoricals as the index of the choice. `toInternal`/`toExternal` convert.
 */
import { DistributionMismatchError, InvalidArgumentError } from './errors.js';

export type CategoricalChoice = number | string | boolean | null;
export type ParamValue = number | string | boolean | null;

/** On-disk / declarative form, kept apart from the runtime classes. */
export type DistributionConfig =
  | { type: 'float'; low: number; high: number; log?: boolean; step?: number | null }
  | { type: 'int'; low: number; high: number; log?: boolean; step?: number }
  | { type: 'categorical'; choices: readonly CategoricalChoice[] };

interface DistributionBase {
  /** True when the distribution has exactly one possible value. */
  single(): boolean;
  /** True when an internal value lies in the distribution. */
  contains(internal: number): boolean;
  toInternal(value: ParamValue): number;
  toExternal(internal: number): ParamValue;
  getConfig(): DistributionConfig;
}

export class FloatDistribution implements DistributionBase {
  readonly type = 'float' as const;
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly step: number | null;

  constructor(low: number, high: number, options: { log?: boolean; step?: number | null } = {}) {
    const log = options.log ?? false;
    const step = options.step ?? null;
    checkFinite('low', low);
    checkFinite('high', high);
    if (low > high)
      throw new InvalidArgumentError(`float distribution: low (${low}) must be <= high (${high})`);
    if (log && step !== null)
      throw new InvalidArgumentError('float distribution: step and log cannot be combined');
    if (log && low <= 0)
      throw new InvalidArgumentError(`float distribution: log scale needs low > 0, got ${low}`);
    if (step !== null) {
      if (!(step > 0)) throw new InvalidArgumentError(`float distribution: step must be > 0, got ${step}`);
      // Like Optuna, the upper bound is moved down onto the step grid.
      high = low + Math.floor((high - low) / step + 1e-9) * step;
      high = roundToStep(high, low, step);
    }
    this.low = low;
    this.high = high;
    this.log = log;
    this.step = step;
    Object.freeze(this);
  }

  single(): boolean {
    if (this.step === null) return this.low === this.high;
    return this.high - this.low < this.step;
  }

  contains(internal: number): boolean {
    if (!Number.isFinite(internal) || internal < this.low || internal > this.high) return false;
    if (this.step === null) return true;
    const k = (internal - this.low) / this.step;
    return Math.abs(k - Math.round(k)) < 1e-8;
  }

  toInternal(value: ParamValue): number {
    if (typeof value !== 'number')
      throw new InvalidArgumentError(`expected a number, got ${JSON.stringify(value)}`);
    return value;
  }

  toExternal(internal: number): number {
    return internal;
  }

  getConfig(): DistributionConfig {
    const config: DistributionConfig = { type: 'float', low: this.low, high: this.high };
    if (this.log) config.log = true;
    if (this.step !== null) config.step = this.step;
    return config;
  }
}

export class IntDistribution implements DistributionBase {
  readonly type = 'int' as const;
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly step: number;

  constructor(low: number, high: number, options: { log?: boolean; step?: number } = {}) {
    const log = options.log ?? false;
    const step = options.step ?? 1;
    if (!Number.isInteger(low))
      throw new InvalidArgumentError(`int distribution: low must be an integer, got ${low}`);
    if (!Number.isInteger(high))
      throw new InvalidArgumentError(`int distribution: high must be an integer, got ${high}`);
    if (low > high)
      throw new InvalidArgumentError(`int distribution: low (${low}) must be <= high (${high})`);
    if (!Number.isInteger(step) || step < 1)
      throw new InvalidArgumentError(`int distribution: step must be a positive integer, got ${step}`);
    if (log && step !== 1)
      throw new InvalidArgumentError('int distribution: step and log cannot be combined');
    if (log && low < 1)
      throw new InvalidArgumentError(`int distribution: log scale needs low >= 1, got ${low}`);
    this.low = low;
    this.high = low + Math.floor((high - low) / step) * step;
    this.log = log;
    this.step = step;
    Object.freeze(this);
  }

  single(): boolean {
    return this.high - this.low < this.step;
  }

  contains(internal: number): boolean {
    return (
      Number.isInteger(internal) &&
      internal >= this.low &&
      internal <= this.high &&
      (internal - this.low) % this.step === 0
    );
  }

  toInternal(value: ParamValue): number {
    if (typeof value !== 'number')
      throw new InvalidArgumentError(`expected an integer, got ${JSON.stringify(value)}`);
    return value;
  }

  toExternal(internal: number): number {
    return Math.round(internal);
  }

  getConfig(): DistributionConfig {
    const config: DistributionConfig = { type: 'int', low: this.low, high: this.high };
    if (this.log) config.log = true;
    if (this.step !== 1) config.step = this.step;
    return config;
  }
}

export class CategoricalDistribution implements DistributionBase {
  readonly type = 'categorical' as const;
  readonly choices: readonly CategoricalChoice[];

  constructor(choices: readonly CategoricalChoice[]) {
    if (!Array.isArray(choices) || choices.length === 0)
      throw new InvalidArgumentError('categorical distribution: choices must be a non-empty array');
    for (const c of choices) {
      const t = typeof c;
      if (!(c === null || t === 'number' || t === 'string' || t === 'boolean'))
        throw new InvalidArgumentError(
          `categorical distribution: choices must be numbers, strings, booleans or null, got ${JSON.stringify(c)}`,
        );
    }
    this.choices = Object.freeze([...choices]);
    Object.freeze(this);
  }

  single(): boolean {
    return this.choices.length === 1;
  }

  contains(internal: number): boolean {
    return Number.isInteger(internal) && internal >= 0 && internal < this.choices.length;
  }

  toInternal(value: ParamValue): number {
    const index = this.choices.findIndex((c) => c === value || (Number.isNaN(c) && Number.isNaN(value)));
    if (index < 0)
      throw new InvalidArgumentError(
        `${JSON.stringify(value)} is not one of the choices ${JSON.stringify(this.choices)}`,
      );
    return index;
  }

  toExternal(internal: number): CategoricalChoice {
    return this.choices[Math.round(internal)];
  }

  getConfig(): DistributionConfig {
    return { type: 'categorical', choices: [...this.choices] };
  }
}

export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

/** Builds a runtime distribution from its declarative/JSON form, validating every field. */
export function distributionFromConfig(config: DistributionConfig, where = 'distribution'): Distribution {
  if (config === null || typeof config !== 'object')
    throw new InvalidArgumentError(`${where}: expected an object with a "type"`);
  const c = config as Record<string, unknown>;
  const num = (field: string): number => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InvalidArgumentError(
        `${where}: "${field}" must be a finite number, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  const wrap = <T>(make: () => T): T => {
    try {
      return make();
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${where}: ${error.message}`);
      throw error;
    }
  };
  switch (c.type) {
    case 'float':
      return wrap(
        () =>
          new FloatDistribution(num('low'), num('high'), {
            log: Boolean(c.log),
            step: c.step === undefined || c.step === null ? null : num('step'),
          }),
      );
    case 'int':
      return wrap(
        () =>
          new IntDistribution(num('low'), num('high'), {
            log: Boolean(c.log),
            step: c.step === undefined ? 1 : num('step'),
          }),
      );
    case 'categorical':
      return wrap(() => new CategoricalDistribution(c.choices as CategoricalChoice[]));
    default:
      throw new InvalidArgumentError(
        `${where}: unknown type ${JSON.stringify(c.type)} (expected "float", "int" or "categorical")`,
      );
  }
}

const keys = new WeakMap<Distribution, string>();

/** A canonical string for a distribution, computed once per object (distributions are frozen). */
export function distributionKey(d: Distribution): string {
  let key = keys.get(d);
  if (key === undefined) {
    key = JSON.stringify(d.getConfig());
    keys.set(d, key);
  }
  return key;
}

export function distributionsEqual(a: Distribution, b: Distribution): boolean {
  return a === b || distributionKey(a) === distributionKey(b);
}

/**
 * Throws DISTRIBUTION_MISMATCH when `next` cannot stand for the same parameter as `previous`: another
 * kind (float, int, categorical) or other categorical choices. A parameter keeps its kind in a study,
 * as in Optuna; numeric ranges may differ between trials.
 */
export function checkDistributionCompatibility(
  name: string,
  previous: Distribution,
  next: Distribution,
): void {
  if (previous.type !== next.type)
    throw new DistributionMismatchError(
      `parameter "${name}" was already suggested as ${previous.type} in this study, cannot suggest it as ${next.type}`,
    );
  if (previous.type === 'categorical' && !distributionsEqual(previous, next))
    throw new DistributionMismatchError(
      `parameter "${name}" was already suggested with choices ${JSON.stringify(previous.choices)} in this study, cannot suggest it with ${JSON.stringify((next as CategoricalDistribution).choices)}`,
    );
}

/** Width of a numeric distribution in the space samplers model (log space for log distributions). */
export function transformedBounds(d: FloatDistribution | IntDistribution): [number, number] {
  if (d.log) return [Math.log(d.low), Math.log(d.high)];
  return [d.low, d.high];
}

function checkFinite(field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidArgumentError(`float distribution: ${field} must be a finite number, got ${value}`);
}

function roundToStep(value: number, low: number, step: number): number {
  // Removes floating-point drift such as 0.30000000000000004 on a 0.1 grid.
  const k = Math.round((value - low) / step);
  const decimals = Math.max(decimalPlaces(step), decimalPlaces(low));
  return Number((low + k * step).toFixed(Math.min(decimals + 2, 15)));
}

function decimalPlaces(x: number): number {
  const s = String(x);
  if (s.includes('e-')) return Number(s.split('e-')[1]);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/** Snaps an internal value onto the grid and into bounds of a numeric distribution. */
export function clampToDistribution(d: FloatDistribution | IntDistribution, x: number): number {
  let v = Math.min(Math.max(x, d.low), d.high);
  if (d.type === 'int') {
    v = d.low + Math.round((v - d.low) / d.step) * d.step;
    return Math.min(Math.max(v, d.low), d.high);
  }
  if (d.step !== null) v = Math.min(roundToStep(v, d.low, d.step), d.high);
  return v;
}
