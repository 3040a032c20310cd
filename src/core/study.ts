/**
 * Studies: optimize, ask and tell (create and load them with `src/study/create.ts`). API names
 * follow Optuna's in camelCase. A study depends only on the Sampler, Pruner and Storage contracts.
 *
 * Reproducible concurrency: with `concurrency: c`, trial k of an `optimize` call starts only after
 * trial k - c has finished, and while sampling and pruning it sees trials k-c+1..k-1 as RUNNING with
 * the parameters they had at ask time. Every run with the same seed therefore sees the same history,
 * whatever order the objectives finish in. Pass `reproducible: false` to trade that for throughput.
 */

import type { CategoricalChoice, Distribution, ParamValue } from './distributions.js';
import {
  InvalidArgumentError,
  ParsimonyError,
  TrialFinishedError,
  TrialNotFoundError,
  TrialPruned,
} from './errors.js';
import {
  type AttrValue,
  type FrozenTrial,
  freezeTrial,
  isFinished,
  lastIntermediate,
  type StudyDirection,
  type TrialState,
} from './frozen-trial.js';
import { paretoFrontIndices, toMinimization } from './multi-objective.js';
import type { Pruner } from './pruner.js';
import type { Sampler, SamplerStudyContext } from './sampler.js';
import type { Storage } from './storage.js';
import {
  CONSTRAINTS_KEY,
  FAIL_KIND_KEY,
  FAIL_REASON_KEY,
  FIXED_PARAMS_KEY,
  isFeasible,
  RETRIED_FROM_KEY,
  RETRY_COUNT_KEY,
  type StudyView,
} from './study-view.js';
import { Trial, type TrialContext } from './trial.js';
import { warn } from './warnings.js';

/** How stale the study system attributes that samplers see may be. */
const SYSTEM_ATTRS_MAX_AGE_MS = 1000;

export type ObjectiveResult = number | readonly number[];
export type Objective = (trial: Trial) => ObjectiveResult | Promise<ObjectiveResult>;
export type ConstraintsFunction = (trial: FrozenTrial) => readonly number[];
export type StudyCallback = (study: Study, trial: FrozenTrial) => void | Promise<void>;

/** What a study is built with; `createStudy` and `loadStudy` fill in the defaults. */
export interface StudyOptions {
  sampler: Sampler;
  pruner: Pruner;
  /** Constraint values of a finished trial; it is feasible when all are <= 0. */
  constraints?: ConstraintsFunction;
  /** Heartbeats and retries for trials whose worker disappears (see `HeartbeatOptions`). */
  heartbeat?: HeartbeatOptions;
}

/**
 * With heartbeats, every running trial of this process writes a timestamp each `intervalMs`. Before
 * each new trial, any worker fails trials whose heartbeat is older than `gracePeriodMs` (the machine
 * was lost or the process killed) and, while a trial's lineage has fewer than `maxRetry` retries,
 * enqueues its parameters again with `retriedFrom` pointing at the lost trial.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  /** Default: 2 x intervalMs. */
  gracePeriodMs?: number;
  /** Re-enqueue a lost trial up to this many times along its lineage (default 0). */
  maxRetry?: number;
}

export interface OptimizeOptions {
  nTrials?: number;
  timeoutMs?: number;
  /** Trials run at once (async objectives overlap; CPU-bound work belongs in workers). */
  concurrency?: number;
  /**
   * Error classes that, thrown by the objective, mark the trial FAIL and let the study go on (as
   * Optuna's `catch`). Any other error is rethrown after the trial is recorded as FAIL, and no new
   * trial starts. Every failed trial is reported with a TRIAL_FAILED warning giving its reason.
   */
  catch?: readonly (abstract new (
    ...args: never[]
  ) => Error)[];
  callbacks?: readonly StudyCallback[];
  /** See the module comment; default true. */
  reproducible?: boolean;
  /**
   * Stop once the study holds this many trials in total, counting every worker's: the budget of a
   * study shared by many processes or machines. Checked atomically by the storage.
   */
  maxTotalTrials?: number;
}

