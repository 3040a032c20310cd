/** Fully connected layer, applied to the last axis (Keras semantics for inputs of rank > 1). */
import { ACTIVATIONS, type DenseSpec } from '../types.js';
import {
  boolean,
  formatShape,
  type LayerKind,
  oneOf,
  optional,
  positiveInt,
  product,
  required,
} from './kind.js';

export const denseKind: LayerKind<DenseSpec> = {
  type: 'dense',
  arity: [1, 1],
  fields: {
    units: required(positiveInt),
    activation: optional(oneOf(ACTIVATIONS)),
    useBias: optional(boolean),
  },
  outputShape(spec, [input], fail) {
    if (input.length === 0) fail(`dense needs at least one axis, got ${formatShape(input)}`);
    return [...input.slice(0, -1), spec.units];
  },
  cost(spec, [input]) {
    const d = input[input.length - 1];
    const weights = d * spec.units;
    const positions = product(input.slice(0, -1));
    return {
      weights,
      biases: spec.useBias === false ? 0 : spec.units,
      otherLearned: 0,
      state: 0,
      macs: positions * weights,
      connections: positions * weights,
    };
  },
};
