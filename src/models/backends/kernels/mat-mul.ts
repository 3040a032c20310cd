/**
 * BatchMatMul and _FusedMatMul with transpose flags. wasm's kernels leave their fast path when a
 * flag is set (512x512: 18 ms plain against 255 ms with transposeA), while its Transpose is cheap,
 * so the operands are transposed explicitly and the product runs without flags. Backpropagation
 * through a dense layer sets a flag on every step (dW = xᵀ·dy, dx = dy·Wᵀ).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelArgs, type WasmBackend, WasmCalls } from './wasm-calls.js';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  [key: string]: unknown;
}

function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

function withoutFlags(name: 'BatchMatMul' | '_FusedMatMul') {
  return ({ inputs, backend, attrs }: KernelArgs<MatMulAttrs>): TensorInfo => {
    const calls = new WasmCalls(backend as WasmBackend);
    const { transposeA, transposeB } = attrs;
    if (!transposeA && !transposeB) return calls.run(name, inputs, attrs);
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
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
  };
}

export function matMulConfigs(original: (name: string) => KernelConfig | undefined): KernelConfig[] {
  return (['BatchMatMul', '_FusedMatMul'] as const).map((kernelName) => ({
    kernelName,
    backendName: 'wasm',
    // The original's setup binds the C++ function the flag-free call still uses.
    setupFunc: original(kernelName)?.setupFunc,
    kernelFunc: withoutFlags(kernelName) as unknown as KernelFunc,
  }));
}
