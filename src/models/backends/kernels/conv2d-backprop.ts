/**
 * Conv2D gradients through the patch matrix (im2col) and Parsimony's GEMM, a chunk of images at a
 * time (the patch matrix of a whole batch of large images would take gigabytes):
 * - Conv2DBackpropFilter (wasm has none): dW = colsᵀ·dy, colsᵀ read in place by the GEMM.
 * - Conv2DBackpropInput: dx = col2im(dy·Wᵀ), col2im summing where windows overlap.
 * Both replace convolutions over rearranged tensors (XNNPACK's fast path), which the GEMM beats
 * on every shape measured, most on strided ones (batch 32, ResNet-like 3x3 layers: filter gradient
 * 104 → 48 ms at 64 channels and 32x32; input gradient at stride 2 109 → 25 ms, where the
 * convolution ran over a zero-dilated dy; `bench/kernels.ts` has LeNet-5's).
 * tfjs-core's conv2d gradient refuses dilations > 1, so neither kernel receives one.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { wasmGemm } from '../wasm/gemm.js';
import { col2im, im2col } from '../wasm/patches.js';
import { type WindowGeometry, windowGeometry } from '../wasm/window.js';
import { type KernelArgs, type WasmBackend, WasmCalls } from './wasm-calls.js';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

interface FilterAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode: Rounding;
  filterShape: [number, number, number, number];
}

interface InputAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode: Rounding;
  inputShape: [number, number, number, number];
}

function requireNhwc(format: string, kernel: string): void {
  if (format === 'NCHW')
    // not a user error: Parsimony builds NHWC models only
    throw new Error(`Parsimony wasm ${kernel}: only NHWC is supported`);
}

/** Most floats a chunk's patch matrix takes by default (32 MB). */
export const PATCH_BUDGET = 8 * 1024 * 1024;

/**
 * Images per chunk so a chunk's patch matrix stays within `budget` floats (at least one image):
 * the patch matrix of a whole batch of large images would take gigabytes.
 */
function imagesPerChunk(g: WindowGeometry, budget: number): number {
  const perImage = g.oh * g.ow * g.fh * g.fw * g.c;
  return Math.max(1, Math.min(g.batch, Math.floor(budget / perImage)));
}

/** The input gradient as col2im(dy·Wᵀ), a chunk of images at a time. */
function im2colInput(
  calls: WasmCalls,
  dy: TensorInfo,
  filter: TensorInfo,
  g: WindowGeometry,
  budget: number,
): TensorInfo {
  const co = dy.shape[3];
  const k = g.fh * g.fw * g.c;
  const rowsPerImage = g.oh * g.ow;
  const chunk = imagesPerChunk(g, budget);
  const w2 = calls.reshape(filter, [k, co]);
  const wT = calls.transpose(w2, [1, 0]); // [co, k]
  const d = calls.backend.makeOutput([chunk * rowsPerImage, k], 'float32');
  const { out } = calls.zeros([g.batch, g.h, g.w, g.c]);
  const memory = calls.memory();
  const gemm = wasmGemm(memory);
  for (let b0 = 0; b0 < g.batch; b0 += chunk) {
    const images = Math.min(chunk, g.batch - b0);
    gemm.run({
      m: images * rowsPerImage,
      n: k,
      k: co,
      a: calls.address(dy) + b0 * rowsPerImage * co * 4,
      transposeA: false,
      b: calls.address(wT),
      c: calls.address(d),
    });
    col2im(memory, { ...g, batch: images }, calls.address(d), calls.address(out) + b0 * g.h * g.w * g.c * 4);
  }
  calls.dispose(w2, wT, d);
  return out;
}

/** dW = Σ colsᵀ·dy over chunks of images, colsᵀ read in place by the GEMM. */
function im2colFilter(
  calls: WasmCalls,
  x: TensorInfo,
  dy: TensorInfo,
  g: WindowGeometry,
  filterShape: number[],
  budget: number,
): TensorInfo {
  const co = dy.shape[3];
  const k = g.fh * g.fw * g.c;
  const rowsPerImage = g.oh * g.ow;
  const chunk = imagesPerChunk(g, budget);
  const cols = calls.backend.makeOutput([chunk * rowsPerImage, k], 'float32');
  const out = calls.backend.makeOutput(filterShape, 'float32');
  const memory = calls.memory();
  const gemm = wasmGemm(memory);
  for (let b0 = 0; b0 < g.batch; b0 += chunk) {
    const images = Math.min(chunk, g.batch - b0);
    im2col(memory, { ...g, batch: images }, calls.address(x) + b0 * g.h * g.w * g.c * 4, calls.address(cols));
    gemm.run({
      m: k,
      n: co,
      k: images * rowsPerImage,
      a: calls.address(cols),
      transposeA: true,
      b: calls.address(dy) + b0 * rowsPerImage * co * 4,
      c: calls.address(out),
      accumulate: b0 > 0,
    });
  }
  calls.dispose(cols);
  return out;
}

function backpropFilter(budget: number, { inputs, backend, attrs }: KernelArgs<FilterAttrs>): TensorInfo {
  requireNhwc(attrs.dataFormat, 'Conv2DBackpropFilter');
  const x = inputs.x as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const calls = new WasmCalls(backend as WasmBackend);
  return im2colFilter(calls, x, inputs.dy as TensorInfo, windowGeometry(info), attrs.filterShape, budget);
}

function backpropInput(budget: number, { inputs, backend, attrs }: KernelArgs<InputAttrs>): TensorInfo {
  requireNhwc(attrs.dataFormat, 'Conv2DBackpropInput');
  const filter = inputs.filter as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const calls = new WasmCalls(backend as WasmBackend);
  return im2colInput(calls, inputs.dy as TensorInfo, filter, windowGeometry(info), budget);
}

export interface Conv2dBackpropOptions {
  /** Most floats a chunk's patch matrix may take (default 8M floats, 32 MB). */
  patchBudget?: number;
}

export function conv2dBackpropConfigs(options: Conv2dBackpropOptions = {}): KernelConfig[] {
  const budget = options.patchBudget ?? PATCH_BUDGET;
  return [
    {
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs<FilterAttrs>) => backpropFilter(budget, args)) as unknown as KernelFunc,
    },
    {
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs<InputAttrs>) => backpropInput(budget, args)) as unknown as KernelFunc,
    },
  ];
}
