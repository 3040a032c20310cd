/**
 * AutoML on a small table scores trials by stratified k-fold cross-validation on the training and
 * validation rows, refits each finished trial on both and saves that refit (its preparation fitted
 * on all those rows); `folds: 0` keeps the one validation split; a fold count the data cannot fill
 * is refused before anything is written. Real runs (worker threads, real training) on 120 rows.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runAutoml } from '../../src/automl/automl.js';
import { developmentRows } from '../../src/automl/cross-validated-trial.js';
import { loadAutomlData } from '../../src/automl/data.js';
import { AUTOML_ATTRS } from '../../src/automl/objective.js';
import { predictCsv } from '../../src/automl/predict.js';
import { Random } from '../../src/core/random.js';
import { fitMinMaxScaler, fitStandardScaler } from '../../src/data/transforms.js';
import { loadStudy } from '../../src/study/create.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('automl-cv');

/** 120 rows, three numeric columns, two classes that follow a + b (c is noise). */
function writeTable(file: string): void {
  const rng = new Random(11);
  const lines = ['a,b,c,kind'];
  for (let r = 0; r < 120; r++) {
    const a = rng.normal() * 3 + 5;
    const b = rng.normal();
    lines.push([a.toFixed(3), b.toFixed(3), rng.normal().toFixed(3), a - 5 + b > 0 ? 'yes' : 'no'].join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const table = path.join(dir, 'table.csv');
writeTable(table);

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('automl model selection on small tables', () => {
  it('scores trials by 5-fold CV and saves each trial refitted on train + validation', async () => {
    const out = path.join(dir, 'cv');
    const result = await runAutoml({
      data: table,
      target: 'kind',
      budgetSeconds: 20,
      maxEpochs: 15,
      threads: 1,
      seed: 3,
      out,
    });
    assert.deepEqual(result.selection, { method: 'cross-validation', folds: 5 });
    const data = await loadAutomlData({ kind: 'csv', path: table, target: 'kind' }, 3);
    const rows = developmentRows(data).numSamples;
    const study = await loadStudy({ studyName: 'automl', storage: `sqlite:${path.join(out, 'study.db')}` });
    const trials = study.trials;
    await study.storage.close();
    const complete = trials.filter((t) => t.state === 'COMPLETE');
    assert.ok(complete.length >= 1, 'a complete trial');
    // The cheap starting points come first: softmax regression, then one hidden layer of 32.
    assert.equal(trials[0].params.layers, 0, 'trial 0 is softmax regression');
    assert.deepEqual([trials[1].params.layers, trials[1].params.l0_units], [1, 32], 'trial 1');
    for (const t of complete) {
      const outOfFold = t.userAttrs[AUTOML_ATTRS.outOfFold] as number[];
      assert.equal(outOfFold.length, rows * 2, `trial ${t.number}: out-of-fold probabilities of every row`);
      const folds = t.userAttrs[AUTOML_ATTRS.foldAccuracies] as number[];
      assert.equal(folds.length, 5, `trial ${t.number}: one accuracy per fold`);
      assert.ok(
        Math.abs((t.values?.[0] ?? -1) - mean(folds)) < 1e-9,
        `trial ${t.number}: value is the fold mean`,
      );
      assert.deepEqual(
        Object.keys(t.intermediateValues)
          .map(Number)
          .sort((a, b) => a - b),
        [1, 2, 3, 4, 5],
        `trial ${t.number}: reported after each fold`,
      );
    }
    for (const t of trials.filter(
      (x) => x.state === 'PRUNED' && Object.keys(x.intermediateValues).length > 0,
    ))
      assert.ok(
        Math.max(...Object.keys(t.intermediateValues).map(Number)) <= 5,
        `trial ${t.number}: steps are folds`,
      );

    // The saved best model's scaler was fitted on all train + validation rows, not the training rows.
    const pipeline = JSON.parse(readFileSync(path.join(out, 'best', 'pipeline.json'), 'utf8'));
    const scale = pipeline.steps[0];
    const fit = scale.scaler.type === 'standard' ? fitStandardScaler : fitMinMaxScaler;
    const close = (a: number[], b: number[]) => a.every((x, i) => Math.abs(x - b[i]) < 1e-4);
    const [key] = scale.scaler.type === 'standard' ? ['mean'] : ['min'];
    const onDevelopment = fit(developmentRows(data)).getConfig() as unknown as Record<string, number[]>;
    const onTrain = fit(data.train).getConfig() as unknown as Record<string, number[]>;
    assert.ok(close(scale.scaler[key], onDevelopment[key]), `scaler ${key} from train + validation`);
    assert.ok(!close(onTrain[key], onDevelopment[key]), 'the two fits differ (the check means something)');
    assert.ok((result.best.epochs ?? 0) >= 1, 'the refit epochs are reported');

    // The run's result follows the out-of-fold comparison, and predict on the output directory
    // applies it: its test accuracy through predict equals the one reported for the chosen side.
    const { chosen } = result;
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')).chosen, chosen);
    const ensembleWins =
      chosen.ensembleOutOfFoldAccuracy !== null &&
      chosen.bestOutOfFoldAccuracy !== null &&
      chosen.ensembleOutOfFoldAccuracy > chosen.bestOutOfFoldAccuracy &&
      chosen.ensembleTestAccuracy !== null;
    assert.equal(chosen.model, ensembleWins ? 'ensemble' : 'best', JSON.stringify(chosen));
    assert.equal(existsSync(path.join(out, 'ensemble')), ensembleWins, 'ensemble/ kept only when chosen');
    assert.equal(chosen.bestTestAccuracy, result.best.testAccuracy);
    assert.equal(
      chosen.testAccuracy,
      ensembleWins ? chosen.ensembleTestAccuracy : chosen.bestTestAccuracy,
      "the chosen side's test accuracy",
    );
    const testCsv = path.join(dir, 'cv-test.csv');
    writeFileSync(
      testCsv,
      `a,b,c\n${Array.from({ length: data.test.numSamples }, (_, r) =>
        Array.from(data.test.data.subarray(r * 3, r * 3 + 3)).join(','),
      ).join('\n')}\n`,
    );
    const predicted = await predictCsv(out, testCsv);
    const correct = predicted.labels.filter((l, r) => l === data.classNames[data.test.labels[r]]).length;
    assert.ok(
      Math.abs(correct / data.test.numSamples - (chosen.testAccuracy ?? -1)) < 1e-9,
      `predict on the output directory scores ${correct}/${data.test.numSamples}, the chosen ${chosen.model} ${chosen.testAccuracy}`,
    );
  });

  it('scores on the one validation split with folds: 0', async () => {
    const out = path.join(dir, 'holdout');
    const result = await runAutoml({
      data: table,
      target: 'kind',
      budgetSeconds: 8,
      threads: 1,
      seed: 3,
      folds: 0,
      out,
    });
    assert.deepEqual(result.selection, { method: 'holdout' });
    const study = await loadStudy({ studyName: 'automl', storage: `sqlite:${path.join(out, 'study.db')}` });
    const trials = study.trials;
    await study.storage.close();
    const complete = trials.filter((t) => t.state === 'COMPLETE');
    assert.ok(complete.length >= 1, 'a complete trial');
    for (const t of complete)
      assert.equal(t.userAttrs[AUTOML_ATTRS.foldAccuracies], undefined, `trial ${t.number}: no folds`);
    // A run continued with another fold count would mix two meanings of the score: refused.
    await assert.rejects(
      runAutoml({ data: table, target: 'kind', budgetSeconds: 8, threads: 1, seed: 3, folds: 3, out }),
      /holds a run with folds "0", not "3"/,
    );
  });

  it('refuses a fold count the data cannot fill, and options for one split, before writing anything', async () => {
    for (const [folds, pattern, extra] of [
      [1, /folds must be 0 \(one validation split\) or an integer of at least 2, got 1/, {}],
      [80, /folds \(80\) exceed the \d+ samples of the smallest class "(yes|no)"/, {}],
      [
        5,
        /final-share: cross-validated tables are already refitted on train \+ validation/,
        { finalShare: 0.3 },
      ],
      [5, /search-samples: cross-validation uses every train \+ validation row/, { searchSamples: 50 }],
    ] as const) {
      const out = path.join(dir, `bad-${folds}-${pattern.source.length}`);
      await assert.rejects(
        runAutoml({ data: table, target: 'kind', budgetSeconds: 8, threads: 1, folds, out, ...extra }),
        pattern,
      );
      assert.equal(existsSync(out), false, `folds ${folds}: nothing written`);
    }
  });
});
