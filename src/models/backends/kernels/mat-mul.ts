/**
 * BatchMatMul and _FusedMatMul on wasm through Parsimony's GEMM (../wasm/gemm.ts), which reads both
 * operands in place: XNNPACK repacks the weights on every call once they change (every training
 * step), and wasm's own kernels leave their fast path when a transpose flag is set (512x512: 18 ms
 * plain against 255 ms with transposeA). transposeA is a matter of strides for the GEMM; transposeB
 * needs B's rows contiguous, so B is transposed explicitly (wasm's Transpose is cheap). Bias and
 * ReLU are fused; other activations, PReLU weights, a bias that is not one row, batch shapes that
 * broadcast partially and products of fewer than 4 rows go to wasm's kernel, without flags.
 */
import { broadcast_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { wasmGemm } from '../wasm/gemm.js';
import { heapAddress, heapMemory, type KernelArgs, WasmCalls } from './wasm-calls.js';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  [key: string]: unknown;
}

/**
 * Fewer rows than a register tile (one sample at inference, say): XNNPACK, which keeps the packed
 * weights of a constant matrix, reads them contiguously where the GEMM's 1 x 8 tile strides
 * through B (1x4096·4096x4096: 2.3 against 6.9 ms).
 */
const MIN_ROWS = 4;

function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

const product = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** Batch shapes the GEMM loop handles: equal, or one side a single matrix. */
function batchPlan(a: TensorInfo, b: TensorInfo): { batch: number[]; aStep: boolean; bStep: boolean } | null {
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const aCount = product(aBatch);
  const bCount = product(bBatch);
  if (aCount === 1 || bCount === 1 || aBatch.join() === bBatch.join())
    return {
      batch: broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch),
      aStep: aCount > 1,
      bStep: bCount > 1,
    };
  return null;
}

function withoutFlags(
  name: 'BatchMatMul' | '_FusedMatMul',
  calls: WasmCalls,
  args: KernelArgs<MatMulAttrs>,
): TensorInfo {
  const { inputs, attrs } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  if (a.shape.length === 2 && b.shape.length === 2) {
    // wasm's own kernels read three dimensions (tfjs' matMul op always passes them): a batch of one.
    const a3 = calls.reshape(a, [1, ...a.shape]);
    const b3 = calls.reshape(b, [1, ...b.shape]);
    try {
      const out = withoutFlags(name, calls, { ...args, inputs: { ...inputs, a: a3, b: b3 } });
      return { ...out, shape: out.shape.slice(1) };
    } finally {
      calls.dispose(a3, b3);
    }
  }
  const { transposeA, transposeB } = attrs;
  if (!transposeA && !transposeB) return calls.run(name, inputs, attrs);
  const temps: TensorInfo[] = [];
  const aT = transposeA ? calls.transpose(a, swapLastTwo(a.shape.length)) : a;
  const bT = transposeB ? calls.transpose(b, swapLastTwo(b.shape.length)) : b;
  if (aT !== a) temps.push(aT);
  if (bT !== b) temps.push(bT);
  try {
    return calls.run(name, { ...inputs, a: aT, b: bT }, { ...attrs, transposeA: false, transposeB: false });
  } finally {
    calls.dispose(...temps);
  }
}

function matMulKernel(name: 'BatchMatMul' | '_FusedMatMul') {
  return (args: KernelArgs<MatMulAttrs>): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const calls = new WasmCalls(backend);
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const bias = inputs.bias as TensorInfo | undefined;
    const activation = attrs.activation ?? 'linear';
    const memory = heapMemory(backend);
    const plan = batchPlan(a, b);
    const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const rank = a.shape.length;
    const m = attrs.transposeA ? a.shape[rank - 1] : a.shape[rank - 2];
    const k = attrs.transposeA ? a.shape[rank - 2] : a.shape[rank - 1];
    const usable =
      memory !== undefined &&
      m >= MIN_ROWS &&
      plan !== null &&
      a.dtype === 'float32' &&
      b.dtype === 'float32' &&
      (activation === 'linear' || activation === 'relu') &&
      inputs.preluActivationWeights == null &&
      (bias == null || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === n));
    if (!usable) return withoutFlags(name, calls, args);

    const bRows = attrs.transposeB ? calls.transpose(b, swapLastTwo(b.shape.length)) : b;
    try {
      const out = backend.makeOutput([...plan.batch, m, n], 'float32');
      const address = (x: TensorInfo) => heapAddress(backend, x);
      const gemm = wasmGemm(memory);
      const count = product(plan.batch);
      for (let i = 0; i < count; i++)
        gemm.run({
          m,
          n,
          k,
          a: address(a) + (plan.aStep ? i * m * k * 4 : 0),
          transposeA: attrs.transposeA,
          b: address(bRows) + (plan.bStep ? i * k * n * 4 : 0),
          c: address(out) + i * m * n * 4,
          bias: bias == null ? undefined : address(bias),
          relu: activation === 'relu',
        });
      return out;
    } finally {
      if (bRows !== b) calls.dispose(bRows);
    }
  };
}

export function matMulConfigs(original: (name: string) => KernelConfig | undefined): KernelConfig[] {
  return (['BatchMatMul', '_FusedMatMul'] as const).map((kernelName) => ({
    kernelName,
    backendName: 'wasm',
    // The original's setup binds the C++ function the fallback still uses.
    setupFunc: original(kernelName)?.setupFunc,
    kernelFunc: matMulKernel(kernelName) as unknown as KernelFunc,
  }));
}
