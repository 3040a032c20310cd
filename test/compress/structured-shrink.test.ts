import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as TfCore from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { analyzeChannels, keptPerLayer } from '../../src/compress/channel-groups.js';
import { groupFractions, normScores, selectSets } from '../../src/compress/channel-importance.js';
import { multiplyRule } from '../../src/compress/channel-rules.js';
import {
  gatherTensor,
  maskWeights,
  type PlainLayerWeights,
  shrinkSpec,
  shrinkWeights,
  zeroOutside,
} from '../../src/compress/channel-shrink.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { ModelBuilder, squeezeExcitation } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { randoms } from '../helpers/random.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

function localName(layer: TfLayers.layers.Layer, name: string): string {
  return name.startsWith(`${layer.name}/`) ? name.slice(layer.name.length + 1) : name;
}

/** A model's weights as plain tensors, batch norms given random statistics so they matter. */
async function randomWeights(spec: ModelSpec, seed: number): Promise<PlainLayerWeights[]> {
  const model = await buildTfjsModel(spec, { seed });
  try {
    const types = new Map(spec.layers.map((l) => [l.name, l.type]));
    let stream = seed * 7919;
    return model.layers
      .filter((l) => types.has(l.name) && l.weights.length > 0)
      .map((layer) => ({
        layer: layer.name,
        tensors: layer.weights.map((w) => {
          const name = localName(layer, w.originalName);
          let values: Float32Array = Float32Array.from(w.read().dataSync() as Float32Array);
          const n = values.length;
          if (types.get(layer.name) === 'batchNorm' || name === 'bias') {
            const [low, high] = name === 'moving_variance' || name === 'gamma' ? [0.5, 1.5] : [-0.5, 0.5];
            values = randoms(n, ++stream, low, high);
          }
          return { name, shape: [...w.shape] as number[], values };
        }),
      }));
  } finally {
    model.dispose();
  }
}

async function predict(
  spec: ModelSpec,
  weights: PlainLayerWeights[],
  x: TfCore.Tensor[],
): Promise<Float32Array> {
  const model = await buildTfjsModel(spec, { seed: 0 });
  try {
    for (const lw of weights) {
      const layer = model.getLayer(lw.layer);
      const values = layer.weights.map((w) => {
        const t = lw.tensors.find((t) => t.name === localName(layer, w.originalName));
        assert.ok(t, `layer ${lw.layer} has tensor ${w.originalName}`);
        assert.deepEqual(t.shape, w.shape, `layer ${lw.layer} tensor ${t.name} shape`);
        return tf.tensor(t.values, t.shape);
      });
      layer.setWeights(values);
      tf.dispose(values);
    }
    const out = model.predict(x.length === 1 ? x[0] : x) as TfCore.Tensor;
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  } finally {
    model.dispose();
  }
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'output lengths');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** The last layer outputs logits, so differences are not squashed by a softmax. */
function withLinearHead(spec: ModelSpec): ModelSpec {
  const layers = spec.layers.map((l) =>
    l.name === spec.outputs[0] && 'activation' in l ? { ...l, activation: 'linear' as const } : l,
  );
  return { ...spec, layers };
}

/**
 * Shrinks `spec` keeping `keep` of each group (ranked by L1), and checks: the shrunk model computes
 * what the full-size model with the same channels zeroed computes, that removal changed the
 * outputs, and that analysis counts fewer parameters and MACs.
 */
