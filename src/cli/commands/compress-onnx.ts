/**
 * `parsimony compress model.onnx --dataset D --method ...`: the ONNX graph compressed without
 * training (src/compress/onnx/), written as a new .onnx file, then the original and the written
 * file evaluated side by side with onnxruntime-node on the dataset's held-out split. Options that
 * need training (fine-tuning, structured pruning, distillation, a sparsity search) import the model
 * as a Parsimony spec instead (see compress.ts); this file handles the rest.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { OnnxCompressResult } from '../../compress/onnx/compress-onnx.js';
import type { Recipe } from '../../compress/pipeline.js';
import { InvalidArgumentError, UsageError } from '../../core/errors.js';
import type { EvaluationResult } from '../../deploy/evaluate.js';
import type { CommandIO } from '../output.js';
import { formatInteger, formatTable } from '../output.js';
import type { CompressCommandOptions } from './compress.js';

/** The one-step recipe the flags describe. */
function recipeFromFlags(options: CompressCommandOptions): Recipe {
  const o: Record<string, unknown> = {};
  const method = options.method;
  const skip = options.skip ? options.skip.split(',').map((s) => s.trim()) : undefined;
  const refuse = (flag: string, value: unknown) => {
    if (value !== undefined && value !== false)
      throw new UsageError(`${flag} does not apply to --method ${method} on an ONNX model`);
  };
  refuse('--schedule', options.schedule);
  refuse('--keep', options.keep);
  refuse('--criterion', options.criterion);
  refuse('--teacher', options.teacher);
  refuse('--student', options.student);
  refuse('--mixup', options.mixup);
  refuse('--shift', options.shift);
  refuse('--flip', options.flip);
  refuse('--lr-schedule', options.lrSchedule);
  refuse('--learning-rate', options.learningRate);
  if (method === 'magnitude' || method === 'global') {
    if (options.sparsity === undefined) throw new UsageError('--sparsity is required');
    o.sparsity = options.sparsity;
    if (options.lastLayerMinKept !== undefined) {
      if (method !== 'global') throw new UsageError('--last-layer-min-kept applies to --method global');
      o.lastLayerMinKept = options.lastLayerMinKept;
    }
  } else refuse('--sparsity', options.sparsity);
  if (method === 'quantize') {
    if (options.bits !== undefined) o.bits = options.bits;
    if (options.perChannel) o.granularity = 'channel';
    if (options.activations !== undefined) o.activations = options.activations;
    if (options.quantization !== undefined) o.mode = options.quantization;
    if (options.calibrationSamples !== undefined) o.calibrationSamples = options.calibrationSamples;
  } else {
    refuse('--per-channel', options.perChannel);
    refuse('--activations', options.activations);
    refuse('--quantization', options.quantization);
    refuse('--calibration-samples', options.calibrationSamples);
  }
  if (method === 'cluster' && options.bits !== undefined) o.bits = options.bits;
  if (method !== 'quantize' && method !== 'cluster') refuse('--bits', options.bits);
  if (method === 'lowrank') {
    if (options.energy !== undefined) o.energy = options.energy;
    if (options.rank !== undefined) o.rank = options.rank;
    if (options.paramRatio !== undefined) o.paramRatio = options.paramRatio;
    if (options.layers !== undefined) o.layers = options.layers.split(',').map((l) => l.trim());
    if (skip) throw new UsageError('--method lowrank picks its layers with --layers, not --skip');
  } else if (skip) o.skip = skip;
  return [{ method, options: o }];
}

