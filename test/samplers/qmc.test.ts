import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';
import { createStudy } from '../../src/core/study.js';
import { QMCSampler } from '../../src/samplers/qmc/qmc-sampler.js';
import { HaltonSequence, SobolSequence } from '../../src/samplers/qmc/sobol.js';

describe('Sobol sequence', () => {
  it('starts with the published points in 3-D', () => {
    const s = new SobolSequence(3);
    const expected = [
      [0, 0, 0],
      [0.5, 0.5, 0.5],
      [0.75, 0.25, 0.25],
      [0.25, 0.75, 0.75],
      [0.375, 0.375, 0.625],
      [0.875, 0.875, 0.125],
      [0.625, 0.125, 0.875],
      [0.125, 0.625, 0.375],
      [0.1875, 0.3125, 0.9375],
      [0.6875, 0.8125, 0.4375],
    ];
    expected.forEach((p, i) => {
      assert.deepEqual([...s.point(i)], p);
    });
  });

  it('keeps the (0, m, 2)-net property of its first two dimensions when scrambled', () => {
    for (const seed of [1, 2, 3]) {
      const s = new SobolSequence(5, new Random(seed));
      const m = 6;
      const points = Array.from({ length: 2 ** m }, (_, i) => s.point(i));
      // Every elementary box of area 2^-m holds exactly one point.
      for (let a = 0; a <= m; a++) {
        const cells = new Set(
          points.map((p) => `${Math.floor(p[0] * 2 ** a)}:${Math.floor(p[1] * 2 ** (m - a))}`),
        );
        assert.equal(cells.size, 2 ** m, `seed ${seed}, split ${a}`);
      }
      // Every other dimension alone is stratified too.
      for (let d = 2; d < 5; d++)
        assert.equal(new Set(points.map((p) => Math.floor(p[d] * 2 ** m))).size, 2 ** m);
    }
  });

  it('scrambles differently per seed and reproducibly', () => {
    const a = new SobolSequence(4, new Random(7)).point(5);
    assert.deepEqual(a, new SobolSequence(4, new Random(7)).point(5));
    assert.notDeepEqual(a, new SobolSequence(4, new Random(8)).point(5));
  });

  it('stratifies Halton points in each dimension', () => {
    const h = new HaltonSequence(3, new Random(1));
    const points = Array.from({ length: 9 }, (_, i) => h.point(i));
    assert.equal(new Set(points.map((p) => Math.floor(p[1] * 9))).size, 9); // base 3
    assert.ok(points.every((p) => p.every((v) => v >= 0 && v < 1)));
  });
});

describe('QMCSampler', () => {
  it('gives distinct, in-bounds, reproducible points for mixed parameters, with concurrency', async () => {
    const run = async () => {
      const study = await createStudy({ sampler: new QMCSampler({ seed: 3 }) });
      await study.optimize(
        async (t) => {
          const x = t.suggestFloat('x', -1, 1);
          const n = t.suggestInt('n', 1, 64, { log: true });
          const c = t.suggestCategorical('c', ['a', 'b', 'c']);
          await new Promise((r) => setImmediate(r));
          return x + n + (c === 'a' ? 1 : 0);
        },
        { nTrials: 33, concurrency: 3 },
      );
      return study.trials.map((t) => t.params);
    };
    const params = await run();
    assert.deepEqual(params, await run());
    assert.equal(new Set(params.map((p) => p.x)).size, 33);
    for (const p of params) {
      assert.ok((p.x as number) >= -1 && (p.x as number) <= 1);
      assert.ok(Number.isInteger(p.n) && (p.n as number) >= 1 && (p.n as number) <= 64);
    }
    const counts = ['a', 'b', 'c'].map((c) => params.filter((p) => p.c === c).length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 3, `categories evenly covered: ${counts}`);
  });

  it('rejects an unknown sequence type', () => {
    assert.throws(() => new QMCSampler({ qmcType: 'faure' as never }), /qmcType must be/);
  });
});
