/**
 * The graph of a decoded ONNX model in the form the analysis uses: nodes with their attributes
 * read, initializers with their shapes and element sizes, graph inputs with their (possibly
 * symbolic) shapes, and the opsets it imports (checked against the ones Parsimony supports).
 */
import { OnnxError } from '../../../core/errors.js';
import type { OnnxModelFile } from './model-file.js';
import { type AttributeProto, int64, type TensorProto } from './proto.js';

/** Default-domain opsets whose operators the cost table follows. */
export const SUPPORTED_OPSETS = { min: 7, max: 21 };

export type AttributeValue = number | number[] | string | string[] | TensorProto | null;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
  proto: TensorProto;
}

export interface OnnxGraphInput {
  name: string;
  /** A number per dimension, or the dimension's symbolic name (null when unnamed). */
  dims: (number | string | null)[] | null;
  elemType: number;
}

export interface OnnxGraph {
  file: string;
  name: string;
  producer: string;
  opsets: Record<string, number>;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxInitializer>;
  inputs: OnnxGraphInput[];
  outputs: string[];
}

/** Bytes per element of each ONNX data type (strings have no fixed size). */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
  17: 1,
  18: 1,
  19: 1,
  20: 1,
  21: 1,
  22: 1,
};

export function elementBytes(dataType: number): number {
  return ELEMENT_BYTES[dataType] ?? 4;
}

function attributeValue(a: AttributeProto): AttributeValue {
  switch (a.type) {
    case 1:
      return a.f ?? 0;
    case 2:
      return int64(a.i);
    case 3:
      return Buffer.from(a.s ?? []).toString('utf8');
    case 4:
      return a.t ?? null;
    case 6:
      return a.floats;
    case 7:
      return a.ints.map(int64);
    case 8:
      return a.strings.map((s) => Buffer.from(s).toString('utf8'));
    default:
      return null; // graphs and sparse tensors: not needed to count costs
  }
}

export function readGraph(model: OnnxModelFile): OnnxGraph {
  const { proto, file } = model;
  const graph = proto.graph;
  if (!graph) throw new OnnxError(`${file}: the model has no graph`);
  const opsets: Record<string, number> = {};
  for (const o of proto.opsetImport) opsets[o.domain || 'ai.onnx'] = int64(o.version);
  const defaultOpset = opsets['ai.onnx'];
  if (defaultOpset === undefined) throw new OnnxError(`${file}: imports no default-domain (ai.onnx) opset`);
  if (defaultOpset < SUPPORTED_OPSETS.min || defaultOpset > SUPPORTED_OPSETS.max)
    throw new OnnxError(
      `${file}: opset ${defaultOpset} is not supported (supported: ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max})`,
    );
  const initializers = new Map<string, OnnxInitializer>();
  for (const t of graph.initializer)
    initializers.set(t.name, { name: t.name, dims: t.dims.map(int64), dataType: t.dataType, proto: t });
  const inputs: OnnxGraphInput[] = graph.input
    .filter((i) => !initializers.has(i.name))
    .map((i) => {
      const tensor = i.type?.tensorType;
      return {
        name: i.name,
        elemType: tensor?.elemType ?? 1,
        dims: tensor?.shape
          ? (tensor.shape.dim ?? []).map((d) =>
              d.dimValue !== undefined && d.dimValue !== null && int64(d.dimValue) > 0
                ? int64(d.dimValue)
                : d.dimParam || null,
            )
          : null,
      };
    });
  const nodes: OnnxNode[] = graph.node.map((n, i) => ({
    name: n.name || `${n.opType}_${i}`,
    opType: n.opType,
    domain: n.domain || 'ai.onnx',
    inputs: n.input,
    outputs: n.output,
    attributes: new Map(n.attribute.map((a) => [a.name, attributeValue(a)])),
  }));
  return {
    file,
    name: graph.name || 'model',
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    opsets,
    nodes,
    initializers,
    inputs,
    outputs: graph.output.map((o) => o.name),
  };
}

/** The values of a (small) numeric tensor, for shapes and other constants. */
export function tensorValues(t: TensorProto): number[] {
  const count = t.dims.map(int64).reduce((a, b) => a * b, 1);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    const size = elementBytes(t.dataType);
    for (let i = 0; i < count; i++) {
      const at = i * size;
      switch (t.dataType) {
        case 1:
          out.push(view.getFloat32(at, true));
          break;
        case 11:
          out.push(view.getFloat64(at, true));
          break;
        case 7:
          out.push(Number(view.getBigInt64(at, true)));
          break;
        case 13:
          out.push(Number(view.getBigUint64(at, true)));
          break;
        case 6:
          out.push(view.getInt32(at, true));
          break;
        case 12:
          out.push(view.getUint32(at, true));
          break;
        case 5:
          out.push(view.getInt16(at, true));
          break;
        case 4:
          out.push(view.getUint16(at, true));
          break;
        case 3:
          out.push(view.getInt8(at));
          break;
        case 2:
        case 9:
          out.push(view.getUint8(at));
          break;
        default:
          return [];
      }
    }
    return out;
  }
  if (t.floatData.length) return t.floatData;
  if (t.int64Data.length) return t.int64Data.map(int64);
  if (t.int32Data.length) return t.int32Data;
  if (t.doubleData.length) return t.doubleData;
  if (t.uint64Data.length) return t.uint64Data.map(int64);
  return [];
}
