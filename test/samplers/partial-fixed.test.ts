import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStudy } from '../../src/core/study.js';
import { PartialFixedSampler } from '../../src/samplers/partial-fixed.js';
import { RandomSampler } from '../../src/samplers/random.js';

describe('PartialFixedSampler', () => {
  it('always returns the fixed values and samples the rest with the base sampler', async () => {
    const study = await createStudy({
      sampler: new PartialFixedSampler({ act: 'tanh', units: 64 }, new RandomSampler({ seed: 3 })),
    });
    await study.optimize(
      (t) => {
        const act = t.suggestCategorical('act', ['relu', 'tanh']);
        const units = t.suggestInt('units', 16, 256);
        const lr = t.suggestFloat('lr', 1e-4, 1, { log: true });
        return (act === 'tanh' ? 1 : 0) + units + lr;
      },
      { nTrials: 20 },
    );
    assert.ok(study.trials.every((t) => t.params.act === 'tanh' && t.params.units === 64));
    const lrs = new Set(study.trials.map((t) => t.params.lr));
    assert.equal(lrs.size, 20, 'the free parameter is sampled');
  });
});
