import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Distribution, ParamValue } from '../../src/core/distributions.js';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import type { Sampler, SearchSpace } from '../../src/core/sampler.js';
import type { StudyView } from '../../src/core/study-view.js';
import { GridSampler } from '../../src/samplers/grid.js';
import { PartialFixedSampler } from '../../src/samplers/partial-fixed.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { intersectionSearchSpace } from '../../src/samplers/search-space.js';
import { createStudy } from '../../src/study/create.js';

/** A base sampler that samples its relative space jointly (midpoints) and records every call. */
class RecordingSampler implements Sampler {
  readonly calls: string[] = [];
  readonly relativeSpaces: string[][] = [];
  private readonly random = new RandomSampler({ seed: 1 });

  inferRelativeSearchSpace(study: StudyView): SearchSpace {
    return intersectionSearchSpace(study);
  }

  sampleRelative(_study: StudyView, _trial: FrozenTrial, space: SearchSpace): Record<string, ParamValue> {
    this.relativeSpaces.push(Object.keys(space).sort());
    const out: Record<string, ParamValue> = {};
    for (const [name, d] of Object.entries(space))
      out[name] = d.type === 'categorical' ? d.choices[0] : (d.low + d.high) / 2;
    return out;
  }

  sampleIndependent(study: StudyView, trial: FrozenTrial, name: string, d: Distribution): ParamValue {
    this.calls.push(`independent:${name}`);
    return this.random.sampleIndependent(study, trial, name, d);
  }

  beforeTrial(): void {
    this.calls.push('before');
  }

  afterTrial(): void {
    this.calls.push('after');
  }
}

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

  it('hands the base sampler its relative space without the fixed names, and forwards its hooks', async () => {
    const base = new RecordingSampler();
    const study = await createStudy({ sampler: new PartialFixedSampler({ y: 0.25 }, base) });
    await study.optimize((t) => t.suggestFloat('x', 0, 1) + t.suggestFloat('y', 0, 1), { nTrials: 4 });
    // Trial 0 has no history; later trials sample x jointly, and y never reaches the base sampler.
    assert.deepEqual(base.relativeSpaces, [['x'], ['x'], ['x']]);
    assert.ok(study.trials.slice(1).every((t) => t.params.x === 0.5 && t.params.y === 0.25));
    assert.deepEqual(
      base.calls.filter((c) => c.startsWith('independent')),
      ['independent:x'],
    );
    assert.equal(base.calls.filter((c) => c === 'before').length, 4);
    assert.equal(base.calls.filter((c) => c === 'after').length, 4);
  });

  it('initialises and stops with its base sampler', async () => {
    const sampler = new PartialFixedSampler({ b: 'k' }, new GridSampler({ a: [1, 2, 3] }, { seed: 1 }));
    const study = await createStudy({ sampler });
    await study.optimize(
      (t) =>
        (t.suggestCategorical('a', [1, 2, 3]) as number) +
        (t.suggestCategorical('b', ['k', 'l']) === 'k' ? 0 : 1),
      { nTrials: 10 },
    );
    assert.equal(study.trials.length, 3, 'the grid is enqueued through initialize and ends optimize');
    assert.deepEqual(study.trials.map((t) => t.params.a).sort(), [1, 2, 3]);
    assert.ok(study.trials.every((t) => t.params.b === 'k'));
  });
});
