/**
 * Exporting a Parsimony model (spec + weights) to ONNX (opset 17).
 *
 * Layout: the ONNX model takes and returns tensors in Parsimony's layout (NHWC for images, the
 * same shapes as the spec's inputs and outputs), so the same data feeds both. Inside the graph,
 * ONNX's convolution and pooling need NCHW: each value carries its layout, a Transpose is
 * inserted only where an op needs the other one (once per value), and layout-free ops
 * (activations, add, batch norm) keep whatever layout they get, so a conv stack transposes only
 * at its ends. Weights are transposed once at export time (tfjs [kh, kw, in, out] to ONNX
 * [out, in, kh, kw]).
 *
 * One export rule per layer type (EXPORT_RULES, typed by `LayerType` so a new layer type without
 * a rule does not compile); a rule may be a string saying why the type cannot be exported yet.
 */

import type { LayerWeights, ModelWeights, NamedTensor } from '../compress/model-weights.js';
import { OnnxError } from '../core/errors.js';
import type {
  AttributeProto,
  ModelProto,
  NodeProto,
  TensorProto,
  ValueInfoProto,
} from '../models/formats/onnx/proto.js';
import { pair } from '../models/spec/layers/kind.js';
import type {
  Activation,
  Conv2dSpec,
  DepthwiseConv2dSpec,
  LayerSpec,
  LayerType,
  Pool2dSpec,
  SeparableConv2dSpec,
  SpecOf,
} from '../models/spec/types.js';
import { inferShapes } from '../models/spec/validate.js';

export const EXPORT_OPSET = 17;

type Layout = 'nhwc' | 'nchw';

/** A tensor of the graph being built: its name, rank (with batch) and layout (rank 4 only). */
interface Value {
  name: string;
  rank: number;
  layout: Layout;
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

type AttributeValue = number | number[] | { float: number };

/** What an export rule gets: the layer, its weights and input values, and the graph under construction. */
interface ExportContext {
  spec: LayerSpec;
  inputs: Value[];
  /** Input shapes without the batch axis, in Parsimony's layout. */
  inputShapes: number[][];
  /** The layer's output shape without the batch axis. */
  outputShape: number[];
  tensor(name: string): NamedTensor;
  hasTensor(name: string): boolean;
  graph: GraphBuilder;
}

type ExportRule<S extends LayerSpec> = ((spec: S, context: ExportContext) => Value) | string;

class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  private readonly transposed = new Map<string, string>();

  constructor(private readonly prefix: string) {}

  fresh(hint: string): string {
    this.counter += 1;
    return `${hint}#${this.counter}`;
  }

  node(
    opType: string,
    inputs: string[],
    hint: string,
    attributes: Record<string, AttributeValue> = {},
  ): string {
    const output = this.fresh(hint);
    this.nodes.push({
      opType,
      input: inputs,
      output: [output],
      name: `${this.prefix}${output}`,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return output;
  }

  floats(hint: string, values: Float32Array, dims: number[]): string {
    const name = this.fresh(hint);
    const copy = Float32Array.from(values);
    this.initializers.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(copy.buffer),
      floatData: [],
      int32Data: [],
      int64Data: [],
      doubleData: [],
      uint64Data: [],
      externalData: [],
    });
    return name;
  }

  int64s(hint: string, values: number[]): string {
    const name = this.fresh(hint);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: INT64,
      rawData: new Uint8Array(data.buffer),
      floatData: [],
      int32Data: [],
      int64Data: [],
      doubleData: [],
      uint64Data: [],
      externalData: [],
    });
    return name;
  }

  /** The value in the asked layout (rank-4 values only; a Transpose made once per value). */
  as(value: Value, layout: Layout): Value {
    if (value.rank !== 4 || value.layout === layout) return value;
    const key = `${value.name}->${layout}`;
    let name = this.transposed.get(key);
    if (!name) {
      name = this.node('Transpose', [value.name], `${value.name}_${layout}`, {
        perm: layout === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1],
      });
      this.transposed.set(key, name);
    }
    return { name, rank: 4, layout };
  }
}

function attribute(name: string, value: AttributeValue): AttributeProto {
  const base = { name, floats: [], ints: [], strings: [] };
  if (Array.isArray(value)) return { ...base, type: ATTR_INTS, ints: value };
  if (typeof value === 'object') return { ...base, type: ATTR_FLOAT, f: value.float };
  return { ...base, type: ATTR_INT, i: value };
}

