/**
 * Ensemble selection over out-of-fold predictions (greedy, with replacement), and an ensemble
 * directory: saved, loaded back by `predict` (API and CLI) as the weighted mean of its members'
 * probabilities, and a broken `ensemble.json` refused in one line. The run's result is the
 * ensemble exactly when it wins out of fold (test accuracy never decides), and `predict` on an
 * AutoML output directory applies that chosen model.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { chooseAutomlModel } from '../../src/automl/automl.js';
import { saveEnsemble, selectEnsemble } from '../../src/automl/ensemble.js';
import { predictCsv } from '../../src/automl/predict.js';
import type { FeaturePipeline } from '../../src/data/feature-pipeline.js';
import { initBackend } from '../../src/models/backends/index.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { saveTrialModel } from '../../src/search/model-output.js';
import { tabularSpec } from '../../src/search/tabular-space.js';
import { runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('automl-ensemble');

/** Out-of-fold probabilities of 6 rows, 2 classes: right with p 0.8 except on the `wrong` rows (p 0.3). */
function candidate(trial: number, labels: Int32Array, wrong: number[]) {
  const outOfFold = new Float64Array(labels.length * 2);
  labels.forEach((label, r) => {
    const p = wrong.includes(r) ? 0.3 : 0.8;
    outOfFold[r * 2 + label] = p;
    outOfFold[r * 2 + 1 - label] = 1 - p;
  });
  return { trial, outOfFold };
}

describe('ensemble selection', () => {
  it('combines trials that err on different rows into a better ensemble than any of them', () => {
    const labels = Int32Array.from([0, 1, 0, 1, 0, 1]);
    const candidates = [
      candidate(7, labels, [4, 5]),
      candidate(8, labels, [2, 3]),
      candidate(9, labels, [0, 1]),
      candidate(10, labels, [0, 2, 4]),
    ];
    for (const c of candidates)
      assert.ok(selectEnsemble([c], labels, 2, 1).accuracy <= 4 / 6, `trial ${c.trial} alone`);
    const ensemble = selectEnsemble(candidates, labels, 2);
    assert.equal(ensemble.accuracy, 1, 'every row right');
    assert.ok(ensemble.members.length >= 2, 'more than one member');
    const total = ensemble.members.reduce((a, m) => a + m.weight, 0);
    assert.ok(Math.abs(total - 1) < 1e-12, `weights sum to 1, got ${total}`);
    assert.ok(!ensemble.members.some((m) => m.trial === 10), 'the weakest trial is not chosen');
    assert.throws(
      () => selectEnsemble([{ trial: 1, outOfFold: [0.5] }], labels, 2),
      /trial 1 has 1 probabilities, expected 12/,
    );
  });
});

describe('the chosen model of an AutoML run', () => {
  it('is the ensemble exactly when it beats the best single trial out of fold, whatever the test says', () => {
    // Ensemble ahead out of fold but behind on test: the ensemble.
    assert.equal(
      chooseAutomlModel(
        { outOfFoldAccuracy: 0.9, testAccuracy: 1 },
        { outOfFoldAccuracy: 0.95, testAccuracy: 0.8, members: 3 },
      ),
      'ensemble',
    );
    // Ensemble behind or level out of fold but ahead on test: the best single trial.
    for (const oof of [0.85, 0.9])
      assert.equal(
        chooseAutomlModel(
          { outOfFoldAccuracy: 0.9, testAccuracy: 0.8 },
          { outOfFoldAccuracy: oof, testAccuracy: 1, members: 3 },
        ),
        'best',
        `ensemble at ${oof} out of fold`,
      );
    // One member is the best trial itself; no ensemble at all.
    assert.equal(
      chooseAutomlModel({ outOfFoldAccuracy: 0.9 }, { outOfFoldAccuracy: 0.95, members: 1 }),
      'best',
    );
    assert.equal(chooseAutomlModel({ outOfFoldAccuracy: 0.9 }, null), 'best');
  });
});

