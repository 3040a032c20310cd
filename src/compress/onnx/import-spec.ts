/**
 * An ONNX model as a Parsimony spec + weights, so the normal compression path (with fine-tuning)
 * applies to it. Supported: Gemm, MatMul (by a constant), Conv (grouped and depthwise), BatchNormalization,
 * Relu, Clip (ReLU, ReLU6), Sigmoid, Tanh, Gelu (the op, and the Erf form PyTorch exports), Max/Average
 * pooling, global pooling, Add, Concat, Flatten, Reshape to [batch, -1], Softmax, Identity, Dropout.
 * Anything else is refused up front with one line naming every op that blocks the import.
 *
 * Layout: ONNX images are NCHW, specs are channels-last. Convolution kernels are transposed once;
 * a Flatten of an image orders its features (c, h, w) in ONNX and (h, w, c) in the spec, so the
 * rows of the Gemm/MatMul that reads it are permuted to match, and a flattened image feeding
 * anything else (other than a 1x1 one) is refused.
 */
import { OnnxError } from '../../core/errors.js';
import { type OnnxGraph, type OnnxNode, readGraph, tensorValues } from '../../models/formats/onnx/graph.js';
import { readOnnxFile } from '../../models/formats/onnx/model-file.js';
import type { TensorProto } from '../../models/formats/onnx/proto.js';
import type { Activation, LayerSpec, ModelSpec } from '../../models/spec/types.js';
import { inferShapes } from '../../models/spec/validate.js';
import type { LayerWeights, ModelWeights } from '../model-weights.js';
import { FLOAT } from './tensors.js';

export const IMPORTABLE_OPS = [
  'Gemm',
  'MatMul',
  'Conv',
  'BatchNormalization',
  'Relu',
  'Clip',
  'Sigmoid',
  'Tanh',
  'Gelu',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Add',
  'Concat',
  'Flatten',
  'Reshape',
  'Softmax',
  'Identity',
  'Dropout',
  'Constant',
] as const;

/** What a spec layer's output is, seen from the ONNX graph. */
interface Value {
  /** The spec layer (or input) holding it. */
  ref: string;
  /** 'image': ONNX [N, C, H, W] = spec [H, W, C]; 'pooled': ONNX [N, C, 1, 1] = spec [C]; 'features': [N, D] both. */
  kind: 'image' | 'pooled' | 'features';
  /** Spec shape without batch. */
  shape: number[];
  /** For features flattened from an image: spec index -> ONNX index. */
  order?: Int32Array;
}

/** A weighted layer's bias-free dense output that an Add of a constant may still give a bias. */
interface OpenDense {
  layer: LayerSpec & { type: 'dense' };
  weights: LayerWeights;
}

function floats(t: TensorProto): Float32Array {
  return Float32Array.from(tensorValues(t));
}

