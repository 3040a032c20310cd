/**
 * EfficientNet-B0 (Tan & Le 2019) as torchvision defines it: a 3x3 stem, seven stages of MBConv
 * blocks (1x1 expansion, depthwise convolution, squeeze-and-excitation, 1x1 projection, residual
 * when the shape allows), a 1x1 head to 1280 channels, global pooling, dropout 0.2 and a
 * classifier. Convolutions have no bias and are followed by batch norm; the activation is swish
 * (SiLU). Stochastic depth changes training only, not the spec, and is left out.
 */
import { ModelBuilder, squeezeExcitation } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface EfficientNetOptions {
  inputSize?: number;
  numClasses?: number;
}

/** Batch norm as torchvision's (epsilon 1e-5, PyTorch momentum 0.1 is 0.9 here), then swish or nothing. */
function bn(b: ModelBuilder, x: string, activation: boolean): string {
  const n = b.batchNorm(x, { epsilon: 1e-5, momentum: 0.9 });
  return activation ? b.activation(n, { activation: 'swish' }) : n;
}

/** Channels rounded to the nearest multiple of 8, never more than 10% below the exact value. */
function divisible(value: number): number {
  const rounded = Math.max(8, Math.floor((value + 4) / 8) * 8);
  return rounded < 0.9 * value ? rounded + 8 : rounded;
}

/** Stages: expansion ratio, kernel size, stride of the first block, output channels, blocks. */
const B0_STAGES: readonly [number, number, number, number, number][] = [
  [1, 3, 1, 16, 1],
  [6, 3, 2, 24, 2],
  [6, 5, 2, 40, 2],
  [6, 3, 2, 80, 3],
  [6, 5, 1, 112, 3],
  [6, 5, 2, 192, 4],
  [6, 3, 1, 320, 1],
];

export function efficientnetB0(options: EfficientNetOptions = {}): ModelSpec {
  const size = options.inputSize ?? 224;
  const b = new ModelBuilder('efficientnet-b0');
  let channels = 32;
  let x = b.conv2d(b.input([size, size, 3]), {
    filters: channels,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    useBias: false,
  });
  x = bn(b, x, true);
  for (const [expansion, kernelSize, stride, out, blocks] of B0_STAGES)
    for (let i = 0; i < blocks; i++) {
      const strides = i === 0 ? stride : 1;
      const expanded = divisible(channels * expansion);
      let h = x;
      if (expanded !== channels)
        h = bn(b, b.conv2d(h, { filters: expanded, kernelSize: 1, useBias: false }), true);
      h = bn(b, b.depthwiseConv2d(h, { kernelSize, strides, padding: 'same', useBias: false }), true);
      // torchvision squeezes to a quarter of the block's input channels, not of the expanded ones.
      h = squeezeExcitation(b, h, {
        channels: expanded,
        squeezeChannels: Math.max(1, Math.floor(channels / 4)),
        activation: 'swish',
      });
      h = bn(b, b.conv2d(h, { filters: out, kernelSize: 1, useBias: false }), false);
      x = strides === 1 && channels === out ? b.add([x, h]) : h;
      channels = out;
    }
  x = bn(b, b.conv2d(x, { filters: 4 * channels, kernelSize: 1, useBias: false }), true);
  x = b.dropout(b.globalAvgPool2d(x), { rate: 0.2 });
  return b.build(b.dense(x, { units: options.numClasses ?? 1000, activation: 'softmax' }));
}
