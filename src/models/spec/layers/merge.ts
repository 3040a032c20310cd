/** Layers that join several inputs: residual add and concatenation. */
import type { AddSpec, ConcatSpec } from '../types.js';
import { formatShape, integer, type LayerKind, NO_COST } from './kind.js';

export const addKind: LayerKind<AddSpec> = {
  type: 'add',
  arity: [2, Number.POSITIVE_INFINITY],
  fields: [],
  outputShape(_spec, inputs, fail) {
    const [first] = inputs;
    for (const other of inputs.slice(1))
      if (other.length !== first.length || other.some((d, i) => d !== first[i]))
        fail(`input shapes ${formatShape(first)} and ${formatShape(other)} differ`);
    return first;
  },
  cost: () => NO_COST,
};

export const concatKind: LayerKind<ConcatSpec> = {
  type: 'concat',
  arity: [2, Number.POSITIVE_INFINITY],
  fields: [{ name: 'axis', check: integer }],
  outputShape(spec, inputs, fail) {
    const rank = inputs[0].length;
    const axis = (spec.axis ?? -1) < 0 ? rank + (spec.axis ?? -1) : (spec.axis as number);
    if (axis < 0 || axis >= rank) fail(`axis ${spec.axis} is outside inputs of rank ${rank}`);
    const out = [...inputs[0]];
    for (const other of inputs.slice(1)) {
      if (other.length !== rank || other.some((d, i) => i !== axis && d !== inputs[0][i]))
        fail(`input shapes ${formatShape(inputs[0])} and ${formatShape(other)} differ outside axis ${axis}`);
      out[axis] += other[axis];
    }
    return out;
  },
  cost: () => NO_COST,
};
