import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import {
  CategoricalDistribution,
  type Distribution,
  FloatDistribution,
} from '../../src/core/distributions.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import {
  cholesky,
  choleskyInverse,
  choleskyLogDet,
  choleskySolve,
  choleskyWithJitter,
  solveLowerRowsInPlace,
  solveUpperInPlace,
  transpose,
} from '../../src/core/linalg.js';
import { hypervolume } from '../../src/core/multi-objective.js';
import { Random } from '../../src/core/random.js';
import type { Sampler } from '../../src/core/sampler.js';
import type { Objective } from '../../src/core/study.js';
import { LogAcquisition, logExpectedImprovement } from '../../src/samplers/gp/acquisition.js';
import {
  fitKernelParams,
  GPPosterior,
  negativeLogPosterior,
} from '../../src/samplers/gp/gaussian-process.js';
import { GPSampler } from '../../src/samplers/gp/gp-sampler.js';
import { layoutFromTransform, pairwiseGroupDistances } from '../../src/samplers/gp/kernel.js';
import { minimizeBounded } from '../../src/samplers/gp/lbfgsb.js';
import { erfcx, logH, normalCdf, normalPdf, normalQuantile } from '../../src/samplers/gp/normal.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { SearchSpaceTransform } from '../../src/samplers/transform.js';
import { createStudy } from '../../src/study/create.js';

function randomSpd(rng: Random, n: number): Float64Array {
  // Matern-like Gram matrix of random points plus a small ridge: the GP's shape of problem.
  const pts = Array.from({ length: n }, () => [rng.next(), rng.next(), rng.next()]);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const d = Math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1], pts[i][2] - pts[j][2]);
      a[i * n + j] = Math.exp(-2 * d) + (i === j ? 1e-2 : 0);
    }
  return a;
}

function toMatrix(a: Float64Array, n: number): Matrix {
  return new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('linalg (flat Cholesky) against ml-matrix', () => {
  it('factorises, solves, inverts and takes log determinants of random SPD matrices', () => {
    const rng = new Random(11);
    for (const n of [1, 2, 7, 40, 41]) {
      const a = randomSpd(rng, n);
      const b = Float64Array.from({ length: n }, () => rng.normal());
      const l = cholesky(a, n);
      assert.ok(l);
      const reference = new CholeskyDecomposition(toMatrix(a, n));
      assert.ok(maxAbsDiff(l, reference.lowerTriangularMatrix.to1DArray()) < 1e-10);
      const x = choleskySolve(l, n, b);
      const xRef = reference.solve(Matrix.columnVector(Array.from(b))).to1DArray();
      assert.ok(maxAbsDiff(x, xRef) < 1e-8 * Math.max(1, ...xRef.map(Math.abs)));
      const inv = choleskyInverse(l, n);
      const product = toMatrix(a, n).mmul(toMatrix(inv, n)).to1DArray();
      assert.ok(maxAbsDiff(product, Matrix.eye(n).to1DArray()) < 1e-8);
      const det = reference.lowerTriangularMatrix
        .diag()
        .reduce((s: number, v: number) => s + 2 * Math.log(v), 0);
      assert.ok(Math.abs(choleskyLogDet(l, n) - det) < 1e-9);
      // Several right-hand sides at once (rows), including a count that is not a multiple of 4.
      const m = 7;
      const rows = Float64Array.from({ length: m * n }, () => rng.normal());
      const solved = solveLowerRowsInPlace(l, n, Float64Array.from(rows), m);
      const lRef = reference.lowerTriangularMatrix;
      for (let r = 0; r < m; r++) {
        const back = lRef
          .mmul(Matrix.columnVector(Array.from(solved.subarray(r * n, (r + 1) * n))))
          .to1DArray();
        assert.ok(maxAbsDiff(back, rows.subarray(r * n, (r + 1) * n)) < 1e-9);
      }
      const u = solveUpperInPlace(transpose(l, n), n, Float64Array.from(b));
      const uBack = lRef
        .transpose()
        .mmul(Matrix.columnVector(Array.from(u)))
        .to1DArray();
      assert.ok(maxAbsDiff(uBack, b) < 1e-9);
    }
  });

  it('reports a matrix that is not positive definite, and adds just enough jitter to a singular one', () => {
    assert.equal(cholesky(Float64Array.from([1, 2, 2, 1]), 2), null);
    // Two identical rows: singular, factorised once a tiny multiple of the identity is added.
    const { l, jitter } = choleskyWithJitter(Float64Array.from([1, 1, 1, 1]), 2);
    assert.ok(jitter > 0 && jitter < 1e-6);
    assert.ok(l.every(Number.isFinite));
  });
});

describe('bounded quasi-Newton', () => {
  it('finds the Rosenbrock minimum and an optimum on a bound', () => {
    const rosen = (x: Float64Array, g: Float64Array) => {
      g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2);
      g[1] = 200 * (x[1] - x[0] ** 2);
      return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2;
    };
    const free = minimizeBounded(rosen, [-1.2, 1], [-5, -5], [5, 5], {
      maxIterations: 500,
      gradientTolerance: 1e-8,
    });
    assert.ok(Math.abs(free.x[0] - 1) < 1e-4 && Math.abs(free.x[1] - 1) < 1e-4, `${free.x}`);
    // With x0 <= 0.5 the constrained optimum sits on that bound.
    const bounded = minimizeBounded(rosen, [-1.2, 1], [-5, -5], [0.5, 5], { maxIterations: 500 });
    assert.ok(Math.abs(bounded.x[0] - 0.5) < 1e-9);
    assert.ok(Math.abs(bounded.x[1] - 0.25) < 1e-3, `${bounded.x}`);
  });
});

