import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultSearchSamples, runAutoml } from '../../src/automl/automl.js';
import { loadAutomlData } from '../../src/automl/data.js';
import { finalAugmentation, plannedEpochs } from '../../src/automl/final.js';
import { IMAGE_PORTFOLIO, imagePortfolio } from '../../src/automl/space.js';
import { PIPELINE_FILE, transformDataset } from '../../src/data/feature-pipeline.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { loadModel } from '../../src/models/tfjs/save.js';
import { imageSpace } from '../../src/search/image-space.js';
import { loadStudy } from '../../src/study/create.js';
import { evaluate, trainingData } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('automl-final');

describe('AutoML final training and search fidelity', () => {
  it('plans the epochs that fit in the time left, keeping a tenth for testing and saving', () => {
    // 100 s: 90 s usable, minus one validation pass (2 s) = 88 s; an epoch with validation is 10 s.
    assert.equal(plannedEpochs(100, 8, 2), 8);
    assert.equal(plannedEpochs(100, 0.5, 0.5), 89);
    assert.equal(plannedEpochs(5, 8, 2), 0, 'no epoch fits');
  });

  it('searches large image training splits on a fifth of them, small ones and tables on all', () => {
    assert.equal(defaultSearchSamples('image', 54_000), 10_800);
    assert.equal(defaultSearchSamples('image', 30_000), 10_000);
    assert.equal(defaultSearchSamples('image', 20_000), 20_000);
    assert.equal(defaultSearchSamples('table', 100_000), 100_000);
  });

  it('augments only images of at least 16 pixels a side', () => {
    assert.deepEqual(finalAugmentation([28, 28, 1]), { shift: 0.08 });
    assert.equal(finalAugmentation([8, 8, 1]), null);
    assert.equal(finalAugmentation([64]), null);
  });

  it('starts image searches from the known-good CNNs that keep to the budget', () => {
    const fixed = (params: Record<string, string | number | boolean>) => ({
      suggestInt: (name: string) => params[name] as number,
      suggestFloat: (name: string) => params[name] as number,
      suggestCategorical: (name: string) => {
        assert.ok(name in params, `portfolio entry sets ${name}`);
        return params[name] as never;
      },
    });
    const costs = IMAGE_PORTFOLIO.map((p) =>
      analyzeModel(imageSpace(fixed(p), { inputShape: [28, 28, 1], classes: 10 })),
    );
    assert.ok(
      costs.every((c) => c.params < 100_000),
      'all under 100,000 parameters on 28x28',
    );
    const budget = { maxParams: 100_000, maxMacs: 2_000_000 };
    const kept = imagePortfolio([28, 28, 1], 10, budget);
    assert.deepEqual(
      kept,
      IMAGE_PORTFOLIO.filter((_, i) => costs[i].macs <= budget.maxMacs),
      'exactly those within the MAC budget',
    );
    assert.ok(kept.length > 0 && kept.length < IMAGE_PORTFOLIO.length, 'the MAC budget drops some');
  });

  it('rejects a final share outside [0, 1) before anything is written', async () => {
    const out = path.join(dir, 'bad-share');
    await assert.rejects(
      runAutoml({ data: 'digits', budgetSeconds: 10, finalShare: 1, out }),
      /final-share must be in \[0, 1\), got 1/,
    );
    assert.equal(existsSync(out), false, 'nothing written');
  });

  it('searches on a subset, then retrains the best configuration on the whole training split and saves it as stored', async () => {
    const out = path.join(dir, 'digits');
    const result = await runAutoml({
      data: 'digits',
      budgetSeconds: 30,
      finalShare: 0.5,
      searchSamples: 300,
      maxParams: 20_000,
      // A fixed cap: the default one follows the step timing, which a loaded machine makes tiny.
      maxMacs: 400_000,
      maxEpochs: 6,
      threads: 1,
      seed: 3,
      out,
    });
    await initBackend();
    const data = await loadAutomlData({ kind: 'dataset', name: 'digits' }, 3);
    // The search saw the first 300 training samples, the final training all of them.
    for (const row of result.front) assert.equal(row.trainSamples, 300, `trial ${row.trial} fidelity`);
    assert.equal(result.searchSamples, 300);
    assert.ok(result.searchSeconds < result.elapsedSeconds, 'the final training ran after the search');
    const final = result.final;
    assert.ok(final, 'a final model was trained');
    assert.equal(final.trainSamples, data.train.numSamples);
    assert.ok(final.epochs >= 1 && final.epochs <= final.plannedEpochs, 'epochs within the plan');
    assert.ok(final.params <= 20_000, 'within the parameter budget');
    const trialRow = result.front.find((r) => r.trial === final.trial);
    assert.ok(trialRow, 'the retrained configuration is on the front');
    assert.equal(final.learningRate, trialRow.params_.lr, "the trial's learning rate");
    assert.equal(final.batchSize, trialRow.params_.batchSize, "the trial's batch size");
    // The final model as stored: same spec as its trial, its test accuracy is the stored model's.
    const finalDir = path.join(out, final.model);
    const spec = (p: string) => readFileSync(path.join(p, 'parsimony-model.json'), 'utf8');
    assert.equal(spec(finalDir), spec(path.join(out, trialRow.model)), 'same network as the trial');
    const pipeline = JSON.parse(readFileSync(path.join(finalDir, PIPELINE_FILE), 'utf8'));
    const stored = await loadModel(finalDir);
    try {
      const test = trainingData(transformDataset(pipeline.steps, data.test), data.inputShape);
      const accuracy = (await evaluate(stored.model, test)).accuracy;
      assert.equal(final.testAccuracy, accuracy, 'test accuracy measured on the stored model');
    } finally {
      stored.model.dispose();
    }
    // best/ is the final model when it validates at least as well as the search's best.
    const searchBest = Math.max(...result.front.map((r) => r.validationAccuracy));
    const bestIsFinal = final.validationAccuracy >= searchBest;
    if (bestIsFinal) {
      assert.equal(result.best.model, final.model, 'the final model is the best');
      assert.equal(spec(path.join(out, 'best')), spec(finalDir), 'best/ holds the final model');
    } else assert.notEqual(result.best.model, final.model, 'a search trial is the best');
    // The search began with the portfolio's networks that keep to 20,000 parameters.
    const study = await loadStudy({ studyName: 'automl', storage: `sqlite:${path.join(out, 'study.db')}` });
    const portfolio = imagePortfolio(data.inputShape, 10, { maxParams: 20_000, maxMacs: 400_000 });
    assert.ok(portfolio.length > 0, 'some portfolio networks fit 20,000 parameters on 8x8');
    for (const [i, params] of portfolio.entries())
      for (const [key, value] of Object.entries(params))
        assert.equal(study.trials[i].params[key], value, `trial ${i} ${key}`);
    await study.storage.close();
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.equal(report.final.testAccuracy, final.testAccuracy, 'the report holds the final training');
  });
});
