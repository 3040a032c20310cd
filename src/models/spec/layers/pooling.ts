/** Pooling and padding: no weights, so no parameters, MACs or weighted connections. */
import type { GlobalPoolSpec, Pool2dSpec, ZeroPadding2dSpec } from '../types.js';
import {
  boolean,
  formatShape,
  type LayerKind,
  NO_COST,
  oneOf,
  pair,
  poolOutput,
  positiveIntOrPair,
} from './kind.js';

function pool2d(type: Pool2dSpec['type']): LayerKind<Pool2dSpec> {
  return {
    type,
    arity: [1, 1],
    fields: [
      { name: 'poolSize', required: true, check: positiveIntOrPair },
      { name: 'strides', check: positiveIntOrPair },
      { name: 'padding', check: oneOf(['same', 'valid']) },
      { name: 'ceilMode', check: boolean },
    ],
    outputShape(spec, [input], fail) {
      if (input.length !== 3) fail(`expects an image [height,width,channels], got ${formatShape(input)}`);
      const k = pair(spec.poolSize, 1);
      const s = spec.strides === undefined ? k : pair(spec.strides, 1);
      const padding = spec.padding ?? 'valid';
      if (spec.ceilMode && padding !== 'valid')
        fail(`ceilMode applies to padding 'valid' only ('same' already rounds the output size up)`);
      const out = [0, 1].map((a) => poolOutput(input[a], k[a], s[a], padding, spec.ceilMode === true));
      if (out[0] < 1 || out[1] < 1) fail(`pool ${k.join('x')} does not fit input ${formatShape(input)}`);
      return [out[0], out[1], input[2]];
    },
    cost: () => NO_COST,
  };
}

export const maxPool2dKind = pool2d('maxPool2d');
export const avgPool2dKind = pool2d('avgPool2d');

function globalPool(type: GlobalPoolSpec['type'], rank: number): LayerKind<GlobalPoolSpec> {
  return {
    type,
    arity: [1, 1],
    fields: [],
    outputShape(_spec, [input], fail) {
      if (input.length !== rank)
        fail(
          `expects ${rank === 3 ? 'an image [height,width,channels]' : 'a sequence [steps,features]'}, got ${formatShape(input)}`,
        );
      return [input[input.length - 1]];
    },
    cost: () => NO_COST,
  };
}

export const globalAvgPool2dKind = globalPool('globalAvgPool2d', 3);
export const globalMaxPool2dKind = globalPool('globalMaxPool2d', 3);
export const globalAvgPool1dKind = globalPool('globalAvgPool1d', 2);

function padding(spec: ZeroPadding2dSpec): [[number, number], [number, number]] {
  const p = spec.padding;
  return typeof p === 'number'
    ? [
        [p, p],
        [p, p],
      ]
    : p;
}

export const zeroPadding2dKind: LayerKind<ZeroPadding2dSpec> = {
  type: 'zeroPadding2d',
  arity: [1, 1],
  fields: [
    {
      name: 'padding',
      required: true,
      check: (v) =>
        (Number.isInteger(v) && (v as number) >= 0) ||
        (Array.isArray(v) &&
          v.length === 2 &&
          v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => Number.isInteger(x) && x >= 0)))
          ? null
          : `must be a non-negative integer or [[top,bottom],[left,right]], got ${JSON.stringify(v)}`,
    },
  ],
  outputShape(spec, [input], fail) {
    if (input.length !== 3) fail(`expects an image [height,width,channels], got ${formatShape(input)}`);
    const [[t, b], [l, r]] = padding(spec);
    return [input[0] + t + b, input[1] + l + r, input[2]];
  },
  cost: () => NO_COST,
};
