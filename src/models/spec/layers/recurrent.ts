/**
 * LSTM and GRU over a sequence [steps, features], with Keras's parameter layout: LSTM has 4
 * gates, each with input and recurrent kernels and one bias; GRU (reset_after, Keras's default)
 * has 3 gates with two biases each. Weights are shared across steps, so MACs and connections
 * grow with the sequence length while parameters do not.
 */
import type { RecurrentSpec } from '../types.js';
import { boolean, formatShape, type LayerKind, optional, positiveInt, required } from './kind.js';

function recurrent(type: RecurrentSpec['type'], gates: number): LayerKind<RecurrentSpec> {
  return {
    type,
    arity: [1, 1],
    fields: {
      units: required(positiveInt),
      returnSequences: optional(boolean),
      useBias: optional(boolean),
      resetAfter: type === 'gru' ? optional(boolean) : null,
    },
    outputShape(spec, [input], fail) {
      if (input.length !== 2) fail(`expects a sequence [steps,features], got ${formatShape(input)}`);
      return spec.returnSequences ? [input[0], spec.units] : [spec.units];
    },
    cost(spec, [input]) {
      const [steps, features] = input;
      const weights = gates * spec.units * (features + spec.units);
      return {
        weights,
        biases:
          spec.useBias === false
            ? 0
            : gates * (type === 'gru' && spec.resetAfter !== false ? 2 : 1) * spec.units,
        otherLearned: 0,
        state: 0,
        macs: steps * weights,
        connections: steps * weights,
      };
    },
  };
}

export const lstmKind = recurrent('lstm', 4);
export const gruKind = recurrent('gru', 3);
