/**
 * The trainer's `restartOptimizer` hook: a run restarted before step k continues exactly as a
 * second training run started on the weights after k steps (full-batch, so the data order does
 * not change the gradients); without the restart the moments carried over give other weights.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CompressionData } from '../../src/compress/method.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { type TrainingHooks, trainModel } from '../../src/train/trainer.js';
import { digitsData, mlpSpec } from '../compress/helpers.js';

let data: CompressionData;
const N = 64;
const settings = { batchSize: N, optimizer: { type: 'adam' as const, learningRate: 0.02 }, seed: 3 };

before(async () => {
  data = await digitsData([64], N);
});

async function weightsAfter(runs: { epochs: number; hooks?: TrainingHooks }[]): Promise<Float32Array[]> {
  const model = await buildTfjsModel(mlpSpec(), { seed: 1 });
  try {
    for (const run of runs) await trainModel(model, data.train, { ...settings, ...run });
    return model.getWeights().map((w) => w.dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

function maxDifference(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  for (let t = 0; t < a.length; t++)
    for (let i = 0; i < a[t].length; i++) max = Math.max(max, Math.abs(a[t][i] - b[t][i]));
  return max;
}

describe('trainer: restartOptimizer hook', () => {
  it('a fresh optimizer at step 3 equals a second training run from the weights after 3 steps', async () => {
    const asked: number[] = [];
    const restarted = await weightsAfter([
      {
        epochs: 6,
        hooks: {
          restartOptimizer: (step) => {
            asked.push(step);
            return step === 3;
          },
        },
      },
    ]);
    const twoRuns = await weightsAfter([{ epochs: 3 }, { epochs: 3 }]);
    const oneRun = await weightsAfter([{ epochs: 6 }]);
    assert.deepEqual(asked, [0, 1, 2, 3, 4, 5], `asked before each step: ${asked}`);
    const same = maxDifference(restarted, twoRuns);
    const carried = maxDifference(oneRun, twoRuns);
    assert.ok(same < 1e-5, `restarted vs two runs: max |dw| ${same}`);
    assert.ok(carried > 1e-3, `one optimizer throughout vs two runs: max |dw| ${carried}`);
  });
});