/** Objective values, or a state spelled as everywhere else (`TrialState`): COMPLETE, FAIL, PRUNED. */
export type TellInput =
  | ObjectiveResult
  | { state: 'COMPLETE'; values: ObjectiveResult }
  | { state: 'FAIL'; reason?: string }
  | { state: 'PRUNED' };

interface AskOptions {
  /** Trial numbers to show as RUNNING-at-ask-time (reproducible concurrency). */
  masked?: ReadonlySet<number>;
  /** Create no trial once the study holds this many (WAITING ones are still claimed). */
  maxTrials?: number;
}

export class Study {
  readonly storage: Storage;
  readonly studyId: number;
  readonly directions: readonly StudyDirection[];
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  readonly constraints: ConstraintsFunction | undefined;
  private name: string;
  /** Storage snapshot by trial number; finished entries never change. */
  private cache: FrozenTrial[] = [];
  private systemAttrsCache: Record<string, AttrValue> = {};
  /** The distribution of each parameter name as first seen in the study (kinds never change). */
  private readonly paramDistributions = new Map<string, Distribution>();
  private systemAttrsReadAt = Number.NEGATIVE_INFINITY;
  private readonly live = new Map<number, Trial>();
  private readonly askSnapshots = new Map<number, FrozenTrial>();
  private readonly masks = new Map<number, ReadonlySet<number>>();
  private samplerReady: Promise<void> | null = null;
  private stopRequested = false;
  private readonly trialContext: TrialContext;
  private readonly heartbeat: Required<HeartbeatOptions> | undefined;
  private readonly heartbeatTimers = new Map<number, NodeJS.Timeout>();
  private lastStaleCheck = Number.NEGATIVE_INFINITY;

  /** Use `createStudy` or `loadStudy`. */
  constructor(
    storage: Storage,
    studyId: number,
    name: string,
    directions: readonly StudyDirection[],
    options: StudyOptions,
  ) {
    this.storage = storage;
    this.studyId = studyId;
    this.name = name;
    this.directions = Object.freeze([...directions]);
    this.sampler = options.sampler;
    this.pruner = options.pruner;
    this.constraints = options.constraints;
    if (options.heartbeat) {
      const { intervalMs, gracePeriodMs, maxRetry } = options.heartbeat;
      if (!(intervalMs > 0))
        throw new InvalidArgumentError(`heartbeat.intervalMs must be > 0, got ${intervalMs}`);
      const grace = gracePeriodMs ?? 2 * intervalMs;
      if (!(grace > intervalMs))
        throw new InvalidArgumentError(
          `heartbeat.gracePeriodMs (${grace}) must exceed intervalMs (${intervalMs})`,
        );
      this.heartbeat = { intervalMs, gracePeriodMs: grace, maxRetry: maxRetry ?? 0 };
    }
    this.trialContext = {
      storage,
      sampler: this.sampler,
      pruner: this.pruner,
      nObjectives: this.directions.length,
      view: (trial) => this.viewFor(trial.number),
      samplerView: (trial) => this.samplerViewFor(trial.snapshot()),
      knownDistribution: (name) => this.paramDistributions.get(name),
    };
  }

  get studyName(): string {
    return this.name;
  }

  get direction(): StudyDirection {
    if (this.directions.length !== 1)
      throw new InvalidArgumentError('study has several objectives; use `directions`');
    return this.directions[0];
  }

  /** All trials as of the last storage read, with this process's running trials up to date. */
  get trials(): FrozenTrial[] {
    return this.cache.map((t) => this.live.get(t.number)?.snapshot() ?? t);
  }

  /** Reads the trials from storage (other processes' trials included). */
  async getTrials(options: { states?: readonly TrialState[] } = {}): Promise<FrozenTrial[]> {
    await this.refresh();
    const trials = this.trials;
    return options.states ? trials.filter((t) => options.states!.includes(t.state)) : trials;
  }

  async refresh(): Promise<void> {
    const trials = await this.storage.getAllTrials(this.studyId);
    const byNumber: FrozenTrial[] = [];
    for (const t of trials) byNumber[t.number] = t;
    this.cache = byNumber.filter((t) => t !== undefined);
    for (const t of this.cache) this.noteDistributions(t);
    // Study system attributes are written as samplers start (the shared QMC seed, say), not per
    // trial: re-reading them once a second, and right after this sampler started, saves a round
    // trip per trial on a network storage.
    if (Date.now() - this.systemAttrsReadAt >= SYSTEM_ATTRS_MAX_AGE_MS) {
      this.systemAttrsCache = await this.storage.getStudySystemAttrs(this.studyId);
      this.systemAttrsReadAt = Date.now();
    }
  }

