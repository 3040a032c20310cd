/**
 * int8 quantization of an ONNX model, written as standard ONNX ops that onnxruntime runs:
 * - `weights`: each weight initializer stored as int8 (symmetric, per output channel or per tensor,
 *   through quantizers.ts) and turned back to float32 by a DequantizeLinear (QDQ weights);
 * - `dynamic`: Gemm and MatMul become DynamicQuantizeLinear (the input, per call) + MatMulInteger
 *   (int8 weights) + a rescale; convolutions get QDQ weights;
 * - `static`: QDQ weights, int32 biases, and a QuantizeLinear/DequantizeLinear pair (uint8,
 *   asymmetric) on every activation read by a convolution, product, pooling, addition,
 *   concatenation or reshaping, with ranges calibrated on data (calibrate.ts). Reshaping
 *   and max pooling keep their input's scale, as onnxruntime needs to run them on int8 directly.
 */
import { OnnxError } from '../../core/errors.js';
import type { GraphProto, ModelProto, NodeProto } from '../../models/formats/onnx/proto.js';
import { type CalibrationMethod, calibrateRange, type Range } from '../calibration.js';
import { quantizeUniform, rangeParameters } from '../quantizers.js';
import { type GraphInput, observeTensors } from './calibrate.js';
import {
  attributeFloat,
  attributeInt,
  channelFirstBack,
  channelLast,
  FLOAT,
  floatTensor,
  floatValues,
  int8Tensor,
  int32Tensor,
  intAttribute,
  node,
  uniqueNamer,
  type WeightTensor,
} from './tensors.js';
import { selectWeights, type TensorChange } from './weight-methods.js';

export type OnnxQuantizationMode = 'dynamic' | 'weights' | 'static';
export const ONNX_QUANTIZATION_MODES: readonly OnnxQuantizationMode[] = ['dynamic', 'weights', 'static'];

export interface OnnxQuantizeOptions {
  mode: OnnxQuantizationMode;
  granularity: 'tensor' | 'channel';
  /** Static: how activation ranges are calibrated. */
  activations: CalibrationMethod;
  percentile?: number;
  skip?: string[];
}

export interface QuantizeContext {
  file: string;
  step: string;
  proto: ModelProto;
  /** Static only: the samples to calibrate on and the input they feed. */
  calibration?: { samples: readonly Float32Array[]; input: GraphInput };
}

export interface QuantizeResult {
  changes: TensorChange[];
  /** Static: the calibrated range of each quantized activation. */
  activationRanges?: Record<string, Range>;
}

interface QuantizedWeight {
  codes: Int32Array;
  scales: Float32Array;
  /** The axis of the scales, or null for one scale. */
  axis: number | null;
}

/** Symmetric int8 codes of a weight, per output channel (along `axis`) or per tensor. */
function quantizeWeight(
  values: Float32Array,
  dims: number[],
  axis: number,
  perChannel: boolean,
): QuantizedWeight {
  const channels = dims[axis];
  const q = quantizeUniform(channelLast(values, dims, axis), perChannel ? channels : 1, {
    bits: 8,
    scheme: 'symmetric',
    granularity: perChannel ? 'channel' : 'tensor',
  });
  // [-128, 127] from quantizeUniform; -128 never occurs for a symmetric range except by rounding at
  // the bound, and int8 kernels prefer [-127, 127].
  for (let i = 0; i < q.codes.length; i++) if (q.codes[i] < -127) q.codes[i] = -127;
  return {
    codes: channelFirstBack(q.codes, dims, axis),
    scales: q.scales,
    axis: perChannel ? axis : null,
  };
}

class GraphEdit {
  readonly fresh: (hint: string) => string;
  /** Nodes that must run first (weight dequantization): they read initializers only. */
  readonly prologue: NodeProto[] = [];

  constructor(readonly graph: GraphProto) {
    this.fresh = uniqueNamer(graph);
  }

  /** Replaces float weight `w` by int8 codes and a DequantizeLinear that outputs the same name. */
  dequantizedWeight(w: WeightTensor, q: QuantizedWeight): void {
    const { graph } = this;
    const codes = this.fresh(`${w.name}_quantized`);
    const scale = this.fresh(`${w.name}_scale`);
    const zero = this.fresh(`${w.name}_zero_point`);
    const dims = q.axis === null ? [] : [q.scales.length];
    graph.initializer.splice(
      graph.initializer.indexOf(w.tensor),
      1,
      int8Tensor(codes, q.codes, w.dims),
      floatTensor(scale, q.scales, dims),
      int8Tensor(zero, new Int32Array(q.scales.length), dims),
    );
    graph.input = graph.input.filter((i) => i.name !== w.name);
    this.prologue.push(
      node(
        'DequantizeLinear',
        [codes, scale, zero],
        [w.name],
        this.fresh(`${w.name}_dequantize`),
        q.axis === null ? [] : [intAttribute('axis', q.axis)],
      ),
    );
  }
}

