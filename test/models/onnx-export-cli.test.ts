/**
 * `parsimony export` and `parsimony evaluate` end to end: a small LeNet trained and compressed by
 * `parsimony compress` (pruned; int8 weights), exported to ONNX, gives in onnxruntime-node the
 * outputs of the model rebuilt from what compress stored (within 1e-4); evaluate reports the same
 * accuracy for the directory (tfjs) and the .onnx file; bad input is one line, non-zero, nothing written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { buildModelWithWeights } from '../../src/compress/model-weights.js';
import { readCompressedModel } from '../../src/compress/store.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import { runCliCaptured } from '../helpers/cli.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';
import { randoms } from '../helpers/random.js';

let dir: string;
const python = findPython(['onnx']);

/** LeNet-5's layout (conv, pool, conv, pool, two dense) at the size of the 8x8 digits. */
const lenetDigits = sequential([8, 8, 1], { name: 'lenet-digits' })
  .add('conv2d', { filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' })
  .add('maxPool2d', { poolSize: 2 })
  .add('conv2d', { filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' })
  .add('maxPool2d', { poolSize: 2 })
  .add('flatten')
  .add('dense', { units: 32, activation: 'relu' })
  .add('dense', { units: 10, activation: 'softmax' })
  .build();

before(async () => {
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'parsimony-onnx-export-'));
  await writeFile(path.join(dir, 'lenet.json'), JSON.stringify(lenetDigits));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function compressed(name: string, method: string[]): Promise<string> {
  const out = path.join(dir, name);
  const r = await runCliCaptured([
    ...['compress', path.join(dir, 'lenet.json'), '--dataset', 'digits', ...method],
    ...['--epochs', '4', '--seed', '1', '--out', out],
  ]);
  assert.equal(r.code, 0, r.err);
  return out;
}

/** Largest difference between the stored model (rebuilt in tfjs) and the .onnx file in onnxruntime. */
async function worstDifference(modelDir: string, onnxFile: string): Promise<number> {
  const { weights } = await readCompressedModel(modelDir);
  const model = await buildModelWithWeights(weights);
  const session = await ort.InferenceSession.create(onnxFile);
  try {
    const x = randoms(16 * 64, 7, -2, 2);
    const want = tf.tidy(() => (model.predict(tf.tensor(x, [16, 8, 8, 1])) as tf.Tensor).dataSync());
    const got = (await session.run({ input: new ort.Tensor('float32', x, [16, 8, 8, 1]) }))[
      weights.spec.outputs[0]
    ].data as Float32Array;
    assert.equal(got.length, want.length, 'output sizes');
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
    return worst;
  } finally {
    model.dispose();
    await session.release();
  }
}

describe('parsimony export and evaluate on a compressed LeNet', () => {
  it('a pruned LeNet exports and runs the same in onnxruntime; evaluate agrees with tfjs', async () => {
    const pruned = await compressed('pruned', [
      '--method',
      'global',
      '--sparsity',
      '0.7',
      '--finetune-epochs',
      '1',
    ]);
    const file = path.join(dir, 'pruned.onnx');
    const r = await runCliCaptured(['export', pruned, '--format', 'onnx', '--out', file, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).out, file);
    const worst = await worstDifference(pruned, file);
    assert.ok(worst < 1e-4, `pruned: largest difference ${worst}`);

    const e = await runCliCaptured([
      ...['evaluate', pruned, '--dataset', 'digits', '--compare', file, '--repeats', '3', '--json'],
    ]);
    assert.equal(e.code, 0, e.err);
    const [tfjsResult, onnxResult] = JSON.parse(e.out);
    assert.equal(onnxResult.accuracy, tfjsResult.accuracy, 'same predictions in both runtimes');
    assert.ok(onnxResult.accuracy > 0.1, `accuracy ${onnxResult.accuracy} above chance`);
    assert.equal(onnxResult.threads, 1);
    assert.equal(onnxResult.fileBytes, (await readFile(file)).length);
    for (const field of ['latencyPerSampleMs', 'latencyPerBatchMs'])
      assert.ok(onnxResult[field] > 0 && tfjsResult[field] > 0, `${field} measured`);
    const text = await runCliCaptured(['evaluate', file, '--dataset', 'digits', '--repeats', '2']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /accuracy \(test, \d+ samples\)/);
    assert.match(text.out, /latency \/ batch \(64\)/);
  });

  it('an int8-quantized LeNet exports from its compressed file and runs the same', async () => {
    const int8 = await compressed('int8', ['--method', 'quantize', '--bits', '8', '--per-channel']);
    assert.ok(existsSync(path.join(int8, 'compressed.json')), 'the int8 result is stored as compressed.json');
    const file = path.join(dir, 'int8.onnx');
    const r = await runCliCaptured(['export', int8, '--format', 'onnx', '--out', file]);
    assert.equal(r.code, 0, r.err);
    const worst = await worstDifference(int8, file);
    assert.ok(worst < 1e-4, `int8: largest difference ${worst}`);
  });

  it('the exported files pass onnx.checker (full check)', {
    skip: python ? false : skipWithoutPython(['onnx'], ['python3-onnx']),
  }, () => {
    const code =
      'import onnx, sys\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)';
    const files = ['pruned.onnx', 'int8.onnx'].map((f) => path.join(dir, f));
    const r = spawnSync(python?.executable ?? 'python3', ['-W', 'ignore', '-c', code, ...files], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('bad input is one line, non-zero, nothing written', async () => {
    const file = path.join(dir, 'pruned.onnx');
    const shape = await runCliCaptured(['evaluate', file, '--dataset', 'fashion-mnist', '--repeats', '1']);
    assert.notEqual(shape.code, 0);
    assert.match(
      shape.err.trim(),
      /^error: .*pruned\.onnx: dataset fashion-mnist has samples of shape \[28, 28, 1\].*expects \[8, 8, 1\]/,
    );
    assert.equal(shape.err.trim().split('\n').length, 1, shape.err);

    const attention = path.join(dir, 'keras-gru');
    const { saveModelWeights, readModelWeights } = await import('../../src/compress/model-weights.js');
    const { buildTfjsModel } = await import('../../src/models/tfjs/build.js');
    const spec = sequential([4, 3]).add('gru', { units: 2, resetAfter: false, name: 'old_gru' }).build();
    const model = await buildTfjsModel(spec);
    await saveModelWeights(readModelWeights(model, spec), attention);
    model.dispose();
    const out = path.join(dir, 'keras-gru.onnx');
    const r = await runCliCaptured(['export', attention, '--format', 'onnx', '--out', out]);
    assert.notEqual(r.code, 0);
    assert.match(r.err.trim(), /^error: layer "old_gru" \(gru\): cannot export to ONNX: only resetAfter/);
    assert.ok(!existsSync(out), 'nothing written');
    const format = await runCliCaptured(['export', attention, '--format', 'tflite']);
    assert.notEqual(format.code, 0);
    assert.match(format.err, /--format: only onnx is supported, got "tflite"/);
  });
});
