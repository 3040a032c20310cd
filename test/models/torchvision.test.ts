/**
 * The zoo against torchvision itself, computed in the same run: parameters, batch-norm state and
 * MACs (hooks on every Conv2d and Linear at 224x224) of each model torchvision also defines, and
 * ceil-mode pooling values against PyTorch's. Needs a Python with torchvision (Debian:
 * python3-torchvision): PARSIMONY_PYTHON, else python3 or Debian's (test/helpers/python.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { zooModelFromReference } from '../../src/models/zoo/index.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';
import { randoms } from '../helpers/random.js';
import { assertAllClose } from '../helpers/tensors.js';

// PARSIMONY_PYTHON names an interpreter; else the first of python3 and Debian's that has torchvision.
const python = process.env.PARSIMONY_PYTHON
  ? { executable: process.env.PARSIMONY_PYTHON }
  : findPython(['torch', 'torchvision']);
const torchvisionMissing = python
  ? false
  : skipWithoutPython(['torch', 'torchvision'], ['python3-torchvision']);
const SCRIPT = join(import.meta.dirname, '..', 'fixtures', 'torchvision_reference.py');

/** Zoo reference, torchvision constructor and its keyword arguments. */
const MODELS: [string, string, Record<string, unknown>][] = [
  ['zoo:efficientnet-b0', 'efficientnet_b0', {}],
  ['zoo:squeezenet-1.0', 'squeezenet1_0', {}],
  ['zoo:squeezenet-1.1', 'squeezenet1_1', {}],
  ['zoo:mobilenet-v2?alpha=0.5', 'mobilenet_v2', { width_mult: 0.5 }],
  ['zoo:resnet-18', 'resnet18', {}],
  ['zoo:resnet-50', 'resnet50', {}],
];

// PyTorch is channels-first: [n, c, h, w]. Odd sizes leave cut windows at both ends.
const POOL = { shape: [1, 2, 7, 6], kernel: 3, stride: 2 };
const poolValues = randoms(2 * 7 * 6, 21);

interface Reference {
  models: Record<string, { params: number; buffers: number; macs: number }>;
  max: { shape: number[]; values: number[] };
  avg: { shape: number[]; values: number[] };
}

describe('the zoo against torchvision', { skip: torchvisionMissing }, () => {
  let reference: Reference;
  before(async () => {
    const run = spawnSync(python?.executable ?? 'python3', [SCRIPT], {
      input: JSON.stringify({
        models: MODELS.map(([, name, kwargs]) => [name, kwargs]),
        pool: { ...POOL, values: Array.from(poolValues) },
      }),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    reference = JSON.parse(run.stdout);
    await initBackend({ backend: 'cpu' });
  });

  for (const [zoo, name] of MODELS)
    it(`${zoo}: the parameters, batch-norm state and MACs of torchvision's ${name}`, () => {
      const a = analyzeModel(zooModelFromReference(zoo));
      const t = reference.models[name];
      assert.deepEqual([a.params, a.nonTrainableParams, a.macs], [t.params, t.buffers, t.macs]);
    });

  for (const mode of ['max', 'avg'] as const)
    it(`ceil-mode ${mode} pooling gives PyTorch's values`, async () => {
      const [n, c, h, w] = POOL.shape;
      const spec = sequential([h, w, c])
        .add(mode === 'max' ? 'maxPool2d' : 'avgPool2d', { poolSize: 3, strides: 2, ceilMode: true })
        .build();
      const model = await buildTfjsModel(spec);
      const x = tf.transpose(tf.tensor(poolValues, POOL.shape), [0, 2, 3, 1]);
      try {
        const y = tf.transpose(model.predict(x) as tf.Tensor, [0, 3, 1, 2]);
        const expected = reference[mode];
        assert.deepEqual(y.shape, expected.shape);
        assert.deepEqual([n, c], expected.shape.slice(0, 2));
        assertAllClose(y.dataSync(), expected.values, 1e-6);
      } finally {
        x.dispose();
        model.dispose();
      }
    });
});