  get bestTrial(): FrozenTrial {
    if (this.directions.length !== 1)
      throw new InvalidArgumentError('bestTrial is for single-objective studies; use bestTrials');
    const candidates = this.completeTrials();
    if (candidates.length === 0) throw new TrialNotFoundError('no trial has completed yet');
    const feasible = candidates.filter(isFeasible);
    if (feasible.length === 0) throw new TrialNotFoundError('no completed trial is feasible');
    const sign = this.directions[0] === 'maximize' ? -1 : 1;
    let best = feasible[0];
    for (const t of feasible) if (sign * t.values![0] < sign * best.values![0]) best = t;
    return best;
  }

  get bestValue(): number {
    return this.bestTrial.values![0];
  }

  get bestParams(): Record<string, ParamValue> {
    return { ...this.bestTrial.params };
  }

  /** The Pareto front of the completed (feasible) trials; for one objective, the best trials. */
  get bestTrials(): FrozenTrial[] {
    const feasible = this.completeTrials().filter(isFeasible);
    const points = feasible.map((t) => toMinimization(t.values!, this.directions));
    return paretoFrontIndices(points).map((i) => feasible[i]);
  }

  /** The study's user attributes, read from storage (a method, not a getter, since it does I/O). */
  getUserAttrs(): Promise<Record<string, AttrValue>> {
    return this.storage.getStudyUserAttrs(this.studyId);
  }

  async setUserAttr(key: string, value: AttrValue): Promise<void> {
    await this.storage.setStudyUserAttr(this.studyId, key, value);
  }

  /** Asks `optimize` to start no new trial; running ones finish. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Queues parameters for the next trials; they run before sampled ones. */
  async enqueueTrial(
    params: Record<string, ParamValue>,
    options: { userAttrs?: Record<string, AttrValue>; skipIfExists?: boolean } = {},
  ): Promise<void> {
    if (options.skipIfExists) {
      await this.refresh();
      const key = canonicalParams(params);
      for (const t of this.cache) {
        const fixed = t.systemAttrs[FIXED_PARAMS_KEY] as Record<string, ParamValue> | undefined;
        if (canonicalParams(fixed ?? t.params) === key) return;
      }
    }
    await this.enqueueWithAttrs(params, {}, options.userAttrs);
  }

  /**
   * Starts a trial. `fixedDistributions` are suggested at once, so `trial.params` holds them,
   * which is how a declarative search space drives ask-and-tell.
   */
  async ask(fixedDistributions: Record<string, Distribution> = {}): Promise<Trial> {
    return (await this.askWithin(fixedDistributions, {}))!;
  }

  /** `ask`, or null when `maxTrials` is given and the study already holds that many trials. */
  private async askWithin(
    fixedDistributions: Record<string, Distribution>,
    options: AskOptions,
  ): Promise<Trial | null> {
    await this.ensureSamplerReady();
    // A trial turns stale only after a grace period of missed heartbeats, so looking once per
    // heartbeat interval finds it as soon as looking before every trial would.
    if (this.heartbeat && Date.now() - this.lastStaleCheck >= this.heartbeat.intervalMs) {
      this.lastStaleCheck = Date.now();
      await this.failStaleTrials();
    }
    const frozen = await this.storage.nextTrial(this.studyId, {
      maxTrials: options.maxTrials,
      heartbeat: this.heartbeat !== undefined,
    });
    if (frozen === null) return null;
    if (this.heartbeat) this.startHeartbeat(frozen.trialId, frozen.number);
    await this.refresh();
    if (options.masked && options.masked.size > 0) this.masks.set(frozen.number, options.masked);
    const view = this.samplerViewFor(frozen);
    this.sampler.beforeTrial?.(view, frozen);
    const space = this.sampler.inferRelativeSearchSpace(view, frozen);
    const params = Object.keys(space).length > 0 ? this.sampler.sampleRelative(view, frozen, space) : {};
    const trial = new Trial(this.trialContext, frozen, { space, params });
    this.live.set(trial.number, trial);
    // Kept after the trial ends: later trials of the same optimize call must keep seeing it as it
    // was at ask time, however early it finished (optimize drops it once no mask can name it).
    if (options.masked) this.askSnapshots.set(trial.number, askTimeSnapshot(frozen, space, params));
    for (const [name, distribution] of Object.entries(fixedDistributions)) trial.suggest(name, distribution);
    return trial;
  }

