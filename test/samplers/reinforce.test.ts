/**
 * The REINFORCE controller learns: on a problem where one choice and one slice of a range are
 * better, the policy's probability of them rises and later trials pick them more often than a
 * uniform sampler would; the entropy bonus keeps a policy less peaked; over-budget (pruned without
 * value) trials push the policy away from what caused them; several objectives use the stated
 * Chebyshev scalarisation; study files name it `reinforce`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import { InvalidArgumentError, TrialPruned } from '../../src/core/errors.js';
import type { Trial } from '../../src/core/trial.js';
import { createSampler } from '../../src/run/registry.js';
import { actionCount, actionOfValue, ReinforceSampler } from '../../src/samplers/reinforce.js';
import { createStudy } from '../../src/study/create.js';

const OPS = new CategoricalDistribution(['conv', 'pool', 'skip', 'zero']);
const WIDTH = new IntDistribution(8, 256, { log: true });
const RATE = new FloatDistribution(0, 1);

function objective(trial: Trial): number {
  const op = trial.suggest('op', OPS);
  const width = trial.suggest('width', WIDTH) as number;
  const rate = trial.suggest('rate', RATE) as number;
  // Best: op "skip", width near 64, rate near 0.8 (to maximise).
  return (op === 'skip' ? 1 : 0) - Math.abs(Math.log2(width) - 6) / 4 - Math.abs(rate - 0.8);
}

describe('ReinforceSampler', () => {
  it('raises the probability of the better choices and samples them more often', async () => {
    const sampler = new ReinforceSampler({ seed: 1 });
    const study = await createStudy({ direction: 'maximize', sampler });
    await study.optimize(objective, { nTrials: 120 });
    const view = {
      studyName: study.studyName,
      directions: study.directions,
      systemAttrs: {},
      getTrials: () => study.trials,
    };
    assert.equal(sampler.updates(view), 30, '120 finished trials make 30 updates of 4');
    const ops = sampler.probabilities(view, 'op', OPS);
    assert.ok(ops[2] > 0.6, `p(skip) = ${ops[2].toFixed(3)} after 120 trials`);
    const width = sampler.probabilities(view, 'width', WIDTH);
    assert.equal(width.length, 8, 'the log range of ints is cut into 8 slices');
    const best = actionOfValue(WIDTH, 64, 8);
    assert.ok(
      width[best] === Math.max(...width) ||
        width[best - 1] === Math.max(...width) ||
        width[best + 1] === Math.max(...width),
      `the slice of 64 or a neighbour should be the likeliest: ${width.map((p) => p.toFixed(2)).join(' ')}`,
    );
    const late = study.trials.slice(80);
    const skips = late.filter((t) => t.params.op === 'skip').length;
    assert.ok(
      skips > late.length / 2,
      `only ${skips} of the last ${late.length} trials chose skip (uniform: a quarter)`,
    );
    const rates = late.map((t) => t.params.rate as number).filter((r) => r >= 0.625 && r < 0.875);
    assert.ok(rates.length > late.length / 4, `only ${rates.length} late rates in [0.625, 0.875)`);
  });

  it('keeps a flatter policy with a larger entropy bonus', async () => {
    const peak = async (entropyWeight: number) => {
      const sampler = new ReinforceSampler({ seed: 2, entropyWeight });
      const study = await createStudy({ direction: 'maximize', sampler });
      await study.optimize(objective, { nTrials: 80 });
      const view = {
        studyName: study.studyName,
        directions: study.directions,
        systemAttrs: {},
        getTrials: () => study.trials,
      };
      return Math.max(...sampler.probabilities(view, 'op', OPS));
    };
    const [plain, bonus] = [await peak(0), await peak(1)];
    assert.ok(
      bonus < plain,
      `max p(op) with entropy bonus ${bonus.toFixed(3)} not below ${plain.toFixed(3)}`,
    );
  });

  it('learns to avoid choices whose trials are pruned without a value (over budget)', async () => {
    const sampler = new ReinforceSampler({ seed: 3 });
    const study = await createStudy({ direction: 'maximize', sampler });
    await study.optimize(
      (trial) => {
        const op = trial.suggest('op', OPS);
        const rate = trial.suggest('rate', RATE) as number;
        if (op === 'conv') throw new TrialPruned('over budget before training');
        return rate;
      },
      { nTrials: 100 },
    );
    const late = study.trials.slice(60);
    const conv = late.filter((t) => t.params.op === 'conv').length;
    assert.ok(
      conv < late.length / 8,
      `${conv} of the last ${late.length} trials still chose the over-budget op`,
    );
  });

  it('runs two objectives with fixed weights toward the weighted corner', async () => {
    const sampler = new ReinforceSampler({ seed: 4, weights: [1, 0] });
    const study = await createStudy({ directions: ['minimize', 'minimize'], sampler });
    await study.optimize(
      (trial) => {
        const x = trial.suggest('x', RATE) as number;
        return [x, 1 - x];
      },
      { nTrials: 100 },
    );
    const late = study.trials.slice(60).map((t) => t.params.x as number);
    const low = late.filter((x) => x < 0.25).length;
    assert.ok(low > late.length / 2, `only ${low} of ${late.length} late x below 0.25 with weights [1, 0]`);
  });

  it('discretises parameters into actions and round-trips values', () => {
    assert.equal(actionCount(new IntDistribution(1, 5), 8), 5, 'a small int range: one action per value');
    assert.equal(actionCount(new IntDistribution(0, 100), 8), 8);
    assert.equal(actionOfValue(new IntDistribution(1, 5), 4, 8), 3);
    assert.equal(actionOfValue(RATE, 0.99, 8), 7);
    assert.equal(actionOfValue(RATE, 1, 8), 7, 'the top end belongs to the last slice');
  });

  it('rejects bad options and is named reinforce in study files', async () => {
    assert.throws(() => new ReinforceSampler({ bins: 1 }), InvalidArgumentError);
    assert.throws(() => new ReinforceSampler({ baselineDecay: 1 }), InvalidArgumentError);
    assert.throws(() => new ReinforceSampler({ weights: [-1, 1] }), InvalidArgumentError);
    const built = await createSampler({
      name: 'reinforce',
      options: { seed: 1, batchSize: 2, weights: [0.5, 0.5] },
    });
    assert.ok(built instanceof ReinforceSampler, 'the registry builds a ReinforceSampler');
    await assert.rejects(
      createSampler({ name: 'reinforce', options: { batchsize: 2 } }),
      /did you mean "batchSize"/,
    );
  });
});
