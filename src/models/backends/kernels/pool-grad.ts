/**
 * MaxPoolGrad as one pass over wasm's heap (generated wasm, ../wasm/max-pool-grad.ts): for each
 * output position, keep the first maximum per channel (as the cpu backend does) and route dy there.
 * wasm's own kernel costs 5–6x a forward conv on LeNet-5's pooling shapes; this pass reads each
 * input once per covering window. Windows that tile the input (LeNet-5's 2x2 stride 2) take a
 * single pass that writes each tap once, comparing it with the pooling's output instead of
 * searching for the maximum, with no zeroing first when the windows cover the whole input (2x2
 * windows unrolled).
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { maxPoolGrad as maxPoolGradOnHeap, tiledMaxPoolGrad, windowsTile } from '../wasm/max-pool-grad.js';
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
  const g = windowGeometry(info);
  const output = inputs.output as TensorInfo | undefined;
  if (windowsTile(g) && output !== undefined && input.dtype === 'float32') {
    const covered = g.oh * g.fh === g.h && g.ow * g.fw === g.w;
    const out = covered ? backend.makeOutput(input.shape, 'float32') : calls.zeros(input.shape).out;
    tiledMaxPoolGrad(calls.memory(), g, {
      x: calls.address(input),
      y: calls.address(output),
      dy: calls.address(dyInfo),
      dx: calls.address(out),
    });
    return out;
  }
  const { out } = calls.zeros(input.shape);
  maxPoolGradOnHeap(calls.memory(), g, calls.address(input), calls.address(dyInfo), calls.address(out));
  return out;
}

export function poolGradConfigs(): KernelConfig[] {
  return [
    { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad as unknown as KernelFunc },
  ];
}