export async function runCompressOnnx(
  reference: string,
  options: CompressCommandOptions,
  io: CommandIO,
): Promise<void> {
  const { validateOnnxRecipe, compressOnnxFile } = await import('../../compress/onnx/compress-onnx.js');
  const recipe = options.recipe
    ? await (await import('../../compress/recipe-file.js')).readRecipe(options.recipe)
    : recipeFromFlags(options);
  const steps = validateOnnxRecipe(recipe);
  if (!(await stat(reference).catch(() => null))) {
    const { FileNotFoundError } = await import('../../core/errors.js');
    throw new FileNotFoundError(reference, 'ONNX model');
  }
  const methods = recipe.map((s) => s.method).join('-');
  const out =
    options.out ?? path.join('parsimony-results', `${path.basename(reference, '.onnx')}-${methods}.onnx`);
  if (!out.toLowerCase().endsWith('.onnx'))
    throw new InvalidArgumentError(`--out ${out}: an ONNX model compresses to a .onnx file`);
  if ((await stat(out).catch(() => null))?.isDirectory())
    throw new InvalidArgumentError(`--out ${out}: is a directory, not a .onnx file`);
  if (path.resolve(out) === path.resolve(reference))
    throw new InvalidArgumentError(`--out ${out}: would overwrite the model being compressed`);
  const { evaluateModel } = await import('../../deploy/evaluate.js');
  // The original is evaluated first: a dataset that does not fit the graph fails before any work.
  const evaluation = { dataset: options.dataset, seed: options.seed, repeats: 10 };
  const base = await evaluateModel(reference, evaluation);
  const result = await compressOnnxFile(reference, steps, out, {
    dataset: options.dataset,
    seed: options.seed,
    onProgress: (line) => io.stderr(line),
  });
  const compressed = await evaluateModel(out, evaluation);
  const { analyzeOnnxFile } = await import('../../models/formats/onnx/analyze.js');
  const { isParsimonyError } = await import('../../core/errors.js');
  // Counts need every op to have a cost rule; a graph analyze cannot count still compresses.
  const counts = (file: string) => {
    try {
      const a = analyzeOnnxFile(file);
      return { params: a.params, nonZeroParams: a.nonZeroParams, macs: a.macs };
    } catch (error) {
      if (!isParsimonyError(error)) throw error;
      return { params: null, nonZeroParams: null, macs: null };
    }
  };
  const summary = {
    base: { ...counts(reference), ...base },
    result: { ...counts(out), ...compressed },
    steps: result.steps,
    out,
  };
  io.stdout(options.json ? JSON.stringify(summary, null, 2) : formatOnnxReport(summary, result));
}

type Row = EvaluationResult & { params: number | null; nonZeroParams: number | null; macs: number | null };

function formatOnnxReport(
  summary: { base: Row; result: Row; out: string },
  result: OnnxCompressResult,
): string {
  const rows = [
    { label: 'original', ...summary.base },
    { label: 'compressed (written file)', ...summary.result },
  ];
  const table = formatTable(rows, [
    { header: '', value: (r) => r.label },
    { header: 'params', value: (r) => count(r.params), align: 'right' },
    { header: 'non-zero', value: (r) => count(r.nonZeroParams), align: 'right' },
    { header: 'MACs', value: (r) => count(r.macs), align: 'right' },
    { header: 'file bytes', value: (r) => formatInteger(r.fileBytes), align: 'right' },
    {
      header: `${r0(summary.base.split)} acc`,
      value: (r) => `${(100 * r.accuracy).toFixed(2)}%`,
      align: 'right',
    },
    { header: 'ms/sample', value: (r) => r.latencyPerSampleMs.toFixed(3), align: 'right' },
    {
      header: `ms/batch ${summary.base.batchSize}`,
      value: (r) => r.latencyPerBatchMs.toFixed(3),
      align: 'right',
    },
  ]);
  const tensors = result.steps.flatMap((s) => s.tensors.map((t) => ({ step: s.step, ...t })));
  const detail = formatTable(tensors, [
    { header: 'step', value: (t) => t.step },
    { header: 'node', value: (t) => t.node },
    { header: 'op', value: (t) => t.op },
    { header: 'weights', value: (t) => formatInteger(t.weights), align: 'right' },
    { header: 'non-zero', value: (t) => formatInteger(t.nonZeroAfter), align: 'right' },
    { header: 'what', value: (t) => t.note ?? '' },
  ]);
  return [
    `compressed ${result.file} -> ${summary.out}`,
    '',
    table,
    '',
    detail,
    '',
    `Accuracy and latency measured with ${summary.base.runtime} (${summary.base.threads} thread${summary.base.threads === 1 ? '' : 's'}) on the files as written.`,
  ].join('\n');
}

function count(n: number | null): string {
  return n === null ? '-' : formatInteger(n);
}

function r0(split: string): string {
  return split === 'test' ? 'test' : 'val';
}
