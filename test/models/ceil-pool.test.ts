/**
 * Pooling with `ceilMode: true` (PyTorch's ceil_mode): output sizes, TensorFlow.js values against
 * a window-by-window reference, save/load, and training on wasm as on cpu.
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
import { sequential } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { randoms } from '../helpers/random.js';
import { assertAllClose, assertSameLosses, threeStepLosses } from '../helpers/tensors.js';

const temporary = mkdtempSync(join(tmpdir(), 'parsimony-ceil-pool-'));

before(async () => {
  await initBackend({ backend: 'wasm' });
});

after(async () => {
  rmSync(temporary, { recursive: true, force: true });
  await tf.setBackend('wasm');
});

const poolSpec = (
  type: 'maxPool2d' | 'avgPool2d',
  input: number[],
  pool: number,
  stride: number,
  ceilMode = true,
) =>
  sequential(input, { name: 'pool' })
    .add(type, { poolSize: pool, strides: stride, ceilMode, name: 'p' })
    .build();

/** PyTorch's ceil-mode pooling, window by window: a window cut by the input's end pools what remains. */
function reference(
  mode: 'max' | 'avg',
  x: Float32Array,
  [n, h, w, c]: number[],
  k: number,
  s: number,
): { shape: number[]; values: number[] } {
  const size = (d: number) => {
    const out = Math.ceil((d - k) / s) + 1;
    return (out - 1) * s >= d ? out - 1 : out;
  };
  const [oh, ow] = [size(h), size(w)];
  const values: number[] = [];
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          const seen: number[] = [];
          for (let y = i * s; y < Math.min(i * s + k, h); y++)
            for (let z = j * s; z < Math.min(j * s + k, w); z++) seen.push(x[((b * h + y) * w + z) * c + ch]);
          values.push(mode === 'max' ? Math.max(...seen) : seen.reduce((a, v) => a + v, 0) / seen.length);
        }
  return { shape: [n, oh, ow, c], values };
}

describe('ceilMode: output sizes', () => {
  it('rounds up where the floor drops the input end, and drops a window that would start past it', () => {
    const out = (input: number, pool: number, stride: number, ceilMode: boolean) =>
      analyzeModel(poolSpec('maxPool2d', [input, input, 1], pool, stride, ceilMode)).layers[0].outputShape[0];
    // SqueezeNet 1.0: 109 -> 54 (floor: 54 too), 54 -> 27 (floor: 26), 27 -> 13.
    assert.deepEqual([out(109, 3, 2, true), out(54, 3, 2, true), out(27, 3, 2, true)], [54, 27, 13]);
    assert.equal(out(54, 3, 2, false), 26);
    // 5 with pool 2, stride 2: ceil gives 3 windows starting at 0, 2, 4.
    assert.equal(out(5, 2, 2, true), 3);
    // 6 with pool 1, stride 4: ceil((6-1)/4)+1 = 3 would start a window at 8, past the end: 2.
    assert.equal(out(6, 1, 4, true), 2);
  });

  it("ceilMode with padding 'same' is refused, naming the layer", () => {
    assert.throws(
      () =>
        sequential([6, 6, 1])
          .add('avgPool2d', { poolSize: 3, strides: 2, padding: 'same', ceilMode: true, name: 'p' })
          .build(),
      (e: unknown) =>
        e instanceof ModelSpecError && /layer "p": ceilMode applies to padding 'valid' only/.test(e.message),
    );
  });
});

describe('ceilMode in TensorFlow.js', () => {
  // 7x6 input, pool 3, stride 2: 3x3 outputs whose last row and column pool cut windows (2 of 3 values).
  const shape = [2, 6, 7, 3];
  for (const mode of ['max', 'avg'] as const)
    it(`${mode} pooling equals the window-by-window reference on a non-square input`, async () => {
      await tf.setBackend('cpu');
      const spec = poolSpec(mode === 'max' ? 'maxPool2d' : 'avgPool2d', shape.slice(1), 3, 2);
      const model = await buildTfjsModel(spec);
      const values = randoms(
        shape.reduce((a, b) => a * b, 1),
        mode === 'max' ? 11 : 12,
      );
      const x = tf.tensor(values, shape);
      try {
        const expected = reference(mode, values, shape, 3, 2);
        assert.deepEqual(expected.shape, [2, 3, 3, 3]);
        const y = model.predict(x) as tf.Tensor;
        assert.deepEqual(y.shape, expected.shape);
        assert.deepEqual(y.shape.slice(1), analyzeModel(spec).layers[0].outputShape);
        assertAllClose(y.dataSync(), expected.values, 1e-6);
      } finally {
        x.dispose();
        model.dispose();
      }
    });

  it('saves and loads (same predictions), and the topology imports back with ceilMode', async () => {
    await tf.setBackend('cpu');
    const spec = sequential([6, 7, 2], { name: 'ceil' })
      .add('conv2d', { filters: 3, kernelSize: 1 })
      .add('maxPool2d', { poolSize: 3, strides: 2, ceilMode: true })
      .add('avgPool2d', { poolSize: 2, ceilMode: true })
      .add('flatten')
      .add('dense', { units: 2 })
      .build();
    const model = await buildTfjsModel(spec, { seed: 1 });
    const x = tf.tensor(randoms(2 * 6 * 7 * 2, 13), [2, 6, 7, 2]);
    try {
      await saveModel(model, spec, join(temporary, 'ceil'));
      const loaded = await loadModel(join(temporary, 'ceil'));
      assert.deepEqual(
        (loaded.model.predict(x) as tf.Tensor).dataSync(),
        (model.predict(x) as tf.Tensor).dataSync(),
      );
      loaded.model.dispose();
      const imported = specFromTfjsTopology(JSON.parse(JSON.stringify(model.toJSON(null, false))));
      const pools = imported.layers.filter((l) => l.type === 'maxPool2d' || l.type === 'avgPool2d');
      const common = { strides: [2, 2], padding: 'valid', ceilMode: true };
      assert.deepEqual(pools, [
        { name: 'maxPool2d_1', type: 'maxPool2d', inputs: ['conv2d_1'], poolSize: [3, 3], ...common },
        { name: 'avgPool2d_1', type: 'avgPool2d', inputs: ['maxPool2d_1'], poolSize: [2, 2], ...common },
      ]);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('a small SqueezeNet-style model trains on wasm with the same losses as on cpu', async () => {
    const spec: ModelSpec = sequential([9, 9, 2], { name: 'ceil-train' })
      .add('conv2d', { filters: 4, kernelSize: 3, activation: 'relu' })
      .add('maxPool2d', { poolSize: 3, strides: 2, ceilMode: true })
      .add('avgPool2d', { poolSize: 2, ceilMode: true })
      .add('flatten')
      .add('dense', { units: 3, activation: 'softmax' })
      .build();
    assert.deepEqual(analyzeModel(spec).layers[2].outputShape, [2, 2, 4]);
    const losses = async (backend: string) => {
      await tf.setBackend(backend);
      const model = await buildTfjsModel(spec, { seed: 7 });
      return threeStepLosses(model, tf.tensor(randoms(4 * 9 * 9 * 2, 14), [4, 9, 9, 2]));
    };
    const cpu = await losses('cpu');
    const wasm = await losses('wasm');
    assertSameLosses(wasm, cpu);
    assert.ok(cpu[2] < cpu[0], `the loss falls: ${cpu}`);
  });
});