describe('normal functions and log EI', () => {
  it('matches reference values of erfcx, Phi and the quantile', () => {
    // Reference values from SciPy (erfcx, norm.cdf, norm.ppf).
    assert.ok(Math.abs(erfcx(1) - 0.42758357615580705) < 1e-15);
    assert.ok(Math.abs(erfcx(3) / 0.17900115118138996 - 1) < 1e-13);
    assert.ok(Math.abs(erfcx(30) / 0.018795888861416751 - 1) < 1e-13);
    assert.ok(Math.abs(normalCdf(-8) / 6.22096057427178e-16 - 1) < 1e-12);
    assert.ok(Math.abs(normalQuantile(1e-6) + 4.753424308822899) < 1e-10);
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-12);
  });

  it('equals log of EI computed directly where EI is not tiny, and stays finite where it underflows', () => {
    for (const [mean, variance, best] of [
      [0, 1, 0],
      [0.3, 0.04, 0.1],
      [-1, 2, 0.5],
      [2, 0.25, 1],
    ]) {
      const sigma = Math.sqrt(variance);
      const z = (best - mean) / sigma;
      const direct = sigma * (z * normalCdf(z) + normalPdf(z));
      const got = logExpectedImprovement(mean, variance, best);
      assert.ok(Math.abs(got - Math.log(direct)) < 1e-10, `${got} vs ${Math.log(direct)}`);
    }
    // z = -40: phi(z) + z Phi(z) underflows to 0 in double precision, log EI does not.
    const z = -40;
    assert.equal(normalPdf(z) + z * normalCdf(z), 0);
    const tiny = logExpectedImprovement(40, 1, 0);
    assert.ok(Number.isFinite(tiny));
    // Asymptotically log h(z) ~ -z^2/2 - log sqrt(2 pi) - 2 log|z|.
    assert.ok(Math.abs(tiny - (-800 - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(40))) < 1e-2);
    // Monotone across the branch points of the stable formula.
    let previous = Number.NEGATIVE_INFINITY;
    for (let zz = -1e9; zz < 5; zz = zz < -100 ? zz / 3 : zz + 0.01) {
      const v = logH(zz);
      assert.ok(Number.isFinite(v) && v >= previous, `log h not increasing at ${zz}`);
      previous = v;
    }
  });
});