function change(w: WeightTensor, values: Float32Array, note: string): TensorChange {
  let nonZero = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonZero++;
  return {
    tensor: w.name,
    node: w.nodeName,
    op: w.op,
    weights: values.length,
    nonZeroBefore: nonZero,
    nonZeroAfter: nonZero,
    note,
  };
}

function checkOpset(proto: ModelProto, context: QuantizeContext): void {
  const opset = proto.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = opset ? Number(opset.version) : 0;
  if (version < 13)
    throw new OnnxError(
      `${context.file}: ${context.step}: int8 quantization writes per-channel DequantizeLinear, which needs opset 13 or later; the model imports opset ${version}`,
    );
}

export async function quantizeOnnx(
  graph: GraphProto,
  options: OnnxQuantizeOptions,
  context: QuantizeContext,
): Promise<QuantizeResult> {
  checkOpset(context.proto, context);
  const weights = selectWeights(graph, options.skip ?? [], `${context.file}: ${context.step}`);
  const perChannel = options.granularity === 'channel';
  if (options.mode === 'static') return quantizeStatic(graph, weights, options, context);
  const edit = new GraphEdit(graph);
  const changes: TensorChange[] = [];
  const dynamicInputs = new Map<string, [string, string, string]>();
  for (const w of weights) {
    const values = floatValues(w.tensor);
    if (options.mode === 'dynamic' && dynamicProduct(edit, w, values, perChannel, dynamicInputs)) {
      changes.push(change(w, values, 'int8 MatMulInteger (input quantized per call)'));
      continue;
    }
    edit.dequantizedWeight(w, quantizeWeight(values, w.dims, w.outputAxis, perChannel));
    changes.push(
      change(w, values, `int8 weights + DequantizeLinear (${perChannel ? 'per channel' : 'per tensor'})`),
    );
  }
  graph.node.unshift(...edit.prologue);
  return { changes };
}

/**
 * A Gemm (no transA) or MatMul by a weight as DynamicQuantizeLinear + MatMulInteger; false when the
 * node does not fit (the caller then quantizes its weight with QDQ).
 */
function dynamicProduct(
  edit: GraphEdit,
  w: WeightTensor,
  values: Float32Array,
  perChannel: boolean,
  dynamicInputs: Map<string, [string, string, string]>,
): boolean {
  const { graph, fresh } = edit;
  const n = w.node;
  if (w.op !== 'MatMul' && w.op !== 'Gemm') return false;
  if (graph.node.filter((x) => x.input.includes(w.name)).length !== 1) return false;
  let matrix = values;
  let [rows, cols] = w.dims;
  let alpha = 1;
  let bias: string | undefined;
  if (w.op === 'Gemm') {
    if (attributeInt(n, 'transA', 0) !== 0) return false;
    alpha = attributeFloat(n, 'alpha', 1);
    const beta = attributeFloat(n, 'beta', 1);
    if (attributeInt(n, 'transB', 0)) {
      matrix = new Float32Array(values.length);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) matrix[j * rows + i] = values[i * cols + j];
      [rows, cols] = [cols, rows];
    }
    if (n.input[2]) {
      const c = graph.initializer.find((t) => t.name === n.input[2]);
      if (beta !== 1) {
        if (!c || c.dataType !== FLOAT) return false;
        const scaled = Float32Array.from(floatValues(c), (v) => v * beta);
        bias = fresh(`${n.input[2]}_beta`);
        graph.initializer.push(floatTensor(bias, scaled, c.dims.map(Number)));
      } else bias = n.input[2];
    }
  }
  const q = quantizeWeight(matrix, [rows, cols], 1, perChannel);
  const x = n.input[0];
  let quantizedInput = dynamicInputs.get(x);
  const added: NodeProto[] = [];
  if (!quantizedInput) {
    quantizedInput = [fresh(`${x}_quantized`), fresh(`${x}_scale`), fresh(`${x}_zero_point`)];
    dynamicInputs.set(x, quantizedInput);
    added.push(node('DynamicQuantizeLinear', [x], quantizedInput, fresh(`${x}_dynamic_quantize`)));
  }
  const [xq, xs, xzp] = quantizedInput;
  const codes = fresh(`${w.name}_quantized`);
  const zero = fresh(`${w.name}_zero_point`);
  const scale = fresh(`${w.name}_scale`);
  graph.initializer.splice(
    graph.initializer.indexOf(w.tensor),
    1,
    int8Tensor(codes, q.codes, [rows, cols]),
    int8Tensor(zero, new Int32Array(1), []),
    floatTensor(
      scale,
      Float32Array.from(q.scales, (s) => s * alpha),
      q.axis === null ? [] : [cols],
    ),
  );
  graph.input = graph.input.filter((i) => i.name !== w.name);
  const base = n.name || fresh(w.nodeName);
  const integer = fresh(`${base}_integer`);
  const asFloat = fresh(`${base}_float`);
  const factor = fresh(`${base}_rescale`);
  const output = n.output[0];
  const scaled = bias ? fresh(`${base}_scaled`) : output;
  added.push(
    node('MatMulInteger', [xq, codes, xzp, zero], [integer], fresh(`${base}_matmul_integer`)),
    node('Cast', [integer], [asFloat], fresh(`${base}_cast`), [intAttribute('to', FLOAT)]),
    node('Mul', [xs, scale], [factor], fresh(`${base}_scale`)),
    node('Mul', [asFloat, factor], [scaled], fresh(`${base}_mul`)),
  );
  if (bias) added.push(node('Add', [scaled, bias], [output], fresh(`${base}_bias`)));
  graph.node.splice(graph.node.indexOf(n), 1, ...added);
  return true;
}

