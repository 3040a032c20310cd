import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeModel, countParams } from '../../src/models/complexity/analyze.js';
import { ModelBuilder, sequential } from '../../src/models/spec/builder.js';
import { zooModel, zooModelFromReference } from '../../src/models/zoo/index.js';

const within = (actual: number, expected: number, tolerance: number) =>
  assert.ok(
    Math.abs(actual - expected) / expected <= tolerance,
    `${actual} is not within ${tolerance * 100}% of ${expected}`,
  );

describe('analyzeModel on the zoo: published figures', () => {
  const cases: [string, Record<string, number>, number, number | null][] = [
    // name, options, parameters (exact), MACs (within 2%)
    ['lenet-300-100', {}, 266_610, 266_200],
    ['lenet-5', {}, 431_080, 2_293_000],
    ['mobilenet-v1', {}, 4_231_976, 569e6],
    ['mobilenet-v2', {}, 3_504_872, 300e6],
    // torchvision's model table: 5,288,548 parameters, 0.386 GFLOPS (its "FLOPS" are MACs).
    ['efficientnet-b0', {}, 5_288_548, 0.386e9],
    ['resnet-18', {}, 11_689_512, 1.81e9],
    ['resnet-50', {}, 25_557_032, 4.09e9],
    // torchvision: 1,248,424 and 1,235,496 parameters, 0.819 and 0.349 GFLOPS (MACs); both
    // pool in ceil mode, without which 1.0's pooled maps are 54, 26, 12 wide (not 54, 27, 13), 0.777G MACs.
    ['squeezenet-1.0', {}, 1_248_424, 0.819e9],
    ['squeezenet-1.1', {}, 1_235_496, 0.349e9],
    ['vgg-16', {}, 138_357_544, 15.47e9],
  ];
  for (const [name, options, params, macs] of cases)
    it(`${name}: ${params.toLocaleString('en-US')} parameters${macs ? `, ~${macs.toExponential(3)} MACs` : ''}`, () => {
      const a = analyzeModel(zooModel(name, options));
      assert.equal(a.params, params);
      if (macs) within(a.macs, macs, 0.02);
      assert.equal(a.flops, 2 * a.macs);
    });

  it("MobileNetV1 with batch-norm statistics is Keras's 4,253,864 stored values", () => {
    const a = analyzeModel(zooModel('mobilenet-v1'));
    assert.equal(a.params + a.nonTrainableParams, 4_253_864);
    assert.equal(a.trainableParams, 4_231_976);
  });

  it("width multiplier and input size shrink MobileNetV2 as the paper's table says (0.5, 160: ~1.95M params, ~50M MACs)", () => {
    const a = analyzeModel(zooModelFromReference('zoo:mobilenet-v2?alpha=0.5&inputSize=160'));
    // The paper's table rounds to 1.95M; torchvision's mobilenet_v2(width_mult=0.5) has 1,968,680
    // (sum(p.numel() for p in torchvision.models.mobilenet_v2(width_mult=0.5).parameters())),
    // and test/models/torchvision.test.ts recomputes it with torchvision when it is installed.
    within(a.params, 1.95e6, 0.01);
    assert.equal(a.params, 1_968_680);
    within(a.macs, 50e6, 0.1);
  });

  it('the Transformer encoder counts attention, layer norm and embeddings', () => {
    const a = analyzeModel(
      zooModel('transformer-encoder', {
        vocabSize: 100,
        sequenceLength: 8,
        modelDim: 16,
        numHeads: 2,
        feedForwardDim: 32,
        numBlocks: 1,
        numClasses: 3,
      }),
    );
    const attention = 4 * (16 * 16 + 16); // q, k, v and output projections, each with a bias
    const expected =
      100 * 16 + 8 * 16 + attention + 2 * 16 + (16 * 32 + 32) + (32 * 16 + 16) + 2 * 16 + (16 * 3 + 3);
    assert.equal(a.params, expected);
  });
});

