import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';
import type { Trial } from '../../src/core/trial.js';
import { QMC_SEED_KEY, QMCSampler } from '../../src/samplers/qmc/qmc-sampler.js';
import { HaltonSequence, SobolSequence } from '../../src/samplers/qmc/sobol.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy, loadStudy } from '../../src/study/create.js';
import { captureWarnings } from '../helpers/warnings.js';

/** Points i..i+n-1 of a sequence. */
const block = (s: { point(i: number): Float64Array }, start: number, n: number) =>
  Array.from({ length: n }, (_, i) => s.point(start + i));

/** True when each of the 2^m points lies in its own elementary box 2^-a x 2^-(m-a), for every a. */
function isNet(points: readonly Float64Array[], dx: number, dy: number, m: number): boolean {
  for (let a = 0; a <= m; a++) {
    const cells = new Set(
      points.map((p) => `${Math.floor(p[dx] * 2 ** a)}:${Math.floor(p[dy] * 2 ** (m - a))}`),
    );
    if (cells.size !== 2 ** m) return false;
  }
  return true;
}

/** Largest gap between the share of points in [0, x) x [0, y) and its area, over a 32 x 32 grid. */
function boxDiscrepancy(points: readonly Float64Array[]): number {
  let worst = 0;
  for (let i = 1; i <= 32; i++)
    for (let j = 1; j <= 32; j++) {
      const x = i / 32;
      const y = j / 32;
      const inside = points.filter((p) => p[0] < x && p[1] < y).length;
      worst = Math.max(worst, Math.abs(inside / points.length - x * y));
    }
  return worst;
}

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

  it("matches Joe and Kuo's direction numbers in high dimensions (reference values from scipy)", () => {
    // Point 1000 in 40 dimensions and points 2731 and 4095 in dimensions 1001..1024, times 4096.
    const low = [
      900, 396, 2124, 2772, 1148, 3716, 188, 3684, 2052, 284, 348, 1044, 660, 1572, 588, 1516, 2948, 1412,
      4060, 2972, 2140, 2252, 3892, 2212, 2388, 3716, 164, 4012, 244, 1396, 604, 596, 1212, 2428, 3284, 3156,
      3476, 3404, 1260, 1964,
    ];
    assert.deepEqual(
      Array.from(new SobolSequence(40).point(1000), (v) => v * 4096),
      low,
    );
    const high = new SobolSequence(1024);
    assert.deepEqual(
      Array.from(high.point(2731).subarray(1000), (v) => v * 4096),
      [
        1319, 3771, 1303, 319, 271, 327, 923, 159, 2269, 3999, 641, 593, 1553, 169, 2483, 1021, 2835, 2151,
        857, 1631, 937, 1345, 955, 2795,
      ],
    );
    assert.deepEqual(
      Array.from(high.point(4095).subarray(1000), (v) => v * 4096),
      [
        3569, 1125, 2057, 3409, 2577, 3697, 2973, 369, 447, 1429, 3735, 3799, 1027, 2879, 2217, 1367, 569,
        1825, 2503, 2933, 847, 931, 3953, 1453,
      ],
    );
    assert.throws(() => new SobolSequence(1025), /dimension must be/);
  });

  it('keeps the (0, m, 2)-net property of its first two dimensions when scrambled', () => {
    for (const seed of [1, 2, 3]) {
      const s = new SobolSequence(5, new Random(seed));
      const m = 6;
      // The first block and a later aligned block of 2^m points.
      for (const start of [0, 3 * 2 ** m]) {
        const points = block(s, start, 2 ** m);
        assert.ok(isNet(points, 0, 1, m), `seed ${seed}, block at ${start}`);
        // Every other dimension alone is stratified too.
        for (let d = 2; d < 5; d++)
          assert.equal(new Set(points.map((p) => Math.floor(p[d] * 2 ** m))).size, 2 ** m);
      }
      assert.ok(block(s, 0, 2 ** m).every((p) => p.every((v) => v >= 0 && v < 1)));
    }
  });

  it('covers the square more evenly than random points', () => {
    const n = 256;
    const sobol = boxDiscrepancy(block(new SobolSequence(2, new Random(11)), 0, n));
    const rng = new Random(11);
    const random = boxDiscrepancy(Array.from({ length: n }, () => Float64Array.of(rng.next(), rng.next())));
    assert.ok(sobol < 0.02, `Sobol discrepancy ${sobol}`);
    assert.ok(sobol < random / 2, `Sobol ${sobol} vs random ${random}`);
  });

  it('scrambles differently per seed and reproducibly', () => {
    const a = new SobolSequence(4, new Random(7)).point(5);
    assert.deepEqual(a, new SobolSequence(4, new Random(7)).point(5));
    assert.notDeepEqual(a, new SobolSequence(4, new Random(8)).point(5));
  });
});

