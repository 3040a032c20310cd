/**
 * Depthwise convolution gradients, which wasm lacks (so MobileNet-style networks could not train).
 * Channel multiplier 1 (MobileNet's) runs as generated wasm (../wasm/depthwise.ts); other
 * multipliers as plain loops over the heap. Channels innermost so reads stay contiguous; any
 * stride, padding and dilation.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseFilterGradient, depthwiseInputGradient } from '../wasm/depthwise.js';
import { windowGeometry } from '../wasm/window.js';
import { type KernelArgs, type WasmBackend, WasmCalls } from './wasm-calls.js';

type Shape4 = [number, number, number, number];

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: Shape4;
  inputShape?: Shape4;
}

type Info = backend_util.Conv2DInfo;

/** Visits every (input position, filter tap, output position) triple the forward pass touched. */
function forEachTap(info: Info, visit: (xBase: number, wBase: number, dyBase: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let kh = 0; kh < fh; kh++) {
        const ih = oh * sh - top + kh * dh;
        if (ih < 0 || ih >= inHeight) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
          for (let kw = 0; kw < fw; kw++) {
            const iw = ow * sw - left + kw * dw;
            if (iw < 0 || iw >= inWidth) continue;
            visit(((b * inHeight + ih) * inWidth + iw) * inChannels, (kh * fw + kw) * outChannels, dyBase);
          }
        }
      }
}

function backpropFilter({ inputs, backend, attrs }: KernelArgs<DepthwiseAttrs>): TensorInfo {
  const calls = new WasmCalls(backend as WasmBackend);
  const xInfo = inputs.x as TensorInfo;
  const filterShape = attrs.filterShape as Shape4;
  const info = backend_util.computeConv2DInfo(
    xInfo.shape as Shape4,
    filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { out, values: dw } = calls.zeros(filterShape);
  const c = info.inChannels;
  const m = info.outChannels / c;
  if (m === 1) {
    const dyInfo = inputs.dy as TensorInfo;
    depthwiseFilterGradient(
      calls.memory(),
      windowGeometry(info),
      calls.address(xInfo),
      calls.address(dyInfo),
      calls.address(out),
    );
    return out;
  }
  const x = calls.floats(xInfo);
  const dy = calls.floats(inputs.dy as TensorInfo);
  forEachTap(info, (xBase, wBase, dyBase) => {
    for (let k = 0; k < c; k++) {
      const v = x[xBase + k];
      for (let j = 0, o = k * m; j < m; j++, o++) dw[wBase + o] += v * dy[dyBase + o];
    }
  });
  return out;
}

function backpropInput({ inputs, backend, attrs }: KernelArgs<DepthwiseAttrs>): TensorInfo {
  const calls = new WasmCalls(backend as WasmBackend);
  const filterInfo = inputs.filter as TensorInfo;
  const inputShape = attrs.inputShape as Shape4;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filterInfo.shape as Shape4,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { out, values: dx } = calls.zeros(inputShape);
  const c = info.inChannels;
  const m = info.outChannels / c;
  if (m === 1) {
    const dyInfo = inputs.dy as TensorInfo;
    depthwiseInputGradient(
      calls.memory(),
      windowGeometry(info),
      calls.address(filterInfo),
      calls.address(dyInfo),
      calls.address(out),
    );
    return out;
  }
  const w = calls.floats(filterInfo);
  const dy = calls.floats(inputs.dy as TensorInfo);
  forEachTap(info, (xBase, wBase, dyBase) => {
    for (let k = 0; k < c; k++) {
      let sum = 0;
      for (let j = 0, o = k * m; j < m; j++, o++) sum += w[wBase + o] * dy[dyBase + o];
      dx[xBase + k] += sum;
    }
  });
  return out;
}

export function depthwiseBackpropConfigs(): KernelConfig[] {
  return [
    {
      kernelName: 'DepthwiseConv2dNativeBackpropFilter',
      backendName: 'wasm',
      kernelFunc: backpropFilter as unknown as KernelFunc,
    },
    {
      kernelName: 'DepthwiseConv2dNativeBackpropInput',
      backendName: 'wasm',
      kernelFunc: backpropInput as unknown as KernelFunc,
    },
  ];
}
