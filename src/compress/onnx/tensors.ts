/**
 * Reading and writing the initializers and nodes of a decoded ONNX model in place: float32 values
 * out of raw or typed fields, new tensors and nodes, and which ops hold weights (the tensors
 * compression changes) with the axis of their output channels.
 */
import { OnnxError } from '../../core/errors.js';
import {
  type AttributeProto,
  type GraphProto,
  int64,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../../models/formats/onnx/proto.js';

export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const INT32 = 6;
export const INT64 = 7;

export function graphOf(proto: ModelProto, file: string): GraphProto {
  if (!proto.graph) throw new OnnxError(`${file}: the model has no graph`);
  return proto.graph;
}

export function dimsOf(t: TensorProto): number[] {
  return t.dims.map(int64);
}

export function sizeOf(t: TensorProto): number {
  return dimsOf(t).reduce((a, b) => a * b, 1);
}

/** The float32 values of an initializer (a copy). */
export function floatValues(t: TensorProto): Float32Array {
  const n = sizeOf(t);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== n * 4)
      // not a user error: readOnnxFile has checked the sizes of external data; inline data is protobuf's
      throw new Error(`initializer ${t.name}: ${raw.length} bytes for ${n} float32 values`);
    return new Float32Array(new Uint8Array(raw).buffer, 0, n);
  }
  return Float32Array.from(t.floatData);
}

function emptyTensor(name: string, dataType: number, dims: number[]): TensorProto {
  return {
    name,
    dims,
    dataType,
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    uint64Data: [],
    externalData: [],
  };
}

/** Replaces an initializer's values (float32, same count). */
export function setFloatValues(t: TensorProto, values: Float32Array): void {
  t.rawData = new Uint8Array(Float32Array.from(values).buffer);
  t.floatData = [];
}

export function floatTensor(name: string, values: Float32Array, dims: number[]): TensorProto {
  return { ...emptyTensor(name, FLOAT, dims), rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

export function int8Tensor(name: string, codes: Int32Array, dims: number[], unsigned = false): TensorProto {
  const bytes = unsigned ? Uint8Array.from(codes) : new Uint8Array(Int8Array.from(codes).buffer);
  return { ...emptyTensor(name, unsigned ? UINT8 : INT8, dims), rawData: bytes };
}

export function int32Tensor(name: string, values: Int32Array, dims: number[]): TensorProto {
  return { ...emptyTensor(name, INT32, dims), rawData: new Uint8Array(Int32Array.from(values).buffer) };
}

export function int64Tensor(name: string, values: number[], dims: number[]): TensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { ...emptyTensor(name, INT64, dims), rawData: new Uint8Array(data.buffer) };
}

export function intAttribute(name: string, value: number): AttributeProto {
  return { name, type: 2, i: value, floats: [], ints: [], strings: [] };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: AttributeProto[] = [],
): NodeProto {
  return { opType, input: inputs, output: outputs, name, attribute: attributes, domain: '' };
}

export function attributeInt(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? fallback : int64(a.i);
}

export function attributeFloat(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a?.f === undefined || a.f === null ? fallback : a.f;
}

/** A name not yet used by any tensor of the graph. */
export function uniqueNamer(graph: GraphProto): (hint: string) => string {
  const used = new Set<string>([
    ...graph.initializer.map((t) => t.name),
    ...graph.input.map((i) => i.name),
    ...graph.node.flatMap((n) => [...n.input, ...n.output, n.name ?? '']),
  ]);
  return (hint) => {
    let name = hint;
    for (let i = 1; used.has(name); i++) name = `${hint}_${i}`;
    used.add(name);
    return name;
  };
}

/** A weight tensor of the graph: the initializer a weighted op multiplies its input by. */
export interface WeightTensor {
  /** The initializer's name. */
  name: string;
  tensor: TensorProto;
  /** The node that reads it (the first, when shared) and its op. */
  node: NodeProto;
  nodeName: string;
  op: 'Conv' | 'Gemm' | 'MatMul' | 'ConvTranspose';
  dims: number[];
  /** Axis of the output channels (Conv 0, Gemm 0 or 1 by transB, MatMul 1, ConvTranspose 1). */
  outputAxis: number;
}

/** The float32 weight initializers of Conv, ConvTranspose, Gemm and MatMul nodes, in graph order. */
export function weightTensors(graph: GraphProto): WeightTensor[] {
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const seen = new Set<string>();
  const out: WeightTensor[] = [];
  graph.node.forEach((n, index) => {
    const op = n.opType;
    if (n.domain && n.domain !== 'ai.onnx') return;
    if (op !== 'Conv' && op !== 'Gemm' && op !== 'MatMul' && op !== 'ConvTranspose') return;
    const name = n.input[1];
    const tensor = name ? initializers.get(name) : undefined;
    if (!tensor || tensor.dataType !== FLOAT || seen.has(name)) return;
    const dims = dimsOf(tensor);
    if (op === 'MatMul' && dims.length !== 2) return;
    seen.add(name);
    const outputAxis =
      op === 'Conv'
        ? 0
        : op === 'ConvTranspose'
          ? 1
          : op === 'MatMul'
            ? 1
            : attributeInt(n, 'transB', 0)
              ? 0
              : 1;
    out.push({ name, tensor, node: n, nodeName: n.name || `${op}_${index}`, op, dims, outputAxis });
  });
  return out;
}

/**
 * Values reordered so that the output-channel axis is last (the layout quantizers.ts reads: element
 * i belongs to channel i % channels), and back.
 */
export function channelLast(values: Float32Array, dims: number[], axis: number): Float32Array {
  if (axis === dims.length - 1) return values;
  const before = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const channels = dims[axis];
  const after = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(values.length);
  for (let b = 0; b < before; b++)
    for (let c = 0; c < channels; c++)
      for (let a = 0; a < after; a++)
        out[(b * after + a) * channels + c] = values[(b * channels + c) * after + a];
  return out;
}

export function channelFirstBack<T extends Float32Array | Int32Array>(
  values: T,
  dims: number[],
  axis: number,
): T {
  if (axis === dims.length - 1) return values;
  const before = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const channels = dims[axis];
  const after = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new (values.constructor as { new (n: number): T })(values.length);
  for (let b = 0; b < before; b++)
    for (let c = 0; c < channels; c++)
      for (let a = 0; a < after; a++)
        out[(b * channels + c) * after + a] = values[(b * after + a) * channels + c];
  return out;
}