describe('Halton sequence', () => {
  it('starts with the radical inverses in bases 2, 3, 5 and 7', () => {
    const h = new HaltonSequence(4);
    const expected = [
      [0, 0, 0, 0],
      [1 / 2, 1 / 3, 1 / 5, 1 / 7],
      [1 / 4, 2 / 3, 2 / 5, 2 / 7],
      [3 / 4, 1 / 9, 3 / 5, 3 / 7],
      [1 / 8, 4 / 9, 4 / 5, 4 / 7],
      [5 / 8, 7 / 9, 1 / 25, 5 / 7],
    ];
    expected.forEach((p, i) => {
      const point = h.point(i);
      for (let d = 0; d < 4; d++) assert.ok(Math.abs(point[d] - p[d]) < 1e-12, `point ${i}, dim ${d}`);
    });
  });

  it('stratifies scrambled points in each dimension by its base', () => {
    const h = new HaltonSequence(3, new Random(1));
    const points = block(h, 0, 25);
    assert.equal(new Set(points.slice(0, 8).map((p) => Math.floor(p[0] * 8))).size, 8);
    assert.equal(new Set(points.slice(0, 9).map((p) => Math.floor(p[1] * 9))).size, 9);
    assert.equal(new Set(points.map((p) => Math.floor(p[2] * 25))).size, 25);
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
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          return x + n + (c === 'a' ? 1 : 0);
        },
        { nTrials: 64, concurrency: 4 },
      );
      return study.trials.map((t) => t.params);
    };
    const params = await run();
    assert.deepEqual(params, await run());
    assert.equal(new Set(params.map((p) => p.x)).size, 64);
    for (const p of params) {
      assert.ok((p.x as number) >= -1 && (p.x as number) <= 1);
      assert.ok(Number.isInteger(p.n) && (p.n as number) >= 1 && (p.n as number) <= 64);
    }
    // Trials 32..63 take an aligned block of 32 points, one in each 1/32 of every coordinate: each
    // third of [0, 1) holds 10 whole cells and shares at most two more.
    const counts = ['a', 'b', 'c'].map((c) => params.slice(32).filter((p) => p.c === c).length);
    assert.ok(
      counts.every((n) => n >= 10 && n <= 12),
      `categories evenly covered: ${counts}`,
    );
  });

  it('gives trial n point n of the sequence: the plain Sobol sequence in order', async () => {
    const study = await createStudy({ sampler: new QMCSampler({ scramble: false }) });
    await study.optimize(
      (t) => {
        t.suggestInt('k', 0, 7);
        return t.suggestFloat('x', 0, 1);
      },
      { nTrials: 9 },
    );
    const s = new SobolSequence(2);
    for (const t of study.trials.slice(1)) {
      const [uk, ux] = s.point(t.number); // names in order: k, x
      assert.equal(t.params.x, ux);
      assert.equal(t.params.k, Math.floor(uk * 8), `trial ${t.number}: one integer per interval`);
    }
    // Trials 1..8 plus point 0 hit every integer of 0..7 once.
    const ks = study.trials.slice(1, 8).map((t) => t.params.k);
    assert.equal(new Set([...ks, 0]).size, 8);
  });

  it('samples parameters outside the first trial independently, with one warning per name', async () => {
    const { result: study, warnings } = await captureWarnings(async () => {
      const study = await createStudy({ sampler: new QMCSampler({ seed: 1 }) });
      await study.optimize(
        (t: Trial) => {
          const x = t.suggestFloat('x', 0, 1);
          const extra = t.number > 0 ? t.suggestFloat('late', 0, 1) : 0;
          return x + extra;
        },
        { nTrials: 6 },
      );
      return study;
    });
    assert.ok(study.trials.slice(1).every((t) => typeof t.params.late === 'number'));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].code, 'INDEPENDENT_SAMPLING');
    assert.match(warnings[0].message, /"late".*independent sampler/);
    const quiet = await captureWarnings(async () => {
      const study = await createStudy({
        sampler: new QMCSampler({ seed: 1, warnIndependentSampling: false }),
      });
      await study.optimize(
        (t) => t.suggestFloat('x', 0, 1) + (t.number > 0 ? t.suggestFloat('y', 0, 1) : 0),
        {
          nTrials: 3,
        },
      );
    });
    assert.deepEqual(quiet.warnings, []);
  });

  it('shares the scrambling of the first unseeded worker with later unseeded workers', async () => {
    const storage = new InMemoryStorage();
    const objective = (t: Trial) => t.suggestFloat('x', 0, 1) + t.suggestFloat('y', 0, 1);
    const a = await createStudy({ studyName: 'q', storage, sampler: new QMCSampler() });
    await a.optimize(objective, { nTrials: 5 });
    const b = await loadStudy({ studyName: 'q', storage, sampler: new QMCSampler() });
    await b.optimize(objective, { nTrials: 5 });
    const seed = (await storage.getStudySystemAttrs(a.studyId))[QMC_SEED_KEY];
    assert.equal(typeof seed, 'number');
    // A sampler seeded explicitly with the stored seed reproduces both workers' points.
    const replay = await createStudy({ sampler: new QMCSampler({ seed: seed as number }) });
    await replay.optimize(objective, { nTrials: 10 });
    const trials = await b.getTrials();
    assert.deepEqual(
      trials.slice(1).map((t) => t.params),
      replay.trials.slice(1).map((t) => t.params),
    );
  });

  it('supports Halton points and rejects bad options', async () => {
    const study = await createStudy({ sampler: new QMCSampler({ seed: 2, qmcType: 'halton' }) });
    await study.optimize((t) => t.suggestFloat('x', -5, 5) ** 2, { nTrials: 20 });
    assert.equal(new Set(study.trials.map((t) => t.params.x)).size, 20);
    assert.throws(() => new QMCSampler({ qmcType: 'faure' as never }), /qmcType must be/);
  });
});
