import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';

describe('Random', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const sa = Array.from({ length: 20 }, () => a.next());
    assert.deepEqual(
      sa,
      Array.from({ length: 20 }, () => b.next()),
    );
    assert.notDeepEqual(
      sa,
      Array.from({ length: 20 }, () => c.next()),
    );
  });

  it('draws uniform doubles in [0, 1) with the right mean and integers in range', () => {
    const r = new Random(7);
    let sum = 0;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
      counts[r.int(0, 5)]++;
    }
    assert.ok(Math.abs(sum / 60000 - 0.5) < 0.01);
    for (const n of counts) assert.ok(Math.abs(n - 10000) < 500, `bucket ${n}`);
  });

  it('draws standard normals', () => {
    const r = new Random(3);
    let s = 0;
    let s2 = 0;
    const n = 40000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / n) < 0.03);
    assert.ok(Math.abs(s2 / n - 1) < 0.03);
  });

  it('forks streams that depend only on the seed and the label', () => {
    const a = new Random(5);
    a.next();
    a.next();
    const b = new Random(5);
    assert.equal(a.fork('trial-3').next(), b.fork('trial-3').next());
    assert.notEqual(b.fork('trial-3').next(), b.fork('trial-4').next());
    assert.notEqual(new Random(5).fork(1).next(), new Random(6).fork(1).next());
  });

  it('shuffles reproducibly, keeping every element', () => {
    const x = new Random(1).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(
      [...x].sort((p, q) => p - q),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(x, new Random(1).shuffle([1, 2, 3, 4, 5, 6, 7, 8]));
  });
});
