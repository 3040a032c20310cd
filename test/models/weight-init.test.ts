import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { ModelBuilder } from '../../src/models/spec/builder.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { parseModelSpec } from '../../src/models/spec/validate.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { loadModel, saveModel } from '../../src/models/tfjs/save.js';
import { zooModel } from '../../src/models/zoo/index.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

/** A layer's weights as flat arrays, in tfjs order (kernel, then bias). */
function layerValues(model: TfLayers.LayersModel, name: string): Float32Array[] {
  return model
    .getLayer(name)
    .getWeights()
    .map((w) => w.dataSync() as Float32Array);
}

function stats(values: Float32Array): { maxAbs: number; std: number; mean: number } {
  let sum = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { maxAbs, std: Math.sqrt(squares / values.length), mean };
}

/**
 * Values uniform in +-bound: none outside, the largest near the bound, the spread of a uniform
 * (bound / sqrt(3)) within `tolerance`. Drawn from another bound (fan-out, Glorot, zero) they fail.
 */
function assertUniform(values: Float32Array, bound: number, what: string, tolerance: number): void {
  const { maxAbs, std, mean } = stats(values);
  assert.ok(maxAbs <= bound * (1 + 1e-6), `${what}: |value| ${maxAbs} exceeds 1/sqrt(fan_in) = ${bound}`);
  assert.ok(maxAbs >= bound * 0.8, `${what}: largest |value| ${maxAbs} is far below the bound ${bound}`);
  const expected = bound / Math.sqrt(3);
  assert.ok(
    Math.abs(std - expected) <= expected * tolerance,
    `${what}: standard deviation ${std}, expected ${expected} (uniform in +-${bound})`,
  );
  // Four standard errors of the mean of n uniform values.
  assert.ok(
    Math.abs(mean) <= (4 * expected) / Math.sqrt(values.length),
    `${what}: mean ${mean} is not near 0`,
  );
}

const torchLenet = (): ModelSpec => ({ ...zooModel('lenet-5'), init: 'torch' });

describe("spec init 'torch': PyTorch's start for dense and convolution layers", () => {
  it('LeNet-5: kernels and biases uniform in +-1/sqrt(fan_in) (conv 25 and 500, dense 800 and 500 inputs)', async () => {
    const spec = torchLenet();
    const model = await buildTfjsModel(spec, { seed: 3 });
    try {
      // [layer, fan_in]: 5x5x1, 5x5x20, 4x4x50, 500 inputs.
      const fans: [string, number][] = [
        ['conv2d_1', 25],
        ['conv2d_2', 500],
        ['dense_1', 800],
        ['dense_2', 500],
      ];
      for (const [name, fanIn] of fans) {
        const [kernel, bias] = layerValues(model, name);
        const bound = 1 / Math.sqrt(fanIn);
        assertUniform(kernel, bound, `${name} kernel`, 0.05);
        // Few biases (10 to 500): the spread is checked loosely, the bound exactly.
        assertUniform(bias, bound, `${name} bias`, bias.length >= 100 ? 0.15 : 0.5);
      }
    } finally {
      model.dispose();
    }
  });

  it('grouped and depthwise convolutions take fan_in per group (kh x kw x channels / groups, kh x kw)', async () => {
    const b = new ModelBuilder('convs');
    const x = b.input([8, 8, 16]);
    const grouped = b.conv2d(x, { filters: 32, kernelSize: 3, groups: 4, name: 'grouped' });
    const depthwise = b.depthwiseConv2d(grouped, { kernelSize: 3, depthMultiplier: 2, name: 'depthwise' });
    const spec: ModelSpec = { ...b.build(depthwise), init: 'torch' };
    const model = await buildTfjsModel(spec, { seed: 5 });
    try {
      const [groupedKernel, groupedBias] = layerValues(model, 'grouped');
      assertUniform(groupedKernel, 1 / Math.sqrt(3 * 3 * 4), 'grouped kernel', 0.05);
      assertUniform(groupedBias, 1 / Math.sqrt(3 * 3 * 4), 'grouped bias', 0.5);
      const [depthwiseKernel, depthwiseBias] = layerValues(model, 'depthwise');
      assertUniform(depthwiseKernel, 1 / 3, 'depthwise kernel', 0.1);
      assertUniform(depthwiseBias, 1 / 3, 'depthwise bias', 0.5);
    } finally {
      model.dispose();
    }
  });

  it('is seeded: the same seed gives the same weights, another seed other weights', async () => {
    const first = await buildTfjsModel(torchLenet(), { seed: 7 });
    const again = await buildTfjsModel(torchLenet(), { seed: 7 });
    const other = await buildTfjsModel(torchLenet(), { seed: 8 });
    try {
      for (const name of ['conv2d_1', 'dense_2']) {
        const [k1, b1] = layerValues(first, name);
        const [k2, b2] = layerValues(again, name);
        const [k3, b3] = layerValues(other, name);
        assert.deepEqual(k1, k2, `${name}: kernel differs under one seed`);
        assert.deepEqual(b1, b2, `${name}: bias differs under one seed`);
        assert.notDeepEqual(k1, k3, `${name}: kernel equal under two seeds`);
        assert.notDeepEqual(b1, b3, `${name}: bias equal under two seeds`);
      }
    } finally {
      for (const m of [first, again, other]) m.dispose();
    }
  });

  it("without init (or 'glorot') the weights are as before: Glorot kernels, zero biases", async () => {
    const plain = await buildTfjsModel(zooModel('lenet-5'), { seed: 2 });
    const glorot = await buildTfjsModel({ ...zooModel('lenet-5'), init: 'glorot' }, { seed: 2 });
    try {
      const [kernel, bias] = layerValues(plain, 'conv2d_1');
      assert.deepEqual(kernel, layerValues(glorot, 'conv2d_1')[0], "'glorot' differs from the default");
      // Glorot uniform: bound sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (25 + 500)).
      assertUniform(kernel, Math.sqrt(6 / 525), 'glorot conv2d_1 kernel', 0.1);
      assert.ok(
        bias.every((v) => v === 0),
        'glorot biases start at zero',
      );
    } finally {
      plain.dispose();
      glorot.dispose();
    }
  });

  it('the spec keeps init through JSON, save and load; a bad value is a one-line ModelSpecError', async () => {
    const spec = torchLenet();
    assert.deepEqual(parseModelSpec(JSON.stringify(spec)), spec, 'init lost through JSON');
    const dir = join(mkdtempSync(join(tmpdir(), 'parsimony-init-')), 'model');
    const model = await buildTfjsModel(spec, { seed: 1 });
    try {
      await saveModel(model, spec, dir);
      const loaded = await loadModel(dir);
      try {
        assert.equal(loaded.spec?.init, 'torch', 'init lost through save and load');
      } finally {
        loaded.model.dispose();
      }
    } finally {
      model.dispose();
    }
    assert.throws(
      () => parseModelSpec(JSON.stringify({ ...spec, init: 'he' }), 'm.json'),
      (error: unknown) =>
        error instanceof ModelSpecError &&
        error.message === 'm.json: "init" must be glorot or torch, got "he"' &&
        !error.message.includes('\n'),
    );
  });
});
