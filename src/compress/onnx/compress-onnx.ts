/**
 * `parsimony compress model.onnx`: a recipe of steps that need no training (magnitude or global
 * pruning, int8 quantization, weight clustering, low-rank factorisation of Gemm/MatMul weights)
 * applied to an ONNX model's initializers and graph, written as a new ONNX file. Every step's
 * options are checked before anything runs, and the file is written only when every step worked
 * (to a temporary name, then renamed). Fine-tuning needs a trainable model: see import-spec.ts.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { OnnxError, RecipeError } from '../../core/errors.js';
import { readGraph } from '../../models/formats/onnx/graph.js';
import { readOnnxFile, writeOnnxFile } from '../../models/formats/onnx/model-file.js';
import type { ModelProto } from '../../models/formats/onnx/proto.js';
import { CALIBRATION_METHODS, type CalibrationMethod, type Range } from '../calibration.js';
import { KMEANS_INITS, type KMeansInit } from '../kmeans.js';
import { checkKnownFields, readChoice, readNumber, readOptionalNumber, readStringList } from '../method.js';
import type { Recipe } from '../pipeline.js';
import { calibrationSamples, graphInput } from './calibrate.js';
import { ONNX_QUANTIZATION_MODES, type OnnxQuantizeOptions, quantizeOnnx } from './quantize.js';
import { graphOf } from './tensors.js';
import {
  type ClusterOptions,
  clusterOnnx,
  lowRankOnnx,
  type OnnxLowRankOptions,
  type PruneOptions,
  pruneOnnx,
  type TensorChange,
} from './weight-methods.js';

export const ONNX_METHODS = ['magnitude', 'global', 'quantize', 'cluster', 'lowrank'] as const;
export type OnnxMethodName = (typeof ONNX_METHODS)[number];

type StepOptions =
  | { method: 'magnitude' | 'global'; options: PruneOptions }
  | { method: 'quantize'; options: OnnxQuantizeOptions & { calibrationSamples: number } }
  | { method: 'cluster'; options: Omit<ClusterOptions, 'seed'> }
  | { method: 'lowrank'; options: OnnxLowRankOptions };

export interface OnnxStep {
  label: string;
  step: StepOptions;
}

type Raw = Readonly<Record<string, unknown>>;

function label(i: number, method: string): string {
  return `step ${i + 1} (${method})`;
}

/** Checks a recipe for an ONNX model; throws RecipeError naming the step and the field. */
export function validateOnnxRecipe(recipe: Recipe): OnnxStep[] {
  if (!Array.isArray(recipe) || recipe.length === 0) throw new RecipeError('recipe: no steps');
  return recipe.map((s, i) => {
    const method = String(s?.method);
    const step = label(i, method);
    const o: Raw = s.options ?? {};
    if (!(ONNX_METHODS as readonly string[]).includes(method))
      throw new RecipeError(
        `${step}: method "${method}" does not apply to an ONNX graph without training (ONNX methods: ${ONNX_METHODS.join(', ')}; others need fine-tuning: give --finetune-epochs to import the model as a spec)`,
      );
    switch (method) {
      case 'magnitude':
      case 'global': {
        checkKnownFields(o, ['sparsity', 'skip', ...(method === 'global' ? ['lastLayerMinKept'] : [])], step);
        return {
          label: step,
          step: {
            method,
            options: {
              sparsity: readNumber(o, 'sparsity', step, { min: 0, max: 1, maxExclusive: true }),
              global: method === 'global',
              lastLayerMinKept: readOptionalNumber(o, 'lastLayerMinKept', step, { min: 0, max: 1 }),
              skip: readStringList(o, 'skip', step),
            },
          },
        };
      }
      case 'quantize': {
        checkKnownFields(
          o,
          ['mode', 'bits', 'granularity', 'activations', 'percentile', 'calibrationSamples', 'skip'],
          step,
        );
        readNumber(o, 'bits', step, { min: 8, max: 8, integer: true }, 8);
        const activations =
          o.activations === undefined
            ? undefined
            : readChoice(o, 'activations', step, CALIBRATION_METHODS, 'minmax');
        const mode = readChoice(o, 'mode', step, ONNX_QUANTIZATION_MODES, activations ? 'static' : 'dynamic');
        if (activations && mode !== 'static')
          throw new RecipeError(
            `${step}: field "activations" calibrates static quantization; mode "${mode}" has none`,
          );
        return {
          label: step,
          step: {
            method,
            options: {
              mode,
              granularity: readChoice(o, 'granularity', step, ['tensor', 'channel'] as const, 'channel'),
              activations: (activations ?? 'minmax') as CalibrationMethod,
              percentile: readOptionalNumber(o, 'percentile', step, {
                min: 50,
                minExclusive: true,
                max: 100,
              }),
              calibrationSamples: readNumber(o, 'calibrationSamples', step, { min: 1, integer: true }, 256),
              skip: readStringList(o, 'skip', step),
            },
          },
        };
      }
      case 'cluster': {
        checkKnownFields(o, ['bits', 'init', 'skip'], step);
        return {
          label: step,
          step: {
            method,
            options: {
              bits: readNumber(o, 'bits', step, { min: 1, max: 8, integer: true }, 5),
              init: readChoice(o, 'init', step, KMEANS_INITS, 'linear') as KMeansInit,
              skip: readStringList(o, 'skip', step),
            },
          },
        };
      }
      default: {
        checkKnownFields(o, ['rank', 'energy', 'paramRatio', 'layers'], step);
        const rule = {
          rank: readOptionalNumber(o, 'rank', step, { min: 1, integer: true }),
          energy: readOptionalNumber(o, 'energy', step, { min: 0, minExclusive: true, max: 1 }),
          paramRatio: readOptionalNumber(o, 'paramRatio', step, {
            min: 0,
            minExclusive: true,
            max: 1,
            maxExclusive: true,
          }),
        };
        const set = Object.entries(rule).filter(([, v]) => v !== undefined);
        if (set.length !== 1)
          throw new RecipeError(
            `${step}: give exactly one of rank, energy or paramRatio${set.length ? `, got ${set.map(([k]) => k).join(' and ')}` : ''}`,
          );
        return {
          label: step,
          step: {
            method: 'lowrank',
            options: {
              ...rule,
              layers: o.layers === undefined ? undefined : readStringList(o, 'layers', step),
            },
          },
        };
      }
    }
  });
}

