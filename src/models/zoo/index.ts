/**
 * The zoo: reference architectures by name. `zoo:<name>` or `zoo:<name>?alpha=0.5&inputSize=160`
 * on the command line; `zooModel(name, options)` in code.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { ModelSpec } from '../spec/types.js';
import { efficientnetB0 } from './efficientnet.js';
import { lenet5, lenet300100 } from './lenet.js';
import { mobilenetV1, mobilenetV2 } from './mobilenet.js';
import { resnet18, resnet50 } from './resnet.js';
import { squeezenet10, squeezenet11 } from './squeezenet.js';
import { transformerEncoder } from './transformer.js';
import { vgg16 } from './vgg.js';

export interface ZooEntry {
  name: string;
  description: string;
  /** Numeric options the builder accepts. */
  options: readonly string[];
  build: (options: Record<string, number>) => ModelSpec;
}

export const ZOO: readonly ZooEntry[] = [
  {
    name: 'lenet-300-100',
    description: 'MLP 784-300-100-10 (LeCun et al. 1998)',
    options: ['numClasses'],
    build: lenet300100,
  },
  {
    name: 'lenet-5',
    description: 'Caffe LeNet-5: conv20-conv50-fc500-fc10',
    options: ['numClasses'],
    build: lenet5,
  },
  {
    name: 'mobilenet-v1',
    description: 'MobileNetV1 (Howard et al. 2017), Keras layout',
    options: ['alpha', 'inputSize', 'numClasses'],
    build: mobilenetV1,
  },
  {
    name: 'mobilenet-v2',
    description: 'MobileNetV2 (Sandler et al. 2018)',
    options: ['alpha', 'inputSize', 'numClasses'],
    build: mobilenetV2,
  },
  {
    name: 'efficientnet-b0',
    description: 'EfficientNet-B0 (Tan & Le 2019), torchvision layout',
    options: ['inputSize', 'numClasses'],
    build: efficientnetB0,
  },
  {
    name: 'resnet-18',
    description: 'ResNet-18 (He et al. 2016), torchvision layout',
    options: ['inputSize', 'numClasses'],
    build: resnet18,
  },
  {
    name: 'resnet-50',
    description: 'ResNet-50 v1.5, torchvision layout',
    options: ['inputSize', 'numClasses'],
    build: resnet50,
  },
  {
    name: 'squeezenet-1.0',
    description: 'SqueezeNet 1.0 (Iandola et al. 2016), torchvision layout',
    options: ['inputSize', 'numClasses'],
    build: squeezenet10,
  },
  {
    name: 'squeezenet-1.1',
    description: 'SqueezeNet 1.1, torchvision layout',
    options: ['inputSize', 'numClasses'],
    build: squeezenet11,
  },
  {
    name: 'vgg-16',
    description: 'VGG-16, configuration D (Simonyan & Zisserman 2015)',
    options: ['inputSize', 'numClasses'],
    build: vgg16,
  },
  {
    name: 'transformer-encoder',
    description: 'small Transformer encoder classifier (2 blocks, 128 wide, 4 heads)',
    options: [
      'vocabSize',
      'sequenceLength',
      'modelDim',
      'numHeads',
      'feedForwardDim',
      'numBlocks',
      'numClasses',
    ],
    build: transformerEncoder,
  },
];

export function zooModel(name: string, options: Record<string, number> = {}): ModelSpec {
  const entry = ZOO.find((e) => e.name === name);
  if (!entry)
    throw new InvalidArgumentError(
      `unknown zoo model "${name}" (known: ${ZOO.map((e) => e.name).join(', ')})`,
    );
  for (const [key, value] of Object.entries(options)) {
    if (!entry.options.includes(key))
      throw new InvalidArgumentError(
        `zoo model "${name}" has no option "${key}" (options: ${entry.options.join(', ') || 'none'})`,
      );
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
      throw new InvalidArgumentError(
        `zoo model "${name}": option "${key}" must be a positive number, got ${value}`,
      );
  }
  return entry.build(options);
}

/** Parses `zoo:<name>[?key=value&...]` (the `zoo:` prefix is optional here). */
export function zooModelFromReference(reference: string): ModelSpec {
  const text = reference.startsWith('zoo:') ? reference.slice(4) : reference;
  const [name, query = ''] = text.split('?', 2);
  const options: Record<string, number> = {};
  for (const part of query.split('&').filter(Boolean)) {
    const [key, raw] = part.split('=', 2);
    const value = Number(raw);
    if (raw === undefined || raw === '' || Number.isNaN(value))
      throw new InvalidArgumentError(`${reference}: option "${key}" needs a number, got "${raw ?? ''}"`);
    options[key] = value;
  }
  return zooModel(name, options);
}
