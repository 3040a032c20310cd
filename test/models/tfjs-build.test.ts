import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { FileNotFoundError, ModelSpecError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { ModelBuilder, sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { zooModel } from '../../src/models/zoo/index.js';

// The cpu backend: these tests check structure and values, not speed, and run on every machine.
before(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('buildTfjsModel', () => {
  // Small inputs and class counts keep memory low; parameter counts of convolutions do not depend on input size.
  const cases: [string, Record<string, number>][] = [
    ['lenet-300-100', {}],
    ['lenet-5', {}],
    ['mobilenet-v1', { alpha: 0.25, inputSize: 64, numClasses: 10 }],
    ['mobilenet-v2', { alpha: 0.35, inputSize: 64, numClasses: 10 }],
    ['resnet-18', { inputSize: 32, numClasses: 10 }],
    ['vgg-16', { inputSize: 32, numClasses: 10 }],
  ];
  for (const [name, options] of cases)
    it(`${name}: TensorFlow.js counts the same parameters and output shape as the analysis`, async () => {
      const spec = zooModel(name, options);
      const analysis = analyzeModel(spec);
      const model = await buildTfjsModel(spec, { seed: 1 });
      try {
        // tfjs counts batch-norm moving statistics as (non-trainable) weights.
        assert.equal(model.countParams(), analysis.params + analysis.nonTrainableParams);
        assert.deepEqual(model.outputs[0].shape.slice(1), analysis.layers.at(-1)?.outputShape);
      } finally {
        model.dispose();
      }
    });

  it('LSTM, embedding and GRU (reset-before) build with the analysed parameter counts', async () => {
    const b = new ModelBuilder('seq');
    const tokens = b.input([12], { dtype: 'int32' });
    const e = b.embedding(tokens, { inputDim: 50, outputDim: 8 });
    const h = b.lstm(e, { units: 6, returnSequences: true });
    const spec = b.build(b.dense(b.gru(h, { units: 5, resetAfter: false }), { units: 2 }));
    const model = await buildTfjsModel(spec);
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
    } finally {
      model.dispose();
    }
  });

  it('the same seed gives the same initial weights', async () => {
    const spec = zooModel('lenet-5');
    const [a, b] = [await buildTfjsModel(spec, { seed: 4 }), await buildTfjsModel(spec, { seed: 4 })];
    const c = await buildTfjsModel(spec, { seed: 5 });
    try {
      assert.deepEqual(a.getWeights()[0].dataSync(), b.getWeights()[0].dataSync());
      assert.notDeepEqual(a.getWeights()[0].dataSync(), c.getWeights()[0].dataSync());
    } finally {
      for (const m of [a, b, c]) m.dispose();
    }
  });

  it('refuses what tfjs-layers cannot express, naming the layer', async () => {
    const grouped = sequential([8, 8, 4])
      .add('conv2d', { filters: 4, kernelSize: 3, groups: 2, name: 'g' })
      .build();
    await assert.rejects(
      buildTfjsModel(grouped),
      (e: unknown) => e instanceof ModelSpecError && /layer "g".*grouped/.test(e.message),
    );
    const attention = sequential([4, 8])
      .add('multiHeadAttention', { numHeads: 2, keyDim: 4, name: 'mha' })
      .build();
    await assert.rejects(buildTfjsModel(attention), /layer "mha".*multi-head attention/);
  });
});

describe('saveModel / loadModel', () => {
  it('round-trips weights, predictions and the spec through the file system', async () => {
    const spec = zooModel('lenet-5');
    const model = await buildTfjsModel(spec, { seed: 2 });
    const dir = join(mkdtempSync(join(tmpdir(), 'parsimony-model-')), 'lenet');
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 7);
    try {
      await saveModel(model, spec, dir);
      const loaded = await loadModel(dir);
      assert.deepEqual(loaded.spec, spec);
      const before = (model.predict(x) as tf.Tensor).dataSync();
      const after = (loaded.model.predict(x) as tf.Tensor).dataSync();
      assert.deepEqual(after, before);
      loaded.model.dispose();
    } finally {
      model.dispose();
      x.dispose();
    }
  });

  it('a missing or corrupt directory is one clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parsimony-model-'));
    await assert.rejects(
      loadModel(join(dir, 'nothing')),
      (e: unknown) => e instanceof FileNotFoundError && /model\.json/.test(e.message),
    );
    writeFileSync(join(dir, 'model.json'), '{"nope": 1}');
    await assert.rejects(loadModel(dir), /not a TensorFlow\.js layers model/);
  });
});
