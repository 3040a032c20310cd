/**
 * Early stopping for a training loop, with Keras's meaning of the options. The trainer feeds one
 * monitored value per epoch; this object says whether the value improved and whether to stop, and
 * keeps a snapshot of the best state (weights, or whatever the trainer calls a snapshot).
 */
import { InvalidArgumentError } from '../core/errors.js';

export interface EarlyStoppingOptions {
  /** Name of the monitored metric, for the trainer and for messages (e.g. 'valLoss'). */
  monitor?: string;
  /** 'min' when lower is better (a loss), 'max' when higher is better (an accuracy). */
  mode: 'min' | 'max';
  /** Epochs without improvement after which training stops (0 and 1 both stop at the first one). */
  patience: number;
  /** A change smaller than this is no improvement (default 0). */
  minDelta?: number;
  /** Keep a snapshot of the best epoch so the trainer can restore it (default false). */
  restoreBestWeights?: boolean;
  /**
   * The value must beat this (by minDelta) for an epoch to reset the patience count: training
   * stops after `patience` epochs that do not reach the baseline, even if they improve.
   */
  baseline?: number;
}

export interface EarlyStoppingUpdate {
  /** The value beat the best so far by more than minDelta (the first finite value always does). */
  improved: boolean;
  /** Patience is exhausted: the trainer should stop (and restore `bestSnapshot` if it keeps one). */
  stop: boolean;
}

/**
 * `update(value, epoch, snapshot?)` once per epoch. An epoch improves when its value is below
 * best - minDelta ('min') or above best + minDelta ('max'); NaN never improves. The patience count
 * resets on an improvement that also beats the baseline (when there is one) and grows otherwise;
 * `stop` is true once it reaches max(patience, 1). With `restoreBestWeights`, `snapshot()` is
 * called on each improving epoch and its result kept in `bestSnapshot` (never called otherwise, so
 * copying weights costs nothing when restoring is off).
 */
export class EarlyStopping<T = unknown> {
  readonly monitor: string | undefined;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  readonly baseline: number | undefined;
  private best: number | undefined;
  private bestAt: number | undefined;
  private snapshot: T | undefined;
  private waited = 0;
  private stoppedAt: number | undefined;

  constructor(options: EarlyStoppingOptions) {
    if (options?.mode !== 'min' && options?.mode !== 'max')
      throw new InvalidArgumentError(`mode must be 'min' or 'max', got ${JSON.stringify(options?.mode)}`);
    const { patience, minDelta = 0, baseline } = options;
    if (typeof patience !== 'number' || !Number.isInteger(patience) || patience < 0)
      throw new InvalidArgumentError(`patience must be an integer >= 0, got ${String(patience)}`);
    if (typeof minDelta !== 'number' || !(minDelta >= 0) || !Number.isFinite(minDelta))
      throw new InvalidArgumentError(`minDelta must be a finite number >= 0, got ${String(minDelta)}`);
    if (baseline !== undefined && (typeof baseline !== 'number' || Number.isNaN(baseline)))
      throw new InvalidArgumentError(`baseline must be a number, got ${String(baseline)}`);
    this.monitor = options.monitor;
    this.mode = options.mode;
    this.patience = patience;
    this.minDelta = minDelta;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    this.baseline = baseline;
  }

  /** Records the value of `epoch`; `snapshot` is called only when the epoch is the new best. */
  update(value: number, epoch: number, snapshot?: () => T): EarlyStoppingUpdate {
    if (typeof value !== 'number')
      throw new InvalidArgumentError(`EarlyStopping.update: value must be a number, got ${String(value)}`);
    if (typeof epoch !== 'number' || !Number.isFinite(epoch))
      throw new InvalidArgumentError(
        `EarlyStopping.update: epoch must be a finite number, got ${String(epoch)}`,
      );
    const improved = !Number.isNaN(value) && (this.best === undefined || this.beats(value, this.best));
    if (improved) {
      this.best = value;
      this.bestAt = epoch;
      if (this.restoreBestWeights && snapshot) this.snapshot = snapshot();
    }
    if (improved && (this.baseline === undefined || this.beats(value, this.baseline))) this.waited = 0;
    else this.waited++;
    const stop = this.waited >= Math.max(this.patience, 1);
    if (stop && this.stoppedAt === undefined) this.stoppedAt = epoch;
    return { improved, stop };
  }

  /** Best value so far (undefined before the first finite value). */
  get bestValue(): number | undefined {
    return this.best;
  }

  /** Epoch of the best value. */
  get bestEpoch(): number | undefined {
    return this.bestAt;
  }

  /** Snapshot taken at the best epoch (only with `restoreBestWeights`). */
  get bestSnapshot(): T | undefined {
    return this.snapshot;
  }

  /** Consecutive epochs since the patience count was last reset. */
  get wait(): number {
    return this.waited;
  }

  /** First epoch at which `update` said stop, if any. */
  get stoppedEpoch(): number | undefined {
    return this.stoppedAt;
  }

  /** Forgets everything, for a new training run. */
  reset(): void {
    this.best = undefined;
    this.bestAt = undefined;
    this.snapshot = undefined;
    this.waited = 0;
    this.stoppedAt = undefined;
  }

  private beats(value: number, reference: number): boolean {
    return this.mode === 'min' ? value < reference - this.minDelta : value > reference + this.minDelta;
  }
}
