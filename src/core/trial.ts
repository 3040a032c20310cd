/**
 * The live trial handed to an objective. Suggest calls are synchronous (as users of Optuna expect);
 * the storage writes they cause are queued and flushed before the trial is told, so the same code
 * runs over in-memory and network storages.
 */

import {
  type CategoricalChoice,
  CategoricalDistribution,
  checkDistributionCompatibility,
  clampToDistribution,
  type Distribution,
  distributionsEqual,
  FloatDistribution,
  IntDistribution,
  type ParamValue,
} from './distributions.js';
import { InvalidArgumentError } from './errors.js';
import { type AttrValue, type FrozenTrial, freezeTrial, type IntermediateValue } from './frozen-trial.js';
import type { Pruner } from './pruner.js';
import type { Sampler, SearchSpace } from './sampler.js';
import type { Storage } from './storage.js';
import type { StudyView } from './study-view.js';
import { warn } from './warnings.js';

/** What a trial needs from its study; kept narrow so Trial does not depend on Study. */
export interface TrialContext {
  readonly storage: Storage;
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  readonly nObjectives: number;
  /** The study as this trial's pruner may see it (masked for reproducible concurrency). */
  view(trial: Trial): StudyView;
  /** The same, narrowed further by the pruner for the sampler (see `Pruner.restrictSamplerView`). */
  samplerView(trial: Trial): StudyView;
  /** The distribution a parameter name already has in the study, so a clash fails at suggest time. */
  knownDistribution(name: string): Distribution | undefined;
}

export class Trial {
  readonly trialId: number;
  readonly number: number;
  readonly datetimeStart: Date | null;
  private readonly context: TrialContext;
  private readonly paramValues: Record<string, ParamValue>;
  private readonly paramDistributions: Record<string, Distribution>;
  private readonly intermediate: Record<number, IntermediateValue>;
  private readonly user: Record<string, AttrValue>;
  private readonly system: Record<string, AttrValue>;
  private readonly fixedParams: Record<string, ParamValue>;
  /** Jointly sampled at ask time; used when the objective asks for these names. */
  readonly relativeSearchSpace: Readonly<SearchSpace>;
  readonly relativeParams: Readonly<Record<string, ParamValue>>;
  private pending: Promise<void> = Promise.resolve();
  private writeError: unknown = null;
  private cachedSnapshot: FrozenTrial | null = null;

  constructor(
    context: TrialContext,
    frozen: FrozenTrial,
    relative: { space: SearchSpace; params: Record<string, ParamValue> },
  ) {
    this.context = context;
    this.trialId = frozen.trialId;
    this.number = frozen.number;
    this.datetimeStart = frozen.datetimeStart;
    this.paramValues = { ...frozen.params };
    this.paramDistributions = { ...frozen.distributions };
    this.intermediate = { ...frozen.intermediateValues };
    this.user = { ...frozen.userAttrs };
    this.system = { ...frozen.systemAttrs };
    const fixed = frozen.systemAttrs.fixedParams;
    this.fixedParams = fixed && typeof fixed === 'object' ? { ...(fixed as Record<string, ParamValue>) } : {};
    this.relativeSearchSpace = Object.freeze({ ...relative.space });
    this.relativeParams = Object.freeze({ ...relative.params });
  }

  /** A float in [low, high]; `log` samples in log space, `step` on a grid from `low`. */
  suggestFloat(
    name: string,
    low: number,
    high: number,
    options: { log?: boolean; step?: number } = {},
  ): number {
    return this.suggest(name, new FloatDistribution(low, high, options)) as number;
  }

  /** An integer in [low, high]; `log` samples in log space, `step` on a grid from `low`. */
  suggestInt(
    name: string,
    low: number,
    high: number,
    options: { log?: boolean; step?: number } = {},
  ): number {
    return this.suggest(name, new IntDistribution(low, high, options)) as number;
  }

  /** One of `choices` (numbers, strings, booleans or null). */
  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T {
    return this.suggest(name, new CategoricalDistribution(choices)) as T;
  }

