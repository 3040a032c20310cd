/**
 * `analyze` for an ONNX model: shapes inferred node by node (a symbolic batch dimension taken as
 * 1, and said so), then per node and in total the same figures as for a spec (ModelComplexity):
 * parameters are initializers (or constants derived from them) consumed as weights, never shape
 * constants; batch-norm running statistics are state; MACs and connections follow op-costs.ts.
 * An op without a rule stops the analysis with its name rather than counting it as zero.
 */
import { OnnxError } from '../../../core/errors.js';
import { complexityTotals, type LayerComplexity, type ModelComplexity } from '../../complexity/analyze.js';
import { elementBytes, type OnnxGraph, type OnnxNode, readGraph, tensorValues } from './graph.js';
import { readOnnxFile } from './model-file.js';
import { opRule } from './op-costs.js';
import { SHAPE_RULES, type ShapeContext, type TensorInfo } from './shape-inference.js';

export interface OnnxNodeComplexity extends Omit<LayerComplexity, 'type'> {
  /** The ONNX op type. */
  type: string;
}

export interface OnnxModelComplexity extends Omit<ModelComplexity, 'layers'> {
  format: 'onnx';
  file: string;
  producer: string;
  opsets: Record<string, number>;
  inputs: { name: string; shape: number[] }[];
  /** What the analysis assumed, e.g. a symbolic batch dimension taken as 1. */
  assumptions: string[];
  /** Op types present in the graph that have no MACs by convention, with their node counts. */
  zeroMacOps: Record<string, number>;
  /** Nodes computed from constants alone (shape arithmetic, weight re-layout): no activations. */
  constantNodes: number;
  layers: OnnxNodeComplexity[];
}

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;

export function analyzeOnnxFile(file: string): OnnxModelComplexity {
  return analyzeOnnxGraph(readGraph(readOnnxFile(file)));
}

function unsupportedOps(graph: OnnxGraph): void {
  const missing = new Map<string, string>();
  for (const node of graph.nodes) {
    const known = node.domain === 'ai.onnx' && SHAPE_RULES[node.opType] && opRule(node.opType);
    const key = node.domain === 'ai.onnx' ? node.opType : `${node.domain}.${node.opType}`;
    if (!known && !missing.has(key)) missing.set(key, node.name);
  }
  if (missing.size > 0)
    throw new OnnxError(
      `${graph.file}: unsupported op${missing.size > 1 ? 's' : ''} ${[...missing].map(([op, node]) => `${op} (node '${node}')`).join(', ')}: analyze cannot count ${missing.size > 1 ? 'them' : 'it'}`,
    );
}

export function analyzeOnnxGraph(graph: OnnxGraph): OnnxModelComplexity {
  unsupportedOps(graph);
  const opset = graph.opsets['ai.onnx'];
  const tensors = new Map<string, TensorInfo>();
  const assumptions: string[] = [];
  const inputs: { name: string; shape: number[] }[] = [];
  for (const [name, init] of graph.initializers) {
    const count = init.dims.reduce((a, b) => a * b, 1);
    // values of small tensors only, and only when every element could be read (not float16, strings)
    const values = count <= 4096 ? tensorValues(init.proto) : [];
    tensors.set(name, {
      shape: init.dims,
      dataType: init.dataType,
      constant: true,
      value: values.length === count ? values : undefined,
    });
  }
  for (const i of graph.inputs) {
    if (!i.dims) throw new OnnxError(`${graph.file}: graph input '${i.name}' has no shape`);
    const shape = i.dims.map((d, axis) => {
      if (typeof d === 'number') return d;
      if (axis === 0) {
        assumptions.push(`input '${i.name}': symbolic batch dimension${d ? ` '${d}'` : ''} taken as 1`);
        return 1;
      }
      throw new OnnxError(
        `${graph.file}: graph input '${i.name}' dimension ${axis}${d ? ` ('${d}')` : ''} is symbolic; only a batch dimension (the first) can be assumed`,
      );
    });
    tensors.set(i.name, { shape, dataType: i.elemType, constant: false });
    inputs.push({ name: i.name, shape });
  }

  const used = new Set<string>([...graph.nodes.flatMap((n) => n.inputs), ...graph.outputs]);
  const counted = new Set<string>(); // weight tensors already counted (shared weights count once)
  const zeroMacOps: Record<string, number> = {};
  const layers: OnnxNodeComplexity[] = [];
  let constantNodes = 0;
  for (const node of graph.nodes) {
    const c: ShapeContext = {
      node,
      inputs: node.inputs.map((n) => (n ? tensors.get(n) : undefined)),
      opset,
      file: graph.file,
    };
    node.inputs.forEach((n, i) => {
      if (n && !c.inputs[i])
        throw new OnnxError(
          `${graph.file}: node '${node.name}' (${node.opType}) reads '${n}', which no earlier node or initializer produces`,
        );
    });
    const outputs = SHAPE_RULES[node.opType](c);
    const constant = node.inputs.every((n, i) => !n || (c.inputs[i]?.constant ?? true));
    const infos: TensorInfo[] = outputs.map((o) => ({ ...o, constant }));
    node.outputs.forEach((name, i) => {
      if (name && infos[i]) tensors.set(name, infos[i]);
    });
    if (constant) {
      constantNodes++;
      continue;
    }
    layers.push(nodeComplexity(node, c, infos, counted, graph, zeroMacOps, used));
  }
  return {
    format: 'onnx',
    name: graph.name,
    file: graph.file,
    producer: graph.producer,
    opsets: graph.opsets,
    inputs,
    assumptions,
    ...complexityTotals(layers),
    zeroMacOps,
    constantNodes,
    layers,
  };
}

