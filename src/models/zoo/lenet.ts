/** LeNet-300-100 and LeNet-5 (the Caffe variant used in the pruning literature), for 28x28 digits. */
import { sequential } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface LeNetOptions {
  numClasses?: number;
}

/** 784-300-100-10 with ReLU: 266,610 parameters. */
export function lenet300100(options: LeNetOptions = {}): ModelSpec {
  return sequential([28, 28, 1], { name: 'lenet-300-100' })
    .add('flatten')
    .add('dense', { units: 300, activation: 'relu' })
    .add('dense', { units: 100, activation: 'relu' })
    .add('dense', { units: options.numClasses ?? 10, activation: 'softmax' })
    .build();
}

/** conv20(5x5) - maxpool - conv50(5x5) - maxpool - fc500 - fc10: 431,080 parameters. */
export function lenet5(options: LeNetOptions = {}): ModelSpec {
  return sequential([28, 28, 1], { name: 'lenet-5' })
    .add('conv2d', { filters: 20, kernelSize: 5 })
    .add('maxPool2d', { poolSize: 2 })
    .add('conv2d', { filters: 50, kernelSize: 5 })
    .add('maxPool2d', { poolSize: 2 })
    .add('flatten')
    .add('dense', { units: 500, activation: 'relu' })
    .add('dense', { units: options.numClasses ?? 10, activation: 'softmax' })
    .build();
}
