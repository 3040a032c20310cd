/**
 * Early exit on the digits: heads trained jointly; at threshold 1 every sample runs to the last
 * head and gets its answer; block-by-block prediction agrees with the threshold sweep; the model
 * saves and loads with the same outputs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { applyTemperature, negativeLogLikelihood } from '../../src/dynamic/calibration.js';
import { EarlyExitNetwork, withExitHeads } from '../../src/dynamic/early-exit.js';
import { confidences, exitStages } from '../../src/dynamic/exits.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';
import { type DigitsSplits, digitsSplits } from '../helpers/digits.js';
import { tempDir } from '../helpers/temp-dir.js';

let digits: DigitsSplits;
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
let network: EarlyExitNetwork;

before(async () => {
  await initBackend({ backend: 'cpu' });
  digits = await digitsSplits(0);
  const base = sequential([64], { name: 'mlp' })
    .add('dense', { name: 'block-1', units: 32, activation: 'relu' })
    .add('dense', { name: 'block-2', units: 32, activation: 'relu' })
    .add('dense', { name: 'block-3', units: 32, activation: 'relu' })
    .add('dense', { name: 'classes', units: 10, activation: 'softmax' })
    .build();
  network = await EarlyExitNetwork.create(withExitHeads(base, ['block-1', 'block-2']), { seed: 1 });
  await network.train(digits.train, {
    epochs: 10,
    seed: 1,
    optimizer: { type: 'adam', learningRate: 0.003 },
  });
});

describe('early exit', () => {
  it('costs grow head by head and the last head costs the whole model', () => {
    const [first, second, last] = network.costs;
    assert.equal(first.macs, 64 * 32 + 32 * 10);
    assert.equal(second.macs, first.macs + 32 * 32 + 32 * 10);
    assert.equal(last.macs, analyzeModel(network.spec.model).macs);
  });

  it('at threshold 1 never exits early and answers as the last head', async () => {
    const { predicted, exits, averageMacs } = await network.predict(digits.test.x, [64], 1);
    assert.ok(
      exits.every((e) => e === 2),
      'every sample ran to the last head',
    );
    assert.equal(averageMacs, network.costs[2].macs);
    const last = tf.tidy(() => {
      const outputs = network.model.predict(
        tf.tensor2d(digits.test.x, [digits.test.labels.length, 64]),
      ) as tf.Tensor[];
      return tf.argMax(outputs[2], -1).dataSync();
    });
    assert.deepEqual([...predicted], [...last]);
    const [point] = await network.curve(digits.test, [1]);
    const correct = predicted.filter((p, i) => p === digits.test.labels[i]).length;
    assert.equal(point.accuracy, correct / predicted.length);
    assert.ok(point.accuracy > 0.9, `last head accuracy ${point.accuracy}`);
  });

  it('block-by-block prediction matches the sweep and saves MACs at a lower threshold', async () => {
    const heads = await network.headOutputs(digits.test);
    const conf = heads.map((h) => confidences(h.probabilities, 10));
    const expected = exitStages(
      conf.map((c) => c.confidence),
      0.9,
    );
    const run = await network.predict(digits.test.x, [64], 0.9);
    assert.deepEqual([...run.exits], [...expected]);
    assert.deepEqual(
      [...run.predicted],
      [...expected].map((s, i) => conf[s].predicted[i]),
    );
    const [point] = await network.curve(digits.test, [0.9]);
    assert.ok(Math.abs(point.averageMacs - run.averageMacs) < 1e-6, 'same average MACs');
    assert.ok(point.averageMacs < network.costs[2].macs, 'fewer MACs than the whole model');
    assert.ok(point.exitShares[0] > 0, 'some samples leave at the first head');
    const [zero] = await network.curve(digits.test, [0]);
    assert.equal(zero.averageMacs, network.costs[0].macs, 'threshold 0: all leave at the first head');
  });

  it("gradientScale scales what the early heads send into the blocks: 0 trains the last head's path as the network alone", async () => {
    const { buildTfjsModel } = await import('../../src/models/tfjs/build.js');
    const { trainModel } = await import('../../src/train/trainer.js');
    const base = sequential([64], { name: 'mlp' })
      .add('dense', { name: 'block-1', units: 16, activation: 'relu' })
      .add('dense', { name: 'block-2', units: 16, activation: 'relu' })
      .add('dense', { name: 'classes', units: 10, activation: 'softmax' })
      .build();
    // One plain SGD step on one batch: the blocks' change is linear in the scale.
    const batch = {
      ...digits.train,
      x: digits.train.x.subarray(0, 64 * 64),
      labels: digits.train.labels.subarray(0, 64),
    };
    const options = {
      epochs: 1,
      batchSize: 64,
      seed: 4,
      optimizer: { type: 'sgd' as const, learningRate: 0.5 },
    };
    const kernelAfter = async (scale: number | null) => {
      let model: EarlyExitNetwork['model'];
      if (scale === null) {
        model = await buildTfjsModel(base, { seed: 4 });
        await trainModel(model, batch, options);
      } else {
        const net = await EarlyExitNetwork.create(withExitHeads(base, ['block-1']), { seed: 4 });
        await net.train(batch, options, { gradientScale: scale });
        model = net.model;
      }
      const kernel = model.getLayer('block-1').getWeights()[0].clone();
      model.dispose();
      return kernel;
    };
    const [alone, zero, half, one] = [
      await kernelAfter(null),
      await kernelAfter(0),
      await kernelAfter(0.5),
      await kernelAfter(1),
    ];
    assert.ok(
      maxDiff(zero, alone) < 1e-6,
      `scale 0: the blocks train as alone (off by ${maxDiff(zero, alone)})`,
    );
    assert.ok(maxDiff(one, alone) > 1e-3, 'scale 1: the head changes the blocks');
    const mid = tf.div(tf.add(zero, one), 2);
    assert.ok(maxDiff(half, mid) < 1e-6, `scale 0.5: halfway (off by ${maxDiff(half, mid)})`);
    tf.dispose([alone, zero, half, one, mid]);
  });

  it("a temperature fitted per head on validation data lowers that head's validation NLL", async () => {
    const raw = await network.headOutputs(digits.validation, 512, false);
    const report = await network.calibrate(digits.validation);
    assert.deepEqual(
      network.spec.temperatures,
      report.map((r) => r.temperature),
    );
    report.forEach((r, h) => {
      const before = negativeLogLikelihood(raw[h].probabilities, digits.validation.labels, 10);
      const after = negativeLogLikelihood(
        applyTemperature(raw[h].probabilities, 10, r.temperature),
        digits.validation.labels,
        10,
      );
      assert.ok(Math.abs(before - r.nllBefore) < 1e-9 && Math.abs(after - r.nllAfter) < 1e-9, 'reported NLL');
      assert.ok(after < before, `head ${h + 1}: T ${r.temperature}, NLL ${before} -> ${after}`);
    });
    // From now on the outputs read are the calibrated ones.
    const calibrated = await network.headOutputs(digits.validation);
    assert.deepEqual(
      calibrated[0].probabilities,
      applyTemperature(raw[0].probabilities, 10, report[0].temperature),
    );
  });

  it('predict thresholds the calibrated confidence, not the raw one', async () => {
    const fitted = network.spec.temperatures;
    // Strongly softened early heads: many samples that would leave on raw confidence stay in.
    network.spec.temperatures = [4, 4, 1];
    try {
      const raw = await network.headOutputs(digits.test, 512, false);
      const stagesAt = (temperatures: number[]) =>
        exitStages(
          raw.map(
            (h, i) => confidences(applyTemperature(h.probabilities, 10, temperatures[i]), 10).confidence,
          ),
          0.9,
        );
      const calibrated = stagesAt([4, 4, 1]);
      const uncalibrated = stagesAt([1, 1, 1]);
      assert.notDeepEqual([...calibrated], [...uncalibrated], 'the temperatures change where samples leave');
      const run = await network.predict(digits.test.x, [64], 0.9);
      assert.deepEqual([...run.exits], [...calibrated]);
      const [point] = await network.curve(digits.test, [0.9]);
      assert.ok(Math.abs(point.averageMacs - run.averageMacs) < 1e-6, 'the curve is calibrated too');
    } finally {
      network.spec.temperatures = fitted;
    }
  });

  it('saves and loads with the same outputs and temperatures', async () => {
    const dir = join(tempDir('early-exit'), 'model');
    assert.ok(
      network.spec.temperatures?.some((t) => t !== 1),
      'calibrated before saving',
    );
    await network.save(dir);
    const loaded = await EarlyExitNetwork.load(dir);
    assert.deepEqual(loaded.spec, network.spec);
    assert.deepEqual(loaded.temperatures, network.temperatures);
    const before = await network.headOutputs(digits.test);
    const after = await loaded.headOutputs(digits.test);
    for (let h = 0; h < 3; h++) assert.deepEqual(after[h].probabilities, before[h].probabilities);
    const a = await network.predict(digits.test.x, [64], 0.8);
    const b = await loaded.predict(digits.test.x, [64], 0.8);
    assert.deepEqual(b.predicted, a.predicted);
    assert.deepEqual(b.exits, a.exits);
    loaded.dispose();
  });
});
