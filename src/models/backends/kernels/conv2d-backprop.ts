/**
 * Conv2D gradients as forward convolutions, which wasm runs on XNNPACK's fast path.
 * - Conv2DBackpropFilter (wasm has none): dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·s+kh−pt, ow·s+kw−pl, ci]·dy[b,oh,ow,co]
 *   is a convolution of x with ci as batch and b as channels, by dy with b as input channels; the
 *   forward stride becomes a dilation.
 * - Conv2DBackpropInput: a stride-1 convolution of dy (zero-dilated by the stride) with the filter
 *   rotated 180° and its channels swapped. wasm's own kernel costs 5–6x a forward conv on LeNet-5.
 * tfjs-core's conv2d gradient refuses dilations > 1, so neither kernel receives one.
 *
 * When a filter tap is short enough for the patch matrix to stay small (kh·kw·ci ≤ IM2COL_MAX; LeNet-5:
 * 25 and 500), the input gradient is col2im(dy·Wᵀ) instead: one matrix product and a scatter over
 * the heap (47 against 52 ms on LeNet-5's conv1, 60 against 68 on conv2, measured back to back). The same patch-matrix route for the filter gradient
 * (colsᵀ·dy) measured slower than the convolution (50 against 33 ms), so the filter keeps it.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { col2im, im2col } from '../wasm/patches.js';
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
  if (format === 'NCHW') throw new Error(`Parsimony wasm ${kernel}: only NHWC is supported`);
}

const IM2COL_MAX = 512;

interface Geometry {
  batch: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

function geometry(info: backend_util.Conv2DInfo): Geometry {
  return {
    batch: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    oh: info.outHeight,
    ow: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

const hasPadding = (g: Geometry) =>
  g.top > 0 ||
  g.left > 0 ||
  (g.oh - 1) * g.sh + g.kh > g.h + g.top ||
  (g.ow - 1) * g.sw + g.kw > g.w + g.left;

/** The patch matrix of x, [batch·oh·ow, kh·kw·ci] (zero where a tap falls in the padding). */
function im2colMatrix(calls: WasmCalls, x: TensorInfo, g: Geometry): TensorInfo {
  const shape = [g.batch * g.oh * g.ow, g.kh * g.kw * g.ci];
  const cols = hasPadding(g) ? calls.zeros(shape).out : calls.backend.makeOutput(shape, 'float32');
  im2col(calls.memory(), g, calls.address(x), calls.address(cols));
  return cols;
}

/** The input gradient from the patch matrix's gradient: col2im sums overlapping windows. */
function col2imInput(calls: WasmCalls, d: TensorInfo, g: Geometry): TensorInfo {
  const { out } = calls.zeros([g.batch, g.h, g.w, g.ci]);
  col2im(calls.memory(), g, calls.address(d), calls.address(out));
  return out;
}

function im2colInput(
  calls: WasmCalls,
  dy: TensorInfo,
  filter: TensorInfo,
  g: Geometry,
  co: number,
): TensorInfo {
  const n = g.batch * g.oh * g.ow;
  const k = g.kh * g.kw * g.ci;
  const dy2 = calls.reshape(dy, [n, co]);
  const w2 = calls.reshape(filter, [k, co]);
  const wT = calls.transpose(w2, [1, 0]);
  const d = calls.gemm(dy2, wT); // [n, k]
  calls.dispose(dy2, w2, wT);
  const out = col2imInput(calls, d, g);
  calls.dispose(d);
  return out;
}

/** dW = colsᵀ·dy, read in place by the GEMM (cols is not transposed). */
function im2colFilter(
  calls: WasmCalls,
  x: TensorInfo,
  dy: TensorInfo,
  g: Geometry,
  filterShape: number[],
): TensorInfo {
  const cols = im2colMatrix(calls, x, g);
  const co = dy.shape[3];
  const dy2 = calls.reshape(dy, [g.batch * g.oh * g.ow, co]);
  const out = calls.gemm(cols, dy2, { transposeA: true, shape: filterShape });
  calls.dispose(cols, dy2);
  return out;
}

function conv(calls: WasmCalls, x: TensorInfo, filter: TensorInfo, dilations: [number, number]): TensorInfo {
  return calls.run('Conv2D', { x, filter }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations });
}

function backpropFilter({ inputs, backend, attrs }: KernelArgs<FilterAttrs>): TensorInfo {
  requireNhwc(attrs.dataFormat, 'Conv2DBackpropFilter');
  const calls = new WasmCalls(backend as WasmBackend);
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight, outWidth } = info;
  if (kh * kw * info.inChannels <= IM2COL_MAX)
    return im2colFilter(calls, x, dy, geometry(info), attrs.filterShape);
  const { top, left } = info.padInfo;
  const [, h, w] = x.shape;
  // Output rows = padded input − ((outHeight−1)·sh+1) + 1 must equal kh; a negative bottom crops rows
  // the forward convolution never read.
  const bottom = kh + (outHeight - 1) * sh - h - top;
  const right = kw + (outWidth - 1) * sw - w - left;
  const xT = calls.transpose(x, [3, 1, 2, 0]); // [ci, h, w, b]
  const xP = calls.padOrCrop(xT, top, bottom, left, right);
  const dyT = calls.transpose(dy, [1, 2, 0, 3]); // [oh, ow, b, co]
  const dw = conv(calls, xP, dyT, [sh, sw]); // [ci, kh, kw, co]
  const out = calls.transpose(dw, [1, 2, 0, 3]);
  calls.dispose(xT, xP, dyT, dw);
  return out;
}

function backpropInput({ inputs, backend, attrs }: KernelArgs<InputAttrs>): TensorInfo {
  requireNhwc(attrs.dataFormat, 'Conv2DBackpropInput');
  const calls = new WasmCalls(backend as WasmBackend);
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight, outWidth } = info;
  if (kh * kw * info.inChannels <= IM2COL_MAX)
    return im2colInput(calls, dy, filter, geometry(info), dy.shape[3]);
  const { top, left } = info.padInfo;
  const [batch, h, w] = attrs.inputShape;
  const co = dy.shape[3];
  let dyD = dy;
  if (sh > 1 || sw > 1) {
    // Zero-dilate: each dy value followed by stride−1 zeros along both spatial axes.
    const six = calls.reshape(dy, [batch, outHeight, 1, outWidth, 1, co]);
    const padded = calls.pad(six, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    dyD = calls.reshape(padded, [batch, outHeight * sh, outWidth * sw, co]);
    calls.dispose(six, padded);
  }
  const dh = dyD.shape[1];
  const dw = dyD.shape[2];
  const dyP = calls.padOrCrop(dyD, kh - 1 - top, h + top - dh, kw - 1 - left, w + left - dw);
  const rotated = calls.run('Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = calls.transpose(rotated, [0, 1, 3, 2]); // [kh, kw, co, ci]
  const out = conv(calls, dyP, swapped, [1, 1]);
  if (dyD !== dy) calls.dispose(dyD);
  calls.dispose(dyP, rotated, swapped);
  return out;
}

export function conv2dBackpropConfigs(): KernelConfig[] {
  return [
    {
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: backpropFilter as unknown as KernelFunc,
    },
    {
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: backpropInput as unknown as KernelFunc,
    },
  ];
}
