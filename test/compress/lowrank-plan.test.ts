import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLowRankOptions, planLowRank } from '../../src/compress/lowrank/plan.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { sequential } from '../../src/models/spec/builder.js';
import { lenet300100 } from '../../src/models/zoo/lenet.js';
import { randoms } from '../helpers/random.js';

describe('planLowRank', () => {
  const spec = lenet300100();
  const [first, second, last] = spec.layers.slice(1).map((l) => l.name);
  // A 784x300 kernel of rank 10 plus small noise: 0.9 of the energy needs at most 10.
  const lowRank = new Float32Array(784 * 300);
  const a = randoms(784 * 10, 1);
  const b = randoms(10 * 300, 2);
  for (let i = 0; i < 784; i++)
    for (let k = 0; k < 10; k++)
      for (let j = 0; j < 300; j++) lowRank[i * 300 + j] += a[i * 10 + k] * b[k * 300 + j];
  const noise = randoms(784 * 300, 3, -0.01, 0.01);
  for (let i = 0; i < lowRank.length; i++) lowRank[i] += noise[i];
  const kernels = new Map([
    [first, lowRank],
    [second, randoms(300 * 100, 4)],
    [last, randoms(100 * 10, 5)],
  ]);

  it('energy: a rank-10 kernel needs at most rank 10; the last layer is left alone by default', () => {
    const plan = planLowRank(spec, kernels, { energy: 0.9, layers: [first] });
    assert.equal(plan.length, 1);
    const rank = plan[0].factorisation?.kind === 'svd' ? plan[0].factorisation.rank : 0;
    assert.ok(rank >= 1 && rank <= 10, `rank ${rank}`);
    assert.ok((plan[0].keptEnergy ?? 0) >= 0.9, 'keeps the energy asked for');
    assert.deepEqual(
      planLowRank(spec, kernels, { energy: 0.5 }).map((p) => p.layer.name),
      [first, second],
    );
  });

  it('paramRatio 0.25 gives the largest rank with at most a quarter of the weights', () => {
    const [plan] = planLowRank(spec, kernels, { paramRatio: 0.25, layers: [first] });
    assert.deepEqual(plan.factorisation, { kind: 'svd', rank: Math.floor((0.25 * 784 * 300) / 1084) });
    assert.ok(plan.weightsAfter * 4 <= plan.weightsBefore, 'at least 4x fewer weights');
  });

  it('skips a layer whose factors would not be smaller, and says why', () => {
    const [plan] = planLowRank(spec, kernels, { energy: 1, layers: [second] });
    assert.equal(plan.factorisation, undefined);
    assert.match(plan.skipped ?? '', /not fewer than the layer's 30000/);
  });

  it('rejects bad options from the spec alone, naming the field and the layer', () => {
    assert.throws(
      () => checkLowRankOptions(spec, { rank: 301, layers: [first] }),
      (e: Error) =>
        e instanceof InvalidArgumentError &&
        /^field "rank": rank 301 is larger than layer "dense_1"/.test(e.message),
    );
    assert.throws(
      () => checkLowRankOptions(spec, { energy: 0.9, perLayer: { [second]: { rank: 500 } } }),
      /field "perLayer\.dense_2\.rank": rank 500 is larger/,
    );
    assert.throws(() => checkLowRankOptions(spec, { energy: 1.2 }), /energy must be in \(0, 1\]/);
    assert.throws(() => checkLowRankOptions(spec, {}), /needs one of rank/);
    assert.throws(() => checkLowRankOptions(spec, { rank: 2, energy: 0.5 }), /takes one of/);
    assert.throws(
      () => checkLowRankOptions(spec, { rank: 2, layers: ['flatten_1'] }),
      /cannot be factorised/,
    );
    assert.throws(() => checkLowRankOptions(spec, { rank: 2, layers: ['nope'] }), /no layer "nope"/);
  });

  it('Tucker-2 by budget and by energy on a convolution', () => {
    const cnn = sequential([12, 12, 8], { name: 'c' })
      .add('conv2d', { name: 'conv', filters: 16, kernelSize: 3 })
      .add('flatten', { name: 'flat' })
      .add('dense', { name: 'out', units: 3 })
      .build();
    const k = new Map([['conv', randoms(3 * 3 * 8 * 16, 8)]]);
    const [budget] = planLowRank(cnn, k, { paramRatio: 0.3, convolution: 'tucker2' });
    assert.equal(budget.factorisation?.kind, 'tucker2');
    assert.ok(budget.weightsAfter <= 0.3 * budget.weightsBefore, `${budget.weightsAfter} within the budget`);
    const [energy] = planLowRank(cnn, k, { energy: 0.5, convolution: 'tucker2' });
    assert.equal(energy.factorisation?.kind, 'tucker2');
    assert.throws(
      () => checkLowRankOptions(cnn, { ranks: [9, 4] }),
      /field "ranks": input rank 9 of layer "conv"/,
    );
  });
});
