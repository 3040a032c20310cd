/**
 * The mixture-of-experts layer: analysed with total and active cost, trained on the digits (with
 * its load-balancing loss), the same outputs dispatched (inference) as computed densely (training
 * path), after save and load, and in onnxruntime after export.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { readModelWeights } from '../../src/compress/model-weights.js';
import { exportOnnx } from '../../src/deploy/onnx-export.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { modelProtoType } from '../../src/models/formats/onnx/proto.js';
import { ModelBuilder } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { parseModelSpec } from '../../src/models/spec/validate.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { takeAuxiliaryLosses } from '../../src/models/tfjs/custom-layers.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { evaluate, trainModel } from '../../src/train/trainer.js';
import { type DigitsSplits, digitsSplits } from '../helpers/digits.js';
import { tempDir } from '../helpers/temp-dir.js';

function moeSpec(topK: number, balanceWeight?: number): ModelSpec {
  const b = new ModelBuilder('moe');
  const x = b.input([64]);
  const h = b.mixtureOfExperts(x, {
    name: 'experts',
    experts: 4,
    units: 32,
    topK,
    activation: 'relu',
    ...(balanceWeight === undefined ? {} : { balanceWeight }),
  });
  return b.build(b.dense(h, { name: 'out', units: 10, activation: 'softmax' }));
}

const withGateNoise = (spec: ModelSpec, gateNoise: number): ModelSpec => ({
  ...spec,
  layers: spec.layers.map((l) => (l.type === 'mixtureOfExperts' ? { ...l, gateNoise } : l)),
});

/** Share of the samples whose top-1 gate picks each expert. */
function expertShares(model: TfLayers.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => {
    const layer = model.getLayer('experts');
    const [gateKernel, gateBias] = [layer.getWeights()[0], layer.getWeights()[1]];
    const chosen = tf
      .argMax(tf.add(tf.matMul(x as tf.Tensor2D, gateKernel as tf.Tensor2D), gateBias), -1)
      .dataSync();
    const shares = [0, 0, 0, 0];
    for (const e of chosen) shares[e] += 1 / chosen.length;
    return shares;
  });
}

let digits: DigitsSplits;
before(async () => {
  await initBackend({ backend: 'cpu' });
  digits = await digitsSplits(0);
});

