/**
 * A model rebuilt from its topology (as a data-parallel replica does) runs the same fused training
 * kernels as one built from the spec once `fuseModelTrainingCalls` has been applied; without it,
 * tfjs-layers records the hidden layer's product, bias add and ReLU apart.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/models/backends/index.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { customLayers } from '../../src/models/tfjs/custom-layers.js';
import { fuseModelTrainingCalls } from '../../src/models/tfjs/fused-layers.js';
import { zooModel } from '../../src/models/zoo/index.js';
import { randoms } from '../helpers/random.js';

let tfl: typeof TfLayers;

before(async () => {
  assert.equal((await initBackend({ backend: 'wasm' })).name, 'wasm');
  tfl = await import('@tensorflow/tfjs-layers');
  customLayers(tf, tfl);
});

/** The kernels one recorded training step of the model runs (forward and backward). */
async function trainingKernels(model: TfLayers.LayersModel): Promise<string[]> {
  const x = tf.tensor(randoms(4 * 784, 5, 0, 1), [4, 28, 28, 1]);
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor));
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
  });
  x.dispose();
  return info.kernelNames;
}

describe('fuseModelTrainingCalls', () => {
  test('a LeNet-5 rebuilt from its topology trains on the fused kernels only when fused', async () => {
    const built = await buildTfjsModel(zooModel('lenet-5'));
    const topology = built.toJSON(undefined, false) as object;
    const plain = await tfl.models.modelFromJSON({ modelTopology: topology as never });
    const fused = await tfl.models.modelFromJSON({ modelTopology: topology as never });
    assert.equal(fuseModelTrainingCalls(tf, fused), 4, 'two Conv2D and two Dense layers fused');

    const withFusion = await trainingKernels(fused);
    assert.ok(withFusion.includes('FusedConv2D'), `fused replica: ${withFusion.join(',')}`);
    assert.ok(withFusion.includes('_FusedMatMul'), `fused replica: ${withFusion.join(',')}`);
    assert.deepEqual(await trainingKernels(built), withFusion, 'the replica runs what the built model runs');

    // Unfused, the hidden Dense layer records a product, a bias add and a ReLU of its own.
    const without = await trainingKernels(plain);
    assert.ok(without.includes('Relu'), `plain replica: ${without.join(',')}`);
    assert.ok(!withFusion.includes('Relu'), `fused replica: ${withFusion.join(',')}`);
    for (const m of [built, plain, fused]) m.dispose();
  });
});
