import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { analyzeChannels } from '../../src/compress/channel-groups.js';
import {
  batchNormScores,
  fpgmScores,
  groupFractions,
  normScores,
  selectSets,
  TaylorAccumulator,
} from '../../src/compress/channel-importance.js';
import type { PlainLayerWeights } from '../../src/compress/channel-shrink.js';
import { initBackend } from '../../src/models/backends/index.js';
import { ModelBuilder } from '../../src/models/spec/builder.js';
import { randoms } from '../helpers/random.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

/** input [3] -> dense_1 (4 units) -> dense_2 (2 units, the output). */
function mlp() {
  const b = new ModelBuilder('mlp');
  return b.build(b.dense(b.dense(b.input([3]), { units: 4, activation: 'relu' }), { units: 2 }));
}

function tensor(name: string, shape: number[], values: number[]) {
  return { name, shape, values: Float32Array.from(values) };
}

/** Scores of the sets of one producing layer, in its output order. */
function layerScores(spec: ReturnType<typeof mlp>, scores: Float64Array, layer: string): number[] {
  const analysis = analyzeChannels(spec);
  return [...(analysis.channels.get(layer) as Int32Array)].map((s) => scores[s]);
}

describe('channel criteria', () => {
  // dense_1 kernel [3 inputs, 4 units]: columns (1,-2,2), (0,0,0.5), (-3,0,4), (1,1,1)
  const kernel1 = [1, 0, -3, 1, -2, 0, 0, 1, 2, 0.5, 4, 1];
  const weights: PlainLayerWeights[] = [
    { layer: 'dense_1', tensors: [tensor('kernel', [3, 4], kernel1), tensor('bias', [4], [9, 9, 9, 9])] },
    {
      layer: 'dense_2',
      tensors: [tensor('kernel', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), tensor('bias', [2], [0, 0])],
    },
  ];

  it('L1 and L2 norms of each unit’s weight column (bias left out)', () => {
    const spec = mlp();
    const analysis = analyzeChannels(spec);
    assert.deepEqual(layerScores(spec, normScores(analysis, weights, 'l1'), 'dense_1'), [5, 0.5, 7, 3]);
    const l2 = layerScores(spec, normScores(analysis, weights, 'l2'), 'dense_1');
    assert.deepEqual(
      l2.map((v) => Number(v.toFixed(6))),
      [3, 0.5, 5, Math.sqrt(3)].map((v) => Number(v.toFixed(6))),
    );
    // The output layer is pinned: no score.
    assert.ok(
      layerScores(spec, normScores(analysis, weights, 'l1'), 'dense_2').every(Number.isNaN),
      'pinned',
    );
  });

  it('FPGM: each filter’s summed distance to the others', () => {
    const spec = mlp();
    const columns = [
      [1, -2, 2],
      [0, 0, 0.5],
      [-3, 0, 4],
      [1, 1, 1],
    ];
    const distance = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));
    const expected = columns.map((c) => columns.reduce((s, o) => s + distance(c, o), 0));
    const got = layerScores(spec, fpgmScores(analyzeChannels(spec), weights), 'dense_1');
    got.forEach((v, i) => {
      assert.ok(Math.abs(v - expected[i]) < 1e-9, `filter ${i}: ${v} vs ${expected[i]}`);
    });
  });

  it('selection keeps the best-scoring round(keep x n) of each group, and a per-layer fraction overrides', () => {
    const spec = mlp();
    const analysis = analyzeChannels(spec);
    const scores = normScores(analysis, weights, 'l1');
    const kept = selectSets(analysis, scores, groupFractions(analysis, 0.5));
    const units = analysis.channels.get('dense_1') as Int32Array;
    assert.deepEqual(
      [...units].map((s) => kept[s]),
      [1, 0, 1, 0],
    );
    const one = selectSets(analysis, scores, groupFractions(analysis, 0.5, { dense_1: 0.1 }));
    assert.deepEqual(
      [...units].map((s) => one[s]),
      [0, 0, 1, 0],
    );
    assert.throws(
      () => groupFractions(analysis, 0.5, { dense_2: 0.5 }),
      /dense_2.*no removable channels.*output/,
    );
    assert.throws(() => groupFractions(analysis, 0.5, { nope: 0.5 }), /"nope" is not in the model/);
  });

  it('bn: |gamma| of the batch norm each channel passes; a group without batch norm is refused', () => {
    const b = new ModelBuilder('bn');
    const x = b.input([4, 4, 1]);
    const c = b.batchNorm(b.conv2d(x, { filters: 3, kernelSize: 1 }));
    const spec = b.build(b.dense(b.flatten(c), { units: 2 }));
    const analysis = analyzeChannels(spec);
    const bn: PlainLayerWeights[] = [
      {
        layer: 'batchNorm_1',
        tensors: [
          tensor('gamma', [3], [0.5, -2, 0.1]),
          tensor('beta', [3], [0, 0, 0]),
          tensor('moving_mean', [3], [0, 0, 0]),
          tensor('moving_variance', [3], [1, 1, 1]),
        ],
      },
    ];
    const scores = batchNormScores(analysis, bn);
    assert.deepEqual(
      [...(analysis.channels.get('conv2d_1') as Int32Array)].map((s) => Number(scores[s].toFixed(6))),
      [0.5, 2, 0.1],
    );
    assert.throws(
      () => batchNormScores(analyzeChannels(mlp()), weights),
      /criterion bn: the channels of dense_1 pass no batch norm/,
    );
  });

  it('taylor: weights x gradients of the consumer equal activation x gradient at its input', () => {
    const spec = mlp();
    const analysis = analyzeChannels(spec);
    const x = tf.tensor2d(randoms(5 * 3, 3), [5, 3]);
    const target = tf.tensor2d(randoms(5 * 2, 4), [5, 2]);
    const w1 = tf.tensor2d(Float32Array.from(kernel1), [3, 4]);
    const w2 = tf.tensor2d(randoms(8, 5), [4, 2]);
    const loss = (h: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.square(tf.sub(tf.matMul(h, w), target))) as tf.Scalar;
    const hidden = tf.relu(tf.matMul(x, w1));
    // Reference: gradient of the loss at the hidden activations, times the activations, per unit.
    const dHidden = tf.grad((h: tf.Tensor) => loss(h, w2))(hidden);
    const reference = tf.sum(tf.mul(hidden, dHidden), 0).dataSync();
    const dW2 = tf.grad((w: tf.Tensor) => loss(hidden, w))(w2);
    const accumulator = new TaylorAccumulator(analysis);
    assert.deepEqual(accumulator.tensorsNeeded(), [
      { layer: 'dense_1', tensor: 'kernel', axis: 0 },
      { layer: 'dense_2', tensor: 'kernel', axis: 0 },
    ]);
    const plain: PlainLayerWeights[] = [
      { layer: 'dense_1', tensors: [tensor('kernel', [3, 4], kernel1)] },
      {
        layer: 'dense_2',
        tensors: [{ name: 'kernel', shape: [4, 2], values: w2.dataSync() as Float32Array }],
      },
    ];
    const gradients = (layer: string, name: string) =>
      layer === 'dense_2' && name === 'kernel' ? (dW2.dataSync() as Float32Array) : undefined;
    accumulator.addBatch(plain, gradients);
    accumulator.addBatch(plain, gradients);
    const scores = layerScores(spec, accumulator.scores(), 'dense_1');
    scores.forEach((v, i) => {
      assert.ok(
        Math.abs(v - Math.abs(reference[i])) < 1e-4 * (1 + Math.abs(reference[i])),
        `unit ${i}: ${v} vs ${reference[i]}`,
      );
    });
    assert.ok(
      scores.some((v) => v > 1e-3),
      'some unit matters',
    );
    tf.dispose([x, target, w1, w2, hidden, dHidden, dW2]);
  });
});