/** A small mixed data set: two numeric parameters and one categorical. */
function mixedData(n: number, seed: number) {
  const space: Record<string, Distribution> = {
    a: new FloatDistribution(0, 1),
    b: new FloatDistribution(1e-3, 1, { log: true }),
    c: new CategoricalDistribution(['x', 'y', 'z']),
  };
  const transform = new SearchSpaceTransform(space, { normalize: true });
  const layout = layoutFromTransform(transform);
  const rng = new Random(seed);
  const x = new Float64Array(n * transform.dim);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const params = {
      a: rng.next(),
      b: Math.exp(Math.log(1e-3) * rng.next()),
      c: rng.choice(['x', 'y', 'z']),
    };
    x.set(transform.encode(params), i * transform.dim);
    y[i] =
      Math.sin(6 * params.a) + Math.log(params.b) / 7 + (params.c === 'y' ? 0.5 : 0) + 0.05 * rng.normal();
  }
  return { transform, layout, data: { layout, x, n, y } };
}

describe('Gaussian process', () => {
  it('has a log-posterior gradient that matches finite differences', () => {
    const { layout, data } = mixedData(25, 4);
    const distances = pairwiseGroupDistances(layout, data.x, data.n);
    for (const deterministic of [false, true]) {
      const dim = layout.groups + (deterministic ? 1 : 2);
      const raw = Float64Array.from(
        { length: dim },
        (_, i) => 0.3 * Math.sin(i + 1) - (i === dim - 1 ? 3 : 0),
      );
      const grad = new Float64Array(dim);
      negativeLogPosterior(data, distances, raw, grad, deterministic);
      const scratch = new Float64Array(dim);
      for (let i = 0; i < dim; i++) {
        const h = 1e-5;
        const plus = Float64Array.from(raw);
        const minus = Float64Array.from(raw);
        plus[i] += h;
        minus[i] -= h;
        const fd =
          (negativeLogPosterior(data, distances, plus, scratch, deterministic) -
            negativeLogPosterior(data, distances, minus, scratch, deterministic)) /
          (2 * h);
        assert.ok(
          Math.abs(fd - grad[i]) < 1e-5 * Math.max(1, Math.abs(fd)),
          `param ${i}: ${grad[i]} vs ${fd}`,
        );
      }
    }
  });

  it('fits data better than the default hyperparameters and predicts the training points', () => {
    const { layout, data } = mixedData(30, 5);
    const params = fitKernelParams(data);
    const distances = pairwiseGroupDistances(layout, data.x, data.n);
    const g = new Float64Array(layout.groups + 2);
    const fitted = negativeLogPosterior(
      data,
      distances,
      Float64Array.from(
        [...params.inverseSquaredLengthscales]
          .map(Math.log)
          .concat([Math.log(params.kernelScale), Math.log(params.noiseVar - 1e-6)]),
      ),
      g,
      false,
    );
    const initial = negativeLogPosterior(
      data,
      distances,
      Float64Array.from([0, 0, 0, 0, Math.log(1e-2)]),
      g,
      false,
    );
    assert.ok(fitted < initial);
    const gp = new GPPosterior(data, params);
    const { mean } = gp.predict(data.x, data.n);
    let err = 0;
    for (let i = 0; i < data.n; i++) err += (mean[i] - data.y[i]) ** 2;
    assert.ok(err / data.n < 0.05, `training mse ${err / data.n}`);
  });

  it('has acquisition gradients (log EI and log P(feasible)) that match finite differences', () => {
    const { layout, data } = mixedData(20, 6);
    const gp = new GPPosterior(data, fitKernelParams(data));
    const constraint = new GPPosterior(
      { ...data, y: Float64Array.from(data.y, (v, i) => v * 0.5 + data.x[i * layout.dim]) },
      fitKernelParams(data),
    );
    const acq = new LogAcquisition(gp, Math.min(...data.y) - 0.5, [{ gp: constraint, threshold: -0.3 }]);
    const x = Float64Array.from([0.37, 0.61, 0, 1, 0]);
    const grad = new Float64Array(layout.dim);
    const value = acq.valueAndGradient(x, grad);
    assert.ok(Math.abs(value - acq.evaluate(x, 1)[0]) < 1e-10);
    for (const c of [0, 1]) {
      const h = 1e-6;
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
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

const branin: Objective = (t) => {
  const x = t.suggestFloat('x', -5, 10);
  const y = t.suggestFloat('y', 0, 15);
  const b = 5.1 / (4 * Math.PI ** 2);
  return (y - b * x * x + (5 / Math.PI) * x - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x) + 10;
};

const sphere5: Objective = (t) => {
  let s = 0;
  for (let i = 0; i < 5; i++) s += (t.suggestFloat(`x${i}`, -5, 5) - 1) ** 2;
  return s;
};

async function bestOf(sampler: Sampler, objective: Objective, nTrials: number): Promise<number> {
  const study = await createStudy({ sampler });
  await study.optimize(objective, { nTrials });
  return study.bestValue;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('GPSampler', () => {
  it('rejects bad options', () => {
    assert.throws(() => new GPSampler({ nStartupTrials: -1 }), InvalidArgumentError);
    assert.throws(() => new GPSampler({ nCandidates: 0 }), InvalidArgumentError);
  });

  it('keeps every parameter in its domain: log, int, step and categorical', async () => {
    const study = await createStudy({ sampler: new GPSampler({ seed: 3, nStartupTrials: 4 }) });
    await study.optimize(
      (t) => {
        const lr = t.suggestFloat('lr', 1e-5, 1e-1, { log: true });
        const units = t.suggestInt('units', 8, 256, { log: true });
        const depth = t.suggestInt('depth', 1, 6);
        const drop = t.suggestFloat('drop', 0, 0.5, { step: 0.1 });
        const batch = t.suggestInt('batch', 16, 128, { step: 16 });
        const act = t.suggestCategorical('act', ['relu', 'tanh', 'gelu']);
        return (
          (Math.log10(lr) + 3) ** 2 +
          (Math.log2(units) - 6) ** 2 +
          (depth - 3) ** 2 +
          (drop - 0.2) ** 2 +
          (batch - 64) ** 2 / 1000 +
          (act === 'gelu' ? 0 : 1)
        );
      },
      { nTrials: 16 },
    );
    const gpTrials = study.trials.slice(4);
    for (const t of study.trials) {
      for (const [name, value] of Object.entries(t.params)) {
        const d = t.distributions[name];
        assert.ok(
          d.contains(d.toInternal(value)),
          `${name}=${value} outside ${JSON.stringify(d.getConfig())}`,
        );
      }
    }
    assert.ok(gpTrials.every((t) => t.state === 'COMPLETE'));
    assert.ok(study.bestValue < Math.min(...study.trials.slice(0, 4).map((t) => t.values![0])));
  });

  it('is reproducible with a seed, also with concurrent trials', async () => {
    const run = async (concurrency: number) => {
      const study = await createStudy({ sampler: new GPSampler({ seed: 9, nStartupTrials: 3 }) });
      await study.optimize(
        async (t) => {
          const x = t.suggestFloat('x', -2, 2);
          const k = t.suggestInt('k', 0, 4);
          await new Promise((r) => setTimeout(r, (t.number * 7) % 5));
          return (x - 0.5) ** 2 + (k - 2) ** 2;
        },
        { nTrials: 9, concurrency },
      );
      return study.trials.map((t) => t.params);
    };
    assert.deepEqual(await run(1), await run(1));
    const concurrent = await run(3);
    assert.deepEqual(concurrent, await run(3));
    // Concurrent trials do not pile onto one point: the believer makes each running trial count.
    const keys = new Set(concurrent.slice(3).map((p) => JSON.stringify(p)));
    assert.equal(keys.size, concurrent.length - 3);
  });

  it('beats random search on Branin (2-D) and a 5-D sphere at 40 trials (median of 3 seeds)', async () => {
    for (const [objective, optimum] of [
      [branin, 0.397887],
      [sphere5, 0],
    ] as const) {
      const gp: number[] = [];
      const random: number[] = [];
      for (const seed of [1, 2, 3]) {
        gp.push(await bestOf(new GPSampler({ seed }), objective, 40));
        random.push(await bestOf(new RandomSampler({ seed }), objective, 40));
      }
      const gap = median(gp) - optimum;
      assert.ok(gap < 0.25 * (median(random) - optimum), `GP ${gp} vs random ${random}`);
    }
  });

  it('maximises when asked', async () => {
    const study = await createStudy({ direction: 'maximize', sampler: new GPSampler({ seed: 2 }) });
    await study.optimize((t) => -((t.suggestFloat('x', -3, 3) - 1) ** 2), { nTrials: 20 });
    assert.ok(study.bestValue > -0.01, `best ${study.bestValue}`);
  });

  it('keeps the best trial feasible under constraints and searches the feasible boundary', async () => {
    // Minimise -(x + y) subject to x^2 + y^2 <= 1: the optimum is on the circle at x = y = 1/sqrt(2).
    const study = await createStudy({
      sampler: new GPSampler({ seed: 4 }),
      constraints: (t) => [(t.params.x as number) ** 2 + (t.params.y as number) ** 2 - 1],
    });
    await study.optimize((t) => -(t.suggestFloat('x', -2, 2) + t.suggestFloat('y', -2, 2)), { nTrials: 35 });
    const best = study.bestTrial;
    assert.ok((best.params.x as number) ** 2 + (best.params.y as number) ** 2 <= 1);
    assert.ok(study.bestValue < -1.35, `best ${study.bestValue}`);
    // Later trials search along the boundary instead of the unconstrained optimum at (2, 2).
    const later = study.trials.slice(20);
    const nearFeasible = later.filter((t) => (t.systemAttrs.constraints as number[])[0] <= 0.05).length;
    assert.ok(nearFeasible >= later.length * 0.8, `${nearFeasible} of ${later.length} near-feasible`);
  });

  it('spreads multi-objective samples along the Pareto front (EHVI and ParEGO) better than random', async () => {
    const objective: Objective = (t) => {
      const x = t.suggestFloat('x', 0, 1);
      const y = t.suggestFloat('y', 0, 1);
      return [x * x + y * y, (x - 1) ** 2 + y * y];
    };
    const hv = async (sampler: Sampler) => {
      const study = await createStudy({ directions: ['minimize', 'minimize'], sampler });
      await study.optimize(objective, { nTrials: 30 });
      return hypervolume(
        study.bestTrials.map((t) => [...t.values!]),
        [2, 2],
      );
    };
    const random = median([
      await hv(new RandomSampler({ seed: 1 })),
      await hv(new RandomSampler({ seed: 2 })),
    ]);
    for (const multiObjective of ['ehvi', 'parego'] as const) {
      const gp = median([
        await hv(new GPSampler({ seed: 1, multiObjective })),
        await hv(new GPSampler({ seed: 2, multiObjective })),
      ]);
      assert.ok(gp > random, `GP (${multiObjective}) ${gp} vs random ${random}`);
    }
  });

  it('log EHVI proposes points near the Pareto front after the startup trials, reproducibly', async () => {
    const objective: Objective = (t) => {
      const x = t.suggestFloat('x', 0, 1);
      const y = t.suggestFloat('y', 0, 1);
      return [x + 0.5 * y, 1 - Math.sqrt(x) + 0.5 * y];
    };
    const run = async () => {
      const study = await createStudy({
        directions: ['minimize', 'minimize'],
        sampler: new GPSampler({ seed: 3, multiObjective: 'ehvi' }),
      });
      await study.optimize(objective, { nTrials: 25 });
      return study.trials.map((t) => ({ values: [...t.values!], y: t.params.y as number }));
    };
    const trials = await run();
    assert.deepEqual(await run(), trials);
    // y only worsens both objectives, so the front is y = 0; after the 10 random startup trials
    // most proposals should sit near it.
    const later = trials.slice(10);
    const nearFront = later.filter((t) => t.y < 0.15).length;
    assert.ok(nearFront >= later.length * 0.6, `${nearFront} of ${later.length} near the front`);
  });
});
