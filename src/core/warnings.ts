/**
 * One way to warn: a Node process warning of type `ParsimonyWarning` with a stable code, so programs
 * can filter them (`process.on('warning', (w) => w.code)`), `--no-warnings` silences them, and the
 * text names what it is about (the parameter, the trial). Warnings never stop a study.
 */
export type WarningCode =
  /** A sampler falls back to its independent sampler for a parameter outside its joint model. */
  | 'INDEPENDENT_SAMPLING'
  /** A trial failed: the objective raised or returned something that is not a result. */
  | 'TRIAL_FAILED'
  /** A trial suggested a parameter again with another range; the first value stands. */
  | 'PARAM_REDEFINED'
  /** Training asked for several threads runs on one (a loss term of the calling thread: distillation). */
  | 'ONE_THREAD';

export const WARNING_TYPE = 'ParsimonyWarning';

export function warn(code: WarningCode, message: string): void {
  process.emitWarning(message, { type: WARNING_TYPE, code });
}
