import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as parsimony from '../src/index.js';

describe('public API', () => {
  it('runs the README example through the package entry', async () => {
    const { createStudy, TPESampler } = parsimony;
    const study = await createStudy({ direction: 'minimize', sampler: new TPESampler({ seed: 1 }) });
    await study.optimize(
      (trial) => {
        const x = trial.suggestFloat('x', -10, 10);
        const kind = trial.suggestCategorical('kind', ['a', 'b']);
        return (x - 2) ** 2 + (kind === 'a' ? 0 : 1);
      },
      { nTrials: 60 },
    );
    assert.ok(study.bestValue < 0.5, `best ${study.bestValue}`);
    assert.equal(study.bestParams.kind, 'a');
  });

  it('exports every sampler and pruner by name', () => {
    for (const name of [
      'RandomSampler',
      'TPESampler',
      'GPSampler',
      'CmaEsSampler',
      'QMCSampler',
      'NSGAIISampler',
      'GridSampler',
      'PartialFixedSampler',
      'MedianPruner',
      'SuccessiveHalvingPruner',
      'HyperbandPruner',
      'ParetoSuccessiveHalvingPruner',
      'EarlyStopping',
    ])
      assert.equal(typeof (parsimony as Record<string, unknown>)[name], 'function', name);
  });
});
