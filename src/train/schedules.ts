/**
 * Learning-rate schedules as JSON configs. Most are pure functions of the step (one optimizer
 * update) and the steps per epoch; reduce-on-plateau keeps state and is fed the monitored
 * validation value once per epoch. A linear warm-up composes with any of them.
 */
import { InvalidArgumentError } from '../core/errors.js';

export type ScheduleConfig =
  | { type: 'constant' }
  /** lr x gamma^floor(epoch / stepSize). */
  | { type: 'step'; stepSize: number; gamma?: number }
  /** lr x gamma^epoch (per epoch; fractional epochs when `perStep`). */
  | { type: 'exponential'; gamma: number; perStep?: boolean }
  /** Cosine from lr to minLr over `period` epochs; with `restartMultiplier` (SGDR's T_mult) it restarts, each period that many times longer. */
  | { type: 'cosine'; period: number; minLr?: number; restartMultiplier?: number; restarts?: boolean }
  /** Leslie Smith's one-cycle: up from lr/divFactor to lr over pctStart of the run, then cosine down to lr/finalDivFactor. */
  | { type: 'oneCycle'; totalEpochs: number; pctStart?: number; divFactor?: number; finalDivFactor?: number }
  /** Multiply by `factor` when the monitored value has not improved for `patience` epochs. */
  | {
      type: 'reduceOnPlateau';
      mode?: 'min' | 'max';
      factor?: number;
      patience?: number;
      minDelta?: number;
      minLr?: number;
      cooldown?: number;
    };

export interface WarmupConfig {
  /** Linear warm-up from lr x startFactor to the schedule's value over this many epochs (fractions allowed). */
  epochs: number;
  startFactor?: number;
}

export interface ScheduleContext {
  /** Optimizer updates so far (0 for the first batch). */
  step: number;
  stepsPerEpoch: number;
}

function positive(name: string, value: number | undefined): void {
  if (value !== undefined && !(value > 0 && Number.isFinite(value)))
    throw new InvalidArgumentError(`schedule: ${name} must be a positive number, got ${value}`);
}

export function checkSchedule(config: ScheduleConfig): void {
  switch (config.type) {
    case 'constant':
    case 'reduceOnPlateau':
      positive('factor', config.type === 'reduceOnPlateau' ? config.factor : undefined);
      return;
    case 'step':
      positive('stepSize', config.stepSize);
      positive('gamma', config.gamma);
      return;
    case 'exponential':
      positive('gamma', config.gamma);
      return;
    case 'cosine':
      positive('period', config.period);
      positive('restartMultiplier', config.restartMultiplier);
      return;
    case 'oneCycle':
      positive('totalEpochs', config.totalEpochs);
      if (config.pctStart !== undefined && !(config.pctStart > 0 && config.pctStart < 1))
        throw new InvalidArgumentError(`schedule: pctStart must be in (0, 1), got ${config.pctStart}`);
      return;
    default:
      throw new InvalidArgumentError(`unknown schedule type "${(config as { type: string }).type}"`);
  }
}

const cosine = (from: number, to: number, progress: number) =>
  to + ((from - to) * (1 + Math.cos(Math.PI * progress))) / 2;

/** The schedule's learning rate at a step, for the stateless schedules. */
export function scheduledLearningRate(base: number, config: ScheduleConfig, at: ScheduleContext): number {
  const epoch = at.step / at.stepsPerEpoch;
  switch (config.type) {
    case 'constant':
    case 'reduceOnPlateau':
      return base;
    case 'step':
      return base * (config.gamma ?? 0.1) ** Math.floor(Math.floor(epoch) / config.stepSize);
    case 'exponential':
      return base * config.gamma ** (config.perStep ? epoch : Math.floor(epoch));
    case 'cosine': {
      const minLr = config.minLr ?? 0;
      const mult = config.restartMultiplier ?? 1;
      if (!config.restarts && mult === 1) return cosine(base, minLr, Math.min(epoch / config.period, 1));
      // SGDR: find the current period and the position in it.
      let start = 0;
      let length = config.period;
      while (epoch >= start + length) {
        start += length;
        length *= mult;
      }
      return cosine(base, minLr, (epoch - start) / length);
    }
    case 'oneCycle': {
      const pct = config.pctStart ?? 0.3;
      const initial = base / (config.divFactor ?? 25);
      const final = initial / (config.finalDivFactor ?? 1e4);
      const progress = epoch / config.totalEpochs;
      if (progress <= pct) return cosine(initial, base, progress / pct);
      return cosine(base, final, Math.min((progress - pct) / (1 - pct), 1));
    }
  }
}

export function warmupFactor(warmup: WarmupConfig | undefined, at: ScheduleContext): number {
  if (!warmup || warmup.epochs <= 0) return 1;
  const progress = at.step / (warmup.epochs * at.stepsPerEpoch);
  if (progress >= 1) return 1;
  const start = warmup.startFactor ?? 0;
  return start + (1 - start) * progress;
}

/** Reduce-on-plateau's state; `update` once per epoch with the monitored value. */
export class PlateauReducer {
  private readonly mode: 'min' | 'max';
  private readonly factor: number;
  private readonly patience: number;
  private readonly minDelta: number;
  private readonly minLr: number;
  private readonly cooldown: number;
  private best: number | undefined;
  private wait = 0;
  private cooling = 0;
  /** Multiplier applied to the base learning rate so far. */
  scale = 1;

  constructor(config: Extract<ScheduleConfig, { type: 'reduceOnPlateau' }>) {
    this.mode = config.mode ?? 'min';
    this.factor = config.factor ?? 0.1;
    this.patience = config.patience ?? 10;
    this.minDelta = config.minDelta ?? 0;
    this.minLr = config.minLr ?? 0;
    this.cooldown = config.cooldown ?? 0;
    if (!(this.factor > 0 && this.factor < 1))
      throw new InvalidArgumentError(
        `schedule reduceOnPlateau: factor must be in (0, 1), got ${this.factor}`,
      );
  }

  /** Returns true when the learning rate was reduced. */
  update(value: number, baseLr: number): boolean {
    const better =
      this.best === undefined ||
      (this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (better && !Number.isNaN(value)) {
      this.best = value;
      this.wait = 0;
    } else if (this.cooling > 0) this.cooling--;
    else if (++this.wait >= this.patience) {
      const next = Math.max(baseLr * this.scale * this.factor, this.minLr);
      if (next < baseLr * this.scale) {
        this.scale = next / baseLr;
        this.wait = 0;
        this.cooling = this.cooldown;
        return true;
      }
    }
    return false;
  }
}
