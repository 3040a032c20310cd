/**
 * What every Parsimony wasm kernel needs: the wasm backend's own kernel functions, captured before
 * Parsimony overrides any of them, so a replacement can call the original fast path (and never
 * itself), plus the backend's heap for kernels written as plain loops.
 *
 * Kernels call kernel functions directly on `TensorInfo`s instead of tf ops: ops inside a kernel
 * would be recorded on the gradient tape and tracked by the engine; direct calls are neither, so
 * each kernel disposes its intermediates itself through `WasmCalls.dispose`.
 */
import {
  type DataId,
  type DataType,
  getKernel,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's `BackendWasm` these kernels use. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: DataId): boolean;
}

export interface KernelArgs<A> {
  inputs: NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: A;
}

/** What kernels generated as wasm need from tfjs-backend-wasm's backend beyond WasmBackend. */
interface WasmHeap {
  wasm?: { asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } };
}

/** The backend's heap, on which Parsimony's generated wasm kernels compute in place. */
export function heapMemory(backend: WasmBackend): WebAssembly.Memory | undefined {
  return (backend as unknown as WasmHeap).wasm?.asm?.memory;
}

/** Byte address of a tensor's values on the heap. */
export function heapAddress(backend: WasmBackend, x: TensorInfo): number {
  return (backend as unknown as WasmHeap).dataIdMap.get(x.dataId).memoryOffset;
}

/** Kernels a Parsimony kernel may call; captured once, before any override. */
export const BASE_KERNELS = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2D',
  'FusedConv2D',
  'Identity',
  'Mean',
  'Sum',
  'Transpose',
] as const;
export type BaseKernel = (typeof BASE_KERNELS)[number];

const originals = new Map<BaseKernel, KernelFunc>();

/** Records the wasm backend's kernel functions; returns the names it could not find. */
export function captureBaseKernels(): string[] {
  const missing: string[] = [];
  for (const name of BASE_KERNELS) {
    if (originals.has(name)) continue;
    const config = getKernel(name, 'wasm');
    if (config === undefined) missing.push(name);
    else originals.set(name, config.kernelFunc);
  }
  return missing;
}

/** Calls wasm's own kernels on one backend and frees what it made. */
export class WasmCalls {
  constructor(readonly backend: WasmBackend) {}

  run(name: BaseKernel, inputs: NamedTensorInfoMap, attrs: object = {}): TensorInfo {
    const kernel = originals.get(name);
    if (kernel === undefined)
      // not a user error: registration captures every base kernel it patches
      throw new Error(`Parsimony wasm kernels: base kernel ${name} was not captured`);
    // The wasm kernels all return a single TensorInfo.
    return kernel({ inputs, backend: this.backend as never, attrs: attrs as NamedAttrMap }) as TensorInfo;
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** A new view of the same data: wasm's Reshape only counts a reference, so the result is disposed too. */
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    this.incRef(x);
    return { dataId: x.dataId, shape, dtype: x.dtype };
  }

  /** Whether the heap is reachable (initBackend refuses a backend where it is not). */
  hasMemory(): boolean {
    return heapMemory(this.backend) !== undefined;
  }

  /** The heap, for kernels generated as wasm. */
  memory(): WebAssembly.Memory {
    const memory = heapMemory(this.backend);
    if (memory === undefined)
      // not a user error: initBackend refuses such a backend first (BACKEND_UNSUPPORTED)
      throw new Error('Parsimony wasm kernels: the wasm backend memory is not reachable');
    return memory;
  }

  /** Byte address of a tensor's values on the heap. */
  address(x: TensorInfo): number {
    return heapAddress(this.backend, x);
  }

  incRef(x: TensorInfo): void {
    (this.backend as unknown as { incRef(id: DataId): void }).incRef(x.dataId);
  }

  dispose(...infos: TensorInfo[]): void {
    for (const info of infos) this.backend.disposeData(info.dataId);
  }

  /** A zero-filled float32 output and a view on it (take views of inputs after this: malloc may grow the heap). */
  zeros(shape: number[]): { out: TensorInfo; values: Float32Array } {
    const out = this.backend.makeOutput(shape, 'float32');
    const values = this.backend.typedArrayFromHeap(out) as Float32Array;
    values.fill(0);
    return { out, values };
  }

  floats(x: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(x) as Float32Array;
  }
}
