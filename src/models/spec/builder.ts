/**
 * Building a spec in TypeScript. The functional form wires any graph (residuals, branches):
 *
 *   const b = new ModelBuilder('tiny-resnet');
 *   const x = b.input([32, 32, 3]);
 *   const h = b.conv2d(x, { filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' });
 *   const y = b.add([x2, h]);
 *   const spec = b.build(b.dense(b.flatten(y), { units: 10 }));
 *
 * and `sequential([28, 28, 1]).add('conv2d', {...}).add('flatten').build()` chains a stack.
 * Both produce the same plain JSON a file holds; `build()` checks shapes and fails naming the layer.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Activation, InputSpec, LayerSpec, LayerType, ModelSpec, SpecOf } from './types.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from './types.js';
import { inferShapes } from './validate.js';

/** A layer's own settings: everything but its type and inputs; the name is optional. */
export type LayerConfig<T extends LayerType> = Omit<SpecOf<T>, 'type' | 'inputs' | 'name'> & {
  name?: string;
};

type Optional<T extends LayerType> =
  object extends LayerConfig<T> ? [config?: LayerConfig<T>] : [config: LayerConfig<T>];

export class ModelBuilder {
  private readonly name: string | undefined;
  private readonly inputs: InputSpec[] = [];
  private readonly layers: LayerSpec[] = [];
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(name?: string) {
    this.name = name;
  }

  input(shape: readonly number[], options: { name?: string; dtype?: 'float32' | 'int32' } = {}): string {
    const name = this.claim(
      options.name ?? (this.inputs.length === 0 ? 'input' : `input_${this.inputs.length + 1}`),
    );
    this.inputs.push({ name, shape: [...shape], ...(options.dtype ? { dtype: options.dtype } : {}) });
    return name;
  }

  /** Adds a layer of any type reading `inputs`; returns its name, the handle for later layers. */
  layer<T extends LayerType>(type: T, inputs: string | readonly string[], ...[config]: Optional<T>): string {
    const { name: given, ...rest } = (config ?? {}) as LayerConfig<T>;
    const name = this.claim(given ?? this.autoName(type));
    this.layers.push({
      name,
      type,
      inputs: typeof inputs === 'string' ? [inputs] : [...inputs],
      ...rest,
    } as LayerSpec);
    return name;
  }

  dense = (x: string, config: LayerConfig<'dense'>) => this.layer('dense', x, config);
  conv2d = (x: string, config: LayerConfig<'conv2d'>) => this.layer('conv2d', x, config);
  depthwiseConv2d = (x: string, config: LayerConfig<'depthwiseConv2d'>) =>
    this.layer('depthwiseConv2d', x, config);
  separableConv2d = (x: string, config: LayerConfig<'separableConv2d'>) =>
    this.layer('separableConv2d', x, config);
  maxPool2d = (x: string, config: LayerConfig<'maxPool2d'>) => this.layer('maxPool2d', x, config);
  avgPool2d = (x: string, config: LayerConfig<'avgPool2d'>) => this.layer('avgPool2d', x, config);
  globalAvgPool2d = (x: string, config?: LayerConfig<'globalAvgPool2d'>) =>
    this.layer('globalAvgPool2d', x, config);
  globalMaxPool2d = (x: string, config?: LayerConfig<'globalMaxPool2d'>) =>
    this.layer('globalMaxPool2d', x, config);
  globalAvgPool1d = (x: string, config?: LayerConfig<'globalAvgPool1d'>) =>
    this.layer('globalAvgPool1d', x, config);
  zeroPadding2d = (x: string, config: LayerConfig<'zeroPadding2d'>) => this.layer('zeroPadding2d', x, config);
  batchNorm = (x: string, config?: LayerConfig<'batchNorm'>) => this.layer('batchNorm', x, config);
  layerNorm = (x: string, config?: LayerConfig<'layerNorm'>) => this.layer('layerNorm', x, config);
  dropout = (x: string, config: LayerConfig<'dropout'>) => this.layer('dropout', x, config);
  flatten = (x: string, config?: LayerConfig<'flatten'>) => this.layer('flatten', x, config);
  reshape = (x: string, config: LayerConfig<'reshape'>) => this.layer('reshape', x, config);
  activation = (x: string, config: LayerConfig<'activation'>) => this.layer('activation', x, config);
  add = (xs: readonly string[], config?: LayerConfig<'add'>) => this.layer('add', xs, config);
  multiply = (xs: readonly string[], config?: LayerConfig<'multiply'>) => this.layer('multiply', xs, config);
  concat = (xs: readonly string[], config?: LayerConfig<'concat'>) => this.layer('concat', xs, config);
  embedding = (x: string, config: LayerConfig<'embedding'>) => this.layer('embedding', x, config);
  lstm = (x: string, config: LayerConfig<'lstm'>) => this.layer('lstm', x, config);
  gru = (x: string, config: LayerConfig<'gru'>) => this.layer('gru', x, config);
  multiHeadAttention = (xs: string | readonly string[], config: LayerConfig<'multiHeadAttention'>) =>
    this.layer('multiHeadAttention', xs, config);
  mixtureOfExperts = (x: string, config: LayerConfig<'mixtureOfExperts'>) =>
    this.layer('mixtureOfExperts', x, config);

