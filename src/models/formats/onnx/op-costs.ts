/**
 * What each supported op costs, by op name: which inputs are learned weights (counted as
 * parameters), which are stored state (batch-norm statistics), and its multiply-accumulates and
 * weighted connections. Conventions follow the spec analysis (src/models/complexity/analyze.ts):
 * MACs of weighted ops and of products of two activations (attention's Q·Kᵀ and A·V), every kernel
 * tap counted, padded or not; connections only for weights, padding excluded. Ops listed in
 * ZERO_MAC_OPS have no MACs by this convention (elementwise, normalisation, pooling, data movement).
 */
import { ELEMENTWISE_OPS } from './elementwise-ops.js';
import {
  input,
  intAttr,
  intsAttr,
  matmulDims,
  type ShapeContext,
  type TensorInfo,
  windowShape,
} from './shape-inference.js';

export interface OpCost {
  macs: number;
  connections: number;
}

export interface OpRule {
  /** Inputs holding learned weights when they are constants; 'operands' = any non-scalar constant operand of an op with an activation input. */
  weights: readonly number[] | 'operands';
  /** Inputs holding stored, non-learned state. */
  state?: readonly number[];
  cost?: (c: ShapeContext, outputs: TensorInfo[]) => OpCost;
  /** True when the MACs depend on two activations (attention products), not on weights. */
  activationProduct?: (c: ShapeContext) => boolean;
}

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Per spatial dim, the (output position, kernel tap) pairs whose tap lands on a real input unit. */
function tapsInside(
  size: number,
  out: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
): number {
  let taps = 0;
  for (let o = 0; o < out; o++)
    for (let k = 0; k < kernel; k++) {
      const at = o * stride - padBegin + k * dilation;
      if (at >= 0 && at < size) taps++;
    }
  return taps;
}

const conv = (c: ShapeContext, outputs: TensorInfo[]): OpCost => {
  const x = input(c, 0).shape;
  const w = input(c, 1).shape;
  const kernel = intsAttr(c, 'kernel_shape') ?? w.slice(2);
  const perOutput = product(kernel) * w[1]; // w[1] = input channels / group
  const y = outputs[0].shape;
  const win = windowShape(c, x.slice(2), kernel);
  const taps = product(
    x
      .slice(2)
      .map((s, i) =>
        tapsInside(s, win.out[i], kernel[i], win.strides[i], win.dilations[i], win.padsBegin[i]),
      ),
  );
  return { macs: product(y) * perOutput, connections: y[0] * taps * w[1] * w[0] };
};

const convTranspose = (c: ShapeContext): OpCost => {
  const x = input(c, 0).shape;
  const w = input(c, 1).shape; // [C, M / group, k...]
  // every input value meets every tap of its group's filters
  const macs = product(x) * product(w.slice(1));
  return { macs, connections: macs };
};

const gemm = (c: ShapeContext, outputs: TensorInfo[]): OpCost => {
  const a = input(c, 0).shape;
  const k = intAttr(c, 'transA', 0) ? a[0] : a[1];
  const macs = product(outputs[0].shape) * k;
  const weighted = input(c, 0).constant || input(c, 1).constant;
  return { macs, connections: weighted ? macs : 0 };
};

const matmul = (c: ShapeContext): OpCost => {
  const { batch, m, k, n } = matmulDims(c);
  const macs = product(batch) * m * k * n;
  const weighted = input(c, 0).constant || input(c, 1).constant;
  return { macs, connections: weighted ? macs : 0 };
};

function recurrent() {
  return (c: ShapeContext): OpCost => {
    const x = input(c, 0).shape;
    const w = input(c, 1).shape; // [directions, gates * hidden, input]
    const r = input(c, 2).shape; // [directions, gates * hidden, hidden]
    const batchFirst = intAttr(c, 'layout', 0) === 1;
    const steps = batchFirst ? x[1] : x[0];
    const batch = batchFirst ? x[0] : x[1];
    const perStep = product(w) + product(r);
    return { macs: steps * batch * perStep, connections: steps * batch * perStep };
  };
}

export const OP_RULES = {
  Conv: { weights: [1, 2], cost: conv },
  ConvTranspose: { weights: [1, 2], cost: convTranspose },
  Gemm: { weights: [0, 1, 2], cost: gemm },
  MatMul: {
    weights: [0, 1],
    cost: matmul,
    activationProduct: (c: ShapeContext) => !input(c, 0).constant && !input(c, 1).constant,
  },
  // int8 product (dynamic quantization): weights as MatMul's, stored as int8
  MatMulInteger: {
    weights: [0, 1],
    cost: matmul,
    activationProduct: (c: ShapeContext) => !input(c, 0).constant && !input(c, 1).constant,
  },
  LSTM: { weights: [1, 2, 3, 7], cost: recurrent() },
  GRU: { weights: [1, 2, 3], cost: recurrent() },
  RNN: { weights: [1, 2, 3], cost: recurrent() },
  BatchNormalization: { weights: [1, 2], state: [3, 4] },
  InstanceNormalization: { weights: [1, 2] },
  LayerNormalization: { weights: [1, 2] },
  GroupNormalization: { weights: [1, 2] },
  PRelu: { weights: [1] },
  Gather: { weights: [0] },
  Add: { weights: 'operands' },
  Sub: { weights: 'operands' },
  Mul: { weights: 'operands' },
  Div: { weights: 'operands' },
} satisfies Record<string, OpRule>;

/** Ops with no MACs and no weights under the conventions above. */
export const ZERO_MAC_OPS = [
  ...ELEMENTWISE_OPS,
  'Identity',
  'Neg',
  'Not',
  'Max',
  'Min',
  'Pow',
  'Mod',
  'Sum',
  'Mean',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
  'Where',
  'Cast',
  'MaxPool',
  'AveragePool',
  'LpPool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'GlobalLpPool',
  'Flatten',
  'Reshape',
  'Transpose',
  'Concat',
  'Squeeze',
  'Unsqueeze',
  'Shape',
  'Size',
  'Slice',
  'Split',
  'Pad',
  'Resize',
  'Upsample',
  'Expand',
  'Tile',
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL2',
  'ReduceL1',
  'ReduceSumSquare',
  'ReduceLogSumExp',
  'ArgMax',
  'ArgMin',
  'Constant',
  'ConstantOfShape',
  'Range',
  'DepthToSpace',
  'SpaceToDepth',
  'TopK',
  'Dropout',
  'DynamicQuantizeLinear',
] as const;

export type CostedOp = keyof typeof OP_RULES | (typeof ZERO_MAC_OPS)[number];

const ZERO: OpRule = { weights: [] };

/** The rule of an op, or undefined when the analysis does not support it. */
export function opRule(op: string): OpRule | undefined {
  if (op in OP_RULES) return OP_RULES[op as keyof typeof OP_RULES];
  return (ZERO_MAC_OPS as readonly string[]).includes(op) ? ZERO : undefined;
}