describe('analyzeModel per layer', () => {
  it('a dense layer: connections = weights = MACs', () => {
    const a = analyzeModel(sequential([20]).add('dense', { units: 7 }).build());
    assert.deepEqual([a.params, a.connections, a.macs], [147, 140, 140]);
  });

  it('a dense layer on a sequence [5, 20] applies its 20x7 weights at each of the 5 positions', () => {
    const a = analyzeModel(sequential([5, 20]).add('dense', { units: 7 }).build());
    assert.deepEqual(a.layers[0].outputShape, [5, 7]);
    assert.deepEqual([a.params, a.connections, a.macs], [20 * 7 + 7, 5 * 20 * 7, 5 * 20 * 7]);
    const image = analyzeModel(sequential([3, 4, 6]).add('dense', { units: 2, useBias: false }).build());
    assert.deepEqual([image.params, image.macs], [12, 3 * 4 * 6 * 2]);
  });

  it("a 'valid' convolution: connections = MACs = output positions x weights, far more than weights", () => {
    const a = analyzeModel(sequential([6, 6, 2]).add('conv2d', { filters: 4, kernelSize: 3 }).build());
    const weights = 3 * 3 * 2 * 4;
    assert.equal(a.params, weights + 4);
    assert.equal(a.macs, 4 * 4 * weights);
    assert.equal(a.connections, a.macs);
  });

  it('convolutions on a non-square input with a non-square kernel and strides (counted by hand)', () => {
    // Input 7 high, 12 wide, 3 channels; kernel 3x5, strides 2x1, 'valid':
    // output height (7 - 3) / 2 + 1 = 3, width (12 - 5) / 1 + 1 = 8.
    const conv = analyzeModel(
      sequential([7, 12, 3])
        .add('conv2d', { filters: 4, kernelSize: [3, 5], strides: [2, 1], useBias: false })
        .build(),
    );
    assert.deepEqual(conv.layers[0].outputShape, [3, 8, 4]);
    assert.equal(conv.macs, 3 * 8 * (3 * 5 * 3 * 4)); // 1,440
    assert.equal(conv.connections, conv.macs);
    // 'same', stride 2 on 9x5: output 5x3. MACs count every tap; connections only real ones:
    // per row axis (9, kernel 3, stride 2, one padded row before) the 5 outputs see 2+3+3+3+2 = 13
    // real rows; per column axis (5 -> 3) 2+3+2 = 7.
    const same = analyzeModel(
      sequential([9, 5, 2])
        .add('conv2d', { filters: 3, kernelSize: 3, strides: 2, padding: 'same', useBias: false })
        .build(),
    );
    assert.deepEqual(same.layers[0].outputShape, [5, 3, 3]);
    assert.equal(same.macs, 5 * 3 * (3 * 3 * 2 * 3)); // 810
    assert.equal(same.connections, 13 * 7 * 2 * 3); // 546
    // Depthwise (multiplier 2) and separable on 6x10: 'valid' 3x3 gives 4x8.
    const dw = analyzeModel(
      sequential([6, 10, 3]).add('depthwiseConv2d', { kernelSize: 3, depthMultiplier: 2 }).build(),
    );
    assert.equal(dw.macs, 4 * 8 * 3 * 3 * 6);
    const sep = analyzeModel(
      sequential([6, 10, 3]).add('separableConv2d', { filters: 5, kernelSize: 3 }).build(),
    );
    assert.equal(sep.macs, 4 * 8 * (3 * 3 * 3 + 3 * 5));
  });

  it("a 'same' convolution: connections leave out taps on padding, MACs do not", () => {
    // 3x3 input, 3x3 kernel, same padding: per axis the 3 output positions see 2 + 3 + 2 real taps.
    const a = analyzeModel(
      sequential([3, 3, 1])
        .add('conv2d', { filters: 1, kernelSize: 3, padding: 'same', useBias: false })
        .build(),
    );
    assert.equal(a.macs, 9 * 9);
    assert.equal(a.connections, 7 * 7);
  });

  it('a grouped convolution divides weights and MACs by the groups', () => {
    const plain = analyzeModel(
      sequential([8, 8, 16]).add('conv2d', { filters: 32, kernelSize: 3, useBias: false }).build(),
    );
    const grouped = analyzeModel(
      sequential([8, 8, 16]).add('conv2d', { filters: 32, kernelSize: 3, groups: 4, useBias: false }).build(),
    );
    assert.equal(grouped.params * 4, plain.params);
    assert.equal(grouped.macs * 4, plain.macs);
  });

  it('depthwise and separable convolutions', () => {
    const dw = analyzeModel(
      sequential([10, 10, 8]).add('depthwiseConv2d', { kernelSize: 3, depthMultiplier: 2 }).build(),
    );
    assert.equal(dw.params, 3 * 3 * 16 + 16);
    assert.equal(dw.macs, 8 * 8 * 3 * 3 * 16);
    const sep = analyzeModel(
      sequential([10, 10, 8]).add('separableConv2d', { filters: 12, kernelSize: 3 }).build(),
    );
    assert.equal(sep.params, 3 * 3 * 8 + 8 * 12 + 12);
    assert.equal(sep.macs, 8 * 8 * (3 * 3 * 8 + 8 * 12));
  });

  it('LSTM and GRU follow the Keras formulas; weights are shared across steps', () => {
    const lstm = analyzeModel(sequential([10, 5]).add('lstm', { units: 7 }).build());
    assert.equal(lstm.params, 4 * (7 * (5 + 7) + 7));
    assert.equal(lstm.macs, 10 * 4 * 7 * (5 + 7));
    const gru = analyzeModel(sequential([10, 5]).add('gru', { units: 7, returnSequences: true }).build());
    assert.equal(gru.params, 3 * (7 * (5 + 7) + 2 * 7));
    assert.deepEqual(gru.layers[0].outputShape, [10, 7]);
  });

  it('batch norm: 2C learned, 2C state; frozen layers are non-trainable', () => {
    const b = new ModelBuilder();
    const x = b.input([4, 4, 3]);
    const c = b.conv2d(x, { filters: 8, kernelSize: 1, useBias: false, trainable: false });
    const a = analyzeModel(b.build(b.batchNorm(c)));
    assert.equal(a.params, 24 + 16);
    assert.equal(a.trainableParams, 16);
    assert.equal(a.nonTrainableParams, 24 + 16);
    assert.deepEqual([a.frozenParams, a.stateValues], [24, 16]);
    assert.equal(a.trainableParams + a.frozenParams, a.params);
    assert.equal(a.weightBytes, (24 + 16 + 16) * 4);
  });

  it('activation memory is each output at float32, per sample', () => {
    const a = analyzeModel(sequential([28, 28, 1]).add('conv2d', { filters: 20, kernelSize: 5 }).build());
    assert.equal(a.layers[0].activationBytes, 24 * 24 * 20 * 4);
  });

  it('compression: sparsity removes weights and their connections, weightBits shrinks storage', () => {
    const dense = sequential([100])
      .add('dense', { units: 10, compression: { sparsity: 0.9, weightBits: 8 } })
      .build();
    const a = analyzeModel(dense);
    assert.equal(a.params, 1010);
    assert.equal(a.nonZeroParams, 100 + 10);
    assert.equal(a.connections, 100);
    assert.equal(a.storedBits, 100 * 8 + 10 * 32);
    assert.equal(a.weightBytes, 1000 + 40);
  });

  it('countParams is the cheap check a search uses', () => {
    assert.equal(countParams(zooModel('lenet-300-100')), 266_610);
  });
});
