/**
 * `ParsimonyAdamUpdate`: a kernel Parsimony adds (wasm only) for its Adam/AdamW optimizer. Inputs
 * w, g, m, v of one shape; outputs w', m', v' (see ../wasm/adam-update.ts for the formula). On
 * other backends the optimizer composes tfjs ops instead.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type AdamStep, adamUpdate } from '../wasm/adam-update.js';
import { heapAddress, heapMemory, type KernelArgs } from './wasm-calls.js';

export const ADAM_UPDATE = 'ParsimonyAdamUpdate';

function adamUpdateKernel({ inputs, backend, attrs }: KernelArgs<AdamStep>): TensorInfo[] {
  const { w, g, m, v } = inputs as Record<'w' | 'g' | 'm' | 'v', TensorInfo>;
  for (const [label, x] of [
    ['g', g],
    ['m', m],
    ['v', v],
  ] as const)
    if (x.shape.join() !== w.shape.join() || x.dtype !== 'float32')
      // not a user error: the trainer only calls this kernel with matching float32 tensors
      throw new Error(
        `${ADAM_UPDATE}: ${label} must be float32 of shape [${w.shape}], got ${x.dtype} [${x.shape}]`,
      );
  const memory = heapMemory(backend);
  if (memory === undefined)
    // not a user error: initBackend refuses such a backend first (BACKEND_UNSUPPORTED)
    throw new Error(`${ADAM_UPDATE}: the wasm backend's memory is not reachable`);
  const outs = [w, m, v].map((x) => backend.makeOutput(x.shape, 'float32'));
  const at = (x: TensorInfo) => heapAddress(backend, x);
  adamUpdate(
    memory,
    {
      n: w.shape.reduce((a, b) => a * b, 1),
      w: at(w),
      g: at(g),
      m: at(m),
      v: at(v),
      wOut: at(outs[0]),
      mOut: at(outs[1]),
      vOut: at(outs[2]),
    },
    attrs,
  );
  return outs;
}

export function adamUpdateConfigs(): KernelConfig[] {
  return [
    { kernelName: ADAM_UPDATE, backendName: 'wasm', kernelFunc: adamUpdateKernel as unknown as KernelFunc },
  ];
}