  /**
   * Finishes a trial with its objective values, or as FAIL or PRUNED. A NaN value makes the trial
   * FAIL with the reason recorded. A pruned trial keeps its last intermediate value as its value.
   * The final state is written even when the sampler's `afterTrial`, the constraints function or a
   * queued write throws (that error is rethrown afterwards), and the trial's heartbeat stops: a told
   * trial never stays RUNNING in this process.
   */
  async tell(trialOrNumber: Trial | number, input: TellInput): Promise<FrozenTrial> {
    const trial = this.resolveLiveTrial(trialOrNumber);
    let { state, values, reason } = this.outcome(trial, input);
    let failure: unknown = null;
    try {
      if (reason !== undefined) {
        trial.setSystemAttr(FAIL_REASON_KEY, reason);
        trial.setSystemAttr(FAIL_KIND_KEY, 'error');
      }
      if (this.constraints && (state === 'COMPLETE' || state === 'PRUNED')) {
        const c = this.constraints(trial.snapshot());
        if (!Array.isArray(c) || !c.every((v) => typeof v === 'number' && !Number.isNaN(v)))
          throw new InvalidArgumentError(
            `trial ${trial.number}: the constraints function must return an array of numbers (NaN not allowed), got ${JSON.stringify(c)}`,
          );
        trial.setSystemAttr(CONSTRAINTS_KEY, [...c]);
      }
      await trial.flush();
    } catch (error) {
      // Without its constraints or a write, the record is not what the objective produced.
      failure = error;
      state = 'FAIL';
      values = null;
      reason = `tell failed: ${describeError(error)}`;
    }
    try {
      const finished = freezeTrial({ ...trial.snapshot(), state, values, datetimeComplete: new Date() });
      this.sampler.afterTrial?.(this.samplerViewFor(finished), finished, state, values);
    } catch (error) {
      failure ??= error;
    } finally {
      this.stopHeartbeat(trial.number);
      this.live.delete(trial.number);
      this.masks.delete(trial.number);
    }
    let changed = false;
    try {
      if (failure !== null && reason !== undefined)
        await this.storage.setTrialSystemAttr(trial.trialId, FAIL_REASON_KEY, reason).catch(() => {}); // best effort: the state below matters more
      changed = await this.storage.setTrialState(trial.trialId, state, values);
    } catch (error) {
      failure ??= error;
    }
    if (failure !== null) throw failure;
    if (!changed) throw new TrialFinishedError(`trial ${trial.number} was already finished; tell ignored`);
    const stored = await this.storage.getTrial(trial.trialId);
    this.cache[stored.number] = stored;
    this.noteDistributions(stored);
    return stored;
  }

  private noteDistributions(trial: FrozenTrial): void {
    for (const [name, d] of Object.entries(trial.distributions))
      if (!this.paramDistributions.has(name)) this.paramDistributions.set(name, d);
  }

  /** The state, values and failure reason `input` stands for; throws for an input that names none. */
  private outcome(
    trial: Trial,
    input: TellInput,
  ): { state: TrialState; values: number[] | null; reason?: string } {
    if (typeof input === 'number' || Array.isArray(input)) return this.checkValues(input as ObjectiveResult);
    const tagged = input as Exclude<TellInput, ObjectiveResult>;
    switch (tagged?.state) {
      case 'COMPLETE':
        return this.checkValues(tagged.values);
      case 'FAIL':
        return { state: 'FAIL', values: null, reason: tagged.reason ?? 'told FAIL' };
      case 'PRUNED': {
        const last = lastIntermediate(trial.snapshot());
        const keep =
          last && this.directions.length === 1 && typeof last.value === 'number' && !Number.isNaN(last.value);
        return { state: 'PRUNED', values: keep ? [last.value as number] : null };
      }
      default:
        throw new InvalidArgumentError(
          `tell: state must be COMPLETE, PRUNED or FAIL, got ${JSON.stringify((tagged as { state?: unknown })?.state)}`,
        );
    }
  }