async function checkShrink(spec: ModelSpec, keep: number, seed = 1) {
  const analysis = analyzeChannels(spec);
  const weights = await randomWeights(spec, seed);
  const scores = normScores(analysis, weights, 'l1');
  const keptSets = selectSets(analysis, scores, groupFractions(analysis, keep));
  const shrunk = shrinkSpec(analysis, keptSets);
  // Two samples per input; token inputs get ids below 8 (every vocabulary here has at least 8).
  const x = spec.inputs.map((input, i) => {
    const values = randoms(2 * input.shape.reduce((a, b) => a * b, 1), seed + 100 + i);
    return input.dtype === 'int32'
      ? tf.tensor(
          Int32Array.from(values, (v) => Math.floor((v + 1) * 4)),
          [2, ...input.shape],
          'int32',
        )
      : tf.tensor(values, [2, ...input.shape]);
  });
  try {
    const original = await predict(spec, weights, x);
    const masked = await predict(spec, maskWeights(analysis, keptSets, weights), x);
    const small = await predict(shrunk, shrinkWeights(analysis, keptSets, weights), x);
    const scale = maxAbs(masked);
    assert.ok(scale > 0, 'the masked model outputs something');
    assert.ok(
      maxDifference(small, masked) <= 1e-4 * scale,
      `shrunk and masked outputs differ by ${maxDifference(small, masked)} (scale ${scale})`,
    );
    assert.ok(
      maxDifference(original, masked) > 1e-2 * scale,
      'removing channels changed the outputs (so the comparison can fail)',
    );
  } finally {
    tf.dispose(x);
  }
  const before = analyzeModel(spec);
  const after = analyzeModel(shrunk);
  assert.ok(after.params < before.params, `params ${after.params} < ${before.params}`);
  assert.ok(after.macs < before.macs, `MACs ${after.macs} < ${before.macs}`);
  return { analysis, keptSets, shrunk, before, after };
}

describe('channel analysis', () => {
  it('a residual stage is one group; block inner convolutions are groups of their own', () => {
    const analysis = analyzeChannels(zooModel('resnet-18', { inputSize: 32, numClasses: 10 }));
    const names = analysis.groups.map((g) => g.name);
    // Stage 1: the stem and both blocks' second convolutions feed one chain of adds.
    assert.ok(names.includes('conv2d_1+conv2d_3+conv2d_5'), `stage 1 group among ${names.join(', ')}`);
    // Later stages: the projection shortcut joins the blocks' second convolutions.
    assert.ok(names.includes('conv2d_7+conv2d_8+conv2d_10'), `stage 2 group among ${names.join(', ')}`);
    // 4 stages plus the first convolution of each of the 8 blocks; the classifier is pinned.
    assert.equal(analysis.groups.length, 12);
    assert.equal(analysis.groupOfLayer.has('dense_1'), false);
  });

  it('the output layer, softmax and layer norm pin their channels', () => {
    const b = new ModelBuilder('pins');
    const x = b.input([6]);
    const h = b.dense(x, { units: 8, activation: 'relu' });
    const n = b.layerNorm(b.dense(h, { units: 5 }));
    const spec = b.build(b.dense(n, { units: 3, activation: 'softmax' }));
    const analysis = analyzeChannels(spec);
    assert.deepEqual(
      analysis.groups.map((g) => g.name),
      ['dense_1'],
    );
    const pinned = analysis.sets.filter((s) => s.pinned).map((s) => s.pinned);
    assert.ok(
      pinned.some((r) => r?.includes('layer norm')),
      'layer norm pins dense_2',
    );
    assert.ok(
      pinned.some((r) => r?.includes('model input')),
      'inputs are pinned',
    );
  });

  it('a grouped convolution joins each group into one set', () => {
    const b = new ModelBuilder('grouped');
    const x = b.conv2d(b.input([8, 8, 3]), { filters: 8, kernelSize: 1 });
    const g = b.conv2d(x, { filters: 12, kernelSize: 3, groups: 4, padding: 'same' });
    const spec = b.build(b.dense(b.globalAvgPool2d(g), { units: 2 }));
    const analysis = analyzeChannels(spec);
    assert.deepEqual(
      analysis.groups.map((gr) => [gr.name, gr.sets.length]),
      [['conv2d_1+conv2d_2', 4]],
    );
    // Each set: 2 input filters and 3 output filters of one group.
    for (const s of analysis.groups[0].sets) assert.equal(analysis.sets[s].producers.length, 5);
  });
});

describe('multiply (squeeze-and-excitation), ready for the layer type', () => {
  it('joins full operands position by position; a channel-broadcast operand adds nothing', () => {
    const joined: [number, number][] = [];
    const context = {
      produce: () => new Int32Array(0),
      fixed: () => new Int32Array(0),
      join: (a: number, b: number) => joined.push([a, b]),
      pin: () => {},
    };
    const spec = { name: 'm', type: 'add', inputs: ['a', 'b', 'c'] } as const;
    const shapes = { inputs: [[2, 2, 3], [3], [1]], output: [2, 2, 3] };
    const out = multiplyRule().propagate(
      { ...spec, inputs: [...spec.inputs] },
      [Int32Array.from([0, 1, 2]), Int32Array.from([5, 6, 7]), Int32Array.from([9])],
      shapes,
      context,
    );
    assert.deepEqual([...out], [0, 1, 2]);
    assert.deepEqual(joined, [
      [0, 5],
      [1, 6],
      [2, 7],
    ]);
  });
});

