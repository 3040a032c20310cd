/**
 * Sensitivity analysis (Han et al. 2015): prune each layer alone by magnitude at 10%..95% and
 * measure validation accuracy without retraining. Layers whose accuracy holds at high sparsity
 * can be pruned hard; `sparsitiesFromSensitivity` turns the curves into per-layer sparsities
 * (the largest sparsity each layer takes within an accuracy drop) for the `magnitude` method.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../core/errors.js';
import { evaluate, type TrainingData } from '../train/trainer.js';
import { buildModelWithWeights, hasWeights, type ModelWeights, TENSOR_ROLES } from './model-weights.js';
import { layerwiseMasks } from './prune-masks.js';

export const SENSITIVITY_SPARSITIES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95] as const;

export interface LayerSensitivity {
  name: string;
  weights: number;
  /** Validation accuracy with only this layer pruned, one per sparsity. */
  accuracy: number[];
}

export interface SensitivityResult {
  baseline: number;
  sparsities: number[];
  layers: LayerSensitivity[];
}

export interface SensitivityOptions {
  sparsities?: readonly number[];
  /** Layers to analyse (default: every layer with weights). */
  layers?: readonly string[];
  onProgress?: (layer: string, sparsity: number, accuracy: number) => void;
  signal?: AbortSignal;
}

export async function analyzeSensitivity(
  weights: ModelWeights,
  validation: TrainingData,
  options: SensitivityOptions = {},
): Promise<SensitivityResult> {
  const sparsities = [...(options.sparsities ?? SENSITIVITY_SPARSITIES)];
  for (const s of sparsities)
    if (!(s >= 0 && s < 1))
      throw new InvalidArgumentError(`sensitivity: sparsity must be in [0, 1), got ${s}`);
  const candidates = weights.layers.filter((l) => hasWeights(l.type));
  for (const name of options.layers ?? [])
    if (!candidates.some((l) => l.layer === name))
      throw new InvalidArgumentError(`sensitivity: no layer with weights named "${name}"`);
  const chosen = options.layers ? candidates.filter((l) => options.layers?.includes(l.layer)) : candidates;
  const tf = await import('@tensorflow/tfjs-core');
  const model = await buildModelWithWeights(weights);
  try {
    const baseline = (await evaluate(model, validation)).accuracy;
    const layers: LayerSensitivity[] = [];
    for (const layer of chosen) {
      if (options.signal?.aborted) break;
      const target = model.getLayer(layer.layer);
      const original = layer.tensors.map((t) => tf.tensor(t.values, t.shape));
      const weightNames = layer.tensors.filter((t) => TENSOR_ROLES[layer.type][t.name]?.role === 'weight');
      const accuracy: number[] = [];
      for (const sparsity of sparsities) {
        const masks = layerwiseMasks(
          [{ layer: layer.layer, tensors: weightNames.map((t) => ({ name: t.name, values: t.values })) }],
          new Map([[layer.layer, sparsity]]),
        );
        const own = masks.get(layer.layer);
        const pruned = layer.tensors.map((t) => {
          const mask = own?.get(t.name);
          if (!mask) return tf.tensor(t.values, t.shape);
          const values = t.values.map((v, i) => (mask[i] ? v : 0));
          return tf.tensor(values, t.shape);
        });
        target.setWeights(pruned as TfCore.Tensor[]);
        tf.dispose(pruned);
        const acc = (await evaluate(model, validation)).accuracy;
        accuracy.push(acc);
        options.onProgress?.(layer.layer, sparsity, acc);
      }
      target.setWeights(original);
      tf.dispose(original);
      layers.push({
        name: layer.layer,
        weights: weightNames.reduce((a, t) => a + t.values.length, 0),
        accuracy,
      });
    }
    return { baseline, sparsities, layers };
  } finally {
    model.dispose();
  }
}

/**
 * Per layer, the largest analysed sparsity whose accuracy stays within `maxDrop` (a fraction,
 * 0.01 = one point) of the baseline; 0 when even the smallest loses more.
 */
export function sparsitiesFromSensitivity(
  result: SensitivityResult,
  maxDrop: number,
): Record<string, number> {
  if (!(maxDrop >= 0 && maxDrop < 1))
    throw new InvalidArgumentError(`sensitivity: the accuracy drop must be in [0, 1), got ${maxDrop}`);
  const out: Record<string, number> = {};
  for (const layer of result.layers) {
    let best = 0;
    for (const [i, s] of result.sparsities.entries())
      if (result.baseline - layer.accuracy[i] <= maxDrop + 1e-12) best = Math.max(best, s);
    out[layer.name] = best;
  }
  return out;
}

/** A plain-text table: one row per layer, one column per sparsity (validation accuracy in %). */
export function formatSensitivityTable(result: SensitivityResult): string {
  const header = ['layer', 'weights', ...result.sparsities.map((s) => `${Math.round(100 * s)}%`)];
  const rows = result.layers.map((l) => [
    l.name,
    l.weights.toLocaleString('en-US'),
    ...l.accuracy.map((a) => (100 * a).toFixed(1)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `validation accuracy with one layer pruned (baseline ${(100 * result.baseline).toFixed(2)}%)`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