  /** Runs the objective for `nTrials` trials or until `timeoutMs`, whichever comes first. */
  async optimize(objective: Objective, options: OptimizeOptions = {}): Promise<void> {
    const nTrials = options.nTrials ?? Number.POSITIVE_INFINITY;
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    const reproducible = options.reproducible ?? true;
    if (!(nTrials >= 0)) throw new InvalidArgumentError(`nTrials must be >= 0, got ${options.nTrials}`);
    if (
      options.nTrials === undefined &&
      options.timeoutMs === undefined &&
      options.maxTotalTrials === undefined
    )
      throw new InvalidArgumentError(
        'give nTrials, maxTotalTrials or timeoutMs so the study knows when to stop',
      );
    if (
      options.maxTotalTrials !== undefined &&
      !(Number.isInteger(options.maxTotalTrials) && options.maxTotalTrials >= 0)
    )
      throw new InvalidArgumentError(`maxTotalTrials must be an integer >= 0, got ${options.maxTotalTrials}`);
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    this.stopRequested = false;
    const done: Promise<void>[] = [];
    const numbers: number[] = [];
    const inFlight = new Set<Promise<void>>();
    let fatal: unknown = null;
    // Waiting for others' trials polls quickly at first (they usually finish soon) and backs off
    // to the heartbeat interval, so a worker whose budget is spent exits promptly.
    let idleWaitMs = 25;
    for (let k = 0; k < nTrials; k++) {
      if (reproducible) {
        if (k >= concurrency) await done[k - concurrency];
      } else {
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      if (this.stopRequested || fatal !== null || Date.now() >= deadline) break;
      if (this.sampler.shouldStop) {
        await this.ensureSamplerReady();
        await this.refresh();
        if (this.sampler.shouldStop(this.viewFor(Number.POSITIVE_INFINITY))) break;
      }
      const masked = new Set(reproducible ? numbers.slice(Math.max(0, k - concurrency + 1)) : []);
      const trial = await this.askWithin({}, { masked, maxTrials: options.maxTotalTrials });
      if (trial === null) {
        // The budget is spent. With heartbeats, stay while other workers' trials are still running:
        // if one of them is lost, its retry must still run somewhere.
        if (this.heartbeat && (await this.othersRunning()) && !this.stopRequested && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, idleWaitMs));
          idleWaitMs = Math.min(idleWaitMs * 2, this.heartbeat!.intervalMs);
          k--;
          continue;
        }
        break;
      }
      numbers.push(trial.number);
      // Trials up to k - concurrency have finished, so no running trial's mask names this one.
      if (k >= 2 * concurrency) this.askSnapshots.delete(numbers[k - 2 * concurrency]);
      const run = this.runTrial(objective, trial, options).catch((error) => {
        fatal ??= error;
      });
      done.push(run);
      inFlight.add(run);
      run.then(() => inFlight.delete(run));
    }
    await Promise.all(done);
    for (const number of numbers) this.askSnapshots.delete(number);
    if (fatal !== null) throw fatal;
  }

  private async runTrial(objective: Objective, trial: Trial, options: OptimizeOptions): Promise<void> {
    let frozen: FrozenTrial;
    let rethrow: unknown = null;
    try {
      const result = await objective(trial);
      frozen = await this.tell(trial, result);
    } catch (error) {
      if (!this.live.has(trial.number)) throw error; // tell itself failed; the trial is finished
      if (error instanceof TrialPruned) frozen = await this.tell(trial, { state: 'PRUNED' });
      else {
        frozen = await this.tell(trial, { state: 'FAIL', reason: describeError(error) });
        if (!catches(options.catch, error)) rethrow = error;
      }
    }
    if (frozen.state === 'FAIL')
      warn(
        'TRIAL_FAILED',
        `trial ${frozen.number} failed with parameters ${JSON.stringify(frozen.params)}: ${String(frozen.systemAttrs[FAIL_REASON_KEY])}`,
      );
    for (const callback of options.callbacks ?? []) await callback(this, frozen);
    if (rethrow !== null) throw rethrow;
  }

  /**
   * Fails trials whose worker stopped sending heartbeats and re-enqueues them under the retry
   * policy. Safe with many workers: only the one whose state change succeeds enqueues the retry.
   */
  async failStaleTrials(): Promise<FrozenTrial[]> {
    if (!this.heartbeat) return [];
    const failed: FrozenTrial[] = [];
    for (const stale of await this.storage.getStaleTrials(this.studyId, this.heartbeat.gracePeriodMs)) {
      if (this.live.has(stale.number)) continue; // ours and alive: the timer is just late
      try {
        await this.storage.setTrialSystemAttr(stale.trialId, FAIL_KIND_KEY, 'stale');
        await this.storage.setTrialSystemAttr(
          stale.trialId,
          FAIL_REASON_KEY,
          `no heartbeat for more than ${this.heartbeat.gracePeriodMs} ms (worker lost)`,
        );
      } catch (error) {
        if (error instanceof ParsimonyError && error.code === 'TRIAL_FINISHED') continue;
        throw error;
      }
      if (!(await this.storage.setTrialState(stale.trialId, 'FAIL'))) continue;
      const record = await this.storage.getTrial(stale.trialId);
      failed.push(record);
      const retries = Number(record.systemAttrs[RETRY_COUNT_KEY] ?? 0);
      if (retries < this.heartbeat.maxRetry) {
        const fixed = (record.systemAttrs[FIXED_PARAMS_KEY] as Record<string, ParamValue> | undefined) ?? {};
        await this.enqueueWithAttrs(
          { ...fixed, ...record.params },
          { [RETRIED_FROM_KEY]: record.number, [RETRY_COUNT_KEY]: retries + 1 },
          { ...record.userAttrs },
        );
      }
    }
    if (failed.length > 0) await this.refresh();
    return failed;
  }

  private async othersRunning(): Promise<boolean> {
    await this.refresh();
    return this.cache.some(
      (t) => (t.state === 'RUNNING' || t.state === 'WAITING') && !this.live.has(t.number),
    );
  }

  private startHeartbeat(trialId: number, number: number): void {
    // The first heartbeat was recorded with the trial (nextTrial).
    const beat = () => this.storage.recordHeartbeat(trialId).catch(() => {});
    const timer = setInterval(beat, this.heartbeat!.intervalMs);
    timer.unref();
    this.heartbeatTimers.set(number, timer);
  }

  private stopHeartbeat(number: number): void {
    const timer = this.heartbeatTimers.get(number);
    if (timer) clearInterval(timer);
    this.heartbeatTimers.delete(number);
  }

  private checkValues(result: ObjectiveResult): {
    state: TrialState;
    values: number[] | null;
    reason?: string;
  } {
    const values = typeof result === 'number' ? [result] : Array.isArray(result) ? [...result] : null;
    if (values === null || !values.every((v) => typeof v === 'number'))
      return {
        state: 'FAIL',
        values: null,
        reason: `objective returned ${JSON.stringify(result)}, expected a number or an array of numbers`,
      };
    if (values.length !== this.directions.length)
      return {
        state: 'FAIL',
        values: null,
        reason: `objective returned ${values.length} value${values.length === 1 ? '' : 's'} but the study has ${this.directions.length} direction${this.directions.length === 1 ? '' : 's'}`,
      };
    if (values.some((v) => Number.isNaN(v)))
      return { state: 'FAIL', values: null, reason: `objective returned NaN (${values.join(', ')})` };
    return { state: 'COMPLETE', values };
  }

  private completeTrials(): FrozenTrial[] {
    return this.cache.filter((t) => t.state === 'COMPLETE');
  }

  private resolveLiveTrial(trialOrNumber: Trial | number): Trial {
    const number = typeof trialOrNumber === 'number' ? trialOrNumber : trialOrNumber.number;
    const trial = this.live.get(number);
    if (trial) return trial;
    const known = this.cache[number];
    if (known && isFinished(known.state))
      throw new TrialFinishedError(`trial ${number} is already ${known.state}`);
    throw new TrialNotFoundError(
      `trial ${number} is not running in this process (ask it here before telling it)`,
    );
  }

  private async enqueueWithAttrs(
    params: Record<string, ParamValue>,
    systemAttrs: Record<string, AttrValue>,
    userAttrs: Record<string, AttrValue> = {},
  ): Promise<void> {
    for (const [k, v] of Object.entries(params)) {
      const t = typeof v;
      if (!(v === null || t === 'number' || t === 'string' || t === 'boolean'))
        throw new InvalidArgumentError(
          `enqueueTrial: parameter "${k}" has an unsupported value ${JSON.stringify(v)}`,
        );
    }
    const trial = await this.storage.createTrial(this.studyId, {
      state: 'WAITING',
      systemAttrs: { ...systemAttrs, [FIXED_PARAMS_KEY]: { ...params } },
      userAttrs,
    });
    this.cache[trial.number] = trial;
  }

  private ensureSamplerReady(): Promise<void> {
    if (!this.samplerReady) {
      const init = this.sampler.initialize;
      if (!init) this.samplerReady = Promise.resolve();
      else {
        const context: SamplerStudyContext = {
          view: this.viewFor(Number.POSITIVE_INFINITY),
          enqueueTrial: (params, systemAttrs) => this.enqueueWithAttrs(params, systemAttrs ?? {}),
          trySetStudySystemAttr: (key, value) =>
            this.storage.setStudySystemAttrIfAbsent(this.studyId, key, value),
        };
        this.samplerReady = this.refresh()
          .then(() => init.call(this.sampler, context))
          .then(() => {
            this.systemAttrsReadAt = Number.NEGATIVE_INFINITY;
          });
      }
    }
    return this.samplerReady;
  }

  private samplerViewFor(trial: FrozenTrial): StudyView {
    const view = this.viewFor(trial.number);
    return this.pruner.restrictSamplerView ? this.pruner.restrictSamplerView(view, trial) : view;
  }

  /** The study as trial `number` may see it (see the module comment on reproducibility). */
  private viewFor(number: number): StudyView {
    const masked = this.masks.get(number);
    const trials: FrozenTrial[] = [];
    for (const t of this.cache) {
      if (masked && t.number > number) continue;
      if (masked?.has(t.number)) trials.push(this.askSnapshots.get(t.number) ?? maskTrial(t));
      else trials.push(this.live.get(t.number)?.snapshot() ?? t);
    }
    return makeView(this.name, this.directions, trials, this.systemAttrsCache);
  }
}

