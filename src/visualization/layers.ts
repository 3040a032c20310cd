/** Per-layer complexity of a model spec a trial stored: parameters, MACs and stored size by layer. */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import { parseModelSpec } from '../models/spec/validate.js';

/** Attributes searched, in order, for a stored model spec (an object or its JSON text). */
export const MODEL_SPEC_ATTRS = ['modelSpec', 'model_spec', 'spec', 'model'];

export interface LayerComplexityData {
  number: number;
  model: string;
  layers: { name: string; type: string; params: number; macs: number; storedBytes: number }[];
  total: { params: number; macs: number; storedBytes: number };
}

/** The stored spec of a trial, or null when it stored none. */
export function findModelSpec(trial: FrozenTrial, key?: string): { key: string; spec: unknown } | null {
  for (const k of key ? [key] : MODEL_SPEC_ATTRS) {
    const v = trial.userAttrs[k] ?? trial.systemAttrs[k];
    if (v !== undefined && v !== null && (typeof v === 'object' || typeof v === 'string'))
      return { key: k, spec: v };
  }
  return null;
}

export function getLayerComplexityData(
  trial: FrozenTrial,
  options: { key?: string } = {},
): LayerComplexityData {
  const found = findModelSpec(trial, options.key);
  if (!found)
    throw new InvalidArgumentError(
      `trial ${trial.number} stored no model spec (looked for attribute ${options.key ? `"${options.key}"` : MODEL_SPEC_ATTRS.map((k) => `"${k}"`).join(', ')})`,
    );
  const spec = parseModelSpec(found.spec, `trial ${trial.number} attribute "${found.key}"`);
  const c = analyzeModel(spec);
  return {
    number: trial.number,
    model: c.name,
    layers: c.layers.map((l) => ({
      name: l.name,
      type: l.type,
      params: l.params,
      macs: l.macs,
      storedBytes: Math.ceil(l.storedBits / 8),
    })),
    total: { params: c.params, macs: c.macs, storedBytes: Math.ceil(c.storedBits / 8) },
  };
}