/**
 * Ops whose float activation inputs (by index; 'all' for every input) get a QDQ pair in static mode.
 * ReLU and Clip are not among them: their output's pair (range from 0) lets onnxruntime fold them
 * into the product or sum before, which then writes int8 directly; a pair on their input as well
 * would leave a requantization between every two layers.
 */
const ACTIVATION_INPUTS: Readonly<Record<string, readonly number[] | 'all'>> = {
  Conv: [0],
  ConvTranspose: [0],
  Gemm: [0],
  MatMul: 'all',
  Add: 'all',
  Concat: 'all',
  MaxPool: [0],
  AveragePool: [0],
  GlobalAveragePool: [0],
  Flatten: [0],
  Reshape: [0],
  Transpose: [0],
  Squeeze: [0],
  Unsqueeze: [0],
};
/** Ops whose output takes its input's quantization parameters (values only move or are selected). */
const SAME_SCALE = new Set([
  'MaxPool',
  'Flatten',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'GlobalMaxPool',
]);
/** Ops whose output is not float whatever their inputs. */
const NON_FLOAT_OUTPUT = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);

/** Which tensors are float32 activations (computed from the graph input, not from constants alone). */
function floatActivations(graph: GraphProto): Set<string> {
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const floats = new Set<string>();
  const live = new Set<string>();
  for (const i of graph.input)
    if (!initializers.has(i.name)) {
      live.add(i.name);
      if ((i.type?.tensorType?.elemType ?? 1) === FLOAT) floats.add(i.name);
    }
  for (const n of graph.node) {
    const isLive = n.input.some((x) => live.has(x));
    let isFloat: boolean;
    if (NON_FLOAT_OUTPUT.has(n.opType)) isFloat = false;
    else if (n.opType === 'Cast') isFloat = attributeInt(n, 'to', 0) === FLOAT;
    else isFloat = n.input.length > 0 && (floats.has(n.input[0]) || initializers.has(n.input[0]));
    for (const o of n.output) {
      if (isLive) live.add(o);
      if (isLive && isFloat) floats.add(o);
    }
  }
  return floats;
}