describe('gather and zero on plain tensors', () => {
  it('keep the selected entries of every axis, in order', () => {
    const tensor = { name: 't', shape: [2, 3, 4], values: Float32Array.from({ length: 24 }, (_, i) => i) };
    const selection = [null, Int32Array.from([0, 2]), Int32Array.from([1, 3])];
    const gathered = gatherTensor(tensor, selection);
    assert.deepEqual(gathered.shape, [2, 2, 2]);
    assert.deepEqual([...gathered.values], [1, 3, 9, 11, 13, 15, 21, 23]);
    const zeroed = zeroOutside(tensor, selection);
    assert.equal(zeroed.values.filter((v) => v !== 0).length, 8);
    assert.equal(zeroed.values[9], 9);
    assert.equal(zeroed.values[10], 0);
  });
});

describe('shrinking equals masking', () => {
  it('a small CNN with batch norm, flatten and dense layers', async () => {
    const b = new ModelBuilder('small-cnn');
    let x = b.input([12, 12, 2]);
    x = b.activation(b.batchNorm(b.conv2d(x, { filters: 8, kernelSize: 3, useBias: false })), {
      activation: 'relu',
    });
    x = b.maxPool2d(x, { poolSize: 2 });
    x = b.conv2d(x, { filters: 10, kernelSize: 3, activation: 'relu' });
    x = b.dense(b.flatten(x), { units: 16, activation: 'relu' });
    const spec = withLinearHead(b.build(b.dense(x, { units: 4, activation: 'softmax' })));
    const { shrunk, analysis, keptSets } = await checkShrink(spec, 0.5);
    assert.deepEqual(
      shrunk.layers
        .filter((l) => l.type === 'conv2d' || l.type === 'dense')
        .map((l) => ('filters' in l ? l.filters : l.units)),
      [4, 5, 8, 4],
    );
    assert.deepEqual(keptPerLayer(analysis, keptSets), [
      { layer: 'conv2d_1', total: 8, kept: 4 },
      { layer: 'conv2d_2', total: 10, kept: 5 },
      { layer: 'dense_1', total: 16, kept: 8 },
      { layer: 'dense_2', total: 4, kept: 4 },
    ]);
  });

  it('a squeeze-and-excitation block: the gate joins the features it scales', async () => {
    const b = new ModelBuilder('se-cnn');
    let x = b.input([8, 8, 3]);
    x = b.conv2d(x, { filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' });
    x = squeezeExcitation(b, x, { channels: 8, squeezeChannels: 4 });
    x = b.conv2d(x, { filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' });
    const spec = withLinearHead(b.build(b.dense(b.globalAvgPool2d(x), { units: 3, activation: 'softmax' })));
    const { analysis } = await checkShrink(spec, 0.5);
    assert.deepEqual(
      analysis.groups.map((g) => g.name),
      ['conv2d_1+dense_2', 'dense_1', 'conv2d_2'],
      'the conv and the gate that scales it are one group',
    );
  });

  it('a grouped convolution loses whole groups and keeps equal group sizes', async () => {
    const b = new ModelBuilder('grouped');
    let x = b.conv2d(b.input([8, 8, 3]), { filters: 8, kernelSize: 1, activation: 'relu' });
    x = b.conv2d(x, { filters: 12, kernelSize: 3, groups: 4, padding: 'same', activation: 'relu' });
    x = b.conv2d(x, { filters: 6, kernelSize: 1 });
    const spec = b.build(b.dense(b.globalAvgPool2d(x), { units: 3 }));
    const { shrunk } = await checkShrink(spec, 0.5);
    const grouped = shrunk.layers.find((l) => l.name === 'conv2d_2');
    assert.ok(grouped?.type === 'conv2d', 'grouped conv is there');
    assert.equal(grouped.groups, 2);
    assert.equal(grouped.filters, 6);
    assert.equal(
      shrunk.layers.find((l) => l.name === 'conv2d_1' && l.type === 'conv2d' && l.filters === 4) !==
        undefined,
      true,
    );
  });

  it('concatenated branches, a depthwise multiplier and a separable convolution', async () => {
    const b = new ModelBuilder('branches');
    const input = b.input([8, 8, 3]);
    const left = b.conv2d(input, { filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' });
    const right = b.batchNorm(b.conv2d(input, { filters: 4, kernelSize: 1 }));
    let x = b.concat([left, right]);
    x = b.depthwiseConv2d(x, { kernelSize: 3, depthMultiplier: 2, padding: 'same' });
    x = b.separableConv2d(x, { filters: 8, kernelSize: 3, activation: 'relu' });
    x = b.reshape(b.globalMaxPool2d(x), { shape: [1, 1, 8] });
    x = b.conv2d(x, { filters: 5, kernelSize: 1 });
    const spec = b.build(b.dense(b.flatten(x), { units: 3 }));
    const { shrunk } = await checkShrink(spec, 0.5);
    const reshape = shrunk.layers.find((l) => l.type === 'reshape');
    assert.deepEqual(reshape?.type === 'reshape' && reshape.shape, [1, 1, 4]);
  });

  it('residual adds share one channel set', async () => {
    const b = new ModelBuilder('residual');
    const stem = b.conv2d(b.input([8, 8, 3]), { filters: 8, kernelSize: 3, padding: 'same' });
    const h = b.batchNorm(
      b.conv2d(b.activation(stem, { activation: 'relu' }), { filters: 8, kernelSize: 3, padding: 'same' }),
    );
    const y = b.activation(b.add([stem, h]), { activation: 'relu' });
    const spec = b.build(b.dense(b.globalAvgPool2d(y), { units: 3 }));
    const { analysis } = await checkShrink(spec, 0.5);
    assert.deepEqual(
      analysis.groups.map((g) => g.name),
      ['conv2d_1+conv2d_2'],
    );
  });

  it('a transformer encoder: only the feed-forward inner units go; attention, layer norm and residuals pin the rest', async () => {
    const spec = withLinearHead(
      zooModel('transformer-encoder', {
        vocabSize: 20,
        sequenceLength: 8,
        modelDim: 16,
        numHeads: 2,
        feedForwardDim: 24,
        numClasses: 3,
      }),
    );
    const { analysis, shrunk } = await checkShrink(spec, 0.5);
    assert.deepEqual(
      analysis.groups.map((g) => g.name),
      ['block1_ff1', 'block2_ff1'],
    );
    assert.deepEqual(
      shrunk.layers.filter((l) => l.type === 'dense').map((l) => (l.type === 'dense' ? l.units : 0)),
      [12, 16, 12, 16, 3],
    );
  });

  it('embedding columns and LSTM input rows', async () => {
    const b = new ModelBuilder('sequence');
    const tokens = b.input([6], { dtype: 'int32' });
    const e = b.embedding(tokens, { inputDim: 12, outputDim: 8 });
    const h = b.dense(e, { units: 10, activation: 'tanh' });
    const spec = b.build(b.dense(b.lstm(h, { units: 5 }), { units: 2 }));
    const { shrunk } = await checkShrink(spec, 0.5);
    assert.deepEqual(
      shrunk.layers.map((l) =>
        l.type === 'embedding' ? l.outputDim : l.type === 'dense' || l.type === 'lstm' ? l.units : 0,
      ),
      [4, 5, 5, 2],
    );
  });

  it('MobileNetV2 from the zoo', async () => {
    const spec = withLinearHead(zooModel('mobilenet-v2', { alpha: 0.35, inputSize: 32, numClasses: 10 }));
    const { before, after } = await checkShrink(spec, 0.5);
    assert.ok(after.macs < 0.5 * before.macs, `MACs ${after.macs} vs ${before.macs}`);
  });

  it('ResNet-18 from the zoo', async () => {
    const spec = withLinearHead(zooModel('resnet-18', { inputSize: 32, numClasses: 10 }));
    const { before, after } = await checkShrink(spec, 0.5);
    assert.ok(after.macs < 0.3 * before.macs, `MACs ${after.macs} vs ${before.macs}`);
  });
});
