/**
 * The two-objective log EHVI of the GP sampler: the improvement boxes against hypervolume computed
 * directly, the closed form against Monte Carlo, and its gradient against finite differences.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FloatDistribution } from '../../src/core/distributions.js';
import { hypervolume, paretoFrontIndices } from '../../src/core/multi-objective.js';
import { Random } from '../../src/core/random.js';
import { improvementBoxes, LogEhvi, logEhviFromMoments } from '../../src/samplers/gp/ehvi.js';
import { fitKernelParams, GPPosterior } from '../../src/samplers/gp/gaussian-process.js';
import { layoutFromTransform } from '../../src/samplers/gp/kernel.js';
import { SearchSpaceTransform } from '../../src/samplers/transform.js';

function randomFront(rng: Random, n: number): number[][] {
  const points = Array.from({ length: n }, () => [rng.next() * 4, rng.next() * 4]);
  return paretoFrontIndices(points).map((i) => points[i]);
}

/** Improvement of y from the boxes: sum of vol{z in box : y <= z}. */
function improvementFromBoxes(front: number[][], reference: [number, number], y: number[]): number {
  let total = 0;
  for (const b of improvementBoxes(front, reference)) {
    let volume = 1;
    for (let j = 0; j < 2; j++) volume *= Math.max(0, b.upper[j] - Math.max(b.lower[j], y[j]));
    total += volume;
  }
  return total;
}

describe('improvementBoxes', () => {
  it('gives the hypervolume improvement of any point, as computed directly', () => {
    const rng = new Random(3);
    const reference: [number, number] = [4.5, 4.5];
    for (let trial = 0; trial < 200; trial++) {
      const front = randomFront(rng, 1 + Math.floor(rng.next() * 8));
      const y = [rng.next() * 5 - 0.5, rng.next() * 5 - 0.5];
      const inside = y[0] < reference[0] && y[1] < reference[1];
      const direct = inside ? hypervolume([...front, y], reference) - hypervolume(front, reference) : 0;
      const viaBoxes = improvementFromBoxes(front, reference, y);
      assert.ok(
        Math.abs(direct - viaBoxes) < 1e-9,
        `front ${JSON.stringify(front)} y ${y}: ${viaBoxes} vs ${direct}`,
      );
    }
  });

  it('covers the whole region below the reference when the front is empty or outside it', () => {
    assert.deepEqual(improvementBoxes([], [1, 2]), [
      { lower: [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], upper: [1, 2] },
    ]);
    assert.equal(improvementBoxes([[3, 0]], [1, 2]).length, 1);
  });
});

describe('log EHVI', () => {
  it('matches a Monte Carlo estimate of the expected improvement', () => {
    const rng = new Random(5);
    const reference: [number, number] = [4.5, 4.5];
    for (let trial = 0; trial < 6; trial++) {
      const front = randomFront(rng, 5);
      const boxes = improvementBoxes(front, reference);
      const mu = [rng.next() * 4, rng.next() * 4];
      const sigma = [0.2 + rng.next(), 0.2 + rng.next()];
      let sum = 0;
      const samples = 200_000;
      for (let s = 0; s < samples; s++)
        sum += improvementFromBoxes(front, reference, [
          mu[0] + sigma[0] * rng.normal(),
          mu[1] + sigma[1] * rng.normal(),
        ]);
      const mc = sum / samples;
      const closed = Math.exp(logEhviFromMoments(boxes, mu, sigma).value);
      assert.ok(Math.abs(closed - mc) < 0.02 * mc + 1e-4, `mu ${mu} sigma ${sigma}: ${closed} vs MC ${mc}`);
    }
  });

  it('stays finite and ordered far from the front, where the improvement underflows', () => {
    const boxes = improvementBoxes([[0, 0]], [1, 1]);
    const far = logEhviFromMoments(boxes, [40, 40], [0.5, 0.5]).value;
    const farther = logEhviFromMoments(boxes, [60, 60], [0.5, 0.5]).value;
    assert.ok(Number.isFinite(far) && Number.isFinite(farther) && farther < far, `${far} ${farther}`);
  });

  it('has partial derivatives and an acquisition gradient that match finite differences', () => {
    const rng = new Random(7);
    const boxes = improvementBoxes(randomFront(rng, 4), [4.5, 4.5]);
    const mu = [1.3, 2.1];
    const sigma = [0.7, 0.4];
    const g = logEhviFromMoments(boxes, mu, sigma);
    const h = 1e-6;
    for (let j = 0; j < 2; j++) {
      const at = (dm: number, ds: number) =>
        logEhviFromMoments(
          boxes,
          mu.map((m, k) => (k === j ? m + dm : m)),
          sigma.map((s, k) => (k === j ? s + ds : s)),
        ).value;
      const fdMu = (at(h, 0) - at(-h, 0)) / (2 * h);
      const fdSigma = (at(0, h) - at(0, -h)) / (2 * h);
      assert.ok(
        Math.abs(fdMu - g.dMu[j]) < 1e-5 * Math.max(1, Math.abs(fdMu)),
        `dmu${j} ${g.dMu[j]} vs ${fdMu}`,
      );
      assert.ok(
        Math.abs(fdSigma - g.dSigma[j]) < 1e-5 * Math.max(1, Math.abs(fdSigma)),
        `dsigma${j} ${g.dSigma[j]} vs ${fdSigma}`,
      );
    }

    // Through two fitted GPs.
    const transform = new SearchSpaceTransform(
      { a: new FloatDistribution(0, 1), b: new FloatDistribution(0, 1) },
      { normalize: true },
    );
    const layout = layoutFromTransform(transform);
    const n = 15;
    const x = new Float64Array(n * 2);
    const y1 = new Float64Array(n);
    const y2 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const [a, b] = [rng.next(), rng.next()];
      x.set([a, b], 2 * i);
      y1[i] = a + 0.3 * Math.sin(5 * b);
      y2[i] = 1 - Math.sqrt(a) + 0.2 * b;
    }
    const gps = [y1, y2].map((y) => {
      const data = { layout, x, n, y };
      return new GPPosterior(data, fitKernelParams(data));
    }) as [GPPosterior, GPPosterior];
    const front = paretoFrontIndices(Array.from({ length: n }, (_, i) => [y1[i], y2[i]])).map((i) => [
      y1[i],
      y2[i],
    ]);
    const acq = new LogEhvi(gps, improvementBoxes(front, [Math.max(...y1) + 0.1, Math.max(...y2) + 0.1]));
    const point = Float64Array.from([0.23, 0.71]);
    const grad = new Float64Array(2);
    const value = acq.valueAndGradient(point, grad);
    assert.ok(Math.abs(value - acq.evaluate(point, 1)[0]) < 1e-10);
    for (let c = 0; c < 2; c++) {
      const plus = Float64Array.from(point);
      const minus = Float64Array.from(point);
      plus[c] += h;
      minus[c] -= h;
      const fd = (acq.evaluate(plus, 1)[0] - acq.evaluate(minus, 1)[0]) / (2 * h);
      assert.ok(
        Math.abs(fd - grad[c]) < 1e-4 * Math.max(1, Math.abs(fd)),
        `column ${c}: ${grad[c]} vs ${fd}`,
      );
    }
  });
});