async function quantizeStatic(
  graph: GraphProto,
  weights: WeightTensor[],
  options: OnnxQuantizeOptions,
  context: QuantizeContext,
): Promise<QuantizeResult> {
  if (!context.calibration)
    // not a user error: the pipeline loads calibration data for every static step
    throw new Error('static quantization without calibration data');
  const perChannel = options.granularity === 'channel';
  const activations = floatActivations(graph);
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node) for (const o of n.output) producer.set(o, n);
  const quantized: string[] = [];
  const chosen = new Set<string>();
  for (const n of graph.node) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const which = ACTIVATION_INPUTS[n.opType];
    if (!which) continue;
    const indices = which === 'all' ? n.input.map((_, i) => i) : which;
    for (const i of indices) {
      const t = n.input[i];
      if (t && activations.has(t) && !chosen.has(t)) {
        chosen.add(t);
        quantized.push(t);
      }
    }
  }
  if (quantized.length === 0)
    throw new OnnxError(`${context.file}: ${context.step}: no float activation feeds a quantizable op`);
  // A tensor that shares its input's scale needs no calibration of its own.
  const sharesWith = new Map<string, string>();
  for (const t of quantized) {
    const p = producer.get(t);
    if (p && SAME_SCALE.has(p.opType) && chosen.has(p.input[0]))
      sharesWith.set(t, sharesWith.get(p.input[0]) ?? p.input[0]);
  }
  const measured = quantized.filter((t) => !sharesWith.has(t));
  const observed = await observeTensors(
    context.proto,
    graph,
    measured,
    context.calibration.samples,
    context.calibration.input,
    context.file,
  );
  const ranges: Record<string, Range> = {};
  for (const t of measured)
    ranges[t] = calibrateRange(observed.get(t) ?? new Float32Array(0), {
      method: options.activations,
      bits: 8,
      percentile: options.percentile,
    });
  for (const [t, from] of sharesWith) ranges[t] = ranges[from];

  const edit = new GraphEdit(graph);
  const params = new Map<string, { scale: number; zeroPoint: number }>();
  const dequantized = new Map<string, string>();
  const pairs = new Map<string, NodeProto[]>();
  for (const t of quantized) {
    const p = rangeParameters(ranges[t].low, ranges[t].high, 8, 'asymmetric');
    params.set(t, p);
    const scale = edit.fresh(`${t}_scale`);
    const zero = edit.fresh(`${t}_zero_point`);
    graph.initializer.push(
      floatTensor(scale, new Float32Array([p.scale]), []),
      int8Tensor(zero, new Int32Array([p.zeroPoint]), [], true),
    );
    const q = edit.fresh(`${t}_quantized`);
    const dq = edit.fresh(`${t}_dequantized`);
    dequantized.set(t, dq);
    pairs.set(t, [
      node('QuantizeLinear', [t, scale, zero], [q], edit.fresh(`${t}_quantize`)),
      node('DequantizeLinear', [q, scale, zero], [dq], edit.fresh(`${t}_dequantize`)),
    ]);
  }

  const changes: TensorChange[] = [];
  for (const w of weights) {
    const values = floatValues(w.tensor);
    const q = quantizeWeight(values, w.dims, w.outputAxis, perChannel);
    edit.dequantizedWeight(w, q);
    const x = params.get(w.node.input[0]);
    const biasName = w.op === 'Conv' || w.op === 'Gemm' ? w.node.input[2] : undefined;
    const bias = biasName ? graph.initializer.find((t) => t.name === biasName) : undefined;
    let note = `int8 weights (${perChannel ? 'per channel' : 'per tensor'})`;
    if (
      x &&
      bias &&
      bias.dataType === FLOAT &&
      bias.dims.length === 1 &&
      graph.node.filter((n) => n.input.includes(bias.name)).length === 1
    ) {
      // int32 bias on the product's scale (input scale x weight scale), zero point 0.
      const b = floatValues(bias);
      const scales = Float32Array.from(
        { length: b.length },
        (_, c) => x.scale * q.scales[q.axis === null ? 0 : c],
      );
      const codes = Int32Array.from(b, (v, c) => Math.round(v / scales[c]));
      const codesName = edit.fresh(`${bias.name}_quantized`);
      const scaleName = edit.fresh(`${bias.name}_scale`);
      const zeroName = edit.fresh(`${bias.name}_zero_point`);
      graph.initializer.splice(
        graph.initializer.indexOf(bias),
        1,
        int32Tensor(codesName, codes, [b.length]),
        floatTensor(scaleName, scales, [b.length]),
        int32Tensor(zeroName, new Int32Array(b.length), [b.length]),
      );
      graph.input = graph.input.filter((i) => i.name !== bias.name);
      edit.prologue.push(
        node(
          'DequantizeLinear',
          [codesName, scaleName, zeroName],
          [bias.name],
          edit.fresh(`${bias.name}_dequantize`),
          [intAttribute('axis', 0)],
        ),
      );
      note += ', int32 bias';
    }
    changes.push(change(w, values, note));
  }

  // Every reader of a quantized tensor reads its dequantized copy; graph outputs keep the original.
  for (const n of graph.node) n.input = n.input.map((i) => dequantized.get(i) ?? i);
  const inputs = new Set(graph.input.map((i) => i.name));
  const nodes: NodeProto[] = [...edit.prologue];
  for (const t of quantized) if (inputs.has(t)) nodes.push(...(pairs.get(t) ?? []));
  for (const n of graph.node) {
    nodes.push(n);
    for (const o of n.output) nodes.push(...(pairs.get(o) ?? []));
  }
  graph.node = nodes;
  return { changes, activationRanges: ranges };
}
