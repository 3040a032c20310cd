/**
 * The compression report: one row for the base model, one per recipe step, and the result as
 * stored. Rows share one shape so a table or `--json` prints them alike.
 */
import type { ModelSpec } from '../models/spec/types.js';
import { type CostSummary, costOf } from './method.js';
import { countNonZero, type ModelWeights } from './model-weights.js';

export interface ReportRow extends CostSummary {
  /** Bytes of what is stored (storedBits / 8, rounded up). */
  storedBytes: number;
  /** Stored bits per non-zero parameter (32 for float32, about 8 for int8 weights). */
  bitsPerWeight: number;
  /** Bits of the dense float32 model over stored bits (1 for the base model). */
  compressionRatio: number;
  valAccuracy: number | null;
  testAccuracy: number | null;
  /** Wall-clock seconds of this step (training for the base model when it was trained here). */
  seconds: number;
}

export interface StepRow extends ReportRow {
  /** The step's label, "step 1 (magnitude)". */
  step: string;
  method: string;
  /** Method-specific facts (per-layer sparsities, ranks, ...). */
  details?: Record<string, unknown>;
  /** Fine-tuning was stopped early (Ctrl-C). */
  interrupted?: boolean;
}

export interface LayerKept {
  name: string;
  /** Fraction of the layer's weights that are non-zero. */
  kept: number;
  weights: number;
}

export interface CompressionReport {
  model: string;
  dataset?: string;
  base: ReportRow;
  steps: StepRow[];
  /** Measured on the model rebuilt from the stored files. */
  result: ReportRow;
  layers: LayerKept[];
  /** False when Ctrl-C stopped the recipe; the rows say what was done. */
  completed: boolean;
}

/** The spec without compression fields: what dense float32 storage costs. */
function denseSpec(spec: ModelSpec): ModelSpec {
  return { ...spec, layers: spec.layers.map(({ compression: _, ...rest }) => rest) } as ModelSpec;
}

export function reportRow(
  spec: ModelSpec,
  measured: { valAccuracy: number | null; testAccuracy: number | null; seconds: number },
): ReportRow {
  const cost = costOf(spec);
  const dense = costOf(denseSpec(spec));
  return {
    ...cost,
    storedBytes: Math.ceil(cost.storedBits / 8),
    bitsPerWeight: cost.nonZeroParams > 0 ? cost.storedBits / cost.nonZeroParams : 0,
    compressionRatio: cost.storedBits > 0 ? dense.storedBits / cost.storedBits : 0,
    ...measured,
  };
}

export function layerKept(weights: ModelWeights): LayerKept[] {
  return weights.layers.flatMap((layer) => {
    const { total, nonZero } = countNonZero(layer);
    return total === 0 ? [] : [{ name: layer.layer, kept: nonZero / total, weights: total }];
  });
}

/** The `--json` shape: rows keep the fields the CLI documents. */
export function reportJson(report: CompressionReport) {
  return {
    model: report.model,
    dataset: report.dataset,
    completed: report.completed,
    base: report.base,
    result: report.result,
    steps: report.steps,
    layers: report.layers.map((l) => ({ name: l.name, kept: l.kept })),
  };
}
