/**
 * A cascade of three MLPs on the digits: at threshold 0 only the first model runs; the threshold
 * chosen on validation data for a target accuracy reaches it there at less cost than the largest
 * model alone; member-by-member prediction matches the sweep; it saves and loads.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { applyTemperature, negativeLogLikelihood } from '../../src/dynamic/calibration.js';
import { ModelCascade } from '../../src/dynamic/cascade.js';
import { confidences, exitStages } from '../../src/dynamic/exits.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import { type DigitsSplits, digitsSplits } from '../helpers/digits.js';
import { tempDir } from '../helpers/temp-dir.js';

let digits: DigitsSplits;
let cascade: ModelCascade;

const mlp = (hidden: number) =>
  sequential([64], { name: `mlp-${hidden}` })
    .add('dense', { units: hidden, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();

before(async () => {
  await initBackend({ backend: 'cpu' });
  digits = await digitsSplits(0);
  cascade = await ModelCascade.train([mlp(4), mlp(16), mlp(64)], digits.train, {
    epochs: 8,
    seed: 1,
    optimizer: { type: 'adam', learningRate: 0.003 },
  });
});

describe('model cascade', () => {
  it('at threshold 0 uses only the first model', async () => {
    const run = await cascade.predict(digits.test.x, [64], 0);
    assert.ok(
      run.answeredBy.every((m) => m === 0),
      'every sample answered by member 0',
    );
    assert.equal(run.averageMacs, cascade.memberMacs[0]);
    const first = tf.tidy(() =>
      tf
        .argMax(
          cascade.members[0].model.predict(
            tf.tensor2d(digits.test.x, [digits.test.labels.length, 64]),
          ) as tf.Tensor,
          -1,
        )
        .dataSync(),
    );
    assert.deepEqual([...run.predicted], [...first]);
  });

  it('chooses the cheapest threshold that reaches the target on validation data', async () => {
    const [largest] = await cascade.curve(digits.validation, [1]);
    const target = largest.accuracy - 0.01;
    const choice = await cascade.chooseThreshold(digits.validation, target);
    assert.ok(choice.met, 'target reached');
    assert.ok(choice.chosen.accuracy >= target, 'accuracy at least the target');
    for (const p of choice.curve)
      if (p.accuracy >= target)
        assert.ok(p.averageMacs >= choice.chosen.averageMacs, 'no cheaper point reaches it');
    assert.equal(cascade.threshold, choice.chosen.threshold);
    assert.ok(choice.chosen.averageMacs < cascade.cumulativeMacs[2], 'cheaper than running every member');
    const run = await cascade.predict(digits.test.x, [64]);
    const [sweep] = await cascade.curve(digits.test, [cascade.threshold]);
    assert.ok(Math.abs(run.averageMacs - sweep.averageMacs) < 1e-6, 'prediction costs what the sweep says');
    const correct = run.predicted.filter((p, i) => p === digits.test.labels[i]).length;
    assert.equal(correct / run.predicted.length, sweep.accuracy);
    const unreachable = await cascade.chooseThreshold(digits.validation, 1.0, [0, 0.5]);
    assert.equal(unreachable.met, false);
  });

  it('calibrates each member on validation data and thresholds the calibrated confidence', async () => {
    const raw = await cascade.memberOutputs(digits.validation, 512, false);
    const report = await cascade.calibrate(digits.validation);
    assert.deepEqual(
      cascade.temperatures,
      report.map((r) => r.temperature),
    );
    report.forEach((r, m) => {
      const after = negativeLogLikelihood(
        applyTemperature(raw[m].probabilities, 10, r.temperature),
        digits.validation.labels,
        10,
      );
      assert.ok(after <= r.nllBefore, `member ${m}: NLL ${r.nllBefore} -> ${after}`);
    });
    assert.ok(
      report.some((r) => r.nllAfter < r.nllBefore - 1e-3),
      'some member is better calibrated',
    );
    const fitted = cascade.temperatures;
    cascade.temperatures = [4, 4, 1];
    try {
      const rawTest = await cascade.memberOutputs(digits.test, 512, false);
      const stagesAt = (temperatures: number[]) =>
        exitStages(
          rawTest.map(
            (o, i) => confidences(applyTemperature(o.probabilities, 10, temperatures[i]), 10).confidence,
          ),
          0.8,
        );
      assert.notDeepEqual([...stagesAt([4, 4, 1])], [...stagesAt([1, 1, 1])], 'the temperatures matter');
      const run = await cascade.predict(digits.test.x, [64], 0.8);
      assert.deepEqual([...run.answeredBy], [...stagesAt([4, 4, 1])]);
    } finally {
      cascade.temperatures = fitted;
    }
  });

  it('saves and loads with the same answers and temperatures', async () => {
    const dir = join(tempDir('cascade'), 'model');
    cascade.threshold = 0.9;
    assert.ok(
      cascade.temperatures?.some((t) => t !== 1),
      'calibrated before saving',
    );
    await cascade.save(dir);
    const loaded = await ModelCascade.load(dir);
    assert.deepEqual(loaded.spec, cascade.spec);
    assert.deepEqual(loaded.temperatures, cascade.temperatures);
    const a = await cascade.predict(digits.test.x, [64]);
    const b = await loaded.predict(digits.test.x, [64]);
    assert.deepEqual(b, a);
    loaded.dispose();
  });
});
