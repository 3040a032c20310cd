import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import { Random } from '../../src/core/random.js';
import { hypervolumeContributionWeights, selectBelowMultiObjective } from '../../src/samplers/tpe/mo-tpe.js';
import {
  argsort,
  fromModel,
  modelDimension,
  ParzenEstimator,
  type ParzenEstimatorOptions,
  toModel,
} from '../../src/samplers/tpe/parzen-estimator.js';
import {
  erfc,
  logNdtr,
  logNdtrDiff,
  logTruncatedMass,
  ndtr,
  ndtri,
  sampleStandardTruncNorm,
} from '../../src/samplers/tpe/truncnorm.js';

const UNIVARIATE: ParzenEstimatorOptions = {
  considerPrior: true,
  priorWeight: 1,
  considerMagicClip: true,
  considerEndpoints: false,
  multivariate: false,
};

function close(actual: number, expected: number, tolerance: number, what = ''): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what} ${actual} vs ${expected}`,
  );
}

describe('truncated normal helpers', () => {
  it('match reference values of erfc, the normal CDF and its log', () => {
    // Reference values from mpmath at 50 digits.
    close(erfc(0.5), 0.4795001221869535, 1e-15, 'erfc(0.5)');
    close(erfc(3), 2.209049699858544e-5, 1e-14, 'erfc(3)');
    close(erfc(10) / 2.088487583762545e-45, 1, 1e-13, 'erfc(10)');
    close(erfc(-1), 1.842700792949715, 1e-15, 'erfc(-1)');
    close(ndtr(-2), 0.02275013194817921, 1e-14, 'ndtr(-2)');
    close(logNdtr(-30), -454.3212439563432, 1e-14, 'logNdtr(-30)');
    close(logNdtr(5), -2.866516129637636e-7, 1e-12, 'logNdtr(5)');
    close(logNdtrDiff(-3, -2), -3.844353426334206, 1e-14, 'logNdtrDiff(-3,-2)');
    close(logNdtrDiff(39, 40), logNdtrDiff(-40, -39), 1e-14, 'symmetric tails');
    close(logNdtrDiff(-1, 2), -0.2001662943244626, 1e-14, 'logNdtrDiff(-1,2)');
  });

  it('tabulates kernel truncation masses to 1e-10 of the exact value', () => {
    const rng = new Random(4);
    for (let i = 0; i < 5000; i++) {
      const a = -12 * rng.next();
      const b = 12 * rng.next();
      close(logTruncatedMass(a, b), logNdtrDiff(a, b), 1e-10, `[${a}, ${b}]`);
    }
    assert.equal(logTruncatedMass(2, 3), logNdtrDiff(2, 3));
  });

  it('inverts the normal CDF to machine precision', () => {
    for (const p of [1e-300, 1e-20, 0.001, 0.02425, 0.3, 0.5, 0.9, 0.999999])
      close(ndtr(ndtri(p)) / p, 1, 1e-12);
    close(ndtri(0.975), 1.959963984540054, 1e-15);
  });

  it('samples truncated normals inside the interval with the right mean', () => {
    const rng = new Random(1);
    for (const [a, b] of [
      [-1, 2],
      [0.5, 3],
      [-8, -6],
      [-0.1, 0.1],
      [5, 40],
    ]) {
      let sum = 0;
      const n = 20000;
      for (let i = 0; i < n; i++) {
        const x = sampleStandardTruncNorm(rng, a, b);
        assert.ok(x >= a && x <= b, `${x} outside [${a}, ${b}]`);
        sum += x;
      }
      // Mean of the truncated standard normal: (phi(a) - phi(b)) / (Phi(b) - Phi(a)).
      const phi = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
      const mean = (phi(a) - phi(b)) / Math.exp(logNdtrDiff(a, b));
      close(sum / n, mean, 0.02, `mean on [${a}, ${b}]`);
    }
  });
});

describe('ParzenEstimator', () => {
  const rng = new Random(7);
  const observations = Float64Array.from({ length: 300 }, (_, i) =>
    i % 3 === 0 ? rng.uniform(-5, 5) : Math.min(5, Math.max(-5, 1 + 0.3 * rng.normal())),
  );
  const weights = Float64Array.from({ length: 300 }, () => 0.2 + rng.next());

  for (const multivariate of [false, true]) {
    it(`is a density on the search range (${multivariate ? 'multivariate' : 'univariate'} bandwidths)`, () => {
      const dim = modelDimension(new FloatDistribution(-5, 5));
      const pe = new ParzenEstimator([dim], [observations], weights, { ...UNIVARIATE, multivariate });
      const m = 40000;
      const grid = Float64Array.from({ length: m }, (_, i) => -5 + ((i + 0.5) * 10) / m);
      const logp = pe.logPdf([grid]);
      let integral = 0;
      for (let i = 0; i < m; i++) integral += (Math.exp(logp[i]) * 10) / m;
      close(integral, 1, 1e-4, 'integral');
      // The fast univariate path agrees with a direct sum over all kernels.
      const direct = directLogPdf(pe, grid.subarray(0, 400));
      for (let i = 0; i < 400; i++) close(logp[i], direct[i], 1e-12, `x=${grid[i]}`);
    });
  }

  it('puts probability mass on grid points for int and stepped parameters', () => {
    for (const dist of [new IntDistribution(0, 9), new FloatDistribution(0, 1, { step: 0.25 })]) {
      const dim = modelDimension(dist);
      const obs = Float64Array.from([
        toModel(dist, dist.low),
        toModel(dist, dist.high),
        toModel(dist, dist.low),
      ]);
      const pe = new ParzenEstimator([dim], [obs], [1, 1, 1], UNIVARIATE);
      const points: number[] = [];
      for (let v = dist.low; v <= dist.high + 1e-9; v += dist.type === 'int' ? 1 : 0.25) points.push(v);
      const mass = pe.logPdf([Float64Array.from(points)]).reduce((s, l) => s + Math.exp(l), 0);
      close(mass, 1, 1e-12, `${dist.type} mass`);
      const samples = pe.sample(new Random(3), 200)[0];
      for (const s of samples) {
        const v = fromModel(dist, s);
        assert.ok(dist.contains(v), `${v} not in ${JSON.stringify(dist.getConfig())}`);
      }
    }
  });

  it('keeps log-scale samples in bounds and categorical probabilities summing to one', () => {
    const logDist = new FloatDistribution(1e-4, 1, { log: true });
    const cat = new CategoricalDistribution(['a', 'b', 'c']);
    const dims = [modelDimension(logDist), modelDimension(cat)];
    const obs = [Float64Array.from([Math.log(1e-3), Math.log(0.5)]), Float64Array.from([0, 2])];
    const pe = new ParzenEstimator(dims, obs, [1, 1], { ...UNIVARIATE, multivariate: true });
    const samples = pe.sample(new Random(5), 500);
    for (const x of samples[0]) {
      const v = fromModel(logDist, x);
      assert.ok(v >= 1e-4 && v <= 1, `${v}`);
    }
    assert.ok(samples[1].every((c) => c === 0 || c === 1 || c === 2));
    const catOnly = new ParzenEstimator(
      [modelDimension(cat)],
      [Float64Array.from([0, 0, 2])],
      [1, 1, 1],
      UNIVARIATE,
    );
    const probs = catOnly.logPdf([Float64Array.from([0, 1, 2])]).map(Math.exp);
    close(probs[0] + probs[1] + probs[2], 1, 1e-12);
    assert.ok(probs[0] > probs[2] && probs[2] > probs[1]);
  });

  it('evaluates mixed joint densities like a direct sum over kernels', () => {
    const dists = [
      new FloatDistribution(-5, 5),
      new IntDistribution(0, 20, { step: 2 }),
      new CategoricalDistribution(['a', 'b', 'c']),
      new FloatDistribution(1e-3, 10, { log: true }),
    ];
    const dims = dists.map(modelDimension);
    const n = 150;
    const obs = [
      Float64Array.from({ length: n }, () => Math.min(5, Math.max(-5, rng.normal()))),
      Float64Array.from({ length: n }, () => 2 * rng.int(0, 10)),
      Float64Array.from({ length: n }, () => rng.int(0, 2)),
      Float64Array.from({ length: n }, () => Math.log(10 ** rng.uniform(-3, 1))),
    ];
    for (const bandwidth of ['optuna', 'scott'] as const) {
      const pe = new ParzenEstimator(dims, obs, weights.subarray(0, n), {
        ...UNIVARIATE,
        multivariate: true,
        bandwidth,
        minBandwidthFactor: bandwidth === 'scott' ? 0.03 : undefined,
      });
      const points = pe.sample(new Random(11), 50);
      const fast = pe.logPdf(points);
      const inner = pe as unknown as {
        mus: Float64Array[];
        invSigmas: Float64Array[];
        logNorms: Float64Array[];
        logWeights: Float64Array;
        catObs: Int32Array[];
        catLogHit: Float64Array[];
        catLogMiss: Float64Array[];
      };
      for (let i = 0; i < 50; i++) {
        let sum = 0;
        for (let k = 0; k < pe.nKernels; k++) {
          let v = inner.logWeights[k];
          dims.forEach((dim, j) => {
            const x = points[j][i];
            if (dim.categorical)
              v += inner.catObs[j][k] === x ? inner.catLogHit[j][k] : inner.catLogMiss[j][k];
            else if (dim.step === 0)
              v += inner.logNorms[j][k] - 0.5 * ((x - inner.mus[j][k]) * inner.invSigmas[j][k]) ** 2;
            else {
              const lo = (Math.max(x - dim.step / 2, dim.low) - inner.mus[j][k]) * inner.invSigmas[j][k];
              const hi = (Math.min(x + dim.step / 2, dim.high) - inner.mus[j][k]) * inner.invSigmas[j][k];
              v += inner.logNorms[j][k] + logNdtrDiff(lo, hi);
            }
          });
          sum += Math.exp(v);
        }
        close(fast[i], Math.log(sum), 1e-12, `${bandwidth} point ${i}`);
      }
    }
  });

  it('sorts keys stably with argsort', () => {
    const keys = [3, 1, 2, 1, 0, 3, 2];
    assert.deepEqual([...argsort(keys)], [4, 1, 3, 2, 6, 0, 5]);
    const big = Float64Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    const order = argsort(big);
    for (let i = 1; i < order.length; i++) assert.ok(big[order[i - 1]] <= big[order[i]]);
  });
});

describe('MOTPE helpers', () => {
  it('fills the good group front by front, cutting the last front by hypervolume', () => {
    const points = [
      [1, 5], // front 0
      [5, 1], // front 0
      [3, 3], // front 0
      [2, 6], // front 1
      [6, 2], // front 1
      [4, 4.5], // front 1
      [7, 7], // front 2
    ];
    assert.deepEqual(selectBelowMultiObjective(points, 3), [0, 1, 2]);
    const four = selectBelowMultiObjective(points, 4);
    assert.deepEqual(four.slice(0, 3), [0, 1, 2]);
    assert.equal(four.length, 4);
    assert.ok([3, 4, 5].includes(four[3]));
    assert.deepEqual(selectBelowMultiObjective(points, 10), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('weights good points by their hypervolume contribution', () => {
    const w = hypervolumeContributionWeights([
      [0, 10],
      [10, 0],
      [5, 5],
      [6, 6], // dominated: contributes nothing
    ]);
    assert.equal(Math.max(...w), 1);
    assert.ok(w[3] < 1e-9);
    assert.ok(w[0] > 0 && w[1] > 0 && w[2] > 0);
  });
});

function directLogPdf(pe: ParzenEstimator, xs: Float64Array): Float64Array {
  const inner = pe as unknown as {
    mus: Float64Array[];
    invSigmas: Float64Array[];
    logNorms: Float64Array[];
    logWeights: Float64Array;
  };
  return xs.map((x) => {
    let sum = 0;
    for (let k = 0; k < pe.nKernels; k++) {
      const z = (x - inner.mus[0][k]) * inner.invSigmas[0][k];
      sum += Math.exp(inner.logWeights[k] + inner.logNorms[0][k] - 0.5 * z * z);
    }
    return Math.log(sum);
  });
}
