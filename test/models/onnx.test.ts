/**
 * ONNX reading, writing and `analyze`, against models PyTorch exports in this run (Debian's
 * python3-torch, python3-torchvision and python3-onnx; random weights): parameters exactly those
 * of the PyTorch model and of torchvision's published num_params, MACs exactly those counted by
 * hooks and within 2% of torchvision's published GFLOPS (which are multiply-accumulates); files
 * written back pass onnx.checker; bad files fail with one line naming the file, node or op.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { OnnxError } from '../../src/core/errors.js';
import { analyzeOnnxFile } from '../../src/models/formats/onnx/analyze.js';
import { readOnnxFile, writeOnnxFile } from '../../src/models/formats/onnx/model-file.js';
import { runCliCaptured } from '../helpers/cli.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';
import { tempDir } from '../helpers/temp-dir.js';

const MODULES = ['torch', 'torchvision', 'onnx'];
const python = findPython(MODULES);
const missing = python
  ? false
  : skipWithoutPython(MODULES, ['python3-torch', 'python3-torchvision', 'python3-onnx']);
const SCRIPT = join(import.meta.dirname, '..', 'fixtures', 'onnx_models.py');

/** torchvision's published GFLOPS per model (its docs' tables; the figures are multiply-accumulates). */
const PUBLISHED_GMACS: Record<string, number> = {
  resnet18: 1.81,
  resnet50: 4.09,
  mobilenet_v2: 0.3,
  squeezenet1_0: 0.82,
  squeezenet1_1: 0.35,
  efficientnet_b0: 0.39,
};

interface Reference {
  torchvision: Record<
    string,
    { params: number; publishedParams: number; buffers: number; macs: number; batchNormChannels: number }
  >;
  custom: {
    layers: { params: number; macs: Record<string, number> };
    encoder: { params: number; macs: number };
  };
}

