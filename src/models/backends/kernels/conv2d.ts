/**
 * Conv2D and FusedConv2D on wasm as the patch matrix (im2col) times Parsimony's GEMM, bias and ReLU
 * fused into the GEMM's store, a chunk of images at a time (the same patch budget as the
 * gradients). XNNPACK, behind wasm's own kernels, packs the filter into its layout and caches the
 * packing per filter tensor: in training the filter changes every step, so every forward
 * convolution packed afresh, and the bias was a separate pass whenever the convolution ran unfused.
 * A 1x1 convolution with stride 1 and no padding needs no patch matrix (x is one already).
 * Other activations, PReLU weights, a bias that is not one value per channel, dilations and NCHW
 * go to wasm's kernel.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { wasmGemm } from '../wasm/gemm.js';
import { im2col } from '../wasm/patches.js';
import { windowGeometry } from '../wasm/window.js';
import { PATCH_BUDGET } from './conv2d-backprop.js';
import { type KernelArgs, WasmCalls } from './wasm-calls.js';

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  [key: string]: unknown;
}

function convolution(
  name: 'Conv2D' | 'FusedConv2D',
  budget: number,
  args: KernelArgs<ConvAttrs>,
): TensorInfo {
  const { inputs, backend, attrs } = args;
  const calls = new WasmCalls(backend);
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const bias = inputs.bias as TensorInfo | undefined;
  const activation = attrs.activation ?? 'linear';
  const co = filter.shape[3];
  const usable =
    calls.hasMemory() &&
    attrs.dataFormat !== 'NCHW' &&
    x.shape.length === 4 &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    backend_util.tupleValuesAreOne(attrs.dilations) &&
    (activation === 'linear' || activation === 'relu') &&
    inputs.preluActivationWeights == null &&
    (bias == null || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === co));
  if (!usable) return calls.run(name, inputs, attrs);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const g = windowGeometry(info);
  const k = g.fh * g.fw * g.c;
  const rowsPerImage = g.oh * g.ow;
  const out = backend.makeOutput([g.batch, g.oh, g.ow, co], 'float32');
  if (out.shape.some((d) => d === 0)) return out;
  const pointwise =
    g.fh === 1 &&
    g.fw === 1 &&
    g.sh === 1 &&
    g.sw === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.padInfo.bottom === 0 &&
    info.padInfo.right === 0;
  const chunk = pointwise ? g.batch : Math.max(1, Math.min(g.batch, Math.floor(budget / (rowsPerImage * k))));
  const cols = pointwise ? undefined : backend.makeOutput([chunk * rowsPerImage, k], 'float32');
  try {
    const memory = calls.memory();
    const gemm = wasmGemm(memory);
    for (let b0 = 0; b0 < g.batch; b0 += chunk) {
      const images = Math.min(chunk, g.batch - b0);
      if (cols)
        im2col(
          memory,
          { ...g, batch: images },
          calls.address(x) + b0 * g.h * g.w * g.c * 4,
          calls.address(cols),
        );
      gemm.run({
        m: images * rowsPerImage,
        n: co,
        k,
        a: cols ? calls.address(cols) : calls.address(x),
        transposeA: false,
        b: calls.address(filter),
        c: calls.address(out) + b0 * rowsPerImage * co * 4,
        bias: bias == null ? undefined : calls.address(bias),
        relu: activation === 'relu',
      });
    }
  } finally {
    if (cols) calls.dispose(cols);
  }
  return out;
}

export interface Conv2dOptions {
  /** Most floats a chunk's patch matrix may take (default 8M floats, 32 MB). */
  patchBudget?: number;
}

export function conv2dConfigs(
  original: (name: string) => KernelConfig | undefined,
  options: Conv2dOptions = {},
): KernelConfig[] {
  const budget = options.patchBudget ?? PATCH_BUDGET;
  return (['Conv2D', 'FusedConv2D'] as const).map((kernelName) => ({
    kernelName,
    backendName: 'wasm',
    // The original's setup binds the C++ function the fallback still uses.
    setupFunc: original(kernelName)?.setupFunc,
    kernelFunc: ((args: KernelArgs<ConvAttrs>) =>
      convolution(kernelName, budget, args)) as unknown as KernelFunc,
  }));
}
