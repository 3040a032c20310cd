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
  | 'NO_COMPLETED_TRIAL'
  | 'INVALID_RECIPE'
  | 'INVALID_ONNX';

export interface ParsimonyErrorOptions {
  cause?: unknown;
}

/**
 * The base of every user error. Abstract: throw the subclass of the code (one per code, listed in
 * `ERROR_CLASSES`), so a code always comes with its class and `instanceof` works for both.
 */
export abstract class ParsimonyError extends Error {
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

/** A dataset name nobody knows, or a known dataset whose files are not on this machine. */
export class DatasetNotFoundError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('DATASET_NOT_FOUND', message, options);
  }
}

/** A downloaded or cached file whose checksum is not the published one. */
export class ChecksumMismatchError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('CHECKSUM_MISMATCH', message, options);
  }
}

export class DownloadFailedError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('DOWNLOAD_FAILED', message, options);
  }
}

/** Bad command-line usage: unknown option, missing argument. */
export class UsageError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('USAGE', message, options);
  }
}

export class StudyNotFoundError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('STUDY_NOT_FOUND', message, options);
  }
}

/** A study name that is already taken in the storage. */
export class DuplicatedStudyError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('DUPLICATED_STUDY', message, options);
  }
}

export class TrialNotFoundError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('TRIAL_NOT_FOUND', message, options);
  }
}

/** A write to, or a second tell of, a trial that is COMPLETE, PRUNED or FAIL. */
export class TrialFinishedError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('TRIAL_FINISHED', message, options);
  }
}

/** A parameter suggested with another kind of distribution (or other choices) than before in its study. */
export class DistributionMismatchError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('DISTRIBUTION_MISMATCH', message, options);
  }
}

/** A storage that cannot be opened or used: a foreign or newer schema, a lost connection. */
export class StorageError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('STORAGE', message, options);
  }
}

/** Thrown by an objective to end its trial as PRUNED (after `trial.shouldPrune()` said so). */
export class TrialPruned extends ParsimonyError {
  constructor(message = 'trial was pruned', options?: ParsimonyErrorOptions) {
    super('TRIAL_PRUNED', message, options);
  }
}

/** A model spec that cannot describe a network: unknown layer, mismatched shapes, a cycle. Names the layer. */
export class ModelSpecError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_MODEL', message, options);
  }
}

/** The compute backend lacks what Parsimony needs (a tfjs-backend-wasm version whose memory is unreachable). */
export class BackendUnsupportedError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('BACKEND_UNSUPPORTED', message, options);
  }
}

/** A search or study ended without one completed trial; the message says why (budget, failures). */
export class NoCompletedTrialError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('NO_COMPLETED_TRIAL', message, options);
  }
}

/** A compression recipe that cannot run: unknown step, option out of range. Names the step and the field. */
export class RecipeError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_RECIPE', message, options);
  }
}

/** An ONNX file that cannot be read or analysed: truncated, not ONNX, an unsupported opset or op, missing external data. Names the file, node or op. */
export class OnnxError extends ParsimonyError {
  constructor(message: string, options?: ParsimonyErrorOptions) {
    super('INVALID_ONNX', message, options);
  }
}

/**
 * The class of every code. Typed by `ErrorCode`, so a new code without its class does not compile
 * (and test/core/errors.test.ts checks each class carries its own code).
 */
export const ERROR_CLASSES: { readonly [C in ErrorCode]: abstract new (message: string) => ParsimonyError } =
  {
    INVALID_ARGUMENT: InvalidArgumentError,
    INVALID_DATA: DataError,
    FILE_NOT_FOUND: FileNotFoundError,
    DATASET_NOT_FOUND: DatasetNotFoundError,
    CHECKSUM_MISMATCH: ChecksumMismatchError,
    DOWNLOAD_FAILED: DownloadFailedError,
    USAGE: UsageError,
    STUDY_NOT_FOUND: StudyNotFoundError,
    DUPLICATED_STUDY: DuplicatedStudyError,
    TRIAL_NOT_FOUND: TrialNotFoundError,
    TRIAL_FINISHED: TrialFinishedError,
    DISTRIBUTION_MISMATCH: DistributionMismatchError,
    STORAGE: StorageError,
    TRIAL_PRUNED: TrialPruned,
    INVALID_MODEL: ModelSpecError,
    BACKEND_UNSUPPORTED: BackendUnsupportedError,
    NO_COMPLETED_TRIAL: NoCompletedTrialError,
    INVALID_RECIPE: RecipeError,
    INVALID_ONNX: OnnxError,
  };

/**
 * The error a `{ name, message, code }` record stands for, as sent across a thread or process
 * boundary: the class of its code when it has one (so callers can still catch by class), else a
 * plain Error with its name.
 */
export function errorFromRecord(record: { name: string; message: string; code?: unknown }): Error {
  const ErrorClass = ERROR_CLASSES[record.code as ErrorCode] as unknown as
    | (new (
        message: string,
      ) => ParsimonyError)
    | undefined;
  // not a user error: a record of an error raised on the other side, rebuilt under its own name
  const error = ErrorClass ? new ErrorClass(record.message) : new Error(record.message);
  error.message = record.message; // FileNotFoundError words its message from a path
  error.name = record.name;
  return error;
}

export function isParsimonyError(error: unknown): error is ParsimonyError {
  return error instanceof ParsimonyError;
}
