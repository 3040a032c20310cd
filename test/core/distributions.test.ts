import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CategoricalDistribution,
  clampToDistribution,
  distributionFromConfig,
  FloatDistribution,
  IntDistribution,
} from '../../src/core/distributions.js';

describe('distributions', () => {
  it('rejects low > high, log with low <= 0, log with step, and bad steps, naming the problem', () => {
    assert.throws(() => new FloatDistribution(2, 1), /low \(2\) must be <= high \(1\)/);
    assert.throws(() => new FloatDistribution(0, 1, { log: true }), /log scale needs low > 0/);
    assert.throws(() => new FloatDistribution(1, 2, { log: true, step: 0.5 }), /cannot be combined/);
    assert.throws(() => new IntDistribution(0, 10, { step: 0 }), /step must be a positive integer/);
    assert.throws(() => new IntDistribution(0.5, 10), /low must be an integer/);
    assert.throws(() => new CategoricalDistribution([]), /non-empty/);
    assert.throws(() => new CategoricalDistribution([{}] as never), /numbers, strings, booleans or null/);
  });

  it('moves the upper bound onto the step grid like Optuna', () => {
    assert.equal(new IntDistribution(0, 10, { step: 3 }).high, 9);
    assert.equal(new FloatDistribution(0, 1, { step: 0.3 }).high, 0.9);
    assert.ok(new FloatDistribution(0, 1, { step: 0.1 }).contains(0.3));
  });

  it('converts categorical values to indices and back', () => {
    const d = new CategoricalDistribution(['relu', null, 3, true]);
    assert.equal(d.toInternal(null), 1);
    assert.equal(d.toExternal(2), 3);
    assert.throws(() => d.toInternal('gelu'), /not one of the choices/);
  });

  it('builds the same objects from declarative configs and round-trips them', () => {
    const configs = [
      { type: 'float', low: 1e-5, high: 1, log: true },
      { type: 'float', low: 0, high: 0.5, step: 0.1 },
      { type: 'int', low: 1, high: 8, step: 1 },
      { type: 'int', low: 16, high: 1024, log: true },
      { type: 'categorical', choices: ['adam', 'sgd'] },
    ] as const;
    for (const config of configs) {
      const d = distributionFromConfig(config);
      const again = distributionFromConfig(JSON.parse(JSON.stringify(d.getConfig())));
      assert.deepEqual(again.getConfig(), d.getConfig());
    }
    assert.deepEqual(distributionFromConfig({ type: 'float', low: 0, high: 1 }), new FloatDistribution(0, 1));
  });

  it('names the parameter in declarative errors', () => {
    assert.throws(
      () => distributionFromConfig({ type: 'float', low: 3, high: 1 }, 'search space "lr"'),
      /search space "lr": float distribution: low \(3\) must be <= high \(1\)/,
    );
    assert.throws(
      () => distributionFromConfig({ type: 'uniform' } as never, 'p'),
      /p: unknown type "uniform"/,
    );
    assert.throws(
      () => distributionFromConfig({ type: 'int', low: 'a', high: 3 } as never, 'p'),
      /"low" must be/,
    );
  });

  it('clamps and snaps values onto grids', () => {
    assert.equal(clampToDistribution(new IntDistribution(0, 9, { step: 3 }), 4.4), 3);
    assert.equal(clampToDistribution(new IntDistribution(0, 9, { step: 3 }), 100), 9);
    assert.equal(clampToDistribution(new FloatDistribution(0, 1, { step: 0.1 }), 0.34), 0.3);
    assert.equal(clampToDistribution(new FloatDistribution(0, 1), -2), 0);
  });
});
