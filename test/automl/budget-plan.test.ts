/**
 * How `parsimony automl` spends its budget: the default MAC cap of image runs, computed from the
 * budget and a step timing measured at the start, printed in the run's header and applied to
 * every trial (`--max-macs` overrides it); the whole command, from its process's start, keeps to
 * `--budget`. Real runs of the command as child processes on digits.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  CAP_FINAL_EPOCHS,
  CAP_SEARCH_EPOCHS,
  CAP_SEARCH_TRIALS,
  defaultMaxMacs,
  trainingSeconds,
} from '../../src/automl/budget-plan.js';
import { plannedEpochs } from '../../src/automl/final.js';
import { loadStudy } from '../../src/study/create.js';
import { runCliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('automl-budget');

describe('AutoML budget plan', () => {
  const timing = { baseSeconds: 1e-4, secondsPerMac: 1e-9 };
  const input = {
    searchSeconds: 2000,
    finalSeconds: 1400,
    threads: 2,
    searchSamples: 10_000,
    trainSamples: 50_000,
    smallestMacs: 5_000,
  };

  it('caps MACs where the final training just fits its epochs over the training split', () => {
    const cap = defaultMaxMacs(timing, input);
    // 0.9 * 1400 s / (10 epochs * 50,000 samples) = 2.52 ms per sample: (2.52e-3 - 1e-4) / 1e-9 MACs.
    assert.equal(cap.maxMacs, 2_420_000);
    assert.match(cap.rule, /10 epochs over 50000 training samples fit in the final training's 1400 s/);
    const epoch = trainingSeconds(timing, cap.maxMacs, input.trainSamples);
    assert.ok(CAP_FINAL_EPOCHS * epoch <= 0.9 * input.finalSeconds, `${CAP_FINAL_EPOCHS} epochs fit`);
    const above = trainingSeconds(timing, cap.maxMacs + 1000, input.trainSamples);
    assert.ok(CAP_FINAL_EPOCHS * above > 0.9 * input.finalSeconds, 'a thousand MACs more would not');
  });

  it('without a final training, caps MACs where the search fits its trials on its threads', () => {
    const cap = defaultMaxMacs(timing, { ...input, finalSeconds: 0, searchSeconds: 300 });
    const trial = CAP_SEARCH_EPOCHS * trainingSeconds(timing, cap.maxMacs, input.searchSamples);
    assert.ok((CAP_SEARCH_TRIALS * trial) / input.threads <= 300, 'the trials fit the search');
    assert.match(cap.rule, /10 trials of 3 epochs over 10000 samples fit in the search's 300 s on 2 thread/);
    // A shorter search, a smaller cap.
    assert.ok(
      defaultMaxMacs(timing, { ...input, finalSeconds: 0, searchSeconds: 100 }).maxMacs < cap.maxMacs,
    );
  });

  it('never caps below the cheapest network of the space, and says so', () => {
    const cap = defaultMaxMacs(timing, { ...input, finalSeconds: 1, searchSeconds: 1 });
    assert.equal(cap.maxMacs, input.smallestMacs);
    assert.match(cap.rule, /not even it lets/);
  });

  it('keeps time after the final training for the last validation and the test pass', () => {
    // 100 s: 90 s usable minus 5 s after training = 85 s; an epoch with validation is 10 s.
    assert.equal(plannedEpochs(100, 8, 2, 5), 8);
    assert.equal(plannedEpochs(100, 8, 2, 15), 7);
  });

  it('applies the default cap to every trial, prints it, and keeps the whole command within --budget', () => {
    const out = path.join(dir, 'default-cap');
    const budget = 20;
    const started = Date.now();
    const r = runCliProcess([
      'automl',
      'digits',
      '--budget',
      `${budget}s`,
      '--threads',
      '1',
      '--search-samples',
      '300',
      '--seed',
      '2',
      '--out',
      out,
      '--json',
    ]);
    const wall = (Date.now() - started) / 1000;
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    const cap = result.plan.maxMacs;
    assert.equal(result.plan.maxMacsSource, 'budget');
    assert.ok(Number.isInteger(cap) && cap > 0, `a cap: ${cap}`);
    assert.match(
      r.err,
      new RegExp(`max MACs ${cap.toLocaleString('en-US')} \\(default from the budget: the largest for which`),
      'the header prints the cap and its rule',
    );
    // The budget counts from the process's start; the report says how long the run took.
    assert.ok(
      result.elapsedSeconds <= budget,
      `the run ended after ${result.elapsedSeconds} s of its ${budget} s (the process took ${wall.toFixed(1)} s)`,
    );
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.equal(report.plan.maxMacs, cap, 'the report holds the plan');
    return (async () => {
      const study = await loadStudy({ studyName: 'automl', storage: `sqlite:${path.join(out, 'study.db')}` });
      try {
        const sized = study.trials.filter((t) => typeof t.userAttrs.macs === 'number');
        const over = sized.filter((t) => (t.userAttrs.macs as number) > cap);
        // The cap binds: the sampler proposed networks above it, and none of them was trained.
        assert.ok(over.length > 0, `some of ${sized.length} proposed networks are above ${cap} MACs`);
        for (const t of over) {
          assert.equal(t.state, 'PRUNED', `trial ${t.number} (${t.userAttrs.macs} MACs) rejected`);
          assert.equal(t.userAttrs.overBudget, true, `trial ${t.number} rejected before training`);
        }
        for (const row of result.front) assert.ok(row.macs <= cap, `front trial ${row.trial} within the cap`);
      } finally {
        await study.storage.close();
      }
    })();
  });

  it('--max-macs overrides the default cap', () => {
    const out = path.join(dir, 'option-cap');
    const r = runCliProcess([
      'automl',
      'digits',
      '--budget',
      '20s',
      '--threads',
      '1',
      '--search-samples',
      '300',
      '--max-macs',
      '30000',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.equal(result.plan.maxMacs, 30_000);
    assert.equal(result.plan.maxMacsSource, 'option');
    assert.match(r.err, /max MACs 30,000 \(--max-macs\)/);
    for (const row of result.front)
      assert.ok(row.macs <= 30_000, `front trial ${row.trial} within 30,000 MACs`);
  });
});