function runPython(code: string, ...args: string[]): string {
  const r = spawnSync(python?.executable ?? 'python3', ['-W', 'ignore', '-c', code, ...args], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('ONNX models exported by PyTorch', { skip: missing }, () => {
  const dir = tempDir('onnx');
  let reference: Reference;
  before(() => {
    const run = spawnSync(python?.executable ?? 'python3', ['-W', 'ignore', SCRIPT], {
      input: JSON.stringify({ dir, torchvision: Object.keys(PUBLISHED_GMACS) }),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    reference = JSON.parse(run.stdout);
  });

  for (const [name, gmacs] of Object.entries(PUBLISHED_GMACS))
    it(`${name}: parameters exact, MACs as hooks count and within 2% of torchvision's ${gmacs} G`, () => {
      const a = analyzeOnnxFile(join(dir, `${name}.onnx`));
      const t = reference.torchvision[name];
      assert.equal(a.params, t.publishedParams, 'published num_params');
      assert.equal(a.params, t.params, 'parameters of the PyTorch model');
      assert.equal(a.stateValues, t.buffers, 'batch-norm running statistics are state');
      assert.equal(a.macs, t.macs, 'MACs counted by hooks on Conv2d and Linear');
      const off = Math.abs(a.macs / (gmacs * 1e9) - 1);
      assert.ok(off < 0.02, `${a.macs} MACs is ${(off * 100).toFixed(2)}% from ${gmacs} G`);
      assert.deepEqual(a.assumptions, ["input 'input': symbolic batch dimension 'batch' taken as 1"]);
      assert.deepEqual(a.inputs, [{ name: 'input', shape: [1, 3, 224, 224] }]);
      assert.equal(a.flops, 2 * a.macs);
      assert.equal(a.layers.at(-1)?.outputShape.join('x'), '1x1000');
    });

  it('a default (eval) export folds batch norms into the convolutions: each keeps one bias per channel', () => {
    const a = analyzeOnnxFile(join(dir, 'resnet18-fused.onnx'));
    const t = reference.torchvision.resnet18;
    // BatchNorm2d's scale and offset (2 per channel) become the convolution's bias (1 per channel)
    assert.equal(a.params, t.params - t.batchNormChannels);
    assert.equal(a.stateValues, 0);
    assert.equal(a.macs, t.macs);
  });

  it('grouped dilated conv, transposed conv, LSTM, GRU, RNN, attention MatMuls and a Linear on 3-D input', () => {
    const a = analyzeOnnxFile(join(dir, 'layers.onnx'));
    const { params, macs } = reference.custom.layers;
    assert.equal(a.params, params);
    const byType = (type: string) => a.layers.filter((l) => l.type === type).map((l) => l.macs);
    assert.deepEqual(byType('Conv'), [macs.Conv]);
    assert.deepEqual(byType('ConvTranspose'), [macs.ConvTranspose]);
    assert.deepEqual(byType('LSTM'), [macs.LSTM]);
    assert.deepEqual(byType('GRU'), [macs.GRU]);
    assert.deepEqual(byType('RNN'), [macs.RNN]);
    const matmuls = a.layers.filter((l) => l.type === 'MatMul');
    const weighted = matmuls.filter((l) => l.connections > 0);
    const products = matmuls.filter((l) => l.connections === 0 && l.params === 0);
    assert.equal(
      weighted.reduce((s, l) => s + l.macs, 0),
      macs.projections,
    );
    assert.equal(
      products.reduce((s, l) => s + l.macs, 0),
      macs.attention,
    );
    assert.equal(
      a.macs,
      Object.values(macs).reduce((s, m) => s + m, 0),
    );
    assert.ok(a.zeroMacOps.Softmax === 1 && a.zeroMacOps.Relu === 1, JSON.stringify(a.zeroMacOps));
  });

  it("a Transformer encoder layer: LayerNorm's weights are parameters, attention's products are MACs", () => {
    const a = analyzeOnnxFile(join(dir, 'encoder.onnx'));
    assert.equal(a.params, reference.custom.encoder.params);
    assert.equal(a.macs, reference.custom.encoder.macs);
    assert.deepEqual(a.assumptions, []);
  });

  it('auto_pad SAME_UPPER with stride 2: 7x7 gives 4x4, and connections leave out the padding', () => {
    const a = analyzeOnnxFile(join(dir, 'same-upper.onnx'));
    assert.deepEqual(a.layers[0].outputShape, [1, 3, 4, 4]);
    assert.equal(a.macs, 3 * 4 * 4 * 2 * 9);
    // padding 1 at each end; per axis, taps at 2o-1+k (o<4, k<3) inside [0,7): 2+3+3+2 = 10
    assert.equal(a.layers[0].connections, 10 * 10 * 2 * 3);
  });

  it('reads weights from an external data file next to the model', () => {
    const a = analyzeOnnxFile(join(dir, 'external.onnx'));
    const inline = analyzeOnnxFile(join(dir, 'squeezenet1_1.onnx'));
    assert.equal(a.params, reference.torchvision.squeezenet1_1.params);
    assert.equal(a.nonZeroParams, inline.nonZeroParams, 'the values were read, not just the shapes');
  });

  it('writes a model back: onnx.checker accepts it and it holds the same graph and values', () => {
    for (const name of ['layers', 'external']) {
      const source = join(dir, `${name}.onnx`);
      const written = join(dir, `${name}-written.onnx`);
      writeOnnxFile(readOnnxFile(source).proto, written);
      const check = runPython(
        [
          'import sys, onnx, numpy as np',
          'from onnx import numpy_helper',
          'a, b = onnx.load(sys.argv[1]), onnx.load(sys.argv[2])',
          'onnx.checker.check_model(b)',
          'assert [n for n in a.graph.node] == [n for n in b.graph.node]',
          'assert a.opset_import == b.opset_import and a.graph.input == b.graph.input',
          'ia = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}',
          'ib = {t.name: numpy_helper.to_array(t) for t in b.graph.initializer}',
          'assert ia.keys() == ib.keys() and all(np.array_equal(ia[k], ib[k]) for k in ia)',
          'assert all(not t.external_data for t in b.graph.initializer)',
          'print(len(ib))',
        ].join('\n'),
        source,
        written,
      );
      assert.ok(Number(check) > 0, check);
      const before = analyzeOnnxFile(source);
      const after = analyzeOnnxFile(written);
      assert.deepEqual({ ...after, file: '' }, { ...before, file: '' });
    }
  });

  it('`parsimony analyze model.onnx` prints the table and says what it assumed; --json gives the spec fields', async () => {
    const file = join(dir, 'mobilenet_v2.onnx');
    const text = await runCliCaptured(['analyze', file]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /parameters +3,504,872 /);
    assert.match(text.out, /assumed +input 'input': symbolic batch dimension 'batch' taken as 1/);
    assert.match(text.out, /zero-MAC ops +BatchNormalization x52, Clip x35/);
    const json = await runCliCaptured(['analyze', file, '--json']);
    const a = JSON.parse(json.out);
    for (const key of [
      'params',
      'trainableParams',
      'nonTrainableParams',
      'stateValues',
      'connections',
      'macs',
      'flops',
      'activationBytes',
      'peakActivationBytes',
      'weightBytes',
      'nonZeroParams',
      'storedBits',
      'layers',
    ])
      assert.ok(key in a, key);
    assert.equal(a.format, 'onnx');
    assert.equal(a.macs, reference.torchvision.mobilenet_v2.macs);
  });

  describe('bad input: one line naming the file, node or op, exit 1', () => {
    const fails = async (file: string, pattern: RegExp) => {
      const r = await runCliCaptured(['analyze', file]);
      assert.equal(r.code, 1, r.out);
      assert.equal(r.out, '');
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, pattern);
      assert.ok(r.err.includes(file), r.err);
      assert.throws(() => analyzeOnnxFile(file), OnnxError);
    };

    it('a file that is not ONNX', async () => {
      const file = join(dir, 'text.onnx');
      writeFileSync(file, 'this is not a model\n');
      await fails(file, /not a readable ONNX model|not an ONNX model/);
    });

    it('a truncated file', async () => {
      const file = join(dir, 'truncated.onnx');
      const whole = readOnnxFile(join(dir, 'resnet18-fused.onnx'));
      writeOnnxFile(whole.proto, file);
      const bytes = (await import('node:fs')).readFileSync(file);
      writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await fails(file, /truncated/);
    });

    it('an unsupported opset', async () => {
      await fails(join(dir, 'opset-6.onnx'), /opset 6 is not supported/);
    });

    it('an unsupported op', async () => {
      await fails(join(dir, 'custom-op.onnx'), /unsupported op com\.example\.FancyOp \(node '[^']+'\)/);
    });

    it('external data that is missing', async () => {
      const file = join(dir, 'external-moved.onnx');
      copyFileSync(join(dir, 'external.onnx'), file);
      renameSync(join(dir, 'external.bin'), join(dir, 'external-away.bin'));
      try {
        await fails(file, /external data file external\.bin of initializer '[^']+' not found/);
      } finally {
        renameSync(join(dir, 'external-away.bin'), join(dir, 'external.bin'));
      }
    });
  });
});
