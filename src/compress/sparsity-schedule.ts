/**
 * When to prune and to what sparsity, during a fine-tuning run of `totalSteps` optimizer steps.
 *
 * - oneshot: everything at once before fine-tuning.
 * - constant (TF-MOT ConstantSparsity): the final sparsity, re-applied every `frequency` steps
 *   from `beginStep` to `endStep`.
 * - polynomial (TF-MOT PolynomialDecay): s(t) = s_f + (s_i - s_f) (1 - p)^power with
 *   p = clamp((t - beginStep) / (endStep - beginStep), 0, 1), applied every `frequency` steps
 *   in [beginStep, endStep].
 * - agp (Zhu & Gupta 2017): n pruning events Δt apart from t0; event k (1..n) prunes to
 *   s_f + (s_i - s_f) (1 - k/n)^3, then training goes on until the next (the anchor's recipe:
 *   prune, fine-tune, prune, ...).
 * - iterative (Han et al. 2015): `rounds` of prune-then-retrain, each a separate training run;
 *   round r keeps (1 - s_f)^(r/R) of the weights, so every round removes the same fraction of
 *   what is left.
 */

export type ScheduleName = 'oneshot' | 'constant' | 'polynomial' | 'agp' | 'iterative';
export const SCHEDULES: readonly ScheduleName[] = ['oneshot', 'constant', 'polynomial', 'agp', 'iterative'];

export interface SparsityEvent {
  /** Prune before this optimizer step (0: before training starts). */
  step: number;
  sparsity: number;
}

export interface ScheduleSettings {
  schedule: ScheduleName;
  finalSparsity: number;
  initialSparsity: number;
  /** agp: pruning events. */
  pruneSteps: number;
  /** constant/polynomial: steps between mask updates. */
  frequency: number;
  power: number;
  beginStep: number;
  /** Default: three quarters of the run. */
  endStep?: number;
}

/** TF-MOT's PolynomialDecay sparsity at one step. */
export function polynomialSparsity(
  s: { initialSparsity: number; finalSparsity: number; beginStep: number; endStep: number; power: number },
  step: number,
): number {
  const span = Math.max(1, s.endStep - s.beginStep);
  const p = Math.min(1, Math.max(0, (step - s.beginStep) / span));
  return s.finalSparsity + (s.initialSparsity - s.finalSparsity) * (1 - p) ** s.power;
}

/** Zhu & Gupta's sparsity after pruning event k of n (k = 1..n). */
export function agpSparsity(initial: number, final: number, k: number, n: number): number {
  return final + (initial - final) * (1 - k / n) ** 3;
}

/** Pruning events of an in-training schedule (constant, polynomial, agp) over `totalSteps` steps. */
export function sparsityEvents(settings: ScheduleSettings, totalSteps: number): SparsityEvent[] {
  const { schedule, finalSparsity } = settings;
  if (schedule === 'oneshot' || schedule === 'iterative' || totalSteps <= 0)
    return [{ step: 0, sparsity: finalSparsity }];
  if (schedule === 'agp') {
    const n = settings.pruneSteps;
    const interval = Math.max(1, Math.floor(totalSteps / n));
    return Array.from({ length: n }, (_, i) => ({
      step: settings.beginStep + i * interval,
      sparsity: agpSparsity(settings.initialSparsity, finalSparsity, i + 1, n),
    })).filter((e) => e.step < totalSteps || e.step === settings.beginStep);
  }
  const end = Math.min(settings.endStep ?? Math.floor(0.75 * totalSteps), totalSteps - 1);
  const begin = Math.min(settings.beginStep, end);
  const events: SparsityEvent[] = [];
  for (let step = begin; step <= end; step += settings.frequency)
    events.push({
      step,
      sparsity:
        schedule === 'constant'
          ? finalSparsity
          : polynomialSparsity({ ...settings, beginStep: begin, endStep: end }, step),
    });
  // The last event reaches the final sparsity even when `frequency` does not divide the range.
  if (events.length === 0 || events[events.length - 1].sparsity !== finalSparsity)
    events.push({ step: end, sparsity: finalSparsity });
  return events;
}

/** Iterative pruning: sparsity after round r of R. */
export function iterativeSparsity(final: number, round: number, rounds: number): number {
  return 1 - (1 - final) ** (round / rounds);
}
