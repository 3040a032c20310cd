/**
 * Static shape inference over an ONNX graph, op by op: output shapes from input shapes and
 * attributes, and the values of small constant tensors (shapes computed by Shape, Gather, Concat...)
 * so that a Reshape's target is known. Every op the analysis supports has an entry in SHAPE_RULES.
 */
import { OnnxError } from '../../../core/errors.js';
import { ELEMENTWISE_OPS } from './elementwise-ops.js';
import { type AttributeValue, type OnnxNode, tensorValues } from './graph.js';
import type { TensorProto } from './proto.js';

export interface TensorInfo {
  shape: number[];
  dataType: number;
  /** Known values (constants and shape computations up to a few thousand elements). */
  value?: number[];
  /** Computed from initializers and constants alone, not from a graph input. */
  constant: boolean;
}

export interface ShapeContext {
  node: OnnxNode;
  inputs: (TensorInfo | undefined)[];
  opset: number;
  file: string;
}

type ShapeRule = (c: ShapeContext) => Omit<TensorInfo, 'constant'>[];

const MAX_TRACKED_VALUES = 4096;
const FLOAT = 1;
const INT64 = 7;
const BOOL = 9;
const UINT8 = 2;
const INT32 = 6;

export function fail(c: ShapeContext, why: string): never {
  throw new OnnxError(`${c.file}: node '${c.node.name}' (${c.node.opType}): ${why}`);
}

export function input(c: ShapeContext, i: number): TensorInfo {
  const t = c.inputs[i];
  if (!t) fail(c, `input ${i} (${c.node.inputs[i] ?? 'missing'}) is not available`);
  return t;
}

function optionalInput(c: ShapeContext, i: number): TensorInfo | undefined {
  return c.node.inputs[i] ? c.inputs[i] : undefined;
}

function values(c: ShapeContext, i: number, what: string): number[] {
  const t = input(c, i);
  if (!t.value)
    fail(
      c,
      `its ${what} (input ${i}, ${c.node.inputs[i]}) is not a constant, so the output shape is not static`,
    );
  return t.value;
}

export function attr(c: ShapeContext, name: string): AttributeValue | undefined {
  return c.node.attributes.get(name);
}
export function intAttr(c: ShapeContext, name: string, fallback: number): number {
  const v = attr(c, name);
  return typeof v === 'number' ? v : fallback;
}
export function intsAttr(c: ShapeContext, name: string): number[] | undefined {
  const v = attr(c, name);
  return Array.isArray(v) ? (v as number[]) : undefined;
}
function stringAttr(c: ShapeContext, name: string, fallback: string): string {
  const v = attr(c, name);
  return typeof v === 'string' ? v : fallback;
}

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const small = (v: number[] | undefined) => (v && v.length <= MAX_TRACKED_VALUES ? v : undefined);

export function broadcast(c: ShapeContext, shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - rank + i] ?? 1;
      if (x === 1) continue;
      if (d !== 1 && d !== x) fail(c, `shapes ${shapes.map((s) => `[${s}]`).join(', ')} do not broadcast`);
      d = x;
    }
    out.push(d);
  }
  return out;
}

/** Elementwise values of a broadcast operation, when the inputs' values are known and aligned. */
function elementwise(c: ShapeContext, f: (...xs: number[]) => number): number[] | undefined {
  const vs = c.inputs.map((t) => t?.value);
  if (vs.some((v) => !v)) return undefined;
  const n = Math.max(...vs.map((v) => (v as number[]).length));
  if (vs.some((v) => (v as number[]).length !== n && (v as number[]).length !== 1)) return undefined;
  return Array.from({ length: n }, (_, i) =>
    f(...vs.map((v) => ((v as number[]).length === 1 ? (v as number[])[0] : (v as number[])[i]))),
  );
}

const same: ShapeRule = (c) => [
  { shape: input(c, 0).shape, dataType: input(c, 0).dataType, value: input(c, 0).value },
];
const sameNoValue: ShapeRule = (c) => [{ shape: input(c, 0).shape, dataType: input(c, 0).dataType }];

function binary(f?: (a: number, b: number) => number, dataType?: number): ShapeRule {
  return (c) => {
    const ins = c.node.inputs.map((_, i) => input(c, i));
    return [
      {
        shape: broadcast(
          c,
          ins.map((t) => t.shape),
        ),
        dataType: dataType ?? ins[0].dataType,
        value: f ? small(elementwise(c, (...xs) => xs.reduce(f))) : undefined,
      },
    ];
  };
}

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  out: number[];
}

