/** VGG-16 (configuration D): 13 3x3 convolutions in five blocks, then three dense layers. */
import { sequential } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface VggOptions {
  numClasses?: number;
  inputSize?: number;
}

export function vgg16(options: VggOptions = {}): ModelSpec {
  const size = options.inputSize ?? 224;
  const model = sequential([size, size, 3], { name: 'vgg-16' });
  for (const [filters, convs] of [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ]) {
    for (let i = 0; i < convs; i++)
      model.add('conv2d', { filters, kernelSize: 3, padding: 'same', activation: 'relu' });
    model.add('maxPool2d', { poolSize: 2 });
  }
  return model
    .add('flatten')
    .add('dense', { units: 4096, activation: 'relu' })
    .add('dropout', { rate: 0.5 })
    .add('dense', { units: 4096, activation: 'relu' })
    .add('dropout', { rate: 0.5 })
    .add('dense', { units: options.numClasses ?? 1000, activation: 'softmax' })
    .build();
}
