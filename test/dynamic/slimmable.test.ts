/**
 * Slimmable networks on the digits: trained with the sandwich rule, every width classifies well
 * and costs what its plain spec costs; at full width (and at any width) the network equals the
 * plain model built from its sliced weights; it saves and loads with the same outputs.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { analyzeDynamicModel } from '../../src/dynamic/analyze.js';
import { readDynamicSpec } from '../../src/dynamic/format.js';
import { SlimmableNetwork, specAtWidth } from '../../src/dynamic/slimmable.js';
import type { SwitchableWeights } from '../../src/dynamic/slimmable-layers.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';
import { type DigitsSplits, digitsSplits } from '../helpers/digits.js';
import { tempDir } from '../helpers/temp-dir.js';

const WIDTHS = [0.25, 0.5, 0.75, 1];
let digits: DigitsSplits;
let network: SlimmableNetwork;
let x: tf.Tensor;

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

before(async () => {
  await initBackend({ backend: 'cpu' });
  digits = await digitsSplits(0);
  const spec = sequential([64], { name: 'slim-mlp' })
    .add('dense', { name: 'hidden-1', units: 64, useBias: false })
    .add('batchNorm', { name: 'bn-1' })
    .add('activation', { activation: 'relu' })
    .add('dense', { name: 'hidden-2', units: 32, activation: 'relu' })
    .add('dense', { name: 'classes', units: 10, activation: 'softmax' })
    .build();
  network = await SlimmableNetwork.create(spec, { widths: WIDTHS, seed: 1 });
  await network.train(digits.train, { epochs: 8, seed: 1, optimizer: { type: 'adam', learningRate: 0.003 } });
  x = tf.tensor2d(digits.test.x, [digits.test.labels.length, 64]);
});

describe('slimmable network', () => {
  it('classifies at every width, at a cost that grows with the width', async () => {
    const results = await network.evaluateWidths(digits.test);
    assert.deepEqual(
      results.map((r) => r.hidden),
      [
        [16, 8],
        [32, 16],
        [48, 24],
        [64, 32],
      ],
    );
    assert.equal(results[0].macs, 64 * 16 + 16 * 8 + 8 * 10);
    for (let i = 1; i < results.length; i++) assert.ok(results[i].macs > results[i - 1].macs, 'MACs grow');
    for (const r of results) assert.ok(r.accuracy > 0.85, `width ${r.width}: accuracy ${r.accuracy}`);
  });

  it('at full width (and at every width) equals the plain model built from its weights', async () => {
    for (const width of WIDTHS) {
      const plain = await network.atWidth(width);
      assert.deepEqual(plain.spec, specAtWidth(network.spec.model, WIDTHS, width));
      const slim = network.predict(x, width);
      const want = plain.model.predict(x) as tf.Tensor;
      assert.ok(maxDiff(slim, want) < 1e-5, `width ${width}: same outputs`);
      tf.dispose([slim, want]);
      plain.model.dispose();
    }
  });

  it("calibration sets each width's batch-norm statistics to the average of its batch statistics", async () => {
    // Two batches of 128: the mean over both is the mean of the 256 samples, the variance the
    // mean of the two batch variances (a moving average would weigh the batches unequally).
    const used = await network.calibrateNorms(digits.train, { samples: 256, batchSize: 128 });
    assert.equal(used, 256);
    const [kernel] = network.model.getLayer('hidden-1').getWeights();
    const norm = network.model.getLayer('bn-1') as unknown as SwitchableWeights;
    WIDTHS.forEach((width, index) => {
      const units = 64 * width;
      const [want, have] = tf.tidy(() => {
        const inputs = tf.tensor2d(digits.train.x.subarray(0, 256 * 64), [256, 64]);
        const h = tf.matMul(inputs, tf.slice(kernel, [0, 0], [64, units]));
        const halves = [tf.slice(h, [0, 0], [128, units]), tf.slice(h, [128, 0], [128, units])];
        const variance = tf.div(
          tf.add(tf.moments(halves[0], 0).variance, tf.moments(halves[1], 0).variance),
          2,
        );
        const [, , mean, moving] = norm.widthWeights(index);
        return [tf.concat([tf.mean(h, 0), variance]), tf.concat([mean, moving])];
      });
      assert.equal(have.shape[0], 2 * units, `width ${width}: its own statistics`);
      assert.ok(maxDiff(want, have) < 1e-4, `width ${width}: off by ${maxDiff(want, have)}`);
      tf.dispose([want, have]);
    });
  });

  it('at full width is about as accurate as the same network trained alone', async () => {
    const { buildTfjsModel } = await import('../../src/models/tfjs/build.js');
    const { evaluate, trainModel } = await import('../../src/train/trainer.js');
    const alone = await buildTfjsModel(network.spec.model, { seed: 1 });
    await trainModel(alone, digits.train, {
      epochs: 8,
      seed: 1,
      optimizer: { type: 'adam', learningRate: 0.003 },
    });
    const want = (await evaluate(alone, digits.test)).accuracy;
    alone.dispose();
    const [full] = (await network.evaluateWidths(digits.test)).slice(-1);
    assert.ok(full.accuracy >= want - 0.015, `slimmable ${full.accuracy}, alone ${want}`);
  });

  it('saves and loads with the same outputs at every width', async () => {
    const dir = join(tempDir('slimmable'), 'model');
    await network.save(dir);
    const loaded = await SlimmableNetwork.load(dir);
    assert.deepEqual(loaded.spec, network.spec);
    for (const width of WIDTHS) {
      const a = network.predict(x, width);
      const b = loaded.predict(x, width);
      assert.equal(maxDiff(a, b), 0, `width ${width}`);
      tf.dispose([a, b]);
    }
    loaded.dispose();
  });

  it("the analysed upper bound counts every stored value: each width's batch-norm set", async () => {
    const dir = join(tempDir('slimmable-stored'), 'model');
    await network.save(dir);
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { name: string; shape: number[] }[] }[];
    };
    const stored = manifest.weightsManifest[0].weights;
    const size = (w: { shape: number[] }) => w.shape.reduce((a, b) => a * b, 1);
    const statistics = stored.filter((w) => /moving_(mean|variance)/.test(w.name));
    const bound = analyzeDynamicModel(await readDynamicSpec(dir)).upperBound;
    // bn-1 holds 16 + 32 + 48 + 64 channels of scale, offset, mean and variance; one set would be 64.
    assert.equal(bound.stateValues, 2 * (16 + 32 + 48 + 64));
    assert.equal(
      bound.stateValues,
      statistics.reduce((a, w) => a + size(w), 0),
    );
    assert.equal(
      bound.params + bound.stateValues,
      stored.reduce((a, w) => a + size(w), 0),
    );
    assert.equal(bound.params, analyzeModel(network.spec.model).params + 2 * (16 + 32 + 48));
  });

  it('slims convolutions feeding a flatten and a dense layer', async () => {
    const spec = sequential([8, 8, 1], { name: 'slim-cnn' })
      .add('conv2d', { name: 'conv', filters: 8, kernelSize: 3, padding: 'same', useBias: false })
      .add('batchNorm', { name: 'bn' })
      .add('activation', { activation: 'relu' })
      .add('maxPool2d', { poolSize: 2 })
      .add('flatten')
      .add('dense', { name: 'classes', units: 10, activation: 'softmax' })
      .build();
    const cnn = await SlimmableNetwork.create(spec, { widths: [0.5, 1], seed: 2 });
    const images = { ...digits.train, shape: [8, 8, 1] };
    await cnn.train(images, { epochs: 1, seed: 2 });
    const batch = tf.tensor4d(digits.test.x.subarray(0, 64 * 100), [100, 8, 8, 1]);
    for (const width of [0.5, 1]) {
      const plain = await cnn.atWidth(width);
      const a = cnn.predict(batch, width);
      const b = plain.model.predict(batch) as tf.Tensor;
      assert.ok(maxDiff(a, b) < 1e-5, `width ${width}: same outputs`);
      tf.dispose([a, b]);
      plain.model.dispose();
    }
    batch.dispose();
    cnn.dispose();
  });

  it('refuses a layer it cannot slim, naming it', async () => {
    const b = sequential([4])
      .add('dense', { units: 4 })
      .add('layerNorm', { name: 'norm' })
      .add('dense', { units: 2 });
    await assert.rejects(SlimmableNetwork.create(b.build()), /layer "norm" \(layerNorm\): not supported/);
  });
});
