/**
 * MobileNetV1 and V2 as Keras Applications define them (convolutions without bias, batch norm,
 * ReLU6), with the width multiplier `alpha` and the input size as options.
 */
import { ModelBuilder } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface MobileNetOptions {
  /** Width multiplier (default 1). */
  alpha?: number;
  inputSize?: number;
  numClasses?: number;
}

function bnRelu6(b: ModelBuilder, x: string): string {
  return b.activation(b.batchNorm(x), { activation: 'relu6' });
}

/** Depthwise separable blocks; the head is Keras's: global pool, dropout, 1x1 conv as classifier. */
export function mobilenetV1(options: MobileNetOptions = {}): ModelSpec {
  const alpha = options.alpha ?? 1;
  const size = options.inputSize ?? 224;
  const b = new ModelBuilder(`mobilenet-v1-${alpha}-${size}`);
  const width = (c: number) => Math.floor(c * alpha);
  let x = bnRelu6(
    b,
    b.conv2d(b.input([size, size, 3]), {
      filters: width(32),
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
    }),
  );
  const blocks: [number, number][] = [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
    [512, 2],
    [512, 1],
    [512, 1],
    [512, 1],
    [512, 1],
    [512, 1],
    [1024, 2],
    [1024, 1],
  ];
  for (const [filters, strides] of blocks) {
    x = bnRelu6(b, b.depthwiseConv2d(x, { kernelSize: 3, strides, padding: 'same', useBias: false }));
    x = bnRelu6(b, b.conv2d(x, { filters: width(filters), kernelSize: 1, useBias: false }));
  }
  x = b.globalAvgPool2d(x);
  x = b.reshape(x, { shape: [1, 1, width(1024)] });
  x = b.dropout(x, { rate: 0.001 });
  x = b.conv2d(x, { filters: options.numClasses ?? 1000, kernelSize: 1, padding: 'same' });
  x = b.reshape(x, { shape: [options.numClasses ?? 1000] });
  return b.build(b.activation(x, { activation: 'softmax' }));
}

/** Channels rounded to a multiple of 8, never more than 10% below the exact value. */
function divisible(value: number, divisor = 8): number {
  const rounded = Math.max(
    divisor,
    Math.floor(value + divisor / 2) - (Math.floor(value + divisor / 2) % divisor),
  );
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

/** Inverted residual blocks (expansion t, channels c, repeats n, stride s) of the paper's table 2. */
export function mobilenetV2(options: MobileNetOptions = {}): ModelSpec {
  const alpha = options.alpha ?? 1;
  const size = options.inputSize ?? 224;
  const b = new ModelBuilder(`mobilenet-v2-${alpha}-${size}`);
  let channels = divisible(32 * alpha);
  let x = bnRelu6(
    b,
    b.conv2d(b.input([size, size, 3]), {
      filters: channels,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
    }),
  );
  const table: [number, number, number, number][] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  for (const [t, c, n, s] of table) {
    const out = divisible(c * alpha);
    for (let i = 0; i < n; i++) {
      const strides = i === 0 ? s : 1;
      let h = x;
      if (t !== 1) h = bnRelu6(b, b.conv2d(h, { filters: channels * t, kernelSize: 1, useBias: false }));
      h = bnRelu6(b, b.depthwiseConv2d(h, { kernelSize: 3, strides, padding: 'same', useBias: false }));
      h = b.batchNorm(b.conv2d(h, { filters: out, kernelSize: 1, useBias: false }));
      x = strides === 1 && channels === out ? b.add([x, h]) : h;
      channels = out;
    }
  }
  const last = alpha > 1 ? divisible(1280 * alpha) : 1280;
  x = bnRelu6(b, b.conv2d(x, { filters: last, kernelSize: 1, useBias: false }));
  x = b.globalAvgPool2d(x);
  return b.build(b.dense(x, { units: options.numClasses ?? 1000, activation: 'softmax' }));
}