export interface OnnxStepReport {
  step: string;
  method: OnnxMethodName;
  tensors: TensorChange[];
  activationRanges?: Record<string, Range>;
}

export interface OnnxCompressResult {
  file: string;
  out: string;
  steps: OnnxStepReport[];
}

export interface OnnxCompressOptions {
  /** Dataset for calibration (static quantization). */
  dataset?: string;
  seed?: number;
  onProgress?: (line: string) => void;
}

/** Runs the validated steps on the model in `file` and writes the result to `out`. */
export async function compressOnnxFile(
  file: string,
  steps: OnnxStep[],
  out: string,
  options: OnnxCompressOptions = {},
): Promise<OnnxCompressResult> {
  const model = readOnnxFile(file);
  readGraph(model); // opsets and graph checked: one line naming the file
  const proto: ModelProto = model.proto;
  const graph = graphOf(proto, file);
  const reports: OnnxStepReport[] = [];
  for (const { label: step, step: s } of steps) {
    const where = `${file}: ${step}`;
    switch (s.method) {
      case 'magnitude':
      case 'global':
        reports.push({ step, method: s.method, tensors: pruneOnnx(graph, s.options, where) });
        break;
      case 'cluster':
        reports.push({
          step,
          method: s.method,
          tensors: clusterOnnx(graph, { ...s.options, seed: options.seed ?? 0 }, where),
        });
        break;
      case 'lowrank':
        reports.push({ step, method: s.method, tensors: lowRankOnnx(graph, s.options, where) });
        break;
      case 'quantize': {
        let calibration: { samples: Float32Array[]; input: ReturnType<typeof graphInput> } | undefined;
        if (s.options.mode === 'static') {
          if (!options.dataset)
            throw new OnnxError(`${where}: static quantization calibrates on data: give a dataset`);
          const input = graphInput(graph, file);
          calibration = {
            input,
            samples: await calibrationSamples(
              options.dataset,
              options.seed ?? 0,
              s.options.calibrationSamples,
              input,
              file,
            ),
          };
        }
        const result = await quantizeOnnx(graph, s.options, { file, step, proto, calibration });
        reports.push({
          step,
          method: s.method,
          tensors: result.changes,
          activationRanges: result.activationRanges,
        });
        break;
      }
    }
    const last = reports[reports.length - 1];
    options.onProgress?.(
      `${step}: done (${last.tensors.length} weight tensor${last.tensors.length === 1 ? '' : 's'})`,
    );
  }
  // Written under a temporary name and renamed: a failure leaves nothing at `out`.
  const temporary = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.partial`);
  try {
    await mkdir(path.dirname(path.resolve(out)), { recursive: true });
    writeOnnxFile(proto, temporary);
    await rename(temporary, out);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { file, out, steps: reports };
}
