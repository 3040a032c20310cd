/**
 * How channels travel through each layer type, for structured pruning. Every tensor's last axis
 * (channels of an image, units of a vector) is a list of channel ids; a layer's rule says which
 * ids its output carries, given its inputs':
 *
 * - producers (dense, conv2d, separable conv, embedding) make new ids, one per unit or filter;
 * - per-channel layers (batch norm, activations, pooling, padding, dropout, depthwise conv) pass
 *   their input's ids on, so a removed filter takes its batch-norm entries and depthwise kernel along;
 * - `add` joins its operands' ids position by position (a residual group shares one channel set),
 *   `concat` lays its inputs' ids side by side, `flatten` repeats them for each spatial position;
 * - a grouped convolution joins each group's input and output ids (whole groups are removed,
 *   which keeps every group the same size);
 * - layers that mix channels without per-channel weights (softmax, layer norm, attention), model
 *   inputs and outputs, and recurrent units pin their ids: those channels are never removed.
 *
 * Each rule also says how the layer's spec and weight tensors shrink once the kept positions of
 * its inputs and output are known. Pruning removes exactly what a mask that zeroes the same
 * entries would silence, so the shrunk model computes what the masked model computes.
 *
 * The table is typed by `LayerType`: a layer type without a rule does not compile.
 */
import { product, type Shape } from '../models/spec/layers/kind.js';
import type {
  Conv2dSpec,
  DenseSpec,
  LayerSpec,
  LayerType,
  ReshapeSpec,
  SeparableConv2dSpec,
} from '../models/spec/types.js';

/** The spec interface of one layer type (distributes, so types sharing an interface resolve). */
type SpecMatching<S, T> = S extends { type: infer U } ? (T extends U ? S : never) : never;
export type SpecFor<T extends LayerType> = SpecMatching<LayerSpec, T>;

/** What a rule may do while channel ids are propagated through the graph. */
export interface ChannelContext {
  /** New removable ids for `count` outputs of the current layer (its units or filters). */
  produce(count: number): Int32Array;
  /** New ids that no layer owns and that are never removed (a reshape's regrouped channels). */
  fixed(count: number, reason: string): Int32Array;
  /** The two ids are removed together or not at all. */
  join(a: number, b: number): void;
  /** These ids are never removed; `reason` says why (shown when a user asks for the layer). */
  pin(ids: ArrayLike<number>, reason: string): void;
}

export interface RuleShapes {
  inputs: readonly Shape[];
  output: Shape;
}

/** Kept positions (ascending) of the last axis of each input and of the output. */
export interface KeptChannels {
  inputs: readonly Int32Array[];
  output: Int32Array;
}

/** Kept indices per axis of one weight tensor; `null` keeps the axis whole. */
export type AxisSelection = (Int32Array | null)[];

/** A weight tensor and the axis that indexes one of the layer's channel lists. */
export interface TensorAxis {
  tensor: string;
  axis: number;
}

export interface ChannelRule<S extends LayerSpec> {
  /** Channel ids of the output's last axis, from the inputs'. */
  propagate(spec: S, inputs: readonly Int32Array[], shapes: RuleShapes, context: ChannelContext): Int32Array;
  /** The spec with the kept channels only (unchanged for layers whose sizes follow their inputs). */
  resize(spec: S, kept: KeptChannels): S;
  /** Which entries of a weight tensor stay; tensors the rule does not name keep everything. */
  cut(spec: S, kept: KeptChannels, tensor: string, shape: readonly number[]): AxisSelection;
  /** The weights each produced channel owns (filters, weight columns): what norm criteria rank. */
  producerWeights?(spec: S): TensorAxis | null;
  /**
   * Weights that multiply one input channel each inside a product over channels: summed with
   * their gradients they give activation x gradient at the input (first-order Taylor).
   */
  mixingWeights?(spec: S): TensorAxis[];
}

const whole = (rank: number): AxisSelection => Array.from({ length: rank }, () => null);

function passThrough<S extends LayerSpec>(): ChannelRule<S> {
  return {
    propagate: (_spec, [input]) => input,
    resize: (spec) => spec,
    cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
  };
}

