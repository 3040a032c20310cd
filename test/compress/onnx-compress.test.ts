/**
 * Compressing ONNX models: PyTorch-exported models (test/fixtures/onnx_torch_models.py, Debian's
 * python3-torch) and a Parsimony MLP trained on digits and exported, compressed by
 * `parsimony compress model.onnx` with every method. The written files load in onnxruntime-node and
 * pass onnx.checker; pruning counts, cluster codebooks and low-rank factors are checked on the file
 * as written; int8 keeps a trained model's accuracy, measured on the written file; PyTorch models
 * imported as specs compute onnxruntime's outputs within 1e-4; bad input is one line, nothing written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { compressionData } from '../../src/compress/data.js';
import { singularValues } from '../../src/compress/lowrank/factorize.js';
import { buildModelWithWeights, readModelWeights } from '../../src/compress/model-weights.js';
import { importOnnxFile } from '../../src/compress/onnx/import-spec.js';
import { floatValues } from '../../src/compress/onnx/tensors.js';
import { evaluateModel } from '../../src/deploy/evaluate.js';
import { exportOnnx } from '../../src/deploy/onnx-export.js';
import { initBackend } from '../../src/models/backends/index.js';
import { readOnnxFile, writeOnnxFile } from '../../src/models/formats/onnx/model-file.js';
import { sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { trainModel } from '../../src/train/trainer.js';
import { assertRejected, runCliCaptured } from '../helpers/cli.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';
import { randoms } from '../helpers/random.js';
import { tempDir } from '../helpers/temp-dir.js';

const python = findPython(['torch', 'onnx']);
const skip = python ? false : skipWithoutPython(['torch', 'onnx'], ['python3-torch', 'python3-onnx']);
const dir = tempDir('onnx-compress');
const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'onnx_torch_models.py');
const model = (name: string) => path.join(dir, `${name}.onnx`);

before(async () => {
  await initBackend({ backend: 'cpu' });
  if (python) {
    const r = spawnSync(python.executable, ['-W', 'ignore', FIXTURE, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  // A Parsimony MLP trained on digits, exported: a model with real accuracy to lose.
  const spec = sequential([8, 8, 1], { name: 'mlp-digits' })
    .add('flatten')
    .add('dense', { units: 32, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();
  const data = await compressionData('digits', spec, 0);
  const net = await buildTfjsModel(spec, { seed: 0 });
  await trainModel(net, data.train, { epochs: 15, batchSize: 32, seed: 0 });
  writeOnnxFile(exportOnnx(readModelWeights(net, spec)), model('trained'));
  net.dispose();
});

async function compress(input: string, name: string, args: string[]) {
  const out = path.join(dir, `${name}.onnx`);
  const r = await runCliCaptured(['compress', input, '--dataset', 'digits', '--out', out, '--json', ...args]);
  assert.equal(r.code, 0, r.err);
  return { out, report: JSON.parse(r.out) };
}

/** Runs a file in onnxruntime on random images of the given layout. */
async function outputs(file: string, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const x = randoms(
      shape.reduce((a, b) => a * b, 1),
      3,
      -2,
      2,
    );
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
    return result[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'output sizes');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const opTypes = (file: string) => readOnnxFile(file).proto.graph?.node.map((n) => n.opType) ?? [];
const initializer = (file: string, name: string) => {
  const t = readOnnxFile(file).proto.graph?.initializer.find((x) => x.name === name);
  assert.ok(t, `initializer ${name} in ${file}`);
  return t;
};
const written: string[] = [];

describe('parsimony compress model.onnx', { skip }, () => {
  it('magnitude and global pruning zero exactly the smallest weights of each tensor (or of all)', async () => {
    const { out, report } = await compress(model('cnn'), 'cnn-magnitude', [
      '--method',
      'magnitude',
      '--sparsity',
      '0.5',
    ]);
    written.push(out);
    for (const name of ['conv1.weight', 'conv2.weight', 'skip.weight', 'fc1.weight', 'fc2.weight']) {
      const before = floatValues(initializer(model('cnn'), name));
      const after = floatValues(initializer(out, name));
      const zeros = after.filter((v) => v === 0).length;
      assert.equal(zeros, Math.round(before.length / 2), `${name}: half its weights pruned`);
      const kept = Math.min(
        ...Array.from(after)
          .filter((v) => v !== 0)
          .map(Math.abs),
      );
      const dropped = Math.max(
        ...Array.from(before)
          .filter((_, i) => after[i] === 0)
          .map(Math.abs),
      );
      assert.ok(dropped <= kept, `${name}: pruned |w| ${dropped} <= kept |w| ${kept}`);
    }
    assert.equal(report.result.params, report.base.params, 'same parameters');
    assert.ok(report.result.nonZeroParams < 0.55 * report.base.params, 'analysis counts the zeros');
    const global = await compress(model('mlp'), 'mlp-global', ['--method', 'global', '--sparsity', '0.8']);
    written.push(global.out);
    const last = floatValues(initializer(global.out, '5.weight'));
    assert.ok(last.filter((v) => v !== 0).length >= 0.2 * last.length, 'the last layer keeps 20%');
    assert.ok(
      Math.abs(global.report.result.nonZeroParams / global.report.base.params - 0.2) < 0.02,
      'global sparsity',
    );
  });

  it('int8 dynamic, QDQ-weight and static QDQ models run in onnxruntime close to the float model', async () => {
    const reference = await outputs(model('cnn'), [4, 1, 8, 8]);
    const dynamic = await compress(model('cnn'), 'cnn-dynamic', ['--method', 'quantize']);
    assert.ok(opTypes(dynamic.out).includes('MatMulInteger'), 'Gemm as MatMulInteger');
    assert.ok(opTypes(dynamic.out).includes('DynamicQuantizeLinear'));
    const weights = await compress(model('cnn'), 'cnn-weights', [
      '--method',
      'quantize',
      '--quantization',
      'weights',
      '--per-channel',
    ]);
    assert.equal(
      initializer(weights.out, 'conv2.weight_quantized').dataType,
      3,
      'conv weights stored as int8',
    );
    const staticQdq = await compress(model('cnn'), 'cnn-static', [
      ...['--method', 'quantize', '--activations', 'minmax', '--per-channel', '--calibration-samples', '64'],
    ]);
    const ops = opTypes(staticQdq.out);
    assert.ok(ops.filter((o) => o === 'QuantizeLinear').length >= 8, 'activations quantized');
    assert.equal(initializer(staticQdq.out, 'fc1.bias_quantized').dataType, 6, 'int32 bias');
    for (const { out } of [dynamic, weights, staticQdq]) {
      written.push(out);
      const worst = maxDifference(reference, await outputs(out, [4, 1, 8, 8]));
      // softmax outputs: int8 moves them by a few hundredths at most on this small net
      assert.ok(worst < 0.05, `${path.basename(out)}: outputs within 0.05 of float (${worst})`);
    }
  });

  it('int8 static QDQ and dynamic keep a trained model accuracy, measured on the written file', async () => {
    const float = await evaluateModel(model('trained'), { dataset: 'digits', repeats: 1 });
    assert.ok(float.accuracy > 0.85, `trained to ${float.accuracy}`);
    for (const [name, args, loss] of [
      ['trained-static', ['--activations', 'entropy', '--per-channel'], 0.02],
      ['trained-dynamic', [], 0.01],
    ] as const) {
      const { out, report } = await compress(model('trained'), name, ['--method', 'quantize', ...args]);
      written.push(out);
      const stored = await evaluateModel(out, { dataset: 'digits', repeats: 1 });
      assert.equal(report.result.accuracy, stored.accuracy, 'the report measures the written file');
      assert.ok(float.accuracy - stored.accuracy <= loss, `${name}: ${float.accuracy} -> ${stored.accuracy}`);
      assert.ok(
        report.result.fileBytes < 0.6 * report.base.fileBytes,
        `${name}: int8 file under 60% of the float one (${report.base.fileBytes} -> ${report.result.fileBytes} bytes)`,
      );
    }
  });

  it('clustering stores uint8 codes and at most 2^bits - 1 shared values per tensor', async () => {
    const { out, report } = await compress(model('cnn'), 'cnn-cluster', [
      '--method',
      'cluster',
      '--bits',
      '3',
    ]);
    written.push(out);
    const codes = initializer(out, 'fc1.weight_codes');
    assert.equal(codes.dataType, 2, 'uint8 codes');
    assert.ok(floatValues(initializer(out, 'fc1.weight_codebook')).length <= 8, 'codebook of 7 + zero');
    assert.ok(report.result.fileBytes < 0.7 * report.base.fileBytes, 'smaller file');
    const reference = await outputs(model('cnn'), [2, 1, 8, 8]);
    assert.ok(maxDifference(reference, await outputs(out, [2, 1, 8, 8])) < 0.2, 'close to the original');
  });

  it('a recipe prunes then quantizes; analyze still counts the pruned weights behind DequantizeLinear', async () => {
    const recipe = path.join(dir, 'recipe.yaml');
    writeFileSync(
      recipe,
      'steps:\n  - method: global\n    sparsity: 0.7\n  - method: quantize\n    activations: entropy\n    granularity: channel\n',
    );
    const { out, report } = await compress(model('cnn'), 'cnn-recipe', ['--recipe', recipe]);
    written.push(out);
    assert.deepEqual(
      report.steps.map((s: { method: string }) => s.method),
      ['global', 'quantize'],
    );
    const kept = report.result.nonZeroParams / report.result.params;
    // int8 may round a few more small weights to zero, never bring a pruned one back
    assert.ok(
      kept <= 0.33 && kept > 0.28,
      `non-zero share ${kept} after pruning 70% of the weights (biases kept)`,
    );
  });

  it('low-rank splits a Gemm into two products whose factors are the truncated SVD', async () => {
    const { out } = await compress(model('mlp'), 'mlp-lowrank', ['--method', 'lowrank', '--rank', '6']);
    written.push(out);
    assert.deepEqual(opTypes(out).filter((o) => o === 'MatMul').length, 2, 'one MatMul per factorised Gemm');
    // W (Gemm transB: [48, 64] stored, [64, 48] multiplied) against L [64, 6] x R [6, 48]
    const w = floatValues(initializer(model('mlp'), '1.weight'));
    const left = floatValues(initializer(out, '1.weight_left'));
    const right = floatValues(initializer(out, '1.weight_right'));
    let error = 0;
    for (let i = 0; i < 64; i++)
      for (let j = 0; j < 48; j++) {
        let p = 0;
        for (let k = 0; k < 6; k++) p += left[i * 6 + k] * right[k * 48 + j];
        error += (w[j * 64 + i] - p) ** 2;
      }
    const s = singularValues(w, 48, 64);
    const optimal = s.slice(6).reduce((a, v) => a + v * v, 0);
    assert.ok(
      Math.abs(error - optimal) < 1e-3 * Math.max(1, optimal),
      `Eckart-Young: ${error} vs ${optimal}`,
    );
  });

  it('the written files pass onnx.checker (full check)', () => {
    const code =
      'import onnx, sys\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)';
    const r = spawnSync(python?.executable ?? 'python3', ['-W', 'ignore', '-c', code, ...written], {
      encoding: 'utf8',
    });
    assert.ok(written.length >= 9, `${written.length} files checked`);
    assert.equal(r.status, 0, r.stderr);
  });

  it('imports PyTorch models as specs that compute onnxruntime outputs within 1e-4', async () => {
    for (const name of ['mlp', 'cnn', 'matmul']) {
      const weights = importOnnxFile(model(name));
      const net = await buildModelWithWeights(weights);
      const x = randoms(6 * 64, 3, -2, 2);
      const want = await outputs(model(name), [6, 1, 8, 8]);
      // one channel: NCHW and NHWC hold the same values in the same order
      const got = tf.tidy(
        () => (net.predict(tf.tensor(x, [6, 8, 8, 1])) as tf.Tensor).dataSync() as Float32Array,
      );
      net.dispose();
      assert.ok(maxDifference(want, got) < 1e-4, `${name}: ${maxDifference(want, got)}`);
    }
    const types = importOnnxFile(model('cnn')).spec.layers.map((l) => l.type);
    for (const t of [
      'conv2d',
      'batchNorm',
      'maxPool2d',
      'zeroPadding2d',
      'add',
      'concat',
      'flatten',
      'dense',
    ])
      assert.ok(types.includes(t as never), `cnn imports a ${t} layer`);
  });

  it('fine-tuning imports the model and runs the normal compression path', async () => {
    const out = path.join(dir, 'mlp-finetuned');
    const r = await runCliCaptured([
      ...['compress', model('mlp'), '--dataset', 'digits', '--method', 'magnitude', '--sparsity', '0.5'],
      ...['--finetune-epochs', '1', '--out', out, '--json'],
    ]);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.ok(report.result.nonZeroParams < 0.6 * report.base.params, 'pruned');
    assert.ok(existsSync(path.join(out, 'report.json')), 'a Parsimony model directory');
  });

  it('bad input: one line naming the file, node or op; non-zero; nothing written', async () => {
    const blocked = path.join(dir, 'blocked-out');
    assertRejected(
      await runCliCaptured([
        ...[
          'compress',
          model('blocked'),
          '--dataset',
          'digits',
          '--method',
          'magnitude',
          '--sparsity',
          '0.5',
        ],
        ...['--finetune-epochs', '1', '--out', blocked],
      ]),
      /blocked\.onnx: cannot import .*unsupported op LeakyRelu \(node '\/LeakyRelu'\)/,
      blocked,
    );
    const csv = path.join(dir, 'five.csv');
    writeFileSync(
      csv,
      'a,b,c,d,e,label\n1,2,3,4,5,0\n2,3,4,5,6,1\n3,4,5,6,7,0\n4,5,6,7,8,1\n5,6,7,8,9,0\n6,7,8,9,1,1\n',
    );
    const shape = path.join(dir, 'shape.onnx');
    assertRejected(
      await runCliCaptured([
        ...['compress', model('cnn'), '--dataset', `csv:${csv}`, '--method', 'quantize'],
        ...['--activations', 'minmax', '--out', shape],
      ]),
      /cnn\.onnx: dataset csv:.* has samples of shape \[5\] \(5 values\) but input "input" expects \[1, 8, 8\]/,
      shape,
    );
    const none = path.join(dir, 'none.onnx');
    assertRejected(
      await runCliCaptured([
        'compress',
        model('no-weights'),
        '--dataset',
        'digits',
        '--method',
        'quantize',
        '--out',
        none,
      ]),
      /no-weights\.onnx: step 1 \(quantize\): the model has no float32 weight initializer/,
      none,
    );
    const rank = path.join(dir, 'rank.onnx');
    assertRejected(
      await runCliCaptured([
        'compress',
        model('mlp'),
        '--dataset',
        'digits',
        '--method',
        'lowrank',
        '--rank',
        '100',
        '--layers',
        '/1/Gemm',
        '--out',
        rank,
      ]),
      /step 1 \(lowrank\): field "rank": rank 100 is larger than \/1\/Gemm allows/,
      rank,
    );
    const method = path.join(dir, 'method.onnx');
    assertRejected(
      await runCliCaptured([
        'compress',
        model('mlp'),
        '--dataset',
        'digits',
        '--method',
        'quantize',
        '--bits',
        '4',
        '--out',
        method,
      ]),
      /step 1 \(quantize\): field "bits" must be an integer in \[8, 8\], got 4/,
      method,
    );
  });
});