/** Output size and padding of a convolution or pooling window over the spatial dims. */
export function windowShape(c: ShapeContext, spatial: number[], kernel: number[], ceilMode = false): Window {
  const n = spatial.length;
  const strides = intsAttr(c, 'strides') ?? Array(n).fill(1);
  const dilations = intsAttr(c, 'dilations') ?? Array(n).fill(1);
  const pads = intsAttr(c, 'pads') ?? Array(2 * n).fill(0);
  const autoPad = stringAttr(c, 'auto_pad', 'NOTSET');
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = Math.ceil(spatial[i] / strides[i]);
      const total = Math.max(0, (o - 1) * strides[i] + span - spatial[i]);
      const small = Math.floor(total / 2);
      padsBegin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      padsEnd.push(total - padsBegin[i]);
      out.push(o);
    } else {
      const pb = autoPad === 'VALID' ? 0 : pads[i];
      const pe = autoPad === 'VALID' ? 0 : pads[i + n];
      const room = spatial[i] + pb + pe - span;
      let o = (ceilMode ? Math.ceil(room / strides[i]) : Math.floor(room / strides[i])) + 1;
      // a ceil-mode window must start inside the input or its left padding
      if (ceilMode && (o - 1) * strides[i] >= spatial[i] + pb) o--;
      if (o < 1) fail(c, `window ${span} does not fit in input size ${spatial[i]} with padding ${pb}+${pe}`);
      padsBegin.push(pb);
      padsEnd.push(pe);
      out.push(o);
    }
  }
  return { kernel, strides, dilations, padsBegin, padsEnd, out };
}

const conv: ShapeRule = (c) => {
  const x = input(c, 0).shape;
  const w = input(c, 1).shape;
  const kernel = intsAttr(c, 'kernel_shape') ?? w.slice(2);
  const win = windowShape(c, x.slice(2), kernel);
  return [{ shape: [x[0], w[0], ...win.out], dataType: input(c, 0).dataType }];
};

const convTranspose: ShapeRule = (c) => {
  const x = input(c, 0).shape;
  const w = input(c, 1).shape;
  const group = intAttr(c, 'group', 1);
  const n = x.length - 2;
  const kernel = intsAttr(c, 'kernel_shape') ?? w.slice(2);
  const strides = intsAttr(c, 'strides') ?? Array(n).fill(1);
  const dilations = intsAttr(c, 'dilations') ?? Array(n).fill(1);
  const pads = intsAttr(c, 'pads') ?? Array(2 * n).fill(0);
  const outputPadding = intsAttr(c, 'output_padding') ?? Array(n).fill(0);
  const outputShape = intsAttr(c, 'output_shape');
  const autoPad = stringAttr(c, 'auto_pad', 'NOTSET');
  const spatial = x.slice(2).map((d, i) => {
    if (outputShape) return outputShape[outputShape.length - n + i];
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * strides[i];
    return (
      strides[i] * (d - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[i + n]
    );
  });
  return [{ shape: [x[0], w[1] * group, ...spatial], dataType: input(c, 0).dataType }];
};

function pool(ceilAttr: boolean): ShapeRule {
  return (c) => {
    const x = input(c, 0).shape;
    const kernel = intsAttr(c, 'kernel_shape');
    if (!kernel) fail(c, 'no kernel_shape');
    const win = windowShape(c, x.slice(2), kernel, ceilAttr && intAttr(c, 'ceil_mode', 0) === 1);
    const shape = [x[0], x[1], ...win.out];
    return [
      { shape, dataType: input(c, 0).dataType },
      { shape, dataType: INT64 },
    ];
  };
}

const globalPool: ShapeRule = (c) => {
  const x = input(c, 0).shape;
  return [{ shape: [x[0], x[1], ...x.slice(2).map(() => 1)], dataType: input(c, 0).dataType }];
};

const gemm: ShapeRule = (c) => {
  const a = input(c, 0).shape;
  const b = input(c, 1).shape;
  const m = intAttr(c, 'transA', 0) ? a[1] : a[0];
  const n = intAttr(c, 'transB', 0) ? b[0] : b[1];
  return [{ shape: [m, n], dataType: input(c, 0).dataType }];
};

/** numpy matmul shapes: [batch..., m, k] x [batch..., k, n]. */
export function matmulDims(c: ShapeContext): {
  batch: number[];
  m: number;
  k: number;
  n: number;
  out: number[];
} {
  const a = input(c, 0).shape;
  const b = input(c, 1).shape;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const [m, k] = a2.slice(-2);
  const [k2, n] = b2.slice(-2);
  if (k !== k2) fail(c, `inner dimensions differ: [${a}] x [${b}]`);
  const batch = broadcast(c, [a2.slice(0, -2), b2.slice(0, -2)]);
  const out = [...batch, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [n])];
  return { batch, m, k, n, out };
}

