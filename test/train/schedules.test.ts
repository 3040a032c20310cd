import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlateauReducer, scheduledLearningRate, warmupFactor } from '../../src/train/schedules.js';

const at = (epoch: number, stepsPerEpoch = 10) => ({
  step: Math.round(epoch * stepsPerEpoch),
  stepsPerEpoch,
});
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

describe('learning-rate schedules', () => {
  it('step decay multiplies by gamma every stepSize epochs', () => {
    const s = { type: 'step', stepSize: 3, gamma: 0.5 } as const;
    assert.deepEqual(
      [0, 2.9, 3, 5.5, 6].map((e) => scheduledLearningRate(0.1, s, at(e))),
      [0.1, 0.1, 0.05, 0.05, 0.025],
    );
  });

  it('exponential decays per epoch, or smoothly per step', () => {
    close(scheduledLearningRate(1, { type: 'exponential', gamma: 0.9 }, at(2.5)), 0.81);
    close(scheduledLearningRate(1, { type: 'exponential', gamma: 0.9, perStep: true }, at(2.5)), 0.9 ** 2.5);
  });

  it('cosine annealing goes from lr to minLr over the period and stays there', () => {
    const s = { type: 'cosine', period: 10, minLr: 0.01 } as const;
    close(scheduledLearningRate(0.11, s, at(0)), 0.11);
    close(scheduledLearningRate(0.11, s, at(5)), 0.06);
    close(scheduledLearningRate(0.11, s, at(10)), 0.01);
    close(scheduledLearningRate(0.11, s, at(15)), 0.01);
  });

  it('warm restarts (SGDR): periods 2, 4, 8 with restartMultiplier 2', () => {
    const s = { type: 'cosine', period: 2, restartMultiplier: 2 } as const;
    close(scheduledLearningRate(1, s, at(0)), 1);
    close(scheduledLearningRate(1, s, at(1)), 0.5);
    close(scheduledLearningRate(1, s, at(2)), 1); // restart
    close(scheduledLearningRate(1, s, at(4)), 0.5); // middle of the 4-epoch period
    close(scheduledLearningRate(1, s, at(6)), 1); // next restart
  });

  it('one-cycle rises from lr/25 to lr at pctStart, then falls to lr/25/1e4', () => {
    const s = { type: 'oneCycle', totalEpochs: 10, pctStart: 0.3 } as const;
    close(scheduledLearningRate(1, s, at(0)), 1 / 25);
    close(scheduledLearningRate(1, s, at(3)), 1);
    close(scheduledLearningRate(1, s, at(10)), 1 / 25 / 1e4);
    assert.ok(scheduledLearningRate(1, s, at(1.5)) > 1 / 25 && scheduledLearningRate(1, s, at(1.5)) < 1);
  });

  it('linear warm-up scales the first epochs', () => {
    close(warmupFactor({ epochs: 2 }, at(0)), 0);
    close(warmupFactor({ epochs: 2 }, at(1)), 0.5);
    close(warmupFactor({ epochs: 2, startFactor: 0.1 }, at(1)), 0.55);
    close(warmupFactor({ epochs: 2 }, at(3)), 1);
  });

  it('reduce-on-plateau cuts the rate after `patience` epochs without improvement, down to minLr', () => {
    const r = new PlateauReducer({ type: 'reduceOnPlateau', patience: 2, factor: 0.5, minLr: 0.02 });
    const reduced = [1, 0.9, 0.95, 0.92, 0.93, 0.94].map((v) => r.update(v, 0.1));
    assert.deepEqual(reduced, [false, false, false, true, false, true]);
    close(r.scale * 0.1, 0.025);
    // The next plateau would go below minLr: clamped to 0.02, and never lower after that.
    assert.deepEqual(
      [0.99, 0.99, 0.99, 0.99].map((v) => r.update(v, 0.1)),
      [false, true, false, false],
    );
    close(r.scale * 0.1, 0.02);
  });
});