describe('mixtureOfExperts layer', () => {
  it('is analysed with all experts as the upper bound and the gate plus top-k experts as active', () => {
    const a = analyzeModel(moeSpec(1));
    const layer = a.layers[0];
    // gate 64x4 + 4, experts 4 x (64x32 + 32)
    assert.equal(layer.params, 64 * 4 + 4 + 4 * (64 * 32 + 32));
    assert.equal(layer.macs, 64 * 4 + 4 * 64 * 32);
    assert.equal(layer.activeParams, 64 * 4 + 4 + (64 * 32 + 32));
    assert.equal(layer.activeMacs, 64 * 4 + 64 * 32);
    assert.ok(a.activeMacs < a.macs, 'active MACs below the total');
    assert.equal(a.activeMacs, layer.activeMacs + 32 * 10);
    const two = analyzeModel(moeSpec(2)).layers[0];
    assert.equal(two.activeMacs, 64 * 4 + 2 * 64 * 32);
    const plain = new ModelBuilder();
    const dense = analyzeModel(plain.build(plain.dense(plain.input([3]), { units: 2 })));
    assert.equal(dense.activeMacs, dense.macs, 'without experts the active cost is the cost');
  });

  it('refuses a topK larger than the experts, naming the layer', () => {
    const spec = moeSpec(1);
    (spec.layers[0] as { topK: number }).topK = 5;
    assert.throws(
      () => parseModelSpec(JSON.stringify(spec), 'moe.json'),
      /experts.*topK 5 is more than the 4 experts/,
    );
  });

  it('trains on the digits, dispatches as it trains, balances its experts and saves and loads', async () => {
    const spec = moeSpec(1);
    const model = await buildTfjsModel(spec, { seed: 1 });
    await trainModel(model, digits.train, {
      epochs: 8,
      seed: 1,
      optimizer: { type: 'adam', learningRate: 0.003 },
    });
    const accuracy = (await evaluate(model, digits.test)).accuracy;
    assert.ok(accuracy > 0.9, `test accuracy ${accuracy}`);
    const x = tf.tensor2d(digits.test.x.subarray(0, 64 * 200), [200, 64]);
    const dispatched = model.apply(x, { training: false }) as tf.Tensor;
    // The training path without gate noise computes every expert: the same outputs.
    const quiet = await buildTfjsModel(withGateNoise(spec, 0), { seed: 1 });
    quiet.setWeights(model.getWeights());
    const dense = quiet.apply(x, { training: true }) as tf.Tensor;
    const recorded = takeAuxiliaryLosses(quiet);
    quiet.dispose();
    assert.equal(recorded.length, 1, 'one balancing term per training pass');
    assert.ok(
      recorded[0].dataSync()[0] >= 0.01 - 1e-6,
      'the balance term is at least its weight (perfect balance)',
    );
    tf.dispose(recorded);
    assert.ok(tf.max(tf.abs(tf.sub(dispatched, dense))).dataSync()[0] < 1e-5, 'dispatch = dense computation');
    const shares = expertShares(model, x);
    assert.ok(Math.max(...shares) < 0.7, `no expert takes most samples: ${shares.map((s) => s.toFixed(2))}`);
    const dir = join(tempDir('moe'), 'model');
    await saveModel(model, spec, dir);
    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.spec, spec);
    const again = loaded.model.predict(x) as tf.Tensor;
    assert.ok(tf.max(tf.abs(tf.sub(again, dispatched))).dataSync()[0] < 1e-6, 'same outputs after load');
    assert.equal((await evaluate(loaded.model, digits.test)).accuracy, accuracy);
    tf.dispose([x, dispatched, dense, again]);
    loaded.model.dispose();
    model.dispose();
  });

  it('gate noise (default 1): fresh seeded noise on each training pass, none at inference', async () => {
    const spec = moeSpec(1);
    const x = tf.tensor2d(digits.test.x.subarray(0, 64 * 100), [100, 64]);
    const passes = async (s: ModelSpec) => {
      const model = await buildTfjsModel(s, { seed: 5 });
      const outputs = [0, 1].map(() => model.apply(x, { training: true }) as tf.Tensor);
      outputs.push(model.apply(x, { training: false }) as tf.Tensor);
      tf.dispose(takeAuxiliaryLosses(model));
      model.dispose();
      return outputs;
    };
    const [first, second, inference] = await passes(spec);
    const [again] = await passes(spec);
    const [quiet, , quietInference] = await passes(withGateNoise(spec, 0));
    const differ = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    assert.equal(differ(first, again), 0, 'same seed, same noise');
    assert.ok(differ(first, second) > 1e-3, 'each training pass draws new noise');
    assert.ok(differ(first, quiet) > 1e-3, 'the noise changes the training pass');
    assert.ok(differ(quiet, quietInference) < 1e-5, 'without noise, training computes what inference does');
    assert.equal(differ(inference, quietInference), 0, 'inference is noiseless');
    tf.dispose([x, first, second, inference, again, quiet, quietInference]);
  });

  it('with top 1, the task loss trains the gate (the chosen expert weighted by its probability)', async () => {
    // No balancing term: any gradient on the gate comes from the classification loss.
    const model = await buildTfjsModel(moeSpec(1, 0), { seed: 3 });
    const gate = model.getLayer('experts').trainableWeights[0];
    const norm = tf.tidy(() => {
      const x = tf.tensor2d(digits.train.x.subarray(0, 64 * 64), [64, 64]);
      const y = tf.oneHot(tf.tensor1d(digits.train.labels.subarray(0, 64), 'int32'), 10);
      const { grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            tf.log(model.apply(x, { training: true }) as tf.Tensor),
          ) as tf.Scalar,
        [gate.read() as tf.Variable],
      );
      return tf.norm(Object.values(grads)[0]).dataSync()[0];
    });
    takeAuxiliaryLosses(model);
    assert.ok(norm > 1e-4, `gradient norm on the gate kernel ${norm}`);
    model.dispose();
  });

  for (const topK of [1, 2])
    it(`exports to ONNX and gives the same outputs in onnxruntime (top ${topK})`, async () => {
      const spec = moeSpec(topK);
      const model = await buildTfjsModel(spec, { seed: 2 });
      await trainModel(model, digits.train, { epochs: 1, seed: 2 });
      const proto = exportOnnx(readModelWeights(model, spec));
      const type = modelProtoType();
      const bytes = type.encode(type.fromObject(proto as unknown as Record<string, unknown>)).finish();
      const session = await ort.InferenceSession.create(bytes);
      const values = digits.test.x.slice(0, 64 * 50);
      const result = await session.run({ input: new ort.Tensor('float32', values, [50, 64]) });
      const want = tf.tidy(() => (model.predict(tf.tensor2d(values, [50, 64])) as tf.Tensor).dataSync());
      const got = result.out.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
      assert.ok(worst < 1e-4, `max |diff| ${worst}`);
      await session.release();
      model.dispose();
    });
});
