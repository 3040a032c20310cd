/**
 * Runs a recipe: an ordered list of steps (a method and its options) on a model's weights.
 * Every step is validated against the spec it will receive (the previous step's transformSpec)
 * before anything trains, so a bad step 3 fails in one line before step 1's fine-tuning.
 * Each step's row is measured on the weights the step hands on (what would be stored).
 */
import { RecipeError } from '../core/errors.js';
import type { ModelSpec } from '../models/spec/types.js';
import { fineTuneWeights, weightsAccuracy } from './fine-tune.js';
import {
  type CompressionData,
  type CompressionMethod,
  DEFAULT_FINE_TUNE,
  type FineTuneSettings,
  planStep,
  type StepContext,
  type StepPlan,
} from './method.js';
import {
  cloneWeights,
  type ModelWeights,
  specWithMeasuredSparsity,
  type WeightMasks,
} from './model-weights.js';
import { type CompressionMethods, type MethodName, methodNames, registry } from './registry.js';
import { type ReportRow, reportRow, type StepRow } from './report.js';

export interface RecipeStep {
  method: string;
  options?: Record<string, unknown>;
}

export type Recipe = RecipeStep[];

export interface ValidatedStep {
  label: string;
  method: MethodName;
  options: unknown;
  plan: StepPlan;
}

export function stepLabel(index: number, method: string): string {
  return `step ${index + 1} (${method})`;
}

/** Validates every step in order against the spec it will receive; throws RecipeError on the first bad one. */
export function validateRecipe(
  recipe: Recipe,
  spec: ModelSpec,
  methods: CompressionMethods = registry,
): ValidatedStep[] {
  if (!Array.isArray(recipe) || recipe.length === 0) throw new RecipeError('recipe: no steps');
  const steps: ValidatedStep[] = [];
  let current = spec;
  for (const [i, step] of recipe.entries()) {
    const name = typeof step?.method === 'string' ? step.method : String(step?.method);
    const label = stepLabel(i, name);
    if (!(name in methods))
      throw new RecipeError(`${label}: unknown method "${name}" (known: ${methodNames(methods).join(', ')})`);
    const method = methods[name as MethodName] as CompressionMethod<unknown>;
    const raw = step.options ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new RecipeError(`${label}: options must be an object`);
    const options = method.validate(raw, current, label);
    const plan = planStep(method, current, options);
    steps.push({ label, method: name as MethodName, options, plan });
    current = plan.spec;
  }
  return steps;
}

export interface PipelineProgress {
  step: string;
  message: string;
}

export interface PipelineOptions {
  data: CompressionData;
  seed?: number;
  fineTune?: Partial<FineTuneSettings>;
  /** Aborted (Ctrl-C): the running step stops fine-tuning, keeps what it has, and later steps are skipped. */
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  methods?: CompressionMethods;
}

export interface PipelineResult {
  weights: ModelWeights;
  masks: WeightMasks;
  steps: StepRow[];
  /** Extra files steps asked to store, by name. */
  files: Record<string, Uint8Array | string>;
  completed: boolean;
}

async function measure(
  weights: ModelWeights,
  data: CompressionData,
): Promise<{ valAccuracy: number; testAccuracy: number | null }> {
  return {
    valAccuracy: await weightsAccuracy(weights, data.validation),
    testAccuracy: data.test ? await weightsAccuracy(weights, data.test) : null,
  };
}

/** The row of a model measured as is (the base model, or any weights). */
export async function measureRow(
  weights: ModelWeights,
  data: CompressionData,
  seconds: number,
): Promise<ReportRow> {
  return reportRow(specWithMeasuredSparsity(weights), { ...(await measure(weights, data)), seconds });
}

export async function runPipeline(
  base: ModelWeights,
  recipe: Recipe | ValidatedStep[],
  options: PipelineOptions,
): Promise<PipelineResult> {
  const methods = options.methods ?? registry;
  const steps = isValidated(recipe) ? recipe : validateRecipe(recipe, base.spec, methods);
  const seed = options.seed ?? 0;
  const settings: FineTuneSettings = { ...DEFAULT_FINE_TUNE, ...options.fineTune };
  let weights = cloneWeights(base);
  let masks: WeightMasks = {};
  const rows: StepRow[] = [];
  const files: Record<string, Uint8Array | string> = {};
  let completed = true;
  for (const [i, step] of steps.entries()) {
    if (options.signal?.aborted) {
      completed = false;
      break;
    }
    const method = methods[step.method] as CompressionMethod<unknown>;
    const log = (message: string) => options.onProgress?.({ step: step.label, message });
    const context: StepContext = {
      label: step.label,
      data: options.data,
      seed: seed + i,
      fineTuneSettings: settings,
      signal: options.signal,
      fineTune: (w, m, request) =>
        fineTuneWeights(w, m, request, settings, options.data, seed + i, options.signal),
      accuracy: (w, split = 'validation') => {
        const data = split === 'test' ? options.data.test : options.data.validation;
        if (!data) throw new RecipeError(`${step.label}: no ${split} data`);
        return weightsAccuracy(w, data);
      },
      log,
    };
    const started = performance.now();
    log('started');
    const output = await method.apply({ weights, masks }, step.options, context);
    const seconds = (performance.now() - started) / 1000;
    // The spec carries what the weights hold: measured sparsity over the method's compression fields.
    weights = { ...output.weights, spec: specWithMeasuredSparsity(output.weights) };
    masks = output.masks;
    Object.assign(files, output.files ?? {});
    const row = reportRow(weights.spec, { ...(await measure(weights, options.data)), seconds });
    rows.push({
      step: step.label,
      method: step.method,
      ...row,
      ...(output.details ? { details: output.details } : {}),
      ...(output.interrupted ? { interrupted: true } : {}),
    });
    log(`done in ${seconds.toFixed(1)} s`);
    if (output.interrupted || options.signal?.aborted) {
      completed = i === steps.length - 1 && !output.interrupted;
      break;
    }
  }
  return { weights, masks, steps: rows, files, completed };
}

function isValidated(recipe: Recipe | ValidatedStep[]): recipe is ValidatedStep[] {
  return recipe.length > 0 && 'plan' in (recipe[0] as object);
}
