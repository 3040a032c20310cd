/**
 * Cost of a network whose size changes at run time, from its stored spec alone: the static upper
 * bound (everything running: full width, every head, every cascade member) and the cost of each
 * way it can run (per width, per exit, per member: what a sample answered there has run). Given
 * the share of samples that run each way (measured on data, and stored with a chosen threshold),
 * the expected cost per sample. A plain model with conditional layers (mixture of experts) runs
 * one way: its top-k experts per sample.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileNotFoundError, InvalidArgumentError, ModelSpecError } from '../core/errors.js';
import { analyzeModel, type ModelComplexity } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { parseModelSpec } from '../models/spec/validate.js';
import { MODEL_FILES } from '../models/tfjs/save.js';
import { DYNAMIC_FILE, type DynamicModelSpec, readDynamicSpec } from './format.js';
import { cumulativeOutputCosts } from './graph.js';
import { specAtWidth } from './slimmable.js';

export interface DynamicVariant {
  /** "width 0.5", "exit 1 (exit-1)", "member 0 (mlp-8)". */
  label: string;
  /** Parameters and MACs a sample that runs this way uses (earlier exits or members included). */
  params: number;
  macs: number;
}

export interface DynamicComplexity {
  /** `conditional`: a plain model whose conditional layers run part of their weights per sample. */
  kind: DynamicModelSpec['kind'] | 'conditional';
  /**
   * Everything that can run for one sample (the largest width, every head, every member) and
   * everything stored: `params` learned parameters, `stateValues` batch-norm statistics. A
   * slimmable network stores one batch-norm set per width, so its bound counts every set.
   */
  upperBound: { params: number; macs: number; stateValues: number };
  variants: DynamicVariant[];
  /**
   * Mean MACs per sample when `shares` of the samples run each variant: the shares given, else
   * those stored with the threshold (validation data); a conditional model's active MACs.
   */
  expectedMacs?: number;
  /** The shares `expectedMacs` was computed from. */
  shares?: number[];
}

export function analyzeDynamicModel(
  spec: DynamicModelSpec,
  shares: readonly number[] | undefined = spec.kind === 'slimmable' ? undefined : spec.exitShares,
): DynamicComplexity {
  let variants: DynamicVariant[];
  let upperBound: DynamicComplexity['upperBound'];
  if (spec.kind === 'slimmable') {
    const perWidth = spec.widths.map((w) => analyzeModel(specAtWidth(spec.model, spec.widths, w)));
    variants = perWidth.map((a, i) => ({
      label: `width ${spec.widths[i]}`,
      params: a.activeParams,
      macs: a.activeMacs,
    }));
    // Shared weights once (at full width); switchable batch norm's scale, offset and statistics once per width.
    const full = perWidth[perWidth.length - 1];
    const norms = (a: ModelComplexity, key: 'params' | 'stateValues') =>
      a.layers.reduce((sum, l) => sum + (l.type === 'batchNorm' ? l[key] : 0), 0);
    const allNorms = (key: 'params' | 'stateValues') => perWidth.reduce((sum, a) => sum + norms(a, key), 0);
    upperBound = {
      params: full.params - norms(full, 'params') + allNorms('params'),
      macs: full.macs,
      stateValues: full.stateValues - norms(full, 'stateValues') + allNorms('stateValues'),
    };
  } else if (spec.kind === 'early-exit') {
    variants = cumulativeOutputCosts(spec.model).map((c, i) => ({
      label: `exit ${i + 1} (${c.output})`,
      params: c.params,
      macs: c.activeMacs,
    }));
    const all = analyzeModel(spec.model);
    upperBound = { params: all.params, macs: all.macs, stateValues: all.stateValues };
  } else {
    let params = 0;
    let macs = 0;
    let upperMacs = 0;
    let stateValues = 0;
    variants = spec.members.map((m, i) => {
      const a = analyzeModel(m);
      params += a.params;
      macs += a.activeMacs;
      upperMacs += a.macs;
      stateValues += a.stateValues;
      return { label: `member ${i} (${m.name ?? 'model'})`, params, macs };
    });
    upperBound = { params, macs: upperMacs, stateValues };
  }
  const result: DynamicComplexity = { kind: spec.kind, upperBound, variants };
  if (shares) {
    if (shares.length !== variants.length || Math.abs(shares.reduce((a, b) => a + b, 0) - 1) > 1e-6)
      throw new InvalidArgumentError(`analyzeDynamicModel: ${variants.length} shares summing to 1 expected`);
    result.expectedMacs = shares.reduce((sum, s, i) => sum + s * variants[i].macs, 0);
    result.shares = [...shares];
  }
  return result;
}

/** A plain model with conditional layers: every expert at most, its top-k experts per sample. */
export function analyzeConditionalModel(spec: ModelSpec): DynamicComplexity {
  const a = analyzeModel(spec);
  if (a.activeMacs === a.macs && a.activeParams === a.params)
    throw new ModelSpecError(
      `${spec.name ?? 'model'}: not a dynamic model (no conditional layer: every sample runs all of it)`,
    );
  return {
    kind: 'conditional',
    upperBound: { params: a.params, macs: a.macs, stateValues: a.stateValues },
    variants: [{ label: 'top-k experts', params: a.activeParams, macs: a.activeMacs }],
    expectedMacs: a.activeMacs,
    shares: [1],
  };
}

/**
 * Whether a directory holds a saved dynamic network (`parsimony-dynamic.json`), and its spec.
 * Null for anything else (a plain model directory, a file).
 */
export async function readDynamicDirectory(dir: string): Promise<DynamicModelSpec | null> {
  if (!(await stat(dir).catch(() => null))?.isDirectory()) return null;
  if (!(await stat(path.join(dir, DYNAMIC_FILE)).catch(() => null))) return null;
  return readDynamicSpec(dir);
}

/**
 * The cost of a saved model directory: a dynamic network (`parsimony-dynamic.json`), or a plain
 * model whose spec (`parsimony-model.json`) has conditional layers.
 */
export async function analyzeSavedModel(dir: string): Promise<DynamicComplexity> {
  const dynamic = await readDynamicDirectory(dir);
  if (dynamic) return analyzeDynamicModel(dynamic);
  const file = path.join(dir, MODEL_FILES.spec);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(path.join(dir, DYNAMIC_FILE), 'dynamic model file', { cause: error });
    throw error;
  }
  return analyzeConditionalModel(parseModelSpec(text, file));
}