function pinInputs<S extends LayerSpec>(reason: string): ChannelRule<S> {
  return {
    propagate(_spec, inputs, _shapes, context) {
      for (const ids of inputs) context.pin(ids, reason);
      return inputs[0];
    },
    resize: (spec) => spec,
    cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
  };
}

/** Activations that act on each value alone keep channels apart; softmax normalises across them. */
const activationRule: ChannelRule<SpecFor<'activation'>> = {
  propagate(spec, [input], _shapes, context) {
    if (spec.activation === 'softmax') context.pin(input, 'softmax normalises across channels');
    return input;
  },
  resize: (spec) => spec,
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

const denseRule: ChannelRule<DenseSpec> = {
  propagate(spec, _inputs, _shapes, context) {
    const units = context.produce(spec.units);
    if (spec.activation === 'softmax') context.pin(units, 'softmax normalises across the units');
    return units;
  },
  resize: (spec, kept) => ({ ...spec, units: kept.output.length }),
  cut(_spec, kept, tensor, shape) {
    if (tensor === 'kernel') return [kept.inputs[0], kept.output];
    if (tensor === 'bias') return [kept.output];
    return whole(shape.length);
  },
  producerWeights: () => ({ tensor: 'kernel', axis: 1 }),
  mixingWeights: () => [{ tensor: 'kernel', axis: 0 }],
};

/**
 * conv2d; with groups > 1, each group's input and output channels are joined into one set, so a
 * group goes as a whole and the groups stay equal (the kernel's input axis is per group and stays).
 */
const conv2dRule: ChannelRule<Conv2dSpec> = {
  propagate(spec, [input], _shapes, context) {
    const output = context.produce(spec.filters);
    if (spec.activation === 'softmax') context.pin(output, 'softmax normalises across the filters');
    const groups = spec.groups ?? 1;
    if (groups > 1) {
      const inPerGroup = input.length / groups;
      const outPerGroup = spec.filters / groups;
      for (let g = 0; g < groups; g++) {
        const anchor = output[g * outPerGroup];
        for (let i = 0; i < inPerGroup; i++) context.join(anchor, input[g * inPerGroup + i]);
        for (let o = 1; o < outPerGroup; o++) context.join(anchor, output[g * outPerGroup + o]);
      }
    }
    return output;
  },
  resize(spec, kept) {
    const groups = spec.groups ?? 1;
    const filters = kept.output.length;
    if (groups === 1) return { ...spec, filters };
    return { ...spec, filters, groups: filters / (spec.filters / groups) };
  },
  cut(spec, kept, tensor, shape) {
    const grouped = (spec.groups ?? 1) > 1;
    if (tensor === 'kernel') return [null, null, grouped ? null : kept.inputs[0], kept.output];
    if (tensor === 'bias') return [kept.output];
    return whole(shape.length);
  },
  producerWeights: () => ({ tensor: 'kernel', axis: 3 }),
  // A grouped convolution's inputs share their set with its outputs: no channel ends there.
  mixingWeights: (spec) => ((spec.groups ?? 1) > 1 ? [] : [{ tensor: 'kernel', axis: 2 }]),
};

/** Output c * multiplier + j comes from input channel c alone: it carries c's id. */
function repeatEach(ids: Int32Array, times: number): Int32Array {
  if (times === 1) return ids;
  const out = new Int32Array(ids.length * times);
  for (let c = 0; c < ids.length; c++) out.fill(ids[c], c * times, (c + 1) * times);
  return out;
}

function expandPositions(kept: Int32Array, times: number): Int32Array {
  if (times === 1) return kept;
  const out = new Int32Array(kept.length * times);
  for (let i = 0; i < kept.length; i++)
    for (let j = 0; j < times; j++) out[i * times + j] = kept[i] * times + j;
  return out;
}

const depthwiseRule: ChannelRule<SpecFor<'depthwiseConv2d'>> = {
  propagate: (spec, [input]) => repeatEach(input, spec.depthMultiplier ?? 1),
  resize: (spec) => spec,
  cut(_spec, kept, tensor, shape) {
    // depthwise_kernel: [kh, kw, channels, multiplier]
    if (tensor === 'depthwise_kernel') return [null, null, kept.inputs[0], null];
    if (tensor === 'bias') return [kept.output];
    return whole(shape.length);
  },
};

const separableRule: ChannelRule<SeparableConv2dSpec> = {
  propagate(spec, _inputs, _shapes, context) {
    const output = context.produce(spec.filters);
    if (spec.activation === 'softmax') context.pin(output, 'softmax normalises across the filters');
    return output;
  },
  resize: (spec, kept) => ({ ...spec, filters: kept.output.length }),
  cut(spec, kept, tensor, shape) {
    if (tensor === 'depthwise_kernel') return [null, null, kept.inputs[0], null];
    if (tensor === 'pointwise_kernel')
      return [null, null, expandPositions(kept.inputs[0], spec.depthMultiplier ?? 1), kept.output];
    if (tensor === 'bias') return [kept.output];
    return whole(shape.length);
  },
  producerWeights: () => ({ tensor: 'pointwise_kernel', axis: 3 }),
  mixingWeights: () => [{ tensor: 'depthwise_kernel', axis: 2 }],
};

const batchNormRule: ChannelRule<SpecFor<'batchNorm'>> = {
  propagate: (_spec, [input]) => input,
  resize: (spec) => spec,
  cut: (_spec, kept, _tensor, shape) => (shape.length === 1 ? [kept.output] : whole(shape.length)),
};

/** flatten and flattening reshapes: the channel ids repeat once per position before the last axis. */
function tile(ids: Int32Array, times: number): Int32Array {
  if (times === 1) return ids;
  const out = new Int32Array(ids.length * times);
  for (let t = 0; t < times; t++) out.set(ids, t * ids.length);
  return out;
}

const flattenRule: ChannelRule<SpecFor<'flatten'>> = {
  propagate: (_spec, [input], shapes) => tile(input, product(shapes.inputs[0]) / input.length),
  resize: (spec) => spec,
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

/**
 * A reshape that keeps the last axis ([c] to [1, 1, c]) passes ids on; one to a single axis
 * flattens; any other reshape regroups channels and pins them.
 */
function reshapeMode(input: Shape, output: Shape): 'keep-last' | 'flatten' | 'other' {
  const last = (s: Shape) => s[s.length - 1];
  if (last(input) === last(output)) return 'keep-last';
  if (output.length === 1) return 'flatten';
  return 'other';
}

const reshapeRule: ChannelRule<ReshapeSpec> = {
  propagate(_spec, [input], shapes, context) {
    const mode = reshapeMode(shapes.inputs[0], shapes.output);
    if (mode === 'keep-last') return input;
    if (mode === 'flatten') return tile(input, product(shapes.inputs[0]) / input.length);
    context.pin(input, 'a reshape regroups its channels');
    return context.fixed(shapes.output[shapes.output.length - 1], 'a reshape regroups its channels');
  },
  resize(spec, kept) {
    // Only the last entry names a channel count; -1 still infers the right size after pruning.
    const shape = [...spec.shape];
    const last = shape.length - 1;
    if (shape[last] !== -1) shape[last] = kept.output.length;
    return { ...spec, shape };
  },
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

const addRule: ChannelRule<SpecFor<'add'>> = {
  propagate(_spec, inputs, _shapes, context) {
    const [first] = inputs;
    for (const other of inputs.slice(1))
      for (let i = 0; i < first.length; i++) context.join(first[i], other[i]);
    return first;
  },
  resize: (spec) => spec,
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

const concatRule: ChannelRule<SpecFor<'concat'>> = {
  propagate(spec, inputs, shapes, context) {
    const rank = shapes.output.length;
    const axis = (spec.axis ?? -1) < 0 ? rank + (spec.axis ?? -1) : (spec.axis as number);
    if (axis === rank - 1) {
      const out = new Int32Array(inputs.reduce((n, ids) => n + ids.length, 0));
      let at = 0;
      for (const ids of inputs) {
        out.set(ids, at);
        at += ids.length;
      }
      return out;
    }
    // Joined along another axis, the inputs' channels line up like an add's.
    return addRule.propagate({ type: 'add', name: spec.name, inputs: spec.inputs }, inputs, shapes, context);
  },
  resize: (spec) => spec,
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

const embeddingRule: ChannelRule<SpecFor<'embedding'>> = {
  propagate: (spec, _inputs, _shapes, context) => context.produce(spec.outputDim),
  resize: (spec, kept) => ({ ...spec, outputDim: kept.output.length }),
  cut(_spec, kept, tensor, shape) {
    if (tensor === 'embeddings') return [null, kept.output];
    return whole(shape.length);
  },
  producerWeights: () => ({ tensor: 'embeddings', axis: 1 }),
};

/** Recurrent layers drop input features (kernel rows); their units stay. */
const recurrentRule: ChannelRule<SpecFor<'lstm'>> = {
  propagate(spec, _inputs, _shapes, context) {
    const units = context.produce(spec.units);
    context.pin(units, 'recurrent units are not pruned');
    return units;
  },
  resize: (spec) => spec,
  cut(_spec, kept, tensor, shape) {
    if (tensor === 'kernel') return [kept.inputs[0], null];
    return whole(shape.length);
  },
  mixingWeights: () => [{ tensor: 'kernel', axis: 0 }],
};

const attentionRule: ChannelRule<SpecFor<'multiHeadAttention'>> = {
  propagate(_spec, inputs, shapes, context) {
    for (const ids of inputs) context.pin(ids, 'attention is not pruned by channel');
    const output = context.produce(shapes.output[shapes.output.length - 1]);
    context.pin(output, 'attention is not pruned by channel');
    return output;
  },
  resize: (spec) => spec,
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

/** Experts share the input and output channels: neither is pruned by channel. */
const expertsRule: ChannelRule<SpecFor<'mixtureOfExperts'>> = {
  propagate(spec, inputs, _shapes, context) {
    for (const ids of inputs) context.pin(ids, 'mixture-of-experts channels are not pruned');
    const output = context.produce(spec.units);
    context.pin(output, 'mixture-of-experts channels are not pruned');
    return output;
  },
  resize: (spec) => spec,
  cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
};

/**
 * An elementwise multiply (squeeze-and-excitation's gate times its features) keeps channels apart
 * like an add: its operands' ids are joined; an operand broadcast over the channel axis (last
 * dimension 1) adds none. Removing channel c is exact: the features' channel c is zero in the
 * masked model, so is its product with any gate.
 * The table below carries it already, typed so that it compiles with or without the `multiply`
 * layer type in `LayerType` (main has it; this branch was cut before it landed).
 */
export function multiplyRule<S extends LayerSpec>(): ChannelRule<S> {
  return {
    propagate(_spec, inputs, _shapes, context) {
      const full = inputs.filter((ids) => ids.length > 1 || inputs.every((other) => other.length === 1));
      const [first] = full;
      for (const other of full.slice(1))
        for (let i = 0; i < first.length; i++) context.join(first[i], other[i]);
      return first;
    },
    resize: (spec) => spec,
    cut: (_spec, _kept, _tensor, shape) => whole(shape.length),
  };
}

type ChannelRules = { readonly [T in LayerType]: ChannelRule<SpecFor<T>> };

// The intersection admits the `multiply` entry before the layer type exists; once it does, the
// mapped type requires it like every other entry.
export const CHANNEL_RULES: ChannelRules & { readonly multiply: ChannelRule<never> } = {
  dense: denseRule,
  conv2d: conv2dRule,
  depthwiseConv2d: depthwiseRule,
  separableConv2d: separableRule,
  maxPool2d: passThrough(),
  avgPool2d: passThrough(),
  globalAvgPool2d: passThrough(),
  globalMaxPool2d: passThrough(),
  globalAvgPool1d: passThrough(),
  zeroPadding2d: passThrough(),
  batchNorm: batchNormRule,
  layerNorm: pinInputs('layer norm statistics span the channels'),
  dropout: passThrough(),
  flatten: flattenRule,
  reshape: reshapeRule,
  activation: activationRule,
  add: addRule,
  concat: concatRule,
  embedding: embeddingRule,
  lstm: recurrentRule,
  gru: recurrentRule,
  multiHeadAttention: attentionRule,
  mixtureOfExperts: expertsRule,
  // ChannelRule<never> fits any spec type: the rule reads no spec fields.
  multiply: multiplyRule<never>(),
};

/** The rule of a layer, typed for any spec (the table is checked per type above). */
export function channelRule(type: LayerType): ChannelRule<LayerSpec> {
  return CHANNEL_RULES[type] as unknown as ChannelRule<LayerSpec>;
}