function transpose(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(values.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let d = 0; d < outShape.length; d++) source += index[d] * strides[perm[d]];
    out[o] = values[source];
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++index[d] < outShape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** TensorFlow's 'same' padding [top, left, bottom, right] for a window over an image. */
function samePads(size: number[], kernel: number[], stride: number[], dilation: number[]): number[] {
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

/** The Erf form of GELU PyTorch exports: x -> Div(√2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5). */
function geluPatterns(
  graph: OnnxGraph,
  constant: (name: string) => number[] | undefined,
): Map<OnnxNode, OnnxNode[]> {
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const only = (t: string) => {
    const c = consumers.get(t) ?? [];
    return c.length === 1 ? c[0] : undefined;
  };
  const isScalar = (name: string | undefined, value: number) => {
    const v = name === undefined ? undefined : constant(name);
    return v !== undefined && v.length === 1 && Math.abs(v[0] - value) < 1e-4;
  };
  const found = new Map<OnnxNode, OnnxNode[]>();
  for (const div of graph.nodes) {
    if (div.opType !== 'Div' || !isScalar(div.inputs[1], Math.SQRT2)) continue;
    const x = div.inputs[0];
    const erf = only(div.outputs[0]);
    if (erf?.opType !== 'Erf') continue;
    const add = only(erf.outputs[0]);
    if (add?.opType !== 'Add' || !add.inputs.some((i) => isScalar(i, 1))) continue;
    const mul = only(add.outputs[0]);
    if (mul?.opType !== 'Mul' || !mul.inputs.includes(x)) continue;
    const half = only(mul.outputs[0]);
    if (half?.opType !== 'Mul' || !half.inputs.some((i) => isScalar(i, 0.5))) continue;
    found.set(half, [div, erf, add, mul, half]);
  }
  return found;
}

export function importOnnxFile(file: string): ModelWeights {
  return importOnnxGraph(readGraph(readOnnxFile(file)));
}

export function importOnnxGraph(graph: OnnxGraph): ModelWeights {
  const { file } = graph;
  const constants = new Map<string, number[]>();
  for (const [name, init] of graph.initializers)
    if (init.dims.reduce((a, b) => a * b, 1) <= 16) constants.set(name, tensorValues(init.proto));
  for (const n of graph.nodes)
    if (n.opType === 'Constant') {
      const t = n.attributes.get('value');
      if (t && typeof t === 'object' && !Array.isArray(t))
        constants.set(n.outputs[0], tensorValues(t as TensorProto));
    }
  const gelus = geluPatterns(graph, (name) => constants.get(name));
  const inGelu = new Set([...gelus.values()].flat());

  const blocking = new Map<string, string>();
  for (const n of graph.nodes) {
    if (inGelu.has(n)) continue;
    const ok = n.domain === 'ai.onnx' && (IMPORTABLE_OPS as readonly string[]).includes(n.opType);
    const key = n.domain === 'ai.onnx' ? n.opType : `${n.domain}.${n.opType}`;
    if (!ok && !blocking.has(key)) blocking.set(key, n.name);
  }
  if (blocking.size > 0)
    throw new OnnxError(
      `${file}: cannot import the model as a trainable spec (needed for fine-tuning): unsupported op${blocking.size > 1 ? 's' : ''} ${[...blocking].map(([op, node]) => `${op} (node '${node}')`).join(', ')}; without fine-tuning, magnitude, global, quantize, cluster and lowrank work on any graph`,
    );
  if (graph.inputs.length !== 1)
    throw new OnnxError(
      `${file}: cannot import: the model has ${graph.inputs.length} inputs (one is supported)`,
    );
  if (graph.outputs.length !== 1)
    throw new OnnxError(
      `${file}: cannot import: the model has ${graph.outputs.length} outputs (one is supported)`,
    );

  const input = graph.inputs[0];
  if (input.elemType !== FLOAT || !input.dims || input.dims.slice(1).some((d) => typeof d !== 'number'))
    throw new OnnxError(
      `${file}: cannot import: input '${input.name}' needs a float32 tensor with a static shape after the batch axis`,
    );
  const dims = input.dims.slice(1) as number[];
  const names = new Set<string>();
  const layerName = (hint: string) => {
    let base = hint.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'layer';
    if (/^[0-9]/.test(base)) base = `n${base}`;
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const inputName = layerName(input.name);
  const values = new Map<string, Value>();
  let specInput: number[];
  if (dims.length === 3) {
    specInput = [dims[1], dims[2], dims[0]];
    values.set(input.name, { ref: inputName, kind: 'image', shape: specInput });
  } else if (dims.length === 1) {
    specInput = dims;
    values.set(input.name, { ref: inputName, kind: 'features', shape: dims });
  } else
    throw new OnnxError(
      `${file}: cannot import: input '${input.name}' has shape [${input.dims.join(', ')}]; images [batch, C, H, W] and features [batch, D] are supported`,
    );

  const layers: LayerSpec[] = [];
  const weights: LayerWeights[] = [];
  const openDense = new Map<string, OpenDense>();
  const uses = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of graph.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);

  const fail = (n: OnnxNode, why: string): never => {
    throw new OnnxError(`${file}: cannot import node '${n.name}' (${n.opType}): ${why}`);
  };
  const value = (n: OnnxNode, i: number): Value => {
    const v = values.get(n.inputs[i]);
    if (!v)
      fail(
        n,
        `input '${n.inputs[i]}' is not an activation the import follows (a constant where a layer's input is expected)`,
      );
    return v as Value;
  };
  const initializer = (n: OnnxNode, i: number, what: string): TensorProto => {
    const init = graph.initializers.get(n.inputs[i]);
    if (!init || init.dataType !== FLOAT) fail(n, `its ${what} (input ${i}) must be a float32 initializer`);
    return (init as { proto: TensorProto }).proto;
  };
  const ints = (n: OnnxNode, name: string, fallback: number[]): number[] => {
    const a = n.attributes.get(name);
    return Array.isArray(a) ? (a as number[]) : fallback;
  };
  const int = (n: OnnxNode, name: string, fallback: number): number => {
    const a = n.attributes.get(name);
    return typeof a === 'number' ? a : fallback;
  };
  /** A flattened image may only be read by a product (whose rows are permuted) unless its order is the identity. */
  const plain = (n: OnnxNode, v: Value): Value => {
    if (v.order)
      fail(n, 'reads an image flattened in channel-first order; only a Gemm or MatMul may read it');
    return v;
  };
  const add = (
    layer: LayerSpec,
    output: string,
    v: Omit<Value, 'ref'>,
    tensors?: LayerWeights['tensors'],
  ) => {
    layers.push(layer);
    if (tensors) weights.push({ layer: layer.name, type: layer.type, tensors });
    values.set(output, { ...v, ref: layer.name });
  };
  const activationLayer = (n: OnnxNode, activation: Activation, output = n.outputs[0]) => {
    const v = plain(n, value(n, 0));
    add({ name: layerName(n.name), type: 'activation', inputs: [v.ref], activation }, output, v);
  };
  const windowPadding = (n: OnnxNode, v: Value, kernel: number[], strides: number[], dilations: number[]) => {
    const autoPad = n.attributes.get('auto_pad');
    const size = [v.shape[0], v.shape[1]];
    const same = samePads(size, kernel, strides, dilations);
    if (autoPad === 'VALID') return { padding: 'valid' as const, explicit: [0, 0, 0, 0] };
    if (autoPad === 'SAME_UPPER') return { padding: 'same' as const, explicit: same };
    if (autoPad === 'SAME_LOWER') fail(n, 'auto_pad SAME_LOWER is not supported');
    const pads = ints(n, 'pads', [0, 0, 0, 0]);
    if (pads.every((p) => p === 0)) return { padding: 'valid' as const, explicit: pads };
    if (pads.every((p, i) => p === same[i])) return { padding: 'same' as const, explicit: pads };
    return { padding: null, explicit: pads };
  };

  for (const n of graph.nodes) {
    if (inGelu.has(n)) {
      const pattern = gelus.get(n);
      if (pattern) {
        const div = pattern[0];
        const v = plain(n, values.get(div.inputs[0]) ?? fail(div, 'reads no activation'));
        add(
          { name: layerName(n.name), type: 'activation', inputs: [v.ref], activation: 'gelu' },
          n.outputs[0],
          v,
        );
      }
      continue;
    }
    switch (n.opType) {
      case 'Constant':
        break;
      case 'Identity':
      case 'Dropout': {
        const v = values.get(n.inputs[0]);
        if (v) values.set(n.outputs[0], v);
        break;
      }
      case 'Relu':
        activationLayer(n, 'relu');
        break;
      case 'Sigmoid':
        activationLayer(n, 'sigmoid');
        break;
      case 'Tanh':
        activationLayer(n, 'tanh');
        break;
      case 'Gelu':
        if (n.attributes.get('approximate') === 'tanh') fail(n, "approximate 'tanh' GELU is not supported");
        activationLayer(n, 'gelu');
        break;
      case 'Clip': {
        const low = n.inputs[1]
          ? constants.get(n.inputs[1])?.[0]
          : (n.attributes.get('min') as number | undefined);
        const high = n.inputs[2]
          ? constants.get(n.inputs[2])?.[0]
          : (n.attributes.get('max') as number | undefined);
        if (low === 0 && high === 6) activationLayer(n, 'relu6');
        else if (low === 0 && (high === undefined || high === Number.POSITIVE_INFINITY))
          activationLayer(n, 'relu');
        else
          fail(
            n,
            `clips to [${low ?? '-inf'}, ${high ?? 'inf'}]; only [0, 6] (ReLU6) and [0, inf) (ReLU) are supported`,
          );
        break;
      }
      case 'Softmax': {
        const v = plain(n, value(n, 0));
        const axis = int(n, 'axis', graph.opsets['ai.onnx'] >= 13 ? -1 : 1);
        if (v.kind !== 'features' || (axis !== -1 && axis !== 1))
          fail(n, 'softmax over the last axis of [batch, D] only');
        activationLayer(n, 'softmax');
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const v = value(n, 0);
        if (v.kind === 'image') fail(n, 'multiplies an image; flatten it first');
        const b = initializer(n, 1, 'weight');
        const [rows, cols] = b.dims.map(Number);
        if (b.dims.length !== 2) fail(n, 'its weight must be a matrix');
        let kernel = floats(b);
        let k = rows;
        let units = cols;
        let alpha = 1;
        let beta = 1;
        if (n.opType === 'Gemm') {
          if (int(n, 'transA', 0) !== 0) fail(n, 'transA is not supported');
          alpha = (n.attributes.get('alpha') as number | undefined) ?? 1;
          beta = (n.attributes.get('beta') as number | undefined) ?? 1;
          if (int(n, 'transB', 0)) {
            kernel = transpose(kernel, [rows, cols], [1, 0]);
            k = cols;
            units = rows;
          }
        }
        if (alpha !== 1) kernel = kernel.map((x) => x * alpha);
        const width = v.shape[v.shape.length - 1];
        if (width !== k) fail(n, `multiplies ${width} features by a [${k}, ${units}] weight`);
        if (v.order) {
          // Rows in the spec's (h, w, c) order.
          const permuted = new Float32Array(kernel.length);
          for (let s = 0; s < k; s++)
            permuted.set(kernel.subarray(v.order[s] * units, (v.order[s] + 1) * units), s * units);
          kernel = permuted;
        }
        const tensors = [{ name: 'kernel', shape: [k, units], values: kernel }];
        let useBias = false;
        if (n.opType === 'Gemm' && n.inputs[2]) {
          const c = floats(initializer(n, 2, 'bias'));
          if (c.length !== units && c.length !== 1)
            fail(n, `its bias has ${c.length} values for ${units} outputs`);
          tensors.push({
            name: 'bias',
            shape: [units],
            values: Float32Array.from({ length: units }, (_, i) => beta * c[c.length === 1 ? 0 : i]),
          });
          useBias = true;
        }
        const layer = { name: layerName(n.name), type: 'dense' as const, inputs: [v.ref], units, useBias };
        add(layer, n.outputs[0], { kind: 'features', shape: [...v.shape.slice(0, -1), units] }, tensors);
        if (!useBias) openDense.set(n.outputs[0], { layer, weights: weights[weights.length - 1] });
        break;
      }
      case 'Add': {
        const constantSide = n.inputs.findIndex((i) => graph.initializers.has(i));
        if (constantSide >= 0) {
          const other = n.inputs[1 - constantSide];
          const open = openDense.get(other);
          const c = floats(initializer(n, constantSide, 'addend'));
          if (!open || (uses.get(other) ?? 0) !== 1 || c.length !== open.layer.units)
            fail(n, 'adds a constant that is not the bias of the product before it');
          const o = open as OpenDense;
          o.layer.useBias = true;
          o.weights.tensors.push({ name: 'bias', shape: [c.length], values: c });
          openDense.delete(other);
          values.set(n.outputs[0], values.get(other) as Value);
          break;
        }
        const vs = n.inputs.map((_, i) => plain(n, value(n, i)));
        if (vs.some((v) => v.shape.join(',') !== vs[0].shape.join(',') || v.kind !== vs[0].kind))
          fail(n, `adds tensors of shapes ${vs.map((v) => `[${v.shape}]`).join(' and ')} (no broadcasting)`);
        add({ name: layerName(n.name), type: 'add', inputs: vs.map((v) => v.ref) }, n.outputs[0], vs[0]);
        break;
      }
      case 'Concat': {
        const vs = n.inputs.map((_, i) => plain(n, value(n, i)));
        const kind = vs[0].kind;
        const axis = int(n, 'axis', 1);
        const rank = kind === 'image' ? 4 : 2;
        if (vs.some((v) => v.kind !== kind) || (axis !== 1 && axis !== 1 - rank) || kind === 'pooled')
          fail(n, 'concatenates along channels (axis 1) of images or features only');
        const shape = [...vs[0].shape];
        shape[shape.length - 1] = vs.reduce((a, v) => a + v.shape[v.shape.length - 1], 0);
        add(
          { name: layerName(n.name), type: 'concat', inputs: vs.map((v) => v.ref), axis: -1 },
          n.outputs[0],
          {
            kind,
            shape,
          },
        );
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const v = value(n, 0);
        if (n.opType === 'Flatten' && int(n, 'axis', 1) !== 1) fail(n, 'flattens from axis 1 only');
        if (n.opType === 'Reshape') {
          const target = constants.get(n.inputs[1]) ?? [];
          const width = v.shape.reduce((a, b) => a * b, 1);
          if (target.length !== 2 || !(target[1] === -1 || target[1] === width))
            fail(n, 'reshapes to [batch, -1] only');
        }
        if (v.kind !== 'image') {
          values.set(n.outputs[0], { ...v, kind: 'features' });
          break;
        }
        const [h, w, c] = v.shape;
        let order: Int32Array | undefined;
        if (h * w > 1) {
          order = new Int32Array(h * w * c);
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
              for (let ch = 0; ch < c; ch++) order[(y * w + x) * c + ch] = ch * h * w + y * w + x;
        }
        add({ name: layerName(n.name), type: 'flatten', inputs: [v.ref] }, n.outputs[0], {
          kind: 'features',
          shape: [h * w * c],
          order,
        });
        break;
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const v = value(n, 0);
        if (v.kind !== 'image') fail(n, 'pools an image only');
        add(
          {
            name: layerName(n.name),
            type: n.opType === 'GlobalAveragePool' ? 'globalAvgPool2d' : 'globalMaxPool2d',
            inputs: [v.ref],
          },
          n.outputs[0],
          { kind: 'pooled', shape: [v.shape[2]] },
        );
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const v = value(n, 0);
        if (v.kind !== 'image') fail(n, 'pools an image only');
        const kernel = ints(n, 'kernel_shape', []);
        const strides = ints(n, 'strides', [1, 1]);
        if (ints(n, 'dilations', [1, 1]).some((d) => d !== 1)) fail(n, 'dilated pooling is not supported');
        const ceil = int(n, 'ceil_mode', 0) === 1;
        const { padding } = windowPadding(n, v, kernel, strides, [1, 1]);
        if (padding === null || (ceil && padding !== 'valid'))
          fail(n, `pads [${ints(n, 'pads', [])}] are neither TensorFlow's 'same' nor none`);
        if (n.opType === 'AveragePool' && padding === 'same' && int(n, 'count_include_pad', 0) === 1)
          fail(n, 'count_include_pad=1 with padding is not supported');
        const out = [0, 1].map((d) =>
          padding === 'same'
            ? Math.ceil(v.shape[d] / strides[d])
            : (ceil ? Math.ceil : Math.floor)((v.shape[d] - kernel[d]) / strides[d]) + 1,
        );
        add(
          {
            name: layerName(n.name),
            type: n.opType === 'MaxPool' ? 'maxPool2d' : 'avgPool2d',
            inputs: [v.ref],
            poolSize: [kernel[0], kernel[1]],
            strides: [strides[0], strides[1]],
            padding: padding as 'same' | 'valid',
            ...(ceil ? { ceilMode: true } : {}),
          },
          n.outputs[0],
          { kind: 'image', shape: [out[0], out[1], v.shape[2]] },
        );
        break;
      }
      case 'BatchNormalization': {
        const v = plain(n, value(n, 0));
        const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) =>
          floats(initializer(n, i, 'statistics')),
        );
        const channels = v.shape[v.shape.length - 1];
        if (gamma.length !== channels) fail(n, `has ${gamma.length} channels, its input ${channels}`);
        add(
          {
            name: layerName(n.name),
            type: 'batchNorm',
            inputs: [v.ref],
            epsilon: (n.attributes.get('epsilon') as number | undefined) ?? 1e-5,
          },
          n.outputs[0],
          v,
          [
            { name: 'gamma', shape: [channels], values: gamma },
            { name: 'beta', shape: [channels], values: beta },
            { name: 'moving_mean', shape: [channels], values: mean },
            { name: 'moving_variance', shape: [channels], values: variance },
          ],
        );
        break;
      }
      case 'Conv': {
        let v = value(n, 0);
        if (v.kind !== 'image') fail(n, 'convolves an image only');
        const w = initializer(n, 1, 'kernel');
        const [out, perGroup, kh, kw] = w.dims.map(Number);
        if (w.dims.length !== 4) fail(n, 'only 2-D convolutions are supported');
        const group = int(n, 'group', 1);
        const strides = ints(n, 'strides', [1, 1]);
        const dilations = ints(n, 'dilations', [1, 1]);
        const channels = v.shape[2];
        let { padding, explicit } = windowPadding(n, v, [kh, kw], strides, dilations);
        if (padding === null) {
          // Explicit pads TensorFlow's 'same' would not choose: a zero-padding layer, then 'valid'.
          const [top, left, bottom, right] = explicit;
          const padded = {
            name: layerName(`${n.name}_pad`),
            type: 'zeroPadding2d' as const,
            inputs: [v.ref],
            padding: [
              [top, bottom],
              [left, right],
            ] as [[number, number], [number, number]],
          };
          layers.push(padded);
          v = {
            ref: padded.name,
            kind: 'image',
            shape: [v.shape[0] + top + bottom, v.shape[1] + left + right, channels],
          };
          padding = 'valid';
          explicit = [0, 0, 0, 0];
        }
        const extent = [kh, kw].map((k, d) => (k - 1) * dilations[d] + 1);
        const size = [0, 1].map((d) =>
          padding === 'same'
            ? Math.ceil(v.shape[d] / strides[d])
            : Math.floor((v.shape[d] - extent[d]) / strides[d]) + 1,
        );
        const kernel = floats(w);
        const tensors: LayerWeights['tensors'] = [];
        const common = {
          name: layerName(n.name),
          inputs: [v.ref],
          kernelSize: [kh, kw] as [number, number],
          strides: [strides[0], strides[1]] as [number, number],
          dilation: [dilations[0], dilations[1]] as [number, number],
          padding: padding as 'same' | 'valid',
          useBias: Boolean(n.inputs[2]),
        };
        let layer: LayerSpec;
        if (group > 1 && group === channels && perGroup === 1) {
          const multiplier = out / channels;
          // ONNX output c * m + j reads channel c: tfjs' depthwise kernel [kh, kw, c, m].
          tensors.push({
            name: 'depthwise_kernel',
            shape: [kh, kw, channels, multiplier],
            values: transpose(kernel, [out, 1, kh, kw], [2, 3, 1, 0]),
          });
          layer = { ...common, type: 'depthwiseConv2d', depthMultiplier: multiplier };
        } else {
          tensors.push({
            name: 'kernel',
            shape: [kh, kw, perGroup, out],
            values: transpose(kernel, [out, perGroup, kh, kw], [2, 3, 1, 0]),
          });
          layer = { ...common, type: 'conv2d', filters: out, ...(group > 1 ? { groups: group } : {}) };
        }
        if (n.inputs[2])
          tensors.push({ name: 'bias', shape: [out], values: floats(initializer(n, 2, 'bias')) });
        add(layer, n.outputs[0], { kind: 'image', shape: [size[0], size[1], out] }, tensors);
        break;
      }
      default:
        fail(n, 'unsupported');
    }
  }
  const output = values.get(graph.outputs[0]);
  if (!output)
    throw new OnnxError(
      `${file}: cannot import: output '${graph.outputs[0]}' is not computed by an imported layer`,
    );
  if (output.order)
    throw new OnnxError(`${file}: cannot import: the output is an image flattened in channel-first order`);
  const spec: ModelSpec = {
    format: 'parsimony-model',
    version: 1,
    name: graph.name,
    inputs: [{ name: inputName, shape: specInput }],
    layers,
    outputs: [output.ref],
  };
  inferShapes(spec, file); // the spec must be one Parsimony accepts: one line naming the layer otherwise
  return { spec, layers: weights };
}
