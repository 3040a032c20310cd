/**
 * SqueezeNet 1.0 (Iandola et al. 2016) and 1.1 as torchvision defines them: Fire modules (a 1x1
 * squeeze convolution feeding parallel 1x1 and 3x3 expand convolutions, concatenated), max pooling
 * in PyTorch's ceil mode, and a classifier of dropout, a 1x1 convolution to the classes with ReLU,
 * and global average pooling. No batch norm; every convolution has a bias.
 */
import { ModelBuilder } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface SqueezeNetOptions {
  inputSize?: number;
  numClasses?: number;
}

function fire(b: ModelBuilder, x: string, squeeze: number, expand: number): string {
  const s = b.conv2d(x, { filters: squeeze, kernelSize: 1, activation: 'relu' });
  return b.concat([
    b.conv2d(s, { filters: expand, kernelSize: 1, activation: 'relu' }),
    b.conv2d(s, { filters: expand, kernelSize: 3, padding: 'same', activation: 'relu' }),
  ]);
}

const pool = (b: ModelBuilder, x: string) => b.maxPool2d(x, { poolSize: 3, strides: 2, ceilMode: true });

/** `'pool'` or a Fire module's [squeeze, expand] channels. */
type Stage = 'pool' | [number, number];

function squeezenet(
  name: string,
  stem: { filters: number; kernelSize: number },
  stages: readonly Stage[],
  options: SqueezeNetOptions,
): ModelSpec {
  const size = options.inputSize ?? 224;
  const b = new ModelBuilder(name);
  let x = b.conv2d(b.input([size, size, 3]), { ...stem, strides: 2, activation: 'relu' });
  for (const stage of stages) x = stage === 'pool' ? pool(b, x) : fire(b, x, stage[0], stage[1]);
  x = b.dropout(x, { rate: 0.5 });
  x = b.conv2d(x, { filters: options.numClasses ?? 1000, kernelSize: 1, activation: 'relu' });
  return b.build(b.activation(b.globalAvgPool2d(x), { activation: 'softmax' }));
}

export const squeezenet10 = (options: SqueezeNetOptions = {}) =>
  squeezenet(
    'squeezenet-1.0',
    { filters: 96, kernelSize: 7 },
    [
      'pool',
      [16, 64],
      [16, 64],
      [32, 128],
      'pool',
      [32, 128],
      [48, 192],
      [48, 192],
      [64, 256],
      'pool',
      [64, 256],
    ],
    options,
  );

/** 1.1: a 3x3 stem with 64 filters and earlier pooling, about 2.4 times fewer MACs for the same accuracy. */
export const squeezenet11 = (options: SqueezeNetOptions = {}) =>
  squeezenet(
    'squeezenet-1.1',
    { filters: 64, kernelSize: 3 },
    [
      'pool',
      [16, 64],
      [16, 64],
      'pool',
      [32, 128],
      [32, 128],
      'pool',
      [48, 192],
      [48, 192],
      [64, 256],
      [64, 256],
    ],
    options,
  );
