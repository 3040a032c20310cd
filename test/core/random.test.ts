// Tests of src/core/random.ts (the data module's splits and the samplers build on it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';

const draw = (r: Random, n: number) => Array.from({ length: n }, () => r.next());

describe('Random', () => {
  it('implements xoshiro128** (reference sequence from state 1, 2, 3, 4)', () => {
    const r = Random.fromState({ seed: 0, words: [1, 2, 3, 4], spareNormal: null });
    assert.deepEqual(
      Array.from({ length: 6 }, () => r.nextUint32()),
      [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
    );
  });

  it('fills its state from the seed with SplitMix64 (reference outputs for seed 1234567)', () => {
    const x1 = 6457827717110365317n;
    const x2 = 3203168211198807973n;
    const words = [x1 & 0xffffffffn, x1 >> 32n, x2 & 0xffffffffn, x2 >> 32n].map(Number);
    assert.deepEqual(new Random(1234567).getState().words, words);
  });

  it('repeats its sequence for a seed and differs across seeds, including large and fractional ones', () => {
    for (const seed of [0, 1, 42, -7, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, 0.5, 1e300]) {
      assert.deepEqual(draw(new Random(seed), 10), draw(new Random(seed), 10), `seed ${seed}`);
    }
    const firsts = new Set([0, 1, 2, 3, -1, 2 ** 32, 2 ** 32 + 1, 0.5, 1.5].map((s) => new Random(s).next()));
    assert.equal(firsts.size, 9);
    assert.throws(() => new Random(Number.NaN), InvalidArgumentError);
    assert.throws(() => new Random(Number.POSITIVE_INFINITY), InvalidArgumentError);
  });

  it('draws doubles in [0, 1) with 53-bit resolution and the mean and variance of a uniform', () => {
    const r = new Random(7);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    let fine = 0;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
      sumSq += x * x;
      buckets[Math.floor(x * 10)]++;
      // Bits below 2^-32 are set: more than 32 random bits per double.
      if ((x * 2 ** 32) % 1 !== 0) fine++;
    }
    assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
    assert.ok(Math.abs(sumSq / n - sum ** 2 / n ** 2 - 1 / 12) < 0.003);
    assert.ok(fine > n * 0.99);
    // Chi-square with 9 degrees of freedom: 27.9 is its 0.999 quantile.
    const chi2 = buckets.reduce((s, b) => s + (b - n / 10) ** 2 / (n / 10), 0);
    assert.ok(chi2 < 27.9, `chi-square ${chi2}`);
  });

  it('draws integers in [lo, hi] inclusive, uniformly, for small and huge ranges', () => {
    const r = new Random(11);
    const counts = new Map<number, number>();
    for (let i = 0; i < 70_000; i++) {
      const k = r.int(-3, 3);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [-3, -2, -1, 0, 1, 2, 3],
    );
    for (const c of counts.values()) assert.ok(Math.abs(c - 10_000) < 500, `count ${c}`);
    assert.equal(r.int(5, 5), 5);
    for (let i = 0; i < 1000; i++) {
      const big = r.int(0, 2 ** 40);
      assert.ok(Number.isInteger(big) && big >= 0 && big <= 2 ** 40);
      const full = r.int(0, 2 ** 32 - 1);
      assert.ok(Number.isInteger(full) && full >= 0 && full < 2 ** 32);
    }
    assert.throws(() => r.int(3, 2), /high < low/);
    assert.throws(() => r.int(0.5, 2), /safe integers/);
  });

  it('draws standard normals and scaled normals', () => {
    const r = new Random(3);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    let beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
      if (Math.abs(z) > 2) beyond2++;
    }
    assert.ok(Math.abs(s / n) < 0.02, `mean ${s / n}`);
    assert.ok(Math.abs(s2 / n - 1) < 0.02, `variance ${s2 / n}`);
    assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.004, `tail ${beyond2 / n}`);
    let m = 0;
    for (let i = 0; i < 20_000; i++) m += r.normal(10, 0.5);
    assert.ok(Math.abs(m / 20_000 - 10) < 0.02);
  });

  it('shuffles arrays and typed arrays reproducibly, keeping every element, every order possible', () => {
    const x = new Random(1).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(
      [...x].sort((p, q) => p - q),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(x, new Random(1).shuffle([1, 2, 3, 4, 5, 6, 7, 8]));
    const typed = new Random(2).shuffle(Int32Array.from([0, 1, 2, 3, 4]));
    assert.deepEqual([...typed].sort(), [0, 1, 2, 3, 4]);
    // All 6 orders of 3 elements appear about equally often.
    const r = new Random(5);
    const seen = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const key = r.shuffle(['a', 'b', 'c']).join('');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    assert.equal(seen.size, 6);
    for (const c of seen.values()) assert.ok(Math.abs(c - 1000) < 150, `count ${c}`);
    const p = new Random(9).permutation(100);
    assert.deepEqual(
      [...p].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('chooses elements uniformly and rejects an empty array', () => {
    const r = new Random(4);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 9000; i++) counts[r.choice(['a', 'b', 'c'] as const)]++;
    for (const c of Object.values(counts)) assert.ok(Math.abs(c - 3000) < 200);
    assert.throws(() => r.choice([]), /empty/);
  });

  it('forks streams that depend only on the seed and the label, and are reproducible from their seed', () => {
    const a = new Random(5);
    draw(a, 3);
    const b = new Random(5);
    assert.deepEqual(draw(a.fork('trial-3'), 5), draw(b.fork('trial-3'), 5));
    assert.notDeepEqual(draw(b.fork('trial-3'), 5), draw(b.fork('trial-4'), 5));
    assert.notDeepEqual(draw(new Random(5).fork(1), 5), draw(new Random(6).fork(1), 5));
    assert.deepEqual(draw(b.fork(1), 3), draw(b.fork('1'), 3));
    const child = b.fork('x').fork('y');
    assert.ok(Number.isSafeInteger(child.seed));
    assert.deepEqual(draw(new Random(child.seed), 5), draw(b.fork('x').fork('y'), 5));
    // Forks do not collide and are not correlated with the parent or with each other.
    const seeds = new Set(Array.from({ length: 10_000 }, (_, i) => b.fork(`trial-${i}`).seed));
    assert.equal(seeds.size, 10_000);
    const n = 20_000;
    const p = new Random(5);
    const f = p.fork('f');
    const g = p.fork('g');
    let pf = 0;
    let fg = 0;
    for (let i = 0; i < n; i++) {
      const [x, y, z] = [p.next() - 0.5, f.next() - 0.5, g.next() - 0.5];
      pf += x * y;
      fg += y * z;
    }
    // Correlation of independent uniforms: standard error 1/sqrt(n) ~ 0.007.
    assert.ok(Math.abs((pf / n) * 12) < 0.03, `parent-fork ${(pf / n) * 12}`);
    assert.ok(Math.abs((fg / n) * 12) < 0.03, `fork-fork ${(fg / n) * 12}`);
  });

  it('saves and restores its state, and clones', () => {
    const r = new Random(8);
    r.normal();
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const expected = [r.normal(), r.next(), r.int(0, 100)];
    const restored = Random.fromState(saved);
    assert.deepEqual([restored.normal(), restored.next(), restored.int(0, 100)], expected);
    const c = restored.clone();
    assert.equal(c.next(), restored.next());
    assert.throws(() => Random.fromState({ seed: 0, words: [0, 0, 0, 0], spareNormal: null }), /all-zero/);
  });

  it('seeds from the operating system when no seed is given', () => {
    const a = Random.fromSeed();
    const b = Random.fromSeed();
    assert.ok(Number.isSafeInteger(a.seed) && a.seed >= 0);
    assert.notEqual(a.seed, b.seed);
    assert.equal(Random.fromSeed(12).next(), new Random(12).next());
  });
});
