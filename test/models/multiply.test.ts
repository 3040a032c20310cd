/**
 * The elementwise `multiply` layer and squeeze-and-excitation: shapes broadcast as the spec says,
 * TensorFlow.js computes x * gate, the blocks save and load, and train on wasm as on cpu.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ModelSpecError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { specFromTfjsTopology } from '../../src/models/import/tfjs-layers.js';
import { ModelBuilder, squeezeExcitation } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { inferShapes } from '../../src/models/spec/validate.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { randoms } from '../helpers/random.js';
import { assertSameLosses, threeStepLosses } from '../helpers/tensors.js';

const temporary = mkdtempSync(join(tmpdir(), 'parsimony-multiply-'));

before(async () => {
  await initBackend({ backend: 'wasm' });
});

after(async () => {
  rmSync(temporary, { recursive: true, force: true });
  await tf.setBackend('wasm');
});

/** A conv, an SE block on it, and a classifier: the smallest model with a per-channel gate. */
function seModel(): ModelSpec {
  const b = new ModelBuilder('se');
  const x = b.conv2d(b.input([6, 5, 2]), { filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
  const gated = squeezeExcitation(b, x, { channels: 4, squeezeChannels: 2, activation: 'swish', name: 'se' });
  return b.build(b.dense(b.flatten(gated), { units: 3, activation: 'softmax' }));
}

describe('multiply: shapes', () => {
  const shapeOf = (...inputs: number[][]) => {
    const b = new ModelBuilder();
    const names = inputs.map((shape, i) => b.input(shape, { name: `x${i}` }));
    const spec = b.build(b.multiply(names, { name: 'm' }));
    return inferShapes(spec).byName.get('m');
  };

  it('a per-channel gate [c] or [1,1,c] broadcasts over an image [h,w,c], in either order', () => {
    assert.deepEqual(shapeOf([3, 4, 5], [5]), [3, 4, 5]);
    assert.deepEqual(shapeOf([1, 1, 5], [3, 4, 5]), [3, 4, 5]);
    assert.deepEqual(shapeOf([3, 1, 5], [1, 4, 1], [5]), [3, 4, 5]);
  });

  it('shapes that do not broadcast name the layer and the shapes', () => {
    assert.throws(
      () => shapeOf([3, 4, 5], [4]),
      (e: unknown) =>
        e instanceof ModelSpecError &&
        /layer "m": input shapes \[3,4,5\] and \[4\] do not broadcast/.test(e.message),
    );
    assert.throws(() => shapeOf([3, 4, 5], [2, 1, 5]), /do not broadcast/);
  });

  it('squeeze-and-excitation counts its two dense layers and no MACs for the product', () => {
    const a = analyzeModel(seModel());
    const se = a.layers.filter((l) => l.name.startsWith('se_'));
    assert.deepEqual(
      se.map((l) => [l.name, l.type, l.params, l.macs]),
      [
        ['se_squeeze', 'globalAvgPool2d', 0, 0],
        ['se_reduce', 'dense', 4 * 2 + 2, 4 * 2],
        ['se_gate', 'dense', 2 * 4 + 4, 2 * 4],
        ['se_scale', 'multiply', 0, 0],
      ],
    );
  });
});

describe('multiply in TensorFlow.js', () => {
  it('computes x times the gate, per sample and channel, for gates [n,c] and [n,1,1,c]', async () => {
    await tf.setBackend('cpu');
    const b = new ModelBuilder('gates');
    const x = b.input([3, 4, 5], { name: 'x' });
    const flat = b.input([5], { name: 'flat' });
    const image = b.input([1, 1, 5], { name: 'image' });
    const spec = b.build([b.multiply([x, flat]), b.multiply([image, x])]);
    const model = await buildTfjsModel(spec);
    const xv = randoms(2 * 3 * 4 * 5, 1);
    const gv = randoms(2 * 5, 2);
    // Reference by index: out[n,h,w,c] = x[n,h,w,c] * g[n,c].
    const expected = xv.map((v, i) => v * gv[Math.floor(i / 60) * 5 + (i % 5)]);
    const inputs = [tf.tensor(xv, [2, 3, 4, 5]), tf.tensor(gv, [2, 5]), tf.tensor(gv, [2, 1, 1, 5])];
    try {
      for (const out of model.predict(inputs) as tf.Tensor[]) {
        assert.deepEqual(out.shape, [2, 3, 4, 5]);
        const got = out.dataSync();
        for (let i = 0; i < expected.length; i++)
          assert.ok(Math.abs(got[i] - expected[i]) < 1e-6, `[${i}]: ${got[i]} vs ${expected[i]}`);
      }
    } finally {
      tf.dispose(inputs);
      model.dispose();
    }
  });

  it('an SE model saves, loads with the same predictions, and its topology imports to the same spec', async () => {
    await tf.setBackend('cpu');
    const spec = seModel();
    const model = await buildTfjsModel(spec, { seed: 3 });
    const dir = join(temporary, 'se');
    const x = tf.tensor(randoms(2 * 6 * 5 * 2, 4), [2, 6, 5, 2]);
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params);
      await saveModel(model, spec, dir);
      const loaded = await loadModel(dir);
      assert.deepEqual(
        (loaded.model.predict(x) as tf.Tensor).dataSync(),
        (model.predict(x) as tf.Tensor).dataSync(),
      );
      const imported = specFromTfjsTopology(JSON.parse(JSON.stringify(model.toJSON(null, false))));
      assert.deepEqual(
        imported.layers.map((l) => [l.name, l.type]),
        spec.layers.map((l) => [l.name, l.type]),
      );
      assert.equal(analyzeModel(imported).params, analyzeModel(spec).params);
      loaded.model.dispose();
    } finally {
      model.dispose();
      x.dispose();
    }
  });

  it('an SE model trains on wasm with the same losses as on cpu', async () => {
    const spec = seModel();
    const losses = async (backend: string) => {
      await tf.setBackend(backend);
      const model = await buildTfjsModel(spec, { seed: 5 });
      return threeStepLosses(model, tf.tensor(randoms(4 * 6 * 5 * 2, 6), [4, 6, 5, 2]));
    };
    const cpu = await losses('cpu');
    const wasm = await losses('wasm');
    assertSameLosses(wasm, cpu);
    assert.ok(cpu[2] < cpu[0], `the loss falls: ${cpu}`);
  });
});
