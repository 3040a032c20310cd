/**
 * MaxPoolGrad as one pass over wasm's heap: for each output position, keep the first maximum per
 * channel (as the cpu backend does) and route dy there. wasm's own kernel costs 5–6x a forward conv
 * on LeNet-5's pooling shapes; this pass reads each input once per covering window.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelArgs, type WasmBackend, WasmCalls } from './wasm-calls.js';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function maxPoolGrad({ inputs, backend, attrs }: KernelArgs<PoolAttrs>): TensorInfo {
  const calls = new WasmCalls(backend as WasmBackend);
  const input = inputs.input as TensorInfo;
  const dyInfo = inputs.dy as TensorInfo;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const { out, values: dx } = calls.zeros(input.shape);
  const x = calls.floats(input);
  const dy = calls.floats(dyInfo);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * sh - top;
      const hStart = Math.max(0, h0);
      const hEnd = Math.min(inHeight, h0 + fh);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * sw - left;
        const wStart = Math.max(0, w0);
        const wEnd = Math.min(inWidth, w0 + fw);
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let ih = hStart; ih < hEnd; ih++) {
          let base = ((b * inHeight + ih) * inWidth + wStart) * c;
          for (let iw = wStart; iw < wEnd; iw++, base += c) {
            for (let k = 0; k < c; k++) {
              const v = x[base + k];
              if (v > best[k] || where[k] < 0) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * c;
        for (let k = 0; k < c; k++) if (where[k] >= 0) dx[where[k]] += dy[dyBase + k];
      }
    }
  }
  return out;
}

export function poolGradConfigs(): KernelConfig[] {
  return [
    { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad as unknown as KernelFunc },
  ];
}