function stringsAttribute(name: string, values: string[]): AttributeProto {
  const encoder = new TextEncoder();
  return { name, type: ATTR_STRINGS, floats: [], ints: [], strings: values.map((v) => encoder.encode(v)) };
}

/** Reorders a tensor's values: `out[perm-index] = in[index]` (a transpose of a dense row-major array). */
function transpose(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = strides(shape);
  const out = new Float32Array(values.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let d = 0; d < outShape.length; d++) source += index[d] * inStrides[perm[d]];
    out[o] = values[source];
    for (let d = outShape.length - 1; d >= 0; d--) {
      index[d] += 1;
      if (index[d] < outShape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/** ONNX pads [top, left, bottom, right] for a window over `size` (TensorFlow's 'same' puts the extra at the end). */
function windowPads(
  size: [number, number],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  padding: 'same' | 'valid',
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const total = [0, 1].map((d) => {
    const extent = (kernel[d] - 1) * dilation[d] + 1;
    const out = Math.ceil(size[d] / stride[d]);
    return Math.max((out - 1) * stride[d] + extent - size[d], 0);
  });
  return [
    Math.floor(total[0] / 2),
    Math.floor(total[1] / 2),
    total[0] - Math.floor(total[0] / 2),
    total[1] - Math.floor(total[1] / 2),
  ];
}

/** Applies an activation to a value (layout kept, except softmax, which works on the last axis). */
function activate(
  graph: GraphBuilder,
  value: Value,
  activation: Activation | undefined,
  hint: string,
): Value {
  const keep = (name: string): Value => ({ ...value, name });
  const x = value.name;
  switch (activation ?? 'linear') {
    case 'linear':
      return value;
    case 'relu':
      return keep(graph.node('Relu', [x], `${hint}_relu`));
    case 'relu6':
      return keep(
        graph.node(
          'Clip',
          [
            x,
            graph.floats('zero', new Float32Array([0]), []),
            graph.floats('six', new Float32Array([6]), []),
          ],
          `${hint}_relu6`,
        ),
      );
    case 'gelu': {
      // tfjs' gelu is the exact (erf) form: 0.5 x (1 + erf(x / sqrt 2)).
      const scaled = graph.node(
        'Mul',
        [x, graph.floats('inv_sqrt2', new Float32Array([Math.SQRT1_2]), [])],
        `${hint}_gelu`,
      );
      const erf = graph.node('Erf', [scaled], `${hint}_gelu`);
      const plus = graph.node('Add', [erf, graph.floats('one', new Float32Array([1]), [])], `${hint}_gelu`);
      const half = graph.node('Mul', [x, graph.floats('half', new Float32Array([0.5]), [])], `${hint}_gelu`);
      return keep(graph.node('Mul', [half, plus], `${hint}_gelu`));
    }
    case 'tanh':
      return keep(graph.node('Tanh', [x], `${hint}_tanh`));
    case 'sigmoid':
      return keep(graph.node('Sigmoid', [x], `${hint}_sigmoid`));
    case 'softmax': {
      const last = graph.as(value, 'nhwc');
      return { ...last, name: graph.node('Softmax', [last.name], `${hint}_softmax`, { axis: -1 }) };
    }
    case 'elu':
      return keep(graph.node('Elu', [x], `${hint}_elu`, { alpha: { float: 1 } }));
    case 'selu':
      return keep(graph.node('Selu', [x], `${hint}_selu`));
    case 'swish':
      return keep(graph.node('Mul', [x, graph.node('Sigmoid', [x], `${hint}_swish`)], `${hint}_swish`));
    case 'mish': {
      const softplus = graph.node('Softplus', [x], `${hint}_mish`);
      return keep(graph.node('Mul', [x, graph.node('Tanh', [softplus], `${hint}_mish`)], `${hint}_mish`));
    }
    case 'softplus':
      return keep(graph.node('Softplus', [x], `${hint}_softplus`));
    case 'softsign':
      return keep(graph.node('Softsign', [x], `${hint}_softsign`));
    case 'hardSigmoid':
      return keep(
        graph.node('HardSigmoid', [x], `${hint}_hardsigmoid`, {
          alpha: { float: 0.2 },
          beta: { float: 0.5 },
        }),
      );
  }
}

/** A convolution in NCHW: kernel in tfjs' [kh, kw, in/groups, out] order. */
function conv(
  context: ExportContext,
  input: Value,
  spec: Conv2dSpec | DepthwiseConv2dSpec | SeparableConv2dSpec,
  kernel: { values: Float32Array; shape: number[] },
  groups: number,
  windowed: boolean,
  bias: NamedTensor | undefined,
  hint: string,
): Value {
  const { graph } = context;
  const [kh, kw, cin, cout] = kernel.shape;
  const weights = graph.floats(`${hint}_W`, transpose(kernel.values, kernel.shape, [3, 2, 0, 1]), [
    cout,
    cin,
    kh,
    kw,
  ]);
  const inputs = [graph.as(input, 'nchw').name, weights];
  if (bias) inputs.push(graph.floats(`${hint}_B`, bias.values, [cout]));
  const kernelSize: [number, number] = [kh, kw];
  const stride = windowed ? pair(spec.strides, 1) : ([1, 1] as [number, number]);
  const dilation = windowed ? pair(spec.dilation, 1) : ([1, 1] as [number, number]);
  const shape = context.inputShapes[0];
  const size: [number, number] = [shape[0], shape[1]];
  const attributes = {
    kernel_shape: kernelSize,
    strides: stride,
    dilations: dilation,
    group: groups,
    pads: windowed ? windowPads(size, kernelSize, stride, dilation, spec.padding ?? 'valid') : [0, 0, 0, 0],
  };
  return { name: graph.node('Conv', inputs, hint, attributes), rank: 4, layout: 'nchw' };
}

/** tfjs' depthwise kernel [kh, kw, C, M] as a grouped-conv kernel [kh, kw, 1, C*M] (output c*M+m). */
function depthwiseKernel(t: NamedTensor): { values: Float32Array; shape: number[] } {
  const [kh, kw, c, m] = t.shape;
  return { values: t.values, shape: [kh, kw, 1, c * m] };
}

function pool(spec: Pool2dSpec, context: ExportContext): Value {
  const { graph } = context;
  const input = graph.as(context.inputs[0], 'nchw');
  const kernel = pair(spec.poolSize, 1);
  const stride = spec.strides === undefined ? kernel : pair(spec.strides, 1);
  const shape = context.inputShapes[0];
  const pads = spec.ceilMode
    ? [0, 0, 0, 0]
    : windowPads([shape[0], shape[1]], kernel, stride, [1, 1], spec.padding ?? 'valid');
  const attributes: Record<string, AttributeValue> = {
    kernel_shape: kernel,
    strides: stride,
    pads,
    ceil_mode: spec.ceilMode ? 1 : 0,
  };
  // tfjs' 'same' average pooling divides by the taps inside the input, as count_include_pad=0 does.
  const op = spec.type === 'maxPool2d' ? 'MaxPool' : 'AveragePool';
  return { name: graph.node(op, [input.name], spec.name, attributes), rank: 4, layout: 'nchw' };
}

/** Parsimony axes (without batch) of a rank-4 value, as axes of the value in `layout`. */
function axesIn(layout: Layout, axes: number[]): number[] {
  const nchw = [0, 2, 3, 1]; // NHWC axis a is NCHW axis nchw[a]
  return axes.map((a) => (layout === 'nchw' ? nchw[a] : a));
}

function globalPool(op: 'ReduceMean' | 'ReduceMax', axes: number[]) {
  return (spec: LayerSpec, { graph, inputs }: ExportContext): Value => {
    const input = inputs[0];
    const onnxAxes = input.rank === 4 ? axesIn(input.layout, axes) : axes;
    return {
      name: graph.node(op, [input.name], spec.name, { axes: onnxAxes, keepdims: 0 }),
      rank: input.rank - axes.length,
      layout: 'nhwc',
    };
  };
}

/** Export rules, one per layer type (see `LayerType` for the other tables). */
export const EXPORT_RULES: { readonly [T in LayerType]: ExportRule<SpecOf<T>> } = {
  dense: (spec, { graph, inputs, tensor, hasTensor }) => {
    const input = graph.as(inputs[0], 'nhwc');
    const kernel = tensor('kernel');
    let y = graph.node(
      'MatMul',
      [input.name, graph.floats(`${spec.name}_kernel`, kernel.values, kernel.shape)],
      spec.name,
    );
    if (hasTensor('bias')) {
      const bias = tensor('bias');
      y = graph.node('Add', [y, graph.floats(`${spec.name}_bias`, bias.values, bias.shape)], spec.name);
    }
    return activate(graph, { name: y, rank: input.rank, layout: 'nhwc' }, spec.activation, spec.name);
  },
  conv2d: (spec, context) => {
    const kernel = context.tensor('kernel');
    const bias = context.hasTensor('bias') ? context.tensor('bias') : undefined;
    const y = conv(context, context.inputs[0], spec, kernel, spec.groups ?? 1, true, bias, spec.name);
    return activate(context.graph, y, spec.activation, spec.name);
  },
  depthwiseConv2d: (spec, context) => {
    const kernel = depthwiseKernel(context.tensor('depthwise_kernel'));
    const bias = context.hasTensor('bias') ? context.tensor('bias') : undefined;
    const channels = context.inputShapes[0][2];
    const y = conv(context, context.inputs[0], spec, kernel, channels, true, bias, spec.name);
    return activate(context.graph, y, spec.activation, spec.name);
  },
  separableConv2d: (spec, context) => {
    const depthwise = depthwiseKernel(context.tensor('depthwise_kernel'));
    const channels = context.inputShapes[0][2];
    const mid = conv(
      context,
      context.inputs[0],
      spec,
      depthwise,
      channels,
      true,
      undefined,
      `${spec.name}_dw`,
    );
    const bias = context.hasTensor('bias') ? context.tensor('bias') : undefined;
    const y = conv(context, mid, spec, context.tensor('pointwise_kernel'), 1, false, bias, `${spec.name}_pw`);
    return activate(context.graph, y, spec.activation, spec.name);
  },
  maxPool2d: pool,
  avgPool2d: pool,
  globalAvgPool2d: globalPool('ReduceMean', [1, 2]),
  globalMaxPool2d: globalPool('ReduceMax', [1, 2]),
  globalAvgPool1d: globalPool('ReduceMean', [1]),
  zeroPadding2d: (spec, { graph, inputs }) => {
    const p = spec.padding;
    const [[top, bottom], [left, right]] =
      typeof p === 'number'
        ? [
            [p, p],
            [p, p],
          ]
        : p;
    const input = graph.as(inputs[0], 'nchw');
    const pads = graph.int64s(`${spec.name}_pads`, [0, 0, top, left, 0, 0, bottom, right]);
    return { name: graph.node('Pad', [input.name, pads], spec.name), rank: 4, layout: 'nchw' };
  },
  batchNorm: (spec, { graph, inputs, tensor, inputShapes }) => {
    const channels = inputShapes[0][inputShapes[0].length - 1];
    const epsilon = spec.epsilon ?? 1e-3;
    const input = inputs[0];
    const gamma = tensor('gamma').values;
    const beta = tensor('beta').values;
    const mean = tensor('moving_mean').values;
    const variance = tensor('moving_variance').values;
    if (input.rank === 4) {
      const x = graph.as(input, 'nchw');
      const args = [gamma, beta, mean, variance].map((v, i) =>
        graph.floats(`${spec.name}_${['scale', 'bias', 'mean', 'var'][i]}`, v, [channels]),
      );
      const name = graph.node('BatchNormalization', [x.name, ...args], spec.name, {
        epsilon: { float: epsilon },
      });
      return { name, rank: 4, layout: 'nchw' };
    }
    // Other ranks: channels last, so (x - mean) * gamma / sqrt(var + eps) + beta broadcasts as written.
    const centred = graph.node(
      'Sub',
      [input.name, graph.floats(`${spec.name}_mean`, mean, [channels])],
      spec.name,
    );
    const scale = Float32Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + epsilon));
    const scaled = graph.node(
      'Mul',
      [centred, graph.floats(`${spec.name}_scale`, scale, [channels])],
      spec.name,
    );
    const name = graph.node('Add', [scaled, graph.floats(`${spec.name}_beta`, beta, [channels])], spec.name);
    return { name, rank: input.rank, layout: 'nhwc' };
  },
  layerNorm: (spec, { graph, inputs, tensor }) => {
    const input = graph.as(inputs[0], 'nhwc');
    const gamma = tensor('gamma');
    const beta = tensor('beta');
    const name = graph.node(
      'LayerNormalization',
      [
        input.name,
        graph.floats(`${spec.name}_gamma`, gamma.values, gamma.shape),
        graph.floats(`${spec.name}_beta`, beta.values, beta.shape),
      ],
      spec.name,
      { axis: -1, epsilon: { float: spec.epsilon ?? 1e-3 } },
    );
    return { name, rank: input.rank, layout: 'nhwc' };
  },
  // Inference: dropout is the identity.
  dropout: (_spec, { inputs }) => inputs[0],
  flatten: (spec, { graph, inputs }) => {
    const input = graph.as(inputs[0], 'nhwc');
    return { name: graph.node('Flatten', [input.name], spec.name, { axis: 1 }), rank: 2, layout: 'nhwc' };
  },
  reshape: (spec, { graph, inputs }) => {
    const input = graph.as(inputs[0], 'nhwc');
    // 0 copies the batch axis.
    const shape = graph.int64s(`${spec.name}_shape`, [0, ...spec.shape]);
    return {
      name: graph.node('Reshape', [input.name, shape], spec.name),
      rank: spec.shape.length + 1,
      layout: 'nhwc',
    };
  },
  activation: (spec, { graph, inputs }) => {
    const y = activate(graph, inputs[0], spec.activation, spec.name);
    if (y.name !== inputs[0].name) return y;
    return { ...y, name: graph.node('Identity', [y.name], spec.name) };
  },
  add: (spec, { graph, inputs }) => {
    const layout = inputs.every((v) => v.rank === 4 && v.layout === 'nchw') ? 'nchw' : 'nhwc';
    const values = inputs.map((v) => graph.as(v, layout));
    let sum = values[0].name;
    for (const v of values.slice(1)) sum = graph.node('Add', [sum, v.name], spec.name);
    return { name: sum, rank: values[0].rank, layout };
  },
  multiply: (spec, { graph, inputs }) => {
    // Parsimony broadcasts by inserting axes after the batch axis; ONNX aligns at the end, so insert them.
    const rank = Math.max(...inputs.map((v) => v.rank));
    const values = inputs.map((v) => {
      const x = graph.as(v, 'nhwc');
      if (x.rank === rank) return x.name;
      const axes = graph.int64s(
        `${spec.name}_axes`,
        Array.from({ length: rank - x.rank }, (_, i) => i + 1),
      );
      return graph.node('Unsqueeze', [x.name, axes], spec.name);
    });
    let product = values[0];
    for (const v of values.slice(1)) product = graph.node('Mul', [product, v], spec.name);
    return { name: product, rank, layout: 'nhwc' };
  },
  concat: (spec, { graph, inputs }) => {
    const rank = inputs[0].rank;
    const axis = spec.axis ?? -1;
    const parsimonyAxis = axis < 0 ? rank + axis : axis + 1;
    const layout = inputs.every((v) => v.rank === 4 && v.layout === 'nchw') ? 'nchw' : 'nhwc';
    const values = inputs.map((v) => graph.as(v, layout).name);
    const onnxAxis = rank === 4 ? axesIn(layout, [parsimonyAxis])[0] : parsimonyAxis;
    return { name: graph.node('Concat', values, spec.name, { axis: onnxAxis }), rank, layout };
  },
  embedding: (spec, { graph, inputs, tensor }) => {
    const table = tensor('embeddings');
    const weights = graph.floats(`${spec.name}_embeddings`, table.values, table.shape);
    return {
      name: graph.node('Gather', [weights, inputs[0].name], spec.name, { axis: 0 }),
      rank: inputs[0].rank + 1,
      layout: 'nhwc',
    };
  },
  lstm: (spec, { graph, inputs, tensor, hasTensor }) => {
    // tfjs' LSTM: gates i, f, c, o side by side, hard-sigmoid gates (ONNX's HardSigmoid defaults,
    // 0.2 x + 0.5, are the same), one bias. ONNX's LSTM wants i, o, f, c and an input and a recurrent bias.
    const units = spec.units;
    const order = [0, 3, 1, 2];
    const gates = (t: NamedTensor): Float32Array => {
      const rows = transpose(t.values, t.shape, [1, 0]); // [4 units, width]
      const width = t.shape[0];
      const out = new Float32Array(rows.length);
      order.forEach((from, to) => {
        out.set(rows.subarray(from * units * width, (from + 1) * units * width), to * units * width);
      });
      return out;
    };
    const kernel = tensor('kernel');
    const features = kernel.shape[0];
    const w = graph.floats(`${spec.name}_W`, gates(kernel), [1, 4 * units, features]);
    const r = graph.floats(`${spec.name}_R`, gates(tensor('recurrent_kernel')), [1, 4 * units, units]);
    let b = '';
    if (hasTensor('bias')) {
      const bias = gates({ ...tensor('bias'), shape: [1, 4 * units] });
      const both = new Float32Array(8 * units);
      both.set(bias);
      b = graph.floats(`${spec.name}_B`, both, [1, 8 * units]);
    }
    const timeMajor = graph.node('Transpose', [inputs[0].name], spec.name, { perm: [1, 0, 2] });
    const sequence = graph.fresh(`${spec.name}_Y`);
    const last = graph.fresh(`${spec.name}_Y_h`);
    graph.nodes.push({
      opType: 'LSTM',
      input: [timeMajor, w, r, b],
      output: [sequence, last],
      name: sequence,
      attribute: [
        attribute('hidden_size', units),
        stringsAttribute('activations', ['HardSigmoid', 'Tanh', 'Tanh']),
      ],
    });
    if (spec.returnSequences) {
      const squeezed = graph.node('Squeeze', [sequence, graph.int64s(`${spec.name}_axes`, [1])], spec.name);
      return {
        name: graph.node('Transpose', [squeezed], spec.name, { perm: [1, 0, 2] }),
        rank: 3,
        layout: 'nhwc',
      };
    }
    return {
      name: graph.node('Squeeze', [last, graph.int64s(`${spec.name}_axes`, [0])], spec.name),
      rank: 2,
      layout: 'nhwc',
    };
  },
  gru: (spec, { graph, inputs, tensor, hasTensor }) => {
    // Parsimony's GRU (reset-after) is ONNX's GRU with linear_before_reset: same gate order (z, r, h),
    // bias rows [input, recurrent] as ONNX's [Wb, Rb]. The Keras GRU without reset-after is not.
    if (spec.resetAfter === false)
      throw new OnnxError(
        `layer "${spec.name}" (gru): cannot export to ONNX: only resetAfter GRUs (the default) are exported`,
      );
    const units = spec.units;
    const kernel = tensor('kernel');
    const recurrent = tensor('recurrent_kernel');
    const features = kernel.shape[0];
    const w = graph.floats(`${spec.name}_W`, transpose(kernel.values, kernel.shape, [1, 0]), [
      1,
      3 * units,
      features,
    ]);
    const r = graph.floats(`${spec.name}_R`, transpose(recurrent.values, recurrent.shape, [1, 0]), [
      1,
      3 * units,
      units,
    ]);
    const b = hasTensor('bias') ? graph.floats(`${spec.name}_B`, tensor('bias').values, [1, 6 * units]) : '';
    const timeMajor = graph.node('Transpose', [inputs[0].name], spec.name, { perm: [1, 0, 2] });
    const sequence = graph.fresh(`${spec.name}_Y`);
    const last = graph.fresh(`${spec.name}_Y_h`);
    graph.nodes.push({
      opType: 'GRU',
      input: [timeMajor, w, r, b],
      output: [sequence, last],
      name: sequence,
      attribute: [attribute('hidden_size', units), attribute('linear_before_reset', 1)],
    });
    if (spec.returnSequences) {
      const squeezed = graph.node('Squeeze', [sequence, graph.int64s(`${spec.name}_axes`, [1])], spec.name);
      return {
        name: graph.node('Transpose', [squeezed], spec.name, { perm: [1, 0, 2] }),
        rank: 3,
        layout: 'nhwc',
      };
    }
    return {
      name: graph.node('Squeeze', [last, graph.int64s(`${spec.name}_axes`, [0])], spec.name),
      rank: 2,
      layout: 'nhwc',
    };
  },
  multiHeadAttention: (spec, { graph, inputs, tensor, hasTensor, inputShapes }) => {
    // As Parsimony's layer computes it: inputs query, value (default query), key (default value);
    // softmax(q k^T / sqrt(keyDim)) v per head, then the output projection.
    const h = spec.numHeads;
    const kd = spec.keyDim;
    const vd = spec.valueDim ?? kd;
    const [query, value = query, key = value] = inputs.map((v) => graph.as(v, 'nhwc').name);
    const dq = inputShapes[0][inputShapes[0].length - 1];
    const project = (x: string, name: string, size: number): string => {
      const kernel = tensor(`${name}/kernel`);
      let y = graph.node(
        'MatMul',
        [x, graph.floats(`${spec.name}_${name}_kernel`, kernel.values, [kernel.shape[0], h * size])],
        spec.name,
      );
      if (hasTensor(`${name}/bias`))
        y = graph.node(
          'Add',
          [y, graph.floats(`${spec.name}_${name}_bias`, tensor(`${name}/bias`).values, [h * size])],
          spec.name,
        );
      const heads = graph.node(
        'Reshape',
        [y, graph.int64s(`${spec.name}_heads`, [0, 0, h, size])],
        spec.name,
      );
      return graph.node('Transpose', [heads], spec.name, { perm: [0, 2, 1, 3] });
    };
    const q = graph.node(
      'Mul',
      [
        project(query, 'query', kd),
        graph.floats(`${spec.name}_scale`, new Float32Array([1 / Math.sqrt(kd)]), []),
      ],
      spec.name,
    );
    const k = project(key, 'key', kd);
    const v = project(value, 'value', vd);
    const kT = graph.node('Transpose', [k], spec.name, { perm: [0, 1, 3, 2] });
    const attention = graph.node('Softmax', [graph.node('MatMul', [q, kT], spec.name)], spec.name, {
      axis: -1,
    });
    const context = graph.node('Transpose', [graph.node('MatMul', [attention, v], spec.name)], spec.name, {
      perm: [0, 2, 1, 3],
    });
    const merged = graph.node(
      'Reshape',
      [context, graph.int64s(`${spec.name}_merge`, [0, 0, h * vd])],
      spec.name,
    );
    const outKernel = tensor('output/kernel');
    let out = graph.node(
      'MatMul',
      [merged, graph.floats(`${spec.name}_output_kernel`, outKernel.values, [h * vd, dq])],
      spec.name,
    );
    if (hasTensor('output/bias'))
      out = graph.node(
        'Add',
        [out, graph.floats(`${spec.name}_output_bias`, tensor('output/bias').values, [dq])],
        spec.name,
      );
    return { name: out, rank: 3, layout: 'nhwc' };
  },
  mixtureOfExperts: (spec, { graph, inputs, tensor, hasTensor, inputShapes }) => {
    // Every expert is computed and weighted by the gate, zero off the top k: the same output as
    // Parsimony's dispatch (a logit tied with the k-th largest would select one more expert).
    const input = graph.as(inputs[0], 'nhwc');
    const e = spec.experts;
    const units = spec.units;
    const d = inputShapes[0][inputShapes[0].length - 1];
    const gateKernel = tensor('gate/kernel');
    const logits = graph.node(
      'Add',
      [
        graph.node(
          'MatMul',
          [input.name, graph.floats(`${spec.name}_gate_kernel`, gateKernel.values, [d, e])],
          spec.name,
        ),
        graph.floats(`${spec.name}_gate_bias`, tensor('gate/bias').values, [e]),
      ],
      spec.name,
    );
    const top = graph.fresh(`${spec.name}_topk`);
    graph.nodes.push({
      opType: 'TopK',
      input: [logits, graph.int64s(`${spec.name}_k`, [spec.topK ?? 1])],
      output: [top, graph.fresh(`${spec.name}_topk_indices`)],
      name: top,
      attribute: [attribute('axis', -1)],
    });
    const kth = graph.node('ReduceMin', [top], spec.name, { axes: [-1], keepdims: 1 });
    const chosen = graph.node('GreaterOrEqual', [logits, kth], spec.name);
    // Top 1: the chosen expert's probability among all (Switch); top k: softmax over the k chosen.
    const gates =
      (spec.topK ?? 1) === 1
        ? graph.node(
            'Where',
            [
              chosen,
              graph.node('Softmax', [logits], spec.name, { axis: -1 }),
              graph.floats(`${spec.name}_off`, new Float32Array([0]), []),
            ],
            spec.name,
          )
        : graph.node(
            'Softmax',
            [
              graph.node(
                'Where',
                [chosen, logits, graph.floats(`${spec.name}_off`, new Float32Array([-1e9]), [])],
                spec.name,
              ),
            ],
            spec.name,
            { axis: -1 },
          );
    const kernel = tensor('kernel');
    let y = graph.node(
      'MatMul',
      [input.name, graph.floats(`${spec.name}_kernel`, kernel.values, [d, e * units])],
      spec.name,
    );
    if (hasTensor('bias'))
      y = graph.node(
        'Add',
        [y, graph.floats(`${spec.name}_bias`, tensor('bias').values, [e * units])],
        spec.name,
      );
    const leading = new Array<number>(input.rank - 1).fill(0);
    y = graph.node('Reshape', [y, graph.int64s(`${spec.name}_experts`, [...leading, e, units])], spec.name);
    const activated = activate(
      graph,
      { name: y, rank: input.rank + 1, layout: 'nhwc' },
      spec.activation,
      spec.name,
    );
    const weighted = graph.node(
      'Mul',
      [activated.name, graph.node('Unsqueeze', [gates, graph.int64s(`${spec.name}_axis`, [-1])], spec.name)],
      spec.name,
    );
    return {
      name: graph.node('ReduceSum', [weighted, graph.int64s(`${spec.name}_sum_axis`, [-2])], spec.name, {
        keepdims: 0,
      }),
      rank: input.rank,
      layout: 'nhwc',
    };
  },
};

/**
 * The ONNX model of a Parsimony model's weights. Inputs and outputs keep the spec's names and
 * Parsimony's shapes, with a symbolic batch axis "batch".
 */
export function exportOnnx(weights: ModelWeights, producerVersion = ''): ModelProto {
  const { spec } = weights;
  const shapes = inferShapes(spec);
  const graph = new GraphBuilder('');
  const values = new Map<string, Value>();
  const inputs: ValueInfoProto[] = spec.inputs.map((input) => {
    values.set(input.name, { name: input.name, rank: input.shape.length + 1, layout: 'nhwc' });
    return valueInfo(input.name, input.dtype === 'int32' ? INT32 : FLOAT, input.shape);
  });
  const byLayer = new Map<string, LayerWeights>(weights.layers.map((l) => [l.layer, l]));
  spec.layers.forEach((layer, index) => {
    const rule = EXPORT_RULES[layer.type] as ExportRule<LayerSpec>;
    if (typeof rule === 'string')
      throw new OnnxError(`layer "${layer.name}" (${layer.type}): cannot export to ONNX: ${rule}`);
    const own = byLayer.get(layer.name);
    const find = (name: string) => own?.tensors.find((t) => t.name === name);
    const value = rule(layer, {
      spec: layer,
      inputs: layer.inputs.map((name) => values.get(name) as Value),
      inputShapes: shapes.layerInputs[index] as number[][],
      outputShape: shapes.byName.get(layer.name) as number[],
      tensor: (name) => {
        const t = find(name);
        if (!t)
          throw new OnnxError(`layer "${layer.name}" (${layer.type}): no weight tensor "${name}" to export`);
        return t;
      },
      hasTensor: (name) => find(name) !== undefined,
      graph,
    });
    values.set(layer.name, value);
  });
  const outputs = spec.outputs.map((name) => {
    const value = graph.as(values.get(name) as Value, 'nhwc');
    graph.nodes.push({
      opType: 'Identity',
      input: [value.name],
      output: [name],
      name: `${name}_output`,
      attribute: [],
    });
    return valueInfo(name, FLOAT, shapes.byName.get(name) as number[]);
  });
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    producerName: 'parsimony',
    producerVersion,
    graph: {
      name: spec.name ?? 'parsimony-model',
      node: graph.nodes,
      initializer: graph.initializers,
      input: inputs,
      output: outputs,
      valueInfo: [],
    },
  };
}

function valueInfo(name: string, elemType: number, shape: number[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: [{ dimParam: 'batch' }, ...shape.map((d) => ({ dimValue: d }))] },
      },
    },
  };
}
