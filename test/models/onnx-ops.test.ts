/** The ONNX op tables agree with each other, and graph inputs with symbolic dimensions other than the batch are refused. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OnnxError } from '../../src/core/errors.js';
import { analyzeOnnxFile } from '../../src/models/formats/onnx/analyze.js';
import { writeOnnxFile } from '../../src/models/formats/onnx/model-file.js';
import { OP_RULES, opRule, ZERO_MAC_OPS } from '../../src/models/formats/onnx/op-costs.js';
import type { ModelProto } from '../../src/models/formats/onnx/proto.js';
import { SHAPE_RULES } from '../../src/models/formats/onnx/shape-inference.js';
import { tempDir } from '../helpers/temp-dir.js';

function reluModel(dims: ({ dimValue: number } | { dimParam: string })[]): ModelProto {
  const value = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims } } } });
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'parsimony-test',
    graph: {
      name: 'relu',
      node: [{ input: ['x'], output: ['y'], name: 'relu', opType: 'Relu', attribute: [] }],
      initializer: [],
      input: [value('x')],
      output: [value('y')],
      valueInfo: [],
    },
  };
}

describe('ONNX op tables', () => {
  it('every op with a shape rule has a cost rule, and every cost rule a shape rule', () => {
    for (const op of Object.keys(SHAPE_RULES)) assert.ok(opRule(op), `${op} has no cost rule`);
    for (const op of [...Object.keys(OP_RULES), ...ZERO_MAC_OPS])
      assert.ok(SHAPE_RULES[op], `${op} has no shape rule`);
    assert.equal(opRule('NonZero'), undefined);
  });

  it('a model written from scratch analyses; a symbolic dimension past the batch is refused by name', () => {
    const dir = tempDir('onnx-ops');
    const good = join(dir, 'relu.onnx');
    writeOnnxFile(reluModel([{ dimParam: 'n' }, { dimValue: 5 }]), good);
    const a = analyzeOnnxFile(good);
    assert.deepEqual(
      a.layers.map((l) => [l.type, l.outputShape]),
      [['Relu', [1, 5]]],
    );
    assert.deepEqual(a.zeroMacOps, { Relu: 1 });
    assert.deepEqual(a.assumptions, ["input 'x': symbolic batch dimension 'n' taken as 1"]);
    const bad = join(dir, 'sequence.onnx');
    writeOnnxFile(reluModel([{ dimValue: 1 }, { dimParam: 'seq' }]), bad);
    assert.throws(
      () => analyzeOnnxFile(bad),
      (e: unknown) => {
        assert.ok(e instanceof OnnxError, String(e));
        assert.match(e.message, /graph input 'x' dimension 1 \('seq'\) is symbolic/);
        return true;
      },
    );
  });
});
