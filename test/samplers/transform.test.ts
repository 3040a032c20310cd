import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import { SearchSpaceTransform } from '../../src/samplers/transform.js';

describe('SearchSpaceTransform', () => {
  const space = {
    lr: new FloatDistribution(1e-4, 1, { log: true }),
    units: new IntDistribution(8, 512, { log: true }),
    depth: new IntDistribution(1, 5),
    dropout: new FloatDistribution(0, 0.5, { step: 0.1 }),
    act: new CategoricalDistribution(['relu', 'tanh', 'gelu']),
  };

  it('round-trips parameters through the encoding', () => {
    for (const normalize of [false, true]) {
      const t = new SearchSpaceTransform(space, { normalize });
      assert.equal(t.dim, 4 + 3);
      const params = { lr: 0.01, units: 64, depth: 3, dropout: 0.3, act: 'tanh' };
      const back = t.decode(t.encode(params));
      assert.ok(Math.abs((back.lr as number) - 0.01) < 1e-12);
      assert.deepEqual({ ...back, lr: 0.01 }, params);
    }
  });

  it('maps every point of the box back onto the grid and into bounds', () => {
    const t = new SearchSpaceTransform(space, { normalize: true });
    for (let i = 0; i < 200; i++) {
      const x = Array.from({ length: t.dim }, (_, k) => ((i * 7919 + k * 104729) % 1000) / 1000 - 0.1);
      const p = t.decode(x);
      for (const [name, d] of Object.entries(space))
        assert.ok(d.contains(d.toInternal(p[name])), `${name}=${p[name]}`);
    }
  });

  it('gives integer end points an equal share of the box', () => {
    const t = new SearchSpaceTransform({ depth: new IntDistribution(1, 3) }, { normalize: true });
    const counts = new Map<unknown, number>();
    for (let i = 0; i < 300; i++) {
      const v = t.decode([(i + 0.5) / 300]).depth;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [100, 100, 100]);
  });
});