const matmul: ShapeRule = (c) => [{ shape: matmulDims(c).out, dataType: input(c, 0).dataType }];

const flatten: ShapeRule = (c) => {
  const x = input(c, 0);
  const axis = normAxis(intAttr(c, 'axis', 1), x.shape.length);
  return [
    {
      shape: [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))],
      dataType: x.dataType,
      value: x.value,
    },
  ];
};

const reshape: ShapeRule = (c) => {
  const x = input(c, 0);
  const target = c.opset < 5 ? (intsAttr(c, 'shape') ?? []) : values(c, 1, 'target shape');
  const allowZero = intAttr(c, 'allowzero', 0) === 1;
  const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const unknown = shape.indexOf(-1);
  if (unknown >= 0) {
    const known = product(shape.filter((_, i) => i !== unknown));
    shape[unknown] = known === 0 ? 0 : product(x.shape) / known;
  }
  if (product(shape) !== product(x.shape)) fail(c, `cannot reshape [${x.shape}] to [${target}]`);
  return [{ shape, dataType: x.dataType, value: x.value }];
};

const transpose: ShapeRule = (c) => {
  const x = input(c, 0);
  const perm = intsAttr(c, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  return [{ shape: perm.map((p) => x.shape[p]), dataType: x.dataType }];
};

const concat: ShapeRule = (c) => {
  const ins = c.node.inputs.map((_, i) => input(c, i)).filter((t) => t.shape.length > 0 || t.value);
  const rank = ins[0].shape.length;
  const axis = normAxis(intAttr(c, 'axis', 0), rank);
  const shape = [...ins[0].shape];
  shape[axis] = ins.reduce((a, t) => a + t.shape[axis], 0);
  const value = rank === 1 && ins.every((t) => t.value) ? ins.flatMap((t) => t.value as number[]) : undefined;
  return [{ shape, dataType: ins[0].dataType, value: small(value) }];
};

function axesOf(c: ShapeContext, inputIndex: number, sinceOpset: number): number[] | undefined {
  if (c.opset >= sinceOpset) return optionalInput(c, inputIndex) ? values(c, inputIndex, 'axes') : undefined;
  return intsAttr(c, 'axes');
}

const squeeze: ShapeRule = (c) => {
  const x = input(c, 0);
  const axes = axesOf(c, 1, 13)?.map((a) => normAxis(a, x.shape.length));
  const shape = x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  return [{ shape, dataType: x.dataType, value: x.value }];
};

const unsqueeze: ShapeRule = (c) => {
  const x = input(c, 0);
  const raw = axesOf(c, 1, 13);
  if (!raw) fail(c, 'no axes');
  const rank = x.shape.length + raw.length;
  const axes = raw.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
  const shape = [...x.shape];
  for (const a of axes) shape.splice(a, 0, 1);
  return [{ shape, dataType: x.dataType, value: x.value }];
};

const shapeOp: ShapeRule = (c) => {
  const x = input(c, 0).shape;
  const rank = x.length;
  const start = normAxis(intAttr(c, 'start', 0), rank);
  const endRaw = attr(c, 'end');
  const end = typeof endRaw === 'number' ? normAxis(endRaw, rank) : rank;
  const value = x.slice(Math.max(0, start), Math.min(rank, end));
  return [{ shape: [value.length], dataType: INT64, value }];
};

const sizeOp: ShapeRule = (c) => [{ shape: [], dataType: INT64, value: [product(input(c, 0).shape)] }];

const gather: ShapeRule = (c) => {
  const data = input(c, 0);
  const indices = input(c, 1);
  const axis = normAxis(intAttr(c, 'axis', 0), data.shape.length);
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  let value: number[] | undefined;
  if (data.value && indices.value && data.shape.length === 1)
    value = indices.value.map((i) => (data.value as number[])[i < 0 ? i + data.shape[0] : i]);
  return [{ shape, dataType: data.dataType, value }];
};

const slice: ShapeRule = (c) => {
  const x = input(c, 0);
  const rank = x.shape.length;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (c.opset < 10) {
    starts = intsAttr(c, 'starts') ?? [];
    ends = intsAttr(c, 'ends') ?? [];
    axes = intsAttr(c, 'axes');
  } else {
    starts = values(c, 1, 'starts');
    ends = values(c, 2, 'ends');
    axes = optionalInput(c, 3) ? values(c, 3, 'axes') : undefined;
    steps = optionalInput(c, 4) ? values(c, 4, 'steps') : undefined;
  }
  const shape = [...x.shape];
  const picks: [number, number, number][] = x.shape.map((d) => [0, d, 1]);
  starts.forEach((s, i) => {
    const a = normAxis(axes ? axes[i] : i, rank);
    const d = x.shape[a];
    const step = steps ? steps[i] : 1;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let begin = s < 0 ? s + d : s;
    let end = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      begin = clamp(begin, 0, d);
      end = clamp(end, 0, d);
      shape[a] = Math.max(0, Math.ceil((end - begin) / step));
    } else {
      begin = clamp(begin, 0, d - 1);
      end = clamp(end, -1, d - 1);
      shape[a] = Math.max(0, Math.ceil((begin - end) / -step));
    }
    picks[a] = [begin, end, step];
  });
  let value: number[] | undefined;
  if (x.value && rank === 1) {
    const [b, , st] = picks[0];
    value = Array.from({ length: shape[0] }, (_, i) => (x.value as number[])[b + i * st]);
  }
  return [{ shape, dataType: x.dataType, value }];
};

