/**
 * The one interface every compression method implements (pruning, structured pruning,
 * quantization, clustering, low-rank, distillation, ...), so that methods compose into a recipe:
 *
 * 1. `validate(options, spec, step)` checks a step's options against the spec it will receive and
 *    returns them typed; a bad value throws a one-line RecipeError naming the step and the field.
 *    The pipeline validates every step before any training.
 * 2. `transformSpec(spec, options)` gives the spec the step will produce (pruning sets
 *    `compression.sparsity`, structured pruning removes units, low-rank splits layers), so the
 *    cost change of a recipe is known before anything runs (`planStep`).
 * 3. `apply(input, options, context)` does the work on framework-free weights and may fine-tune
 *    through `context.fineTune` (the trainer with hooks; masks are enforced there).
 */
import { InvalidArgumentError, RecipeError } from '../core/errors.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import type { AugmentationConfig } from '../train/augment.js';
import { checkSchedule, type ScheduleConfig } from '../train/schedules.js';
import type { TrainingData, TrainingHooks, TrainResult } from '../train/trainer.js';
import type { ModelWeights, VariableOwner, WeightMasks } from './model-weights.js';

/** The cost of a spec, from analyzeModel (nothing built). */
export interface CostSummary {
  params: number;
  /** Parameters left after pruning (`compression.sparsity`). */
  nonZeroParams: number;
  /** Dense multiply-accumulates per sample. */
  macs: number;
  /** MACs that touch a non-zero weight: each layer's MACs scaled by its kept fraction. */
  effectiveMacs: number;
  /** Bits of what is stored: non-zero weights at their bit width, everything else at 32. */
  storedBits: number;
}

export function costOf(spec: ModelSpec): CostSummary {
  const analysis = analyzeModel(spec);
  let effectiveMacs = 0;
  for (const [i, layer] of analysis.layers.entries())
    effectiveMacs += layer.macs * (1 - (spec.layers[i].compression?.sparsity ?? 0));
  return {
    params: analysis.params,
    nonZeroParams: analysis.nonZeroParams,
    macs: analysis.macs,
    effectiveMacs: Math.round(effectiveMacs),
    storedBits: analysis.storedBits,
  };
}

/** Data a method may train and measure on. Accuracy in reports is always test/validation on these. */
export interface CompressionData {
  train: TrainingData;
  validation: TrainingData;
  test?: TrainingData;
}

/** The trainer settings fine-tuning uses unless a step says otherwise. */
export interface FineTuneSettings {
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  /** Draw the trainer's progress bar on stderr (a terminal only). */
  progress?: boolean;
  /**
   * Threads training each fine-tune (data-parallel, the trainer's `threads`; default 1). A method
   * whose loss is computed in this thread (distillation's extraLoss) trains on one.
   */
  threads?: number;
}

export const DEFAULT_FINE_TUNE: FineTuneSettings = { batchSize: 128, learningRate: 1e-3, optimizer: 'adam' };

export interface FineTuneRequest {
  epochs: number;
  /** Default: the pipeline's settings. */
  learningRate?: number;
  /** Image augmentation in the training step (images only). */
  augmentation?: AugmentationConfig;
  /** Mixup's Beta concentration (after augmentation; see `TrainOptions.mixup`). */
  mixup?: number;
  /** Learning-rate schedule over this run's epochs (default constant; see `TrainOptions.schedule`). */
  schedule?: ScheduleConfig;
  /**
   * The method's own trainer hooks, made once the model is built (`owners` maps each variable name
   * to its layer and tensor); the masks' hooks run after them.
   */
  hooks?: (owners: ReadonlyMap<string, VariableOwner>) => TrainingHooks | Promise<TrainingHooks>;
  /** Called after every optimizer step with the global step (0-based) of this fine-tuning run. */
  onStep?: (step: number, stepsPerEpoch: number) => void;
  onEpoch?: (epoch: number, valAccuracy: number | undefined) => void;
  /** Trial to report validation accuracy to each epoch (a study's pruner may stop it). */
  trial?: { report(value: number | number[], step: number): void; shouldPrune(): boolean };
  reportValue?: (valAccuracy: number) => number | number[];
}

export interface StepContext {
  /** "step 2 (magnitude)": how errors and progress name this step. */
  label: string;
  data: CompressionData;
  seed: number;
  fineTuneSettings: FineTuneSettings;
  /** Aborted on Ctrl-C: fine-tuning stops after the current batch and the step returns what it has. */
  signal?: AbortSignal;
  /**
   * Trains the weights (a model rebuilt from them) with the masks held: masked weights stay exactly
   * zero. Returns new weights; the input is not changed.
   */
  fineTune(
    weights: ModelWeights,
    masks: WeightMasks,
    request: FineTuneRequest,
  ): Promise<{ weights: ModelWeights; result: TrainResult }>;
  /** Accuracy of the weights (rebuilt into a model) on the validation (default) or test data. */
  accuracy(weights: ModelWeights, split?: 'validation' | 'test'): Promise<number>;
  /** A line of progress for the user (shown on stderr by the CLI). */
  log(message: string): void;
}

export interface StepInput {
  weights: ModelWeights;
  /** Masks of earlier steps (empty object when none); a step keeps them unless it changes the shapes. */
  masks: WeightMasks;
}

export interface StepOutput {
  /** The weights as they will be stored (a quantized step gives the dequantized values). */
  weights: ModelWeights;
  masks: WeightMasks;
  /** Method-specific facts for the report (per-layer sparsities, ranks, codebook sizes). */
  details?: Record<string, unknown>;
  /** Extra files for the output directory (e.g. a compressed encoding), by file name. */
  files?: Record<string, Uint8Array | string>;
  /** True when fine-tuning was cut short by the signal. */
  interrupted?: boolean;
}

