import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';
import { assertRejected, runCliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('automl-cli');

/**
 * 150 rows: a categorical column (three levels), two numeric columns with missing cells, a noise
 * column, and a target spelled as words that follows x + (colour is red).
 */
function writeTable(file: string, options: { target?: boolean; unseen?: boolean; rows?: number } = {}): void {
  const rng = new Random(7);
  const colours = ['red', 'green', 'blue'];
  const lines = [['colour', 'x', 'y', 'noise', ...(options.target === false ? [] : ['kind'])].join(',')];
  for (let r = 0; r < (options.rows ?? 150); r++) {
    const colour = options.unseen && r === 0 ? 'purple' : colours[rng.int(0, 2)];
    const x = rng.normal();
    const y = rng.normal();
    const kind = x + (colour === 'red' ? 1 : 0) > 0.5 ? 'high' : 'low';
    const cells = [
      colour,
      r % 11 === 3 ? 'NA' : x.toFixed(3),
      r % 13 === 5 ? '' : y.toFixed(3),
      rng.normal().toFixed(3),
    ];
    if (options.target !== false) cells.push(kind);
    lines.push(cells.join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const table = path.join(dir, 'table.csv');
writeTable(table);

describe('parsimony automl and predict (CLI)', () => {
  it('searches a table with categorical and missing cells, saves the front and the best model, predicts, resumes', () => {
    const out = path.join(dir, 'run');
    const r = runCliProcess([
      'automl',
      table,
      '--target',
      'kind',
      '--budget',
      '20s',
      '--epochs',
      '15',
      '--threads',
      '1',
      '--seed',
      '1',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /Pareto front \(maximise 5-fold CV accuracy, minimise parameters\): \d+ models?; each refitted on train \+ validation/,
    );
    for (const file of ['model.json', 'weights.bin', 'parsimony-model.json', 'pipeline.json'])
      assert.ok(existsSync(path.join(out, 'best', file)), `best/${file}`);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.ok(report.front.length >= 1, 'a front');
    assert.equal(report.plan.maxMacsSource, 'none', 'no MAC cap on tables');
    const kept = readdirSync(path.join(out, 'trials')).sort();
    assert.deepEqual(kept, report.front.map((f: { model: string }) => path.basename(f.model)).sort());
    const pipeline = JSON.parse(readFileSync(path.join(out, 'best', 'pipeline.json'), 'utf8'));
    assert.deepEqual(pipeline.classNames, ['high', 'low']);
    assert.equal(pipeline.table.columns[0].kind, 'one-hot');
    assert.ok(report.best.testAccuracy > 0.6, `test accuracy ${report.best.testAccuracy}`);

    // New rows without the target column, with an unseen category: one prediction per row.
    const fresh = path.join(dir, 'fresh.csv');
    writeTable(fresh, { target: false, unseen: true, rows: 20 });
    const predictions = path.join(dir, 'predictions.csv');
    const p = runCliProcess(['predict', path.join(out, 'best'), fresh, '--out', predictions, '--proba']);
    assert.equal(p.code, 0, p.err);
    const rows = readFileSync(predictions, 'utf8').trim().split('\n');
    assert.deepEqual(rows[0].split(','), ['prediction', 'p_high', 'p_low']);
    assert.equal(rows.length, 21);
    for (const row of rows.slice(1)) {
      const [label, a, b] = row.split(',');
      assert.ok(label === 'high' || label === 'low', `label ${label}`);
      assert.ok(Math.abs(Number(a) + Number(b) - 1) < 1e-4, `probabilities ${a}, ${b}`);
      assert.equal(label, Number(a) >= Number(b) ? 'high' : 'low');
    }
    // The training file itself (with its target column) predicts as well as the model's accuracy says.
    const again = runCliProcess(['predict', path.join(out, 'best'), table]);
    assert.equal(again.code, 0, again.err);
    const truth = readFileSync(table, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').at(-1));
    const predicted = again.out.trim().split('\n').slice(1);
    assert.equal(predicted.length, truth.length);
    const correct = predicted.filter((label, i) => label === truth[i]).length;
    assert.ok(correct / truth.length > 0.6, `${correct} of ${truth.length} correct`);

    // The same --out continues the study.
    const second = runCliProcess([
      'automl',
      table,
      '--target',
      'kind',
      '--budget',
      '15s',
      '--threads',
      '1',
      '--seed',
      '1',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(second.code, 0, second.err);
    const resumed = JSON.parse(second.out);
    assert.equal(resumed.resumed, true);
    const total = (c: Record<string, number>) => c.COMPLETE + c.PRUNED + c.FAIL;
    assert.ok(total(resumed.counts) > total(report.counts), 'more trials in the study');
    // ... but not with another target or seed.
    const other = runCliProcess([
      'automl',
      table,
      '--target',
      'kind',
      '--budget',
      '6s',
      '--seed',
      '2',
      '--out',
      out,
    ]);
    assert.equal(other.code, 1);
    assert.match(other.err, /holds a run with seed "1", not "2"/);
  });

  it('searches convolutional networks on a CSV of images (--image-shape)', () => {
    const rng = new Random(3);
    const lines: string[] = [];
    for (let r = 0; r < 120; r++) {
      const label = r % 2;
      // Class 1 is bright in the top half, class 0 in the bottom half.
      const pixels = Array.from(
        { length: 16 },
        (_, k) => (k < 8 === (label === 1) ? 1 : 0) + 0.3 * rng.normal(),
      );
      lines.push([...pixels.map((v) => v.toFixed(2)), label === 1 ? 'top' : 'bottom'].join(','));
    }
    const images = path.join(dir, 'images.csv');
    writeFileSync(images, `${lines.join('\n')}\n`);
    const out = path.join(dir, 'images-run');
    const r = runCliProcess([
      'automl',
      images,
      '--target',
      '16',
      '--image-shape',
      '4x4x1',
      '--budget',
      '15s',
      '--threads',
      '1',
      '--max-params',
      '3000',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.equal(result.kind, 'image');
    assert.ok(
      result.front.every((f: { params: number }) => f.params <= 3000),
      'within the budget',
    );
    const spec = JSON.parse(readFileSync(path.join(out, 'best', 'parsimony-model.json'), 'utf8'));
    assert.deepEqual(spec.inputs[0].shape, [4, 4, 1]);
    assert.ok(
      spec.layers.some((l: { type: string }) => /conv/i.test(l.type)),
      'a convolutional network',
    );
    const p = runCliProcess(['predict', path.join(out, 'best'), images]);
    assert.equal(p.code, 0, p.err);
    assert.equal(p.out.trim().split('\n').length, 121);
  });

  it('search takes a csv: table with categorical and missing cells and saves its front models with their pipeline', () => {
    const studyFile = path.join(dir, 'search.db');
    const r = runCliProcess([
      'search',
      '--dataset',
      `csv:${table}`,
      '--trials',
      '4',
      '--threads',
      '1',
      '--epochs',
      '4',
      '--out',
      studyFile,
      '--json',
      '--quiet',
    ]);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.ok(result.modelsDir, 'a models directory');
    const saved = readdirSync(result.modelsDir).sort();
    assert.deepEqual(saved, result.front.map((f: { trial: number }) => `trial-${f.trial}`).sort());
    const model = path.join(result.modelsDir, saved[0]);
    const pipeline = JSON.parse(readFileSync(path.join(model, 'pipeline.json'), 'utf8'));
    assert.deepEqual(pipeline.featureNames, ['colour', 'x', 'y', 'noise']);
    const fresh = path.join(dir, 'fresh-search.csv');
    writeTable(fresh, { target: false, unseen: true, rows: 5 });
    const p = runCliProcess(['predict', model, fresh]);
    assert.equal(p.code, 0, p.err);
    assert.equal(p.out.trim().split('\n').length, 6);
  });

  describe('bad input: one line, non-zero exit, nothing written', () => {
    const constant = path.join(dir, 'constant.csv');
    writeFileSync(constant, 'a,b,kind\n1,2,x\n3,4,x\n5,6,x\n');
    const cases: [string, string[], RegExp][] = [
      ['a missing target column', [table, '--target', 'species'], /no column named "species"/],
      ['no --target for a CSV', [table], /give the target column with --target/],
      [
        'more folds than the smallest class has rows',
        [table, '--target', 'kind', '--folds', '500'],
        /folds \(500\) exceed the \d+ samples of the smallest class/,
      ],
      [
        'a constant target',
        [constant, '--target', 'kind'],
        /target column "kind" holds one value \("x"\) in every row/,
      ],
      [
        'a budget that cannot train one model',
        [table, '--target', 'kind', '--budget', '0.001s'],
        /budget 0\.001 s cannot train one model/,
      ],
      [
        'a space whose every configuration breaks the budget',
        [table, '--target', 'kind', '--max-params', '3'],
        /--max-params 3 excludes every configuration: the smallest network of the table space on table has 4 parameters/,
      ],
      [
        'an image shape that does not match the feature count',
        [table, '--target', 'kind', '--image-shape', '3x3x1'],
        /--image-shape 3x3x1 holds 9 values, but the file has 4 feature columns/,
      ],
    ];
    for (const [name, args, pattern] of cases)
      it(name, () => {
        const out = path.join(dir, `bad-${name.replace(/\W+/g, '-')}`);
        const r = runCliProcess(['automl', ...args, '--out', out]);
        assertRejected({ code: r.code ?? -1, err: r.err }, pattern, out);
      });

    it('predict: a file without the model columns', () => {
      const wrong = path.join(dir, 'wrong.csv');
      writeFileSync(wrong, 'colour,x,z\nred,1,2\n');
      const model = path.join(dir, 'no-model');
      const r = runCliProcess(['predict', model, wrong]);
      assert.equal(r.code, 1);
      assert.match(r.err, /pipeline/);
    });
  });
});
