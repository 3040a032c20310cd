/**
 * MaxPoolGrad as one pass over wasm's heap (generated wasm, ../wasm/max-pool-grad.ts): for each
 * output position, keep the first maximum per channel (as the cpu backend does) and route dy there.
 * wasm's own kernel costs 5–6x a forward conv on LeNet-5's pooling shapes; this pass reads each
 * input once per covering window.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { maxPoolGrad as maxPoolGradOnHeap } from '../wasm/max-pool-grad.js';
import { windowGeometry } from '../wasm/window.js';
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
  const { out } = calls.zeros(input.shape);
  maxPoolGradOnHeap(
    calls.memory(),
    windowGeometry(info),
    calls.address(input),
    calls.address(dyInfo),
    calls.address(out),
  );
  return out;
}

export function poolGradConfigs(): KernelConfig[] {
  return [
    { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad as unknown as KernelFunc },
  ];
}
