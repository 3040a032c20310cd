/**
 * ResNet-18 and ResNet-50 as torchvision defines them: convolutions without bias followed by batch
 * norm, projection shortcuts (1x1 conv + BN) where the shape changes, and for ResNet-50 the
 * bottleneck with its stride on the 3x3 convolution ("v1.5").
 */
import { ModelBuilder } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface ResNetOptions {
  numClasses?: number;
  inputSize?: number;
}

function convBn(
  b: ModelBuilder,
  x: string,
  filters: number,
  kernelSize: number,
  strides: number,
  relu: boolean,
): string {
  const c = b.conv2d(x, { filters, kernelSize, strides, padding: 'same', useBias: false });
  const n = b.batchNorm(c);
  return relu ? b.activation(n, { activation: 'relu' }) : n;
}

function shortcut(b: ModelBuilder, x: string, channelsIn: number, filters: number, strides: number): string {
  return strides === 1 && channelsIn === filters ? x : convBn(b, x, filters, 1, strides, false);
}

function basicBlock(
  b: ModelBuilder,
  x: string,
  channelsIn: number,
  filters: number,
  strides: number,
): string {
  const h = convBn(b, convBn(b, x, filters, 3, strides, true), filters, 3, 1, false);
  return b.activation(b.add([shortcut(b, x, channelsIn, filters, strides), h]), { activation: 'relu' });
}

function bottleneck(b: ModelBuilder, x: string, channelsIn: number, width: number, strides: number): string {
  let h = convBn(b, x, width, 1, 1, true);
  h = convBn(b, h, width, 3, strides, true);
  h = convBn(b, h, width * 4, 1, 1, false);
  return b.activation(b.add([shortcut(b, x, channelsIn, width * 4, strides), h]), { activation: 'relu' });
}

function resnet(
  name: string,
  blocks: number[],
  kind: 'basic' | 'bottleneck',
  options: ResNetOptions,
): ModelSpec {
  const size = options.inputSize ?? 224;
  const b = new ModelBuilder(name);
  let x = convBn(b, b.input([size, size, 3]), 64, 7, 2, true);
  x = b.maxPool2d(x, { poolSize: 3, strides: 2, padding: 'same' });
  let channels = 64;
  blocks.forEach((count, stage) => {
    const width = 64 * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const strides = i === 0 && stage > 0 ? 2 : 1;
      if (kind === 'basic') {
        x = basicBlock(b, x, channels, width, strides);
        channels = width;
      } else {
        x = bottleneck(b, x, channels, width, strides);
        channels = width * 4;
      }
    }
  });
  x = b.globalAvgPool2d(x);
  return b.build(b.dense(x, { units: options.numClasses ?? 1000, activation: 'softmax' }));
}

export const resnet18 = (options: ResNetOptions = {}) => resnet('resnet-18', [2, 2, 2, 2], 'basic', options);
export const resnet50 = (options: ResNetOptions = {}) =>
  resnet('resnet-50', [3, 4, 6, 3], 'bottleneck', options);
