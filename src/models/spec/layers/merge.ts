/** Layers that join several inputs: residual add, elementwise product and concatenation. */
import type { AddSpec, ConcatSpec, MultiplySpec } from '../types.js';
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

/**
 * Broadcasting as NumPy does, with shapes aligned at the last axis (the batch axis, left out of
 * spec shapes, stays first): every axis is equal or 1 in all but one input. TensorFlow.js's
 * Multiply inserts the missing axes after the batch axis, which is the same alignment.
 */
export const multiplyKind: LayerKind<MultiplySpec> = {
  type: 'multiply',
  arity: [2, Number.POSITIVE_INFINITY],
  fields: [],
  outputShape(_spec, inputs, fail) {
    const rank = Math.max(...inputs.map((s) => s.length));
    const out: number[] = new Array(rank).fill(1);
    for (const shape of inputs)
      for (let i = 1; i <= shape.length; i++) {
        const [d, o] = [shape[shape.length - i], out[rank - i]];
        if (d !== o && d !== 1 && o !== 1)
          fail(
            `input shapes ${inputs.map(formatShape).join(' and ')} do not broadcast (axes, counted from the last, must be equal or 1)`,
          );
        out[rank - i] = Math.max(d, o);
      }
    return out;
  },
  // An elementwise product has no weights: like bias adds and activations, not counted as MACs.
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
