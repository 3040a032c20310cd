/**
 * Multi-head attention (Keras MultiHeadAttention): inputs [query] (self-attention) or
 * [query, value] or [query, value, key], each [steps, features]. Parameters are the four
 * projections. MACs add the two attention products (scores and weighted values), which have
 * no weights and so add no connections.
 */
import type { MultiHeadAttentionSpec } from '../types.js';
import { boolean, formatShape, type LayerKind, optional, positiveInt, required } from './kind.js';

export const multiHeadAttentionKind: LayerKind<MultiHeadAttentionSpec> = {
  type: 'multiHeadAttention',
  arity: [1, 3],
  fields: {
    numHeads: required(positiveInt),
    keyDim: required(positiveInt),
    valueDim: optional(positiveInt),
    useBias: optional(boolean),
  },
  outputShape(_spec, inputs, fail) {
    for (const shape of inputs)
      if (shape.length !== 2) fail(`expects sequences [steps,features], got ${formatShape(shape)}`);
    const value = inputs[1] ?? inputs[0];
    const key = inputs[2] ?? value;
    if (key[0] !== value[0]) fail(`key ${formatShape(key)} and value ${formatShape(value)} differ in steps`);
    return inputs[0];
  },
  cost(spec, inputs) {
    const query = inputs[0];
    const value = inputs[1] ?? query;
    const key = inputs[2] ?? value;
    const h = spec.numHeads;
    const kd = spec.keyDim;
    const vd = spec.valueDim ?? kd;
    const [tq, dq] = query;
    const [tv, dv] = value;
    const dk = key[1];
    const weights = dq * h * kd + dk * h * kd + dv * h * vd + h * vd * dq;
    const projections = tq * dq * h * kd + tv * dk * h * kd + tv * dv * h * vd + tq * h * vd * dq;
    return {
      weights,
      biases: spec.useBias === false ? 0 : 2 * h * kd + h * vd + dq,
      otherLearned: 0,
      state: 0,
      macs: projections + tq * tv * h * kd + tq * tv * h * vd,
      connections: projections,
    };
  },
};