const split: ShapeRule = (c) => {
  const x = input(c, 0);
  const axis = normAxis(intAttr(c, 'axis', 0), x.shape.length);
  const parts = c.node.outputs.length;
  let sizes =
    c.opset >= 13 ? (optionalInput(c, 1) ? values(c, 1, 'split') : undefined) : intsAttr(c, 'split');
  if (!sizes) {
    const each = Math.ceil(x.shape[axis] / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.min(each, x.shape[axis] - i * each));
  }
  return sizes.map((s) => {
    const shape = [...x.shape];
    shape[axis] = s;
    return { shape, dataType: x.dataType };
  });
};

const pad: ShapeRule = (c) => {
  const x = input(c, 0);
  const pads = c.opset < 11 ? (intsAttr(c, 'pads') ?? []) : values(c, 1, 'pads');
  const rank = x.shape.length;
  const axes =
    c.opset >= 18 && optionalInput(c, 3)
      ? values(c, 3, 'axes').map((a) => normAxis(a, rank))
      : x.shape.map((_, i) => i);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    shape[a] += pads[i] + pads[i + axes.length];
  });
  return [{ shape, dataType: x.dataType }];
};

const resize: ShapeRule = (c) => {
  const x = input(c, 0);
  const scalesIndex = c.opset >= 11 ? 2 : 1;
  const sizes = c.opset >= 11 && optionalInput(c, 3) ? values(c, 3, 'sizes') : undefined;
  if (sizes) return [{ shape: sizes, dataType: x.dataType }];
  const scales = c.opset < 9 ? (attr(c, 'scales') as number[]) : values(c, scalesIndex, 'scales');
  if (!scales || scales.length !== x.shape.length) fail(c, 'no scales or sizes for every dimension');
  return [{ shape: x.shape.map((d, i) => Math.floor(d * scales[i])), dataType: x.dataType }];
};

const expand: ShapeRule = (c) => {
  const x = input(c, 0);
  return [{ shape: broadcast(c, [x.shape, values(c, 1, 'shape')]), dataType: x.dataType }];
};

const tile: ShapeRule = (c) => {
  const x = input(c, 0);
  const repeats = values(c, 1, 'repeats');
  return [{ shape: x.shape.map((d, i) => d * repeats[i]), dataType: x.dataType }];
};

