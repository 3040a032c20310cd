/**
 * Normalisation over the last axis. Batch norm's scale and offset are learned; its moving mean
 * and variance are state (stored, not learned). Neither counts MACs: at inference batch norm folds
 * into the preceding layer, and published MAC figures leave it out.
 */
import type { BatchNormSpec, LayerNormSpec } from '../types.js';
import { formatShape, fraction, type LayerKind, optional, positiveNumber } from './kind.js';

export const batchNormKind: LayerKind<BatchNormSpec> = {
  type: 'batchNorm',
  arity: [1, 1],
  fields: { epsilon: optional(positiveNumber), momentum: optional(fraction) },
  outputShape(_spec, [input], fail) {
    if (input.length === 0) fail(`needs at least one axis, got ${formatShape(input)}`);
    return input;
  },
  cost(_spec, [input]) {
    const c = input[input.length - 1];
    return { weights: 0, biases: 0, otherLearned: 2 * c, state: 2 * c, macs: 0, connections: 0 };
  },
};

export const layerNormKind: LayerKind<LayerNormSpec> = {
  type: 'layerNorm',
  arity: [1, 1],
  fields: { epsilon: optional(positiveNumber) },
  outputShape(_spec, [input], fail) {
    if (input.length === 0) fail(`needs at least one axis, got ${formatShape(input)}`);
    return input;
  },
  cost(_spec, [input]) {
    const c = input[input.length - 1];
    return { weights: 0, biases: 0, otherLearned: 2 * c, state: 0, macs: 0, connections: 0 };
  },
};
