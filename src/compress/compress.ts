/**
 * One compression run end to end, as the CLI and the benchmark do it: validate the whole recipe,
 * measure the base model, run the steps, store the result atomically, and measure the result on
 * the model loaded back from what was stored. Without `out`, the result is stored in a temporary
 * directory that is removed afterwards (the measurement still goes through the stored files).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { weightsAccuracy } from './fine-tune.js';
import type { CompressionData, FineTuneSettings } from './method.js';
import type { ModelWeights, WeightMasks } from './model-weights.js';
import { measureRow, type PipelineProgress, type Recipe, runPipeline, validateRecipe } from './pipeline.js';
import { type CompressionReport, layerKept, reportRow } from './report.js';
import { checkOutputDir, writeCompressedModel } from './store.js';

export interface CompressOptions {
  base: ModelWeights;
  recipe: Recipe;
  data: CompressionData;
  /** Output directory; omitted: a temporary one, removed after measuring. */
  out?: string;
  seed?: number;
  fineTune?: Partial<FineTuneSettings>;
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  /** Seconds already spent on the base model (training it here), for its row. */
  baseSeconds?: number;
  dataset?: string;
}

export interface CompressOutcome {
  report: CompressionReport;
  weights: ModelWeights;
  masks: WeightMasks;
}

export async function compressModel(options: CompressOptions): Promise<CompressOutcome> {
  const steps = validateRecipe(options.recipe, options.base.spec);
  if (options.out) await checkOutputDir(options.out);
  const base = await measureRow(options.base, options.data, options.baseSeconds ?? 0);
  const result = await runPipeline(options.base, steps, {
    data: options.data,
    seed: options.seed,
    fineTune: options.fineTune,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const temporary = options.out ? null : await mkdtemp(path.join(tmpdir(), 'parsimony-compress-'));
  try {
    const report = await writeCompressedModel(options.out ?? path.join(temporary as string, 'model'), {
      weights: result.weights,
      masks: result.masks,
      files: result.files,
      finishReport: async (stored) => {
        const started = performance.now();
        const valAccuracy = await weightsAccuracy(stored.weights, options.data.validation);
        const testAccuracy = options.data.test
          ? await weightsAccuracy(stored.weights, options.data.test)
          : null;
        const stepSeconds = result.steps.reduce((a, s) => a + s.seconds, 0);
        return {
          model: options.base.spec.name ?? 'model',
          ...(options.dataset ? { dataset: options.dataset } : {}),
          base,
          steps: result.steps,
          result: reportRow(stored.weights.spec, {
            valAccuracy,
            testAccuracy,
            seconds: stepSeconds + (performance.now() - started) / 1000,
          }),
          layers: layerKept(stored.weights),
          completed: result.completed,
        };
      },
    });
    return { report, weights: result.weights, masks: result.masks };
  } finally {
    if (temporary) await rm(temporary, { recursive: true, force: true });
  }
}