  /** The finished spec; throws a ModelSpecError naming the layer when shapes do not fit. */
  build(outputs: string | readonly string[]): ModelSpec {
    const spec: ModelSpec = {
      format: MODEL_FORMAT,
      version: MODEL_FORMAT_VERSION,
      ...(this.name === undefined ? {} : { name: this.name }),
      inputs: this.inputs.map((i) => ({ ...i, shape: [...i.shape] })),
      layers: this.layers.map((l) => structuredClone(l)),
      outputs: typeof outputs === 'string' ? [outputs] : [...outputs],
    };
    inferShapes(spec);
    return spec;
  }

  private claim(name: string): string {
    if (this.used.has(name))
      throw new InvalidArgumentError(`model builder: the name "${name}" is already used`);
    this.used.add(name);
    return name;
  }

  private autoName(type: string): string {
    let n = this.counters.get(type) ?? 0;
    let name: string;
    do name = `${type}_${++n}`;
    while (this.used.has(name));
    this.counters.set(type, n);
    return name;
  }
}

export interface SqueezeExcitationOptions {
  /** Channels of the image `x` (the gate's width). */
  channels: number;
  /** Width of the bottleneck between the two dense layers. */
  squeezeChannels: number;
  /** Activation of the bottleneck (default relu; EfficientNet uses swish). */
  activation?: Activation;
  /** Prefix of the layers' names (default: automatic names). */
  name?: string;
}

/**
 * A squeeze-and-excitation block (Hu et al. 2018) on an image `x` [h, w, c]: global average pool,
 * a dense bottleneck, a dense sigmoid gate [c], and `x` multiplied channel by channel by the gate.
 * The dense layers are the 1x1 convolutions of the usual drawing (on a 1x1 input they are the same
 * weights and products). Returns the gated image.
 */
export function squeezeExcitation(b: ModelBuilder, x: string, options: SqueezeExcitationOptions): string {
  const named = (part: string) => (options.name === undefined ? {} : { name: `${options.name}_${part}` });
  const squeezed = b.globalAvgPool2d(x, named('squeeze'));
  const reduced = b.dense(squeezed, {
    units: options.squeezeChannels,
    activation: options.activation ?? 'relu',
    ...named('reduce'),
  });
  const gate = b.dense(reduced, { units: options.channels, activation: 'sigmoid', ...named('gate') });
  return b.multiply([x, gate], named('scale'));
}

/** A stack of layers, each reading the previous one. */
export class SequentialBuilder {
  private readonly builder: ModelBuilder;
  private last: string;

  constructor(inputShape: readonly number[], options: { name?: string; dtype?: 'float32' | 'int32' } = {}) {
    this.builder = new ModelBuilder(options.name);
    this.last = this.builder.input(inputShape, { dtype: options.dtype });
  }

  add<T extends LayerType>(type: T, ...config: Optional<T>): this {
    this.last = this.builder.layer(type, this.last, ...config);
    return this;
  }

  build(): ModelSpec {
    return this.builder.build(this.last);
  }
}

export function sequential(
  inputShape: readonly number[],
  options: { name?: string; dtype?: 'float32' | 'int32' } = {},
): SequentialBuilder {
  return new SequentialBuilder(inputShape, options);
}
