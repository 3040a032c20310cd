/**
 * UnsortedSegmentSum, which wasm lacks: tfjs-core's gather gradient calls it, so an embedding layer
 * could not train on wasm. Ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs, WasmBackend } from './wasm-calls.js';

function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs<{ numSegments: number }>): TensorInfo {
  const wasm = backend as WasmBackend;
  const x = inputs.x as TensorInfo;
  const ids = inputs.segmentIds as TensorInfo;
  const rows = ids.shape.reduce((a, b) => a * b, 1);
  const innerShape = x.shape.slice(ids.shape.length);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const out = wasm.makeOutput([attrs.numSegments, ...innerShape], x.dtype as DataType);
  const sums = wasm.typedArrayFromHeap(out);
  sums.fill(0);
  const values = wasm.typedArrayFromHeap(x);
  const segment = wasm.typedArrayFromHeap(ids);
  for (let i = 0; i < rows; i++) {
    const s = segment[i];
    if (s < 0 || s >= attrs.numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) sums[dst + k] += values[src + k];
  }
  return out;
}

export function segmentSumConfigs(): KernelConfig[] {
  return [
    {
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
    },
  ];
}
