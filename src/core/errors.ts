/**
 * One error hierarchy for the whole toolkit. Every error a user can cause carries a stable `code`
 * so programs can branch on it and the CLI can print one line instead of a stack trace.
 * Anything that is not a ParsimonyError is a bug and is shown with its stack under --verbose.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_DATA'
  | 'FILE_NOT_FOUND'
  | 'DATASET_NOT_FOUND'
  | 'CHECKSUM_MISMATCH'
  | 'DOWNLOAD_FAILED'
  | 'USAGE'
  | 'STUDY_NOT_FOUND'
  | 'DUPLICATED_STUDY'
  | 'TRIAL_NOT_FOUND'
  | 'TRIAL_FINISHED'
  | 'DISTRIBUTION_MISMATCH'
  | 'STORAGE'
  | 'TRIAL_PRUNED'
  | 'INVALID_MODEL'
  | 'BACKEND_UNSUPPORTED'
  | 'INVALID_RECIPE';

export interface ParsimonyErrorOptions {
  cause?: unknown;
}

export class ParsimonyError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: ParsimonyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** A caller passed a value outside what an API accepts (a bad option, low > high, an unknown name). */
export class InvalidArgumentError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** Input data is malformed: a non-numeric CSV cell, a truncated IDX file. The message names the place. */
export class DataError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_DATA', message, options);
  }
}

export class FileNotFoundError extends ParsimonyError {
  readonly path: string;
  constructor(path: string, what = 'file', options?: ParsimonyErrorOptions) {
    super('FILE_NOT_FOUND', `${what} not found: ${path}`, options);
    this.path = path;
  }
}

/** Bad command-line usage: unknown option, missing argument. */
export class UsageError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('USAGE', message, options);
  }
}

/** A model spec that cannot describe a network: unknown layer, mismatched shapes, a cycle. Names the layer. */
export class ModelSpecError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_MODEL', message, options);
  }
}

/** A compression recipe that cannot run: unknown step, option out of range. Names the step and the field. */
export class RecipeError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_RECIPE', message, options);
  }
}

export function isParsimonyError(error: unknown): error is ParsimonyError {
  return error instanceof ParsimonyError;
}
