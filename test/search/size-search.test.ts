import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { mlpSpec } from '../../src/search/mlp-objective.js';
import { runSizeSearch } from '../../src/search/size-search.js';
import { loadStudy } from '../../src/study/create.js';
import { runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('search');

const cli = runCliCaptured;

describe('mlpSpec', () => {
  it('writes LeNet-300-100 as a spec the analyzer counts as published: 266,610 parameters', () => {
    const spec = mlpSpec(
      { hiddenUnits: [300, 100], activation: 'relu', learningRate: 1e-3, l2: 0, dropout: 0.2, batchSize: 32 },
      784,
      10,
    );
    const a = analyzeModel(spec);
    assert.equal(a.params, 266_610);
    assert.equal(a.connections, 784 * 300 + 300 * 100 + 100 * 10);
    assert.equal(spec.layers.filter((l) => l.type === 'dropout').length, 2);
  });
});

describe('runSizeSearch', () => {
  const small = { trials: 4, threads: 2, maxEpochs: 4, maxUnits: 64, seed: 3 } as const;

  it('stores every trial in the SQLite file and returns a Pareto front with complexity and test accuracy', async () => {
    const studyFile = join(dir, 'a.db');
    const result = await runSizeSearch({ ...small, studyFile, studyName: 'a' });
    assert.ok(existsSync(studyFile));
    assert.equal(result.counts.COMPLETE + result.counts.PRUNED + result.counts.FAIL, 4);
    assert.equal(result.counts.FAIL, 0);
    assert.ok(result.front.length >= 1);
    for (let i = 1; i < result.front.length; i++) {
      // Fewest parameters first, and along a front more parameters must buy accuracy.
      assert.ok(result.front[i].params > result.front[i - 1].params);
      assert.ok(result.front[i].validationAccuracy > result.front[i - 1].validationAccuracy);
    }
    for (const row of result.front) {
      const spec = mlpSpec({ ...row, hiddenUnits: row.hiddenUnits, activation: 'relu' }, 64, 10);
      assert.equal(row.params, analyzeModel(spec).params);
      assert.ok(row.validationAccuracy > 0.5, `trained: ${row.validationAccuracy}`);
      assert.ok(row.testAccuracy !== null && row.testAccuracy > 0.5);
    }
    const study = await loadStudy({ studyName: 'a', storage: `sqlite:${studyFile}` });
    assert.equal(study.trials.length, 4);
    assert.deepEqual(study.directions, ['maximize', 'minimize']);
    await study.storage.close();
  });

  it('is reproducible with the same seed, trials running two at a time', async () => {
    const first = await runSizeSearch({ ...small, studyFile: join(dir, 'b.db'), studyName: 'b' });
    const second = await runSizeSearch({ ...small, studyFile: join(dir, 'c.db'), studyName: 'c' });
    assert.deepEqual(second.front, first.front);
    assert.deepEqual(second.counts, first.counts);
    // The control: another seed samples other networks.
    const other = await runSizeSearch({ ...small, seed: 4, studyFile: join(dir, 'e.db'), studyName: 'e' });
    assert.notDeepEqual(
      other.front.map((r) => r.hiddenUnits),
      first.front.map((r) => r.hiddenUnits),
    );
  });

  it('rejects a configuration over the parameter budget before training it', async () => {
    const studyFile = join(dir, 'd.db');
    await runSizeSearch({ ...small, trials: 3, maxParams: 1000, studyFile, studyName: 'd' });
    const study = await loadStudy({ studyName: 'd', storage: `sqlite:${studyFile}` });
    for (const t of study.trials) {
      // Digits has 64 inputs and 10 classes: even 8 hidden units make 610 parameters.
      const params = t.userAttrs.params as number;
      if (params > 1000) {
        assert.equal(t.state, 'PRUNED');
        assert.equal(t.userAttrs.overBudget, true);
        assert.equal(t.userAttrs.epochs, undefined, 'never trained');
      }
    }
    assert.ok(study.trials.some((t) => t.userAttrs.overBudget === true));
    await study.storage.close();
  });
});

describe('parsimony search', () => {
  it('prints the Pareto front with params, connections, MACs and both accuracies, and the study file', async () => {
    const out = join(dir, 'cli.db');
    const r = await cli([
      'search',
      '--trials',
      '2',
      '--threads',
      '2',
      '--epochs',
      '2',
      '--out',
      out,
      '--quiet',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Pareto front \(maximise validation accuracy, minimise parameters\)/);
    assert.match(r.out, /params +connections +MACs +val acc +test acc/);
    assert.ok(r.out.includes(`study file: ${out}`));
  });

  it('--json gives the result object', async () => {
    const r = await cli([
      'search',
      '--trials',
      '2',
      '--epochs',
      '1',
      '--out',
      join(dir, 'j.db'),
      '--json',
      '--quiet',
    ]);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.equal(result.dataset, 'digits');
    assert.ok(Array.isArray(result.front));
    assert.equal(typeof result.front[0].connections, 'number');
  });

  it('bad input is one line naming the problem and a non-zero exit', async () => {
    const unknown = await cli(['search', '--dataset', 'nope', '--out', join(dir, 'x.db')]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.err, /nope/);
    assert.equal(unknown.err.trim().split('\n').length, 1);
    const sampler = await cli(['search', '--sampler', 'grid']);
    assert.notEqual(sampler.code, 0);
    assert.match(
      sampler.err,
      /--sampler must be one of tpe, nsga2, random, aging-evolution, reinforce; got "grid"/,
    );
    const trials = await cli(['search', '--trials', '0']);
    assert.notEqual(trials.code, 0);
    assert.match(trials.err, /--trials must be an integer >= 1/);
  });
});
