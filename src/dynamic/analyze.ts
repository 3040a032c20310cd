/**
 * Cost of a network whose size changes at run time, from its stored spec alone: the static upper
 * bound (everything running: full width, every head, every cascade member) and the cost of each
 * way it can run (per width, per exit, per member: what a sample answered there has run). Given
 * the share of samples that run each way (measured on data), the expected cost per sample.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { DynamicModelSpec } from './format.js';
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
  kind: DynamicModelSpec['kind'];
  /** Everything that can run for one sample: the largest width, every head, every member. */
  upperBound: { params: number; macs: number };
  variants: DynamicVariant[];
  /** Mean MACs per sample when `shares` of the samples run each variant (given shares only). */
  expectedMacs?: number;
}

export function analyzeDynamicModel(spec: DynamicModelSpec, shares?: readonly number[]): DynamicComplexity {
  let variants: DynamicVariant[];
  let upperBound: { params: number; macs: number };
  if (spec.kind === 'slimmable') {
    variants = spec.widths.map((w) => {
      const a = analyzeModel(specAtWidth(spec.model, spec.widths, w));
      return { label: `width ${w}`, params: a.activeParams, macs: a.activeMacs };
    });
    const full = analyzeModel(spec.model);
    upperBound = { params: full.params, macs: full.macs };
  } else if (spec.kind === 'early-exit') {
    variants = cumulativeOutputCosts(spec.model).map((c, i) => ({
      label: `exit ${i + 1} (${c.output})`,
      params: c.params,
      macs: c.activeMacs,
    }));
    const all = analyzeModel(spec.model);
    upperBound = { params: all.params, macs: all.macs };
  } else {
    let params = 0;
    let macs = 0;
    let upperMacs = 0;
    variants = spec.members.map((m, i) => {
      const a = analyzeModel(m);
      params += a.params;
      macs += a.activeMacs;
      upperMacs += a.macs;
      return { label: `member ${i} (${m.name ?? 'model'})`, params, macs };
    });
    upperBound = { params, macs: upperMacs };
  }
  const result: DynamicComplexity = { kind: spec.kind, upperBound, variants };
  if (shares) {
    if (shares.length !== variants.length || Math.abs(shares.reduce((a, b) => a + b, 0) - 1) > 1e-6)
      throw new InvalidArgumentError(`analyzeDynamicModel: ${variants.length} shares summing to 1 expected`);
    result.expectedMacs = shares.reduce((sum, s, i) => sum + s * variants[i].macs, 0);
  }
  return result;
}