describe('ensemble directory', () => {
  it('predicts the weighted mean of its members, through the API and parsimony predict', async () => {
    await initBackend();
    const pipeline: FeaturePipeline = {
      format: 'parsimony-pipeline',
      version: 1,
      classNames: ['low', 'high'],
      target: 'kind',
      featureNames: ['x1', 'x2'],
      steps: [],
      inputShape: [2],
    };
    const members: string[] = [];
    for (const seed of [1, 2]) {
      const spec = tabularSpec(
        [{ units: 4, activation: 'tanh', dropout: 0, norm: 'none', skip: false }],
        [2],
        2,
      );
      const model = await buildTfjsModel(spec, { seed });
      const memberDir = path.join(dir, `member-${seed}`);
      await saveTrialModel(memberDir, model, spec, pipeline);
      model.dispose();
      members.push(memberDir);
    }
    const ensembleDir = path.join(dir, 'ensemble');
    await saveEnsemble(
      ensembleDir,
      [
        { modelDir: members[0], name: 'trial-1', weight: 0.75 },
        { modelDir: members[1], name: 'trial-2', weight: 0.25 },
      ],
      pipeline.classNames,
    );
    const csv = path.join(dir, 'rows.csv');
    writeFileSync(csv, 'x2,x1\n0.5,-1\n2,3\n-4,0.25\n');
    const [a, b] = [await predictCsv(members[0], csv), await predictCsv(members[1], csv)];
    const both = await predictCsv(ensembleDir, csv);
    assert.deepEqual(both.classNames, ['low', 'high']);
    assert.equal(both.labels.length, 3);
    both.probabilities.forEach((p, k) => {
      const expected = 0.75 * a.probabilities[k] + 0.25 * b.probabilities[k];
      assert.ok(Math.abs(p - expected) < 1e-6, `probability ${k}: ${p} vs ${expected}`);
    });
    assert.ok(
      a.probabilities.some((p, k) => Math.abs(p - b.probabilities[k]) > 1e-3),
      'the members differ (the check means something)',
    );
    both.labels.forEach((label, r) => {
      assert.equal(label, both.probabilities[r * 2 + 1] > both.probabilities[r * 2] ? 'high' : 'low');
    });

    const cli = await runCliCaptured(['predict', ensembleDir, csv, '--proba']);
    assert.equal(cli.code, 0, cli.err);
    const lines = cli.out.trim().split('\n');
    assert.deepEqual(lines[0].split(','), ['prediction', 'p_low', 'p_high']);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[0]),
      both.labels,
    );

    // An AutoML output directory: predict applies the model report.json's `chosen` names.
    const run = path.join(dir, 'run');
    mkdirSync(run, { recursive: true });
    cpSync(members[0], path.join(run, 'best'), { recursive: true });
    cpSync(ensembleDir, path.join(run, 'ensemble'), { recursive: true });
    const report = (model: string) =>
      writeFileSync(path.join(run, 'report.json'), JSON.stringify({ chosen: { model } }));
    for (const [model, expected] of [
      ['ensemble', both],
      ['best', a],
    ] as const) {
      report(model);
      const p = await predictCsv(run, csv);
      assert.deepEqual(Array.from(p.probabilities), Array.from(expected.probabilities), `chosen ${model}`);
      const viaCli = await runCliCaptured(['predict', run, csv]);
      assert.equal(viaCli.code, 0, viaCli.err);
      assert.deepEqual(
        viaCli.out.trim().split('\n').slice(1),
        expected.labels,
        `parsimony predict, chosen ${model}`,
      );
    }
    report('elsewhere');
    const unchosen = await runCliCaptured(['predict', run, csv]);
    assert.equal(unchosen.code, 1);
    assert.match(unchosen.err, /report\.json: no chosen model/);
    assert.equal(unchosen.err.trim().split('\n').length, 1, unchosen.err);

    // A broken ensemble file: one line naming it, non-zero exit.
    const file = path.join(ensembleDir, 'ensemble.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...saved, members: [{ dir: '../elsewhere', weight: 1 }] }));
    const broken = await runCliCaptured(['predict', ensembleDir, csv]);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /ensemble\.json: not a parsimony ensemble/);
    assert.equal(broken.err.trim().split('\n').length, 1, broken.err);
  });
});
