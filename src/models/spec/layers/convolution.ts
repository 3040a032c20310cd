/**
 * Convolutions over channels-last images: conv2d (with groups), depthwise and separable.
 * MACs count every kernel tap, padded or not (as published figures do); connections count only
 * taps that reach a real input unit, so with 'same' padding connections < MACs.
 */
import {
  ACTIVATIONS,
  type Conv2dSpec,
  type DepthwiseConv2dSpec,
  type SeparableConv2dSpec,
} from '../types.js';
import {
  boolean,
  type FieldRule,
  formatShape,
  type LayerKind,
  oneOf,
  pair,
  positiveInt,
  positiveIntOrPair,
  realTaps,
  type Shape,
  windowOutput,
} from './kind.js';

type Windowed = Pick<Conv2dSpec, 'kernelSize' | 'strides' | 'padding' | 'dilation'>;

const windowFields: FieldRule[] = [
  { name: 'kernelSize', required: true, check: positiveIntOrPair },
  { name: 'strides', check: positiveIntOrPair },
  { name: 'padding', check: oneOf(['same', 'valid']) },
  { name: 'dilation', check: positiveIntOrPair },
  { name: 'activation', check: oneOf(ACTIVATIONS) },
  { name: 'useBias', check: boolean },
];

interface Window {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  padding: string;
  out: [number, number];
}

function window(spec: Windowed, input: Shape, fail: (m: string) => never): Window {
  if (input.length !== 3) fail(`expects an image [height,width,channels], got ${formatShape(input)}`);
  const k = pair(spec.kernelSize, 1);
  const s = pair(spec.strides, 1);
  const d = pair(spec.dilation, 1);
  const padding = spec.padding ?? 'valid';
  const out: [number, number] = [
    windowOutput(input[0], k[0], s[0], d[0], padding),
    windowOutput(input[1], k[1], s[1], d[1], padding),
  ];
  if (out[0] < 1 || out[1] < 1)
    fail(`kernel ${k.join('x')} does not fit input ${formatShape(input)} with padding 'valid'`);
  return { k, s, d, padding, out };
}

/** Sum over output positions of kernel taps that reach real inputs (both axes). */
function tapsPerChannel(input: Shape, w: Window): number {
  return (
    realTaps(input[0], w.out[0], w.k[0], w.s[0], w.d[0], w.padding) *
    realTaps(input[1], w.out[1], w.k[1], w.s[1], w.d[1], w.padding)
  );
}

const never = (m: string): never => {
  // not a user error: marks branches validation makes unreachable
  throw new Error(m);
};

export const conv2dKind: LayerKind<Conv2dSpec> = {
  type: 'conv2d',
  arity: [1, 1],
  fields: [
    { name: 'filters', required: true, check: positiveInt },
    { name: 'groups', check: positiveInt },
    ...windowFields,
  ],
  outputShape(spec, [input], fail) {
    const w = window(spec, input, fail);
    const groups = spec.groups ?? 1;
    if (input[2] % groups !== 0) fail(`groups ${groups} does not divide the ${input[2]} input channels`);
    if (spec.filters % groups !== 0) fail(`groups ${groups} does not divide the ${spec.filters} filters`);
    return [w.out[0], w.out[1], spec.filters];
  },
  cost(spec, [input]) {
    const w = window(spec, input, never);
    const perGroupIn = input[2] / (spec.groups ?? 1);
    const weights = w.k[0] * w.k[1] * perGroupIn * spec.filters;
    return {
      weights,
      biases: spec.useBias === false ? 0 : spec.filters,
      otherLearned: 0,
      state: 0,
      macs: w.out[0] * w.out[1] * weights,
      connections: tapsPerChannel(input, w) * perGroupIn * spec.filters,
    };
  },
};

export const depthwiseConv2dKind: LayerKind<DepthwiseConv2dSpec> = {
  type: 'depthwiseConv2d',
  arity: [1, 1],
  fields: [{ name: 'depthMultiplier', check: positiveInt }, ...windowFields],
  outputShape(spec, [input], fail) {
    const w = window(spec, input, fail);
    return [w.out[0], w.out[1], input[2] * (spec.depthMultiplier ?? 1)];
  },
  cost(spec, [input]) {
    const w = window(spec, input, never);
    const channels = input[2] * (spec.depthMultiplier ?? 1);
    const weights = w.k[0] * w.k[1] * channels;
    return {
      weights,
      biases: spec.useBias === false ? 0 : channels,
      otherLearned: 0,
      state: 0,
      macs: w.out[0] * w.out[1] * weights,
      connections: tapsPerChannel(input, w) * channels,
    };
  },
};

/** A depthwise convolution followed by a 1x1 convolution, as one layer (Keras SeparableConv2D). */
export const separableConv2dKind: LayerKind<SeparableConv2dSpec> = {
  type: 'separableConv2d',
  arity: [1, 1],
  fields: [
    { name: 'filters', required: true, check: positiveInt },
    { name: 'depthMultiplier', check: positiveInt },
    ...windowFields,
  ],
  outputShape(spec, [input], fail) {
    const w = window(spec, input, fail);
    return [w.out[0], w.out[1], spec.filters];
  },
  cost(spec, [input]) {
    const w = window(spec, input, never);
    const mid = input[2] * (spec.depthMultiplier ?? 1);
    const depthwise = w.k[0] * w.k[1] * mid;
    const pointwise = mid * spec.filters;
    const positions = w.out[0] * w.out[1];
    return {
      weights: depthwise + pointwise,
      biases: spec.useBias === false ? 0 : spec.filters,
      otherLearned: 0,
      state: 0,
      macs: positions * (depthwise + pointwise),
      connections: tapsPerChannel(input, w) * mid + positions * pointwise,
    };
  },
};