function makeView(
  studyName: string,
  directions: readonly StudyDirection[],
  trials: readonly FrozenTrial[],
  systemAttrs: Record<string, AttrValue>,
): StudyView {
  return {
    studyName,
    directions,
    systemAttrs,
    getTrials(options = {}) {
      if (!options.states) return trials;
      const states = options.states;
      return trials.filter((t) => states.includes(t.state));
    },
  };
}

/** A trial as it was right after ask: RUNNING, with only its jointly sampled parameters. */
function askTimeSnapshot(
  frozen: FrozenTrial,
  space: Record<string, Distribution>,
  params: Record<string, ParamValue>,
): FrozenTrial {
  const shown: Record<string, ParamValue> = {};
  const distributions: Record<string, Distribution> = {};
  const fixed = (frozen.systemAttrs[FIXED_PARAMS_KEY] ?? {}) as Record<string, ParamValue>;
  for (const [name, value] of Object.entries(params)) {
    if (space[name] && !(name in fixed)) {
      shown[name] = value;
      distributions[name] = space[name];
    }
  }
  return freezeTrial({ ...frozen, params: shown, distributions, intermediateValues: {} });
}

function maskTrial(t: FrozenTrial): FrozenTrial {
  return freezeTrial({
    ...t,
    state: 'RUNNING',
    values: null,
    intermediateValues: {},
    datetimeComplete: null,
  });
}

function catches(policy: OptimizeOptions['catch'], error: unknown): boolean {
  return (policy ?? []).some((cls) => error instanceof cls);
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function canonicalParams(params: Record<string, ParamValue | CategoricalChoice>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}