  /** Suggests a value from any distribution object (the declarative path uses this). */
  suggest(name: string, distribution: Distribution): ParamValue {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidArgumentError('parameter name must be a non-empty string');
    const previous = this.paramDistributions[name];
    if (previous) {
      // As Optuna: another kind is an error, another range keeps the first value, with a warning.
      checkDistributionCompatibility(name, previous, distribution);
      if (!distributionsEqual(previous, distribution))
        warn(
          'PARAM_REDEFINED',
          `trial ${this.number}: parameter "${name}" was suggested again with another range ` +
            `(${JSON.stringify(distribution.getConfig())}); keeping the first, ` +
            `${JSON.stringify(previous.getConfig())}, and its value ${JSON.stringify(this.paramValues[name])}`,
        );
      return this.paramValues[name];
    }
    const known = this.context.knownDistribution(name);
    if (known) checkDistributionCompatibility(name, known, distribution);
    let value: ParamValue;
    if (name in this.fixedParams) {
      // Enqueued values are used as given, like Optuna, even outside the bounds; only the kind is checked.
      value = this.fixedParams[name];
      distribution.toInternal(value);
    } else if (distribution.single()) {
      value = distribution.type === 'categorical' ? distribution.choices[0] : distribution.low;
    } else if (name in this.relativeParams && this.isRelative(name, distribution)) {
      value = normalise(distribution, this.relativeParams[name], name);
    } else {
      const view = this.context.samplerView(this);
      const sampled = this.context.sampler.sampleIndependent(view, this.snapshot(), name, distribution);
      value = normalise(distribution, sampled, name);
    }
    this.paramValues[name] = value;
    this.paramDistributions[name] = distribution;
    this.cachedSnapshot = null;
    this.enqueue(() => this.context.storage.setTrialParam(this.trialId, name, value, distribution));
    return value;
  }

  /**
   * Reports an intermediate objective value at `step` (an epoch, a number of samples). With several
   * objectives pass one value per objective. A second report for the same step is ignored.
   */
  report(value: IntermediateValue, step: number): void {
    if (!Number.isInteger(step) || step < 0)
      throw new InvalidArgumentError(`report: step must be a non-negative integer, got ${step}`);
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || !values.every((v) => typeof v === 'number'))
      throw new InvalidArgumentError(`report: value must be a number or an array of numbers`);
    if (Array.isArray(value) && value.length !== this.context.nObjectives)
      throw new InvalidArgumentError(
        `report: got ${value.length} values but the study has ${this.context.nObjectives} objectives`,
      );
    if (step in this.intermediate) return;
    const stored: IntermediateValue = Array.isArray(value) ? Object.freeze([...value]) : value;
    this.intermediate[step] = stored;
    this.cachedSnapshot = null;
    this.enqueue(() => this.context.storage.setTrialIntermediateValue(this.trialId, step, stored));
  }

  /** Asks the study's pruner whether this trial should stop now. */
  shouldPrune(): boolean {
    return this.context.pruner.prune(this.context.view(this), this.snapshot());
  }

  setUserAttr(key: string, value: AttrValue): void {
    this.user[key] = value;
    this.cachedSnapshot = null;
    this.enqueue(() => this.context.storage.setTrialUserAttr(this.trialId, key, value));
  }

  setSystemAttr(key: string, value: AttrValue): void {
    this.system[key] = value;
    this.cachedSnapshot = null;
    this.enqueue(() => this.context.storage.setTrialSystemAttr(this.trialId, key, value));
  }

  get params(): Readonly<Record<string, ParamValue>> {
    return { ...this.paramValues };
  }

  get distributions(): Readonly<Record<string, Distribution>> {
    return { ...this.paramDistributions };
  }

  get userAttrs(): Readonly<Record<string, AttrValue>> {
    return { ...this.user };
  }

  get systemAttrs(): Readonly<Record<string, AttrValue>> {
    return { ...this.system };
  }

  get intermediateValues(): Readonly<Record<number, IntermediateValue>> {
    return { ...this.intermediate };
  }

  /** This trial as a RUNNING record, as samplers and pruners see it. */
  snapshot(): FrozenTrial {
    if (!this.cachedSnapshot) {
      this.cachedSnapshot = freezeTrial({
        trialId: this.trialId,
        number: this.number,
        state: 'RUNNING',
        values: null,
        params: { ...this.paramValues },
        distributions: { ...this.paramDistributions },
        userAttrs: { ...this.user },
        systemAttrs: { ...this.system },
        intermediateValues: { ...this.intermediate },
        datetimeStart: this.datetimeStart,
        datetimeComplete: null,
      });
    }
    return this.cachedSnapshot;
  }

  /** Waits for queued storage writes; rethrows the first write error. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.writeError) throw this.writeError;
  }

  private isRelative(name: string, distribution: Distribution): boolean {
    const d = this.relativeSearchSpace[name];
    return d !== undefined && distributionsEqual(d, distribution);
  }

  private enqueue(write: () => Promise<void>): void {
    this.pending = this.pending.then(write).catch((error) => {
      this.writeError ??= error;
    });
  }
}

function normalise(distribution: Distribution, value: ParamValue, name: string): ParamValue {
  if (distribution.type === 'categorical') {
    distribution.toInternal(value);
    return value;
  }
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new InvalidArgumentError(`sampler returned a non-number for "${name}": ${String(value)}`);
  return clampToDistribution(distribution, value);
}