function reduce(axesInputSince: number): ShapeRule {
  return (c) => {
    const x = input(c, 0);
    const rank = x.shape.length;
    const raw = axesOf(c, 1, axesInputSince);
    const noopWhenEmpty = intAttr(c, 'noop_with_empty_axes', 0) === 1;
    if (!raw && noopWhenEmpty) return [{ shape: x.shape, dataType: x.dataType }];
    const axes = (raw ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, rank));
    const keep = intAttr(c, 'keepdims', 1) === 1;
    const shape = keep
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    return [{ shape, dataType: x.dataType }];
  };
}

const argReduce: ShapeRule = (c) => {
  const x = input(c, 0);
  const axis = normAxis(intAttr(c, 'axis', 0), x.shape.length);
  const keep = intAttr(c, 'keepdims', 1) === 1;
  return [
    {
      shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis),
      dataType: INT64,
    },
  ];
};

const constant: ShapeRule = (c) => {
  const t = attr(c, 'value') as TensorProto | undefined;
  if (t && typeof t === 'object' && !Array.isArray(t)) {
    const dims = t.dims.map(Number);
    const vs = tensorValues(t);
    // a value only when every element was read (float16 and strings are not)
    return [
      { shape: dims, dataType: t.dataType, value: vs.length === product(dims) ? small(vs) : undefined },
    ];
  }
  for (const [name, dataType] of [
    ['value_float', FLOAT],
    ['value_int', INT64],
  ] as const) {
    const v = attr(c, name);
    if (typeof v === 'number') return [{ shape: [], dataType, value: [v] }];
  }
  for (const [name, dataType] of [
    ['value_floats', FLOAT],
    ['value_ints', INT64],
  ] as const) {
    const v = intsAttr(c, name);
    if (v) return [{ shape: [v.length], dataType, value: v }];
  }
  fail(c, 'a Constant without a numeric value');
};

const constantOfShape: ShapeRule = (c) => {
  const shape = values(c, 0, 'shape');
  const t = attr(c, 'value') as TensorProto | undefined;
  const fill = t && typeof t === 'object' ? (tensorValues(t)[0] ?? 0) : 0;
  const dataType = t && typeof t === 'object' ? t.dataType : FLOAT;
  return [
    {
      shape,
      dataType,
      value: small(product(shape) <= MAX_TRACKED_VALUES ? Array(product(shape)).fill(fill) : undefined),
    },
  ];
};

const range: ShapeRule = (c) => {
  const [start] = values(c, 0, 'start');
  const [limit] = values(c, 1, 'limit');
  const [delta] = values(c, 2, 'delta');
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  return [
    {
      shape: [n],
      dataType: input(c, 0).dataType,
      value: small(Array.from({ length: n }, (_, i) => start + i * delta)),
    },
  ];
};

function recurrent(gates: number): ShapeRule {
  return (c) => {
    const x = input(c, 0).shape;
    const w = input(c, 1).shape;
    const hidden = intAttr(c, 'hidden_size', w[1] / gates);
    const directions = w[0];
    const batchFirst = intAttr(c, 'layout', 0) === 1;
    const [steps, batch] = batchFirst ? [x[1], x[0]] : [x[0], x[1]];
    const dataType = input(c, 0).dataType;
    const y = batchFirst ? [batch, steps, directions, hidden] : [steps, directions, batch, hidden];
    const state = batchFirst ? [batch, directions, hidden] : [directions, batch, hidden];
    return [
      { shape: y, dataType },
      { shape: state, dataType },
      { shape: state, dataType },
    ];
  };
}

const depthToSpace: ShapeRule = (c) => {
  const [n, ch, h, w] = input(c, 0).shape;
  const b = intAttr(c, 'blocksize', 1);
  return [{ shape: [n, ch / (b * b), h * b, w * b], dataType: input(c, 0).dataType }];
};
const spaceToDepth: ShapeRule = (c) => {
  const [n, ch, h, w] = input(c, 0).shape;
  const b = intAttr(c, 'blocksize', 1);
  return [{ shape: [n, ch * b * b, h / b, w / b], dataType: input(c, 0).dataType }];
};

const topK: ShapeRule = (c) => {
  const x = input(c, 0);
  const axis = normAxis(intAttr(c, 'axis', -1), x.shape.length);
  const k = c.opset < 10 ? intAttr(c, 'k', 1) : values(c, 1, 'k')[0];
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  return [
    { shape, dataType: x.dataType },
    { shape, dataType: INT64 },
  ];
};

