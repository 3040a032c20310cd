/** Layers that only reshape or transform values elementwise: no parameters, MACs or connections. */
import {
  ACTIVATIONS,
  type ActivationSpec,
  type DropoutSpec,
  type FlattenSpec,
  type ReshapeSpec,
} from '../types.js';
import {
  fieldCheck,
  formatShape,
  fraction,
  type LayerKind,
  NO_COST,
  oneOf,
  product,
  required,
} from './kind.js';

export const flattenKind: LayerKind<FlattenSpec> = {
  type: 'flatten',
  arity: [1, 1],
  fields: {},
  outputShape: (_spec, [input]) => [product(input)],
  cost: () => NO_COST,
};

export const reshapeKind: LayerKind<ReshapeSpec> = {
  type: 'reshape',
  arity: [1, 1],
  fields: {
    shape: required(
      fieldCheck(
        {
          type: 'array',
          minItems: 1,
          items: { anyOf: [{ type: 'integer', minimum: 1 }, { const: -1 }] },
          description: 'at most one entry may be -1 (inferred)',
        },
        (v) =>
          Array.isArray(v) &&
          v.length > 0 &&
          v.every((x) => Number.isInteger(x) && (x > 0 || x === -1)) &&
          v.filter((x) => x === -1).length <= 1
            ? null
            : `must be a list of positive integers with at most one -1, got ${JSON.stringify(v)}`,
      ),
    ),
  },
  outputShape(spec, [input], fail) {
    const size = product(input);
    const known = product(spec.shape.filter((x) => x !== -1));
    const out = spec.shape.map((x) => (x === -1 ? size / known : x));
    if (!out.every(Number.isInteger) || product(out) !== size)
      fail(`cannot reshape ${formatShape(input)} (${size} values) to ${formatShape(spec.shape)}`);
    return out;
  },
  cost: () => NO_COST,
};

export const dropoutKind: LayerKind<DropoutSpec> = {
  type: 'dropout',
  arity: [1, 1],
  fields: { rate: required(fraction) },
  outputShape: (_spec, [input]) => input,
  cost: () => NO_COST,
};

export const activationKind: LayerKind<ActivationSpec> = {
  type: 'activation',
  arity: [1, 1],
  fields: { activation: required(oneOf(ACTIVATIONS)) },
  outputShape: (_spec, [input]) => input,
  cost: () => NO_COST,
};
