/**
 * Sum and Mean over leading axes (batch and space of channels-last tensors) through the generated
 * column sum (../wasm/column-sum.ts); any other reduction goes to wasm's own kernel. On a
 * MobileNetV2 training step wasm's Sum and Mean took 58 ms, mostly transposing their inputs.
 */
import { type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { columnSum } from '../wasm/column-sum.js';
import { type KernelArgs, WasmCalls } from './wasm-calls.js';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

function reduceKernel(name: 'Sum' | 'Mean') {
  return (args: KernelArgs<ReduceAttrs>): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const calls = new WasmCalls(backend);
    const x = inputs.x as TensorInfo;
    const rank = x.shape.length;
    const axes = [...util.parseAxisParam(attrs.axis, x.shape)].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32' || x.shape.some((d) => d === 0))
      return calls.run(name, inputs, attrs);
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const kept = x.shape.slice(axes.length);
    const cols = kept.reduce((a, b) => a * b, 1);
    const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const out = backend.makeOutput(shape, 'float32');
    columnSum(
      calls.memory(),
      rows,
      cols,
      calls.address(x),
      calls.address(out),
      name === 'Mean' ? 1 / rows : 1,
    );
    return out;
  };
}

export function reduceConfigs(original: (name: string) => KernelConfig | undefined): KernelConfig[] {
  return (['Sum', 'Mean'] as const).map((kernelName) => ({
    kernelName,
    backendName: 'wasm',
    setupFunc: original(kernelName)?.setupFunc,
    kernelFunc: reduceKernel(kernelName) as unknown as KernelFunc,
  }));
}