const batchNorm: ShapeRule = (c) => {
  const x = input(c, 0);
  const channels = [x.shape[1]];
  return [
    { shape: x.shape, dataType: x.dataType },
    ...Array.from({ length: 4 }, () => ({ shape: channels, dataType: x.dataType })),
  ];
};

const dropout: ShapeRule = (c) => [
  { shape: input(c, 0).shape, dataType: input(c, 0).dataType },
  { shape: input(c, 0).shape, dataType: BOOL },
];

const layerNorm: ShapeRule = (c) => {
  const x = input(c, 0);
  const axis = normAxis(intAttr(c, 'axis', -1), x.shape.length);
  const stat = x.shape.map((d, i) => (i < axis ? d : 1));
  return [
    { shape: x.shape, dataType: x.dataType },
    { shape: stat, dataType: FLOAT },
    { shape: stat, dataType: FLOAT },
  ];
};

const cast: ShapeRule = (c) => [
  { shape: input(c, 0).shape, dataType: intAttr(c, 'to', FLOAT), value: input(c, 0).value },
];

const where: ShapeRule = (c) => {
  const ins = [0, 1, 2].map((i) => input(c, i));
  return [
    {
      shape: broadcast(
        c,
        ins.map((t) => t.shape),
      ),
      dataType: ins[1].dataType,
      value: small(elementwise(c, (cond, a, b) => (cond ? a : b))),
    },
  ];
};

const UNARY = [...ELEMENTWISE_OPS, 'InstanceNormalization', 'GroupNormalization', 'PRelu'];

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b),
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
  Pow: (a, b) => a ** b,
  Mod: (a, b) => a % b,
  Sum: (a, b) => a + b,
};
const COMPARISON: Record<string, (a: number, b: number) => number> = {
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  Greater: (a, b) => Number(a > b),
  LessOrEqual: (a, b) => Number(a <= b),
  GreaterOrEqual: (a, b) => Number(a >= b),
  And: (a, b) => Number(a && b),
  Or: (a, b) => Number(a || b),
  Xor: (a, b) => Number(Boolean(a) !== Boolean(b)),
};

export const SHAPE_RULES: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, sameNoValue])),
  Identity: same,
  Neg: (c) => [{ ...sameNoValue(c)[0], value: input(c, 0).value?.map((v) => -v) }],
  Not: (c) => [
    { shape: input(c, 0).shape, dataType: BOOL, value: input(c, 0).value?.map((v) => Number(!v)) },
  ],
  ...Object.fromEntries(Object.entries(ARITHMETIC).map(([op, f]) => [op, binary(f)])),
  Mean: binary(),
  ...Object.fromEntries(Object.entries(COMPARISON).map(([op, f]) => [op, binary(f, BOOL)])),
  Where: where,
  Cast: cast,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool(true),
  AveragePool: pool(true),
  LpPool: pool(false),
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matmul,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Shape: shapeOp,
  Size: sizeOp,
  Gather: gather,
  Slice: slice,
  Split: split,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  Expand: expand,
  Tile: tile,
  ReduceMean: reduce(18),
  ReduceSum: reduce(13),
  ReduceMax: reduce(18),
  ReduceMin: reduce(18),
  ReduceProd: reduce(18),
  ReduceL2: reduce(18),
  ReduceL1: reduce(18),
  ReduceSumSquare: reduce(18),
  ReduceLogSumExp: reduce(18),
  ArgMax: argReduce,
  ArgMin: argReduce,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
  LSTM: recurrent(4),
  GRU: recurrent(3),
  RNN: recurrent(1),
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  TopK: topK,
  BatchNormalization: batchNorm,
  Dropout: dropout,
  LayerNormalization: layerNorm,
  // int8 ops of dynamic quantization: x as uint8 with a scalar scale and zero point; the int32 product
  DynamicQuantizeLinear: (c) => [
    { shape: input(c, 0).shape, dataType: UINT8 },
    { shape: [], dataType: FLOAT },
    { shape: [], dataType: UINT8 },
  ],
  MatMulInteger: (c) => [{ shape: matmulDims(c).out, dataType: INT32 }],
};