/**
 * Non-zero values of a constant: counted from the stored data of a float32 initializer, of int8
 * codes a DequantizeLinear turns back into floats (zero point 0), or of uint8 codes a Gather looks
 * up in a codebook (weight clustering); anything else is taken as all non-zero.
 */
function nonZero(graph: OnnxGraph, name: string, size: number): number {
  const init = graph.initializers.get(name);
  const raw = init?.proto.rawData;
  if (init?.dataType === FLOAT && raw && raw.length === size * 4) {
    // A typed view (copied when the bytes are not 4-aligned) reads ten times faster than a DataView.
    const values =
      raw.byteOffset % 4 === 0
        ? new Float32Array(raw.buffer, raw.byteOffset, size)
        : new Float32Array(new Uint8Array(raw).buffer, 0, size);
    let n = 0;
    for (let i = 0; i < size; i++) if (values[i] !== 0) n++;
    return n;
  }
  const producer = init ? undefined : graph.nodes.find((n) => n.outputs[0] === name);
  const bytes = (tensor: string | undefined, types: number[]) => {
    const t = tensor === undefined ? undefined : graph.initializers.get(tensor);
    return t && types.includes(t.dataType) ? t.proto.rawData : undefined;
  };
  if (producer?.opType === 'DequantizeLinear') {
    const codes = bytes(producer.inputs[0], [INT8, UINT8]);
    const zero = producer.inputs[2] ? bytes(producer.inputs[2], [INT8, UINT8]) : new Uint8Array(1);
    if (codes && codes.length === size && zero?.every((z) => z === 0))
      return codes.reduce((a, c) => a + (c !== 0 ? 1 : 0), 0);
  }
  if (producer?.opType === 'Gather') {
    const cast = graph.nodes.find((n) => n.outputs[0] === producer.inputs[1] && n.opType === 'Cast');
    const codes = bytes(cast?.inputs[0], [UINT8]);
    const codebook = graph.initializers.get(producer.inputs[0]);
    if (codes && codes.length === size && codebook?.dataType === FLOAT) {
      const book = tensorValues(codebook.proto);
      return codes.reduce((a, c) => a + (book[c] !== 0 ? 1 : 0), 0);
    }
  }
  return size;
}

function nodeComplexity(
  node: OnnxNode,
  c: ShapeContext,
  outputs: TensorInfo[],
  counted: Set<string>,
  graph: OnnxGraph,
  zeroMacOps: Record<string, number>,
  used: Set<string>,
): OnnxNodeComplexity {
  const rule = opRule(node.opType);
  if (!rule) throw new OnnxError(`${graph.file}: node '${node.name}': unsupported op ${node.opType}`);
  const hasActivation = c.inputs.some((t) => t && !t.constant);
  const weightIndices =
    rule.weights === 'operands'
      ? node.inputs
          .map((_, i) => i)
          .filter((i) => hasActivation && (c.inputs[i]?.constant ?? false) && size(c.inputs[i]) > 1)
      : rule.weights.filter((i) => c.inputs[i]?.constant);
  let params = 0;
  let state = 0;
  let weightBytes = 0;
  let nonZeroParams = 0;
  const take = (i: number, isState: boolean) => {
    const name = node.inputs[i];
    const t = c.inputs[i];
    if (!name || !t || counted.has(name)) return;
    counted.add(name);
    const n = size(t);
    weightBytes += n * elementBytes(t.dataType);
    if (isState) state += n;
    else {
      params += n;
      nonZeroParams += nonZero(graph, name, n);
    }
  };
  for (const i of weightIndices) take(i, false);
  for (const i of rule.state ?? []) if (c.inputs[i]?.constant) take(i, true);
  const cost = rule.cost ? rule.cost(c, outputs) : { macs: 0, connections: 0 };
  if (!rule.cost) zeroMacOps[node.opType] = (zeroMacOps[node.opType] ?? 0) + 1;
  const activationBytes = outputs.reduce(
    (a, o, i) => (used.has(node.outputs[i]) ? a + size(o) * elementBytes(o.dataType) : a),
    0,
  );
  return {
    name: node.name,
    type: node.opType,
    outputShape: [...(outputs[0]?.shape ?? [])],
    params,
    trainableParams: params,
    nonTrainableParams: state,
    frozenParams: 0,
    stateValues: state,
    connections: cost.connections,
    macs: cost.macs,
    flops: 2 * cost.macs,
    activationBytes,
    weightBytes,
    nonZeroParams: nonZeroParams,
    storedBits: weightBytes * 8,
    activeParams: params,
    activeMacs: cost.macs,
  };
}

function size(t: TensorInfo | undefined): number {
  return t ? t.shape.reduce((a, b) => a * b, 1) : 0;
}
