/**
 * Identity on wasm as a shared reference instead of a copy. The engine clones every tensor it saves
 * for the backward pass through Identity, and wasm's kernel copies the values (two 5.9 MB copies of
 * LeNet-5's first activations per training step); tensor values are never written in place (a
 * variable's assign swaps its data for another), so the clone can share the data, as the cpu
 * backend's Identity and wasm's own Reshape do. Strings keep wasm's kernel.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelArgs, WasmCalls } from './wasm-calls.js';

function identity({ inputs, backend }: KernelArgs<Record<string, never>>): TensorInfo {
  const calls = new WasmCalls(backend);
  const x = inputs.x as TensorInfo;
  if (x.dtype === 'string') return calls.run('Identity', inputs);
  calls.incRef(x);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export function identityConfigs(): KernelConfig[] {
  return [{ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as unknown as KernelFunc }];
}
