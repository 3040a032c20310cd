/** Token embedding: a lookup table, so weights but no MACs or weighted connections. */
import type { EmbeddingSpec } from '../types.js';
import { type LayerKind, positiveInt, required } from './kind.js';

export const embeddingKind: LayerKind<EmbeddingSpec> = {
  type: 'embedding',
  arity: [1, 1],
  fields: { inputDim: required(positiveInt), outputDim: required(positiveInt) },
  outputShape: (spec, [input]) => [...input, spec.outputDim],
  cost: (spec) => ({
    weights: spec.inputDim * spec.outputDim,
    biases: 0,
    otherLearned: 0,
    state: 0,
    macs: 0,
    connections: 0,
  }),
};
