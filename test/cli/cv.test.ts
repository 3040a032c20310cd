import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCliCaptured, runCliProcess } from '../helpers/cli.js';

describe('parsimony cv', () => {
  it('chooses a depth of an mlp on digits by 2-fold CV and draws a learning curve, as JSON', async () => {
    const { code, out, err } = await runCliCaptured([
      'cv',
      'mlp',
      '--dataset',
      'digits',
      '--folds',
      '2',
      '--depths',
      '1,2',
      '--units',
      '8',
      '--epochs',
      '1',
      '--learning-curve',
      '--fractions',
      '0.5,1',
      '--json',
    ]);
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as {
      depth: {
        depth: number;
        bestDepth: number;
        threshold: number;
        results: { depth: number; mean: number }[];
      };
      learningCurve: { points: { fraction: number }[]; verdict: { verdict: string } };
    };
    assert.deepEqual(
      result.depth.results.map((r) => r.depth),
      [1, 2],
      'both depths cross-validated',
    );
    for (const r of result.depth.results)
      assert.ok(r.mean > 0.2 && r.mean <= 1, `depth ${r.depth}: ${r.mean}`);
    assert.ok([1, 2].includes(result.depth.depth), `chosen ${result.depth.depth}`);
    assert.equal(result.learningCurve.points.length, 2, 'two fractions');
    assert.ok(
      ['underfitting', 'overfitting', 'good-fit'].includes(result.learningCurve.verdict.verdict),
      result.learningCurve.verdict.verdict,
    );
  });

  it('rejects fewer than 2 folds and more folds than the smallest class, on one line, non-zero', async () => {
    const one = await runCliCaptured(['cv', 'mlp', '--dataset', 'digits', '--folds', '1']);
    assert.notEqual(one.code, 0, 'folds 1 fails');
    assert.equal(one.err.trim().split('\n').length, 1, `one line: ${one.err}`);
    assert.match(one.err, /folds/);
    const many = runCliProcess(['cv', 'mlp', '--dataset', 'digits', '--folds', '500']);
    assert.equal(many.code, 1, `exit code ${many.code}: ${many.err}`);
    assert.equal(many.err.trim().split('\n').length, 1, `one line: ${many.err}`);
    assert.match(many.err, /folds \(500\) exceed the \d+ samples of the smallest class/);
    assert.equal(many.out, '', 'nothing printed');
    const conv = await runCliCaptured(['cv', 'zoo:lenet-5', '--dataset', 'digits', '--depths', '1,2']);
    assert.notEqual(conv.code, 0, `a conv model has no dense depth: ${conv.err}`);
    assert.equal(conv.err.trim().split('\n').length, 1, `one line: ${conv.err}`);
    assert.match(conv.err, /depth variants need a model of dense layers/);
  });

  it('cross-validates an mlp on a CSV with categorical and missing cells, preparing each fold', async () => {
    const fixture = new URL('../fixtures/csv/mixed.csv', import.meta.url).pathname;
    const { code, out, err } = await runCliCaptured([
      'cv',
      'mlp',
      '--dataset',
      `csv:${fixture}`,
      '--folds',
      '3',
      '--epochs',
      '3',
      '--units',
      '4',
      '--json',
    ]);
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as {
      crossValidation: { folds: { trainSize: number; validationSize: number }[] };
    };
    assert.equal(result.crossValidation.folds.length, 3, 'three folds');
    for (const f of result.crossValidation.folds)
      assert.equal(f.trainSize + f.validationSize, 12, 'all 12 rows');
    const depths = await runCliCaptured([
      'cv',
      'mlp',
      '--dataset',
      `csv:${fixture}`,
      '--folds',
      '3',
      '--depths',
      '1,2',
    ]);
    assert.equal(depths.code, 2, `usage error: ${depths.err}`);
    assert.match(depths.err, /categorical or missing cells/);
  });
});