export interface CompressionMethod<Options = unknown> {
  readonly name: string;
  /** One line for --help and errors. */
  readonly summary: string;
  /**
   * Options that run this method quickly on a small model of `spec`'s kind (a few epochs at most):
   * the contract tests (test/compress/contract.test.ts) run every method with them.
   */
  exampleOptions(spec: ModelSpec): Record<string, unknown>;
  /** Checks raw options against the spec the step receives; throws RecipeError naming `step` and the field. */
  validate(options: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): Options;
  /** The spec this step produces (with compression fields), from the spec alone. */
  transformSpec(spec: ModelSpec, options: Options): ModelSpec;
  apply(input: StepInput, options: Options, context: StepContext): Promise<StepOutput>;
}

/** Erases a method's option type for the registry (the pipeline passes validate's result back to it). */
export function defineMethod<Options>(method: CompressionMethod<Options>): CompressionMethod<unknown> {
  return method as unknown as CompressionMethod<unknown>;
}

export interface StepPlan {
  spec: ModelSpec;
  before: CostSummary;
  after: CostSummary;
}

/** The cost change of one step, from specs alone. */
export function planStep<Options>(
  method: CompressionMethod<Options>,
  spec: ModelSpec,
  options: Options,
): StepPlan {
  const next = method.transformSpec(spec, options);
  return { spec: next, before: costOf(spec), after: costOf(next) };
}

// Option readers for validate(): each names the step and the field in its error.

type Raw = Readonly<Record<string, unknown>>;

/** Rejects fields the method does not know (a typo must not be silently ignored). */
export function checkKnownFields(options: Raw, known: readonly string[], step: string): void {
  for (const key of Object.keys(options))
    if (!known.includes(key))
      throw new RecipeError(`${step}: unknown field "${key}" (known: ${known.join(', ') || 'none'})`);
}

export function readNumber(
  options: Raw,
  field: string,
  step: string,
  range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean },
  fallback?: number,
): number {
  const value = options[field] ?? fallback;
  if (value === undefined) throw new RecipeError(`${step}: field "${field}" is required`);
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.min === undefined || (range.minExclusive ? value > range.min : value >= range.min)) &&
    (range.max === undefined || (range.maxExclusive ? value < range.max : value <= range.max));
  if (!ok) {
    const lo = range.min === undefined ? '' : `${range.minExclusive ? '(' : '['}${range.min}`;
    const hi = range.max === undefined ? '' : `${range.max}${range.maxExclusive ? ')' : ']'}`;
    const what = range.integer ? 'an integer' : 'a number';
    const where = lo || hi ? ` in ${lo || '(-inf'}, ${hi || 'inf)'}` : '';
    throw new RecipeError(`${step}: field "${field}" must be ${what}${where}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** An optional number field: undefined when absent, else checked as readNumber does. */
export function readOptionalNumber(
  options: Raw,
  field: string,
  step: string,
  range: Parameters<typeof readNumber>[3],
): number | undefined {
  return options[field] === undefined ? undefined : readNumber(options, field, step, range);
}

/** The optional `learningRate` field of a fine-tuning step (> 0; absent: the pipeline's rate). */
export function readLearningRate(options: Raw, step: string): number | undefined {
  return readOptionalNumber(options, 'learningRate', step, { min: 0, minExclusive: true });
}

/**
 * An optional learning-rate schedule field: "constant", "cosine" (from the learning rate down to 0
 * over the step's `epochs`), or a trainer schedule object such as `{ type: 'step', stepSize: 5 }`.
 */
export function readLearningRateSchedule(
  options: Raw,
  field: string,
  step: string,
  epochs: number,
): ScheduleConfig | undefined {
  const value = options[field];
  if (value === undefined) return undefined;
  if (value === 'constant') return { type: 'constant' };
  if (value === 'cosine') return { type: 'cosine', period: epochs };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RecipeError(
      `${step}: field "${field}" must be "constant", "cosine" or a schedule object, got ${JSON.stringify(value)}`,
    );
  try {
    checkSchedule(value as ScheduleConfig);
  } catch (error) {
    if (error instanceof InvalidArgumentError)
      throw new RecipeError(`${step}: field "${field}": ${error.message}`, { cause: error });
    throw error;
  }
  return value as ScheduleConfig;
}

export function readBoolean(options: Raw, field: string, step: string, fallback: boolean): boolean {
  const value = options[field] ?? fallback;
  if (typeof value !== 'boolean')
    throw new RecipeError(`${step}: field "${field}" must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** An optional field mapping layer names to `what` ({} when absent); the values are left to the caller. */
export function readLayerMap(
  options: Raw,
  field: string,
  step: string,
  what: string,
): Record<string, unknown> {
  const value = options[field];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RecipeError(`${step}: field "${field}" must map layer names to ${what}`);
  return value as Record<string, unknown>;
}

export function readChoice<T extends string>(
  options: Raw,
  field: string,
  step: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = options[field] ?? fallback;
  if (typeof value !== 'string' || !choices.includes(value as T))
    throw new RecipeError(
      `${step}: field "${field}" must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`,
    );
  return value as T;
}

export function readStringList(options: Raw, field: string, step: string): string[] {
  const value = options[field] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new RecipeError(
      `${step}: field "${field}" must be a list of layer names, got ${JSON.stringify(value)}`,
    );
  return value as string[];
}

/** A layer name that must exist in the spec. */
export function checkLayerName(spec: ModelSpec, name: string, field: string, step: string): void {
  if (!spec.layers.some((l) => l.name === name))
    throw new RecipeError(
      `${step}: field "${field}" names layer "${name}", which is not in the model (layers: ${spec.layers.map((l) => l.name).join(', ')})`,
    );
}
