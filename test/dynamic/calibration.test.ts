/**
 * Temperature scaling on samples whose true temperature is known: labels drawn from softmax(z),
 * probabilities reported as softmax(3 z) (overconfident) or softmax(z / 2) (underconfident); the
 * fitted temperature recovers the factor, lowers the NLL and the ECE, and keeps every prediction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';
import {
  applyTemperature,
  calibrateStages,
  expectedCalibrationError,
  fitTemperature,
  negativeLogLikelihood,
} from '../../src/dynamic/calibration.js';
import { confidences } from '../../src/dynamic/exits.js';

const CLASSES = 5;

/** n samples: labels drawn from softmax(z), probabilities softmax(z * sharpen). */
function samples(n: number, sharpen: number, seed: number) {
  const rng = new Random(seed);
  const labels = new Int32Array(n);
  const probabilities = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: CLASSES }, () => rng.normal(0, 2));
    const softmax = (scale: number) => {
      const e = z.map((v) => Math.exp(v * scale));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    };
    const truth = softmax(1);
    let u = rng.next();
    let label = CLASSES - 1;
    for (let c = 0; c < CLASSES; c++) {
      u -= truth[c];
      if (u < 0) {
        label = c;
        break;
      }
    }
    labels[i] = label;
    probabilities.set(softmax(sharpen), i * CLASSES);
  }
  return { labels, probabilities };
}

describe('temperature scaling', () => {
  for (const [sharpen, want] of [
    [3, 3],
    [0.5, 0.5],
  ] as const)
    it(`recovers a temperature of ${want} and lowers NLL and ECE`, () => {
      const { labels, probabilities } = samples(4000, sharpen, 11);
      const t = fitTemperature(probabilities, labels, CLASSES);
      assert.ok(Math.abs(t / want - 1) < 0.1, `fitted ${t}, true ${want}`);
      const scaled = applyTemperature(probabilities, CLASSES, t);
      const before = negativeLogLikelihood(probabilities, labels, CLASSES);
      const after = negativeLogLikelihood(scaled, labels, CLASSES);
      assert.ok(after < before - 0.01, `NLL ${before} -> ${after}`);
      // Also on fresh samples of the same kind (not the ones it was fitted on).
      const fresh = samples(4000, sharpen, 12);
      const freshScaled = applyTemperature(fresh.probabilities, CLASSES, t);
      const eceBefore = expectedCalibrationError(fresh.probabilities, fresh.labels, CLASSES);
      const eceAfter = expectedCalibrationError(freshScaled, fresh.labels, CLASSES);
      assert.ok(eceAfter < eceBefore / 2, `held-out ECE ${eceBefore} -> ${eceAfter}`);
      assert.deepEqual(
        confidences(scaled, CLASSES).predicted,
        confidences(probabilities, CLASSES).predicted,
        'the same predicted classes',
      );
    });

  it('leaves calibrated probabilities about alone and is deterministic', () => {
    const { labels, probabilities } = samples(4000, 1, 3);
    const t = fitTemperature(probabilities, labels, CLASSES);
    assert.ok(Math.abs(t - 1) < 0.1, `fitted ${t}`);
    assert.equal(fitTemperature(probabilities, labels, CLASSES), t, 'same data, same temperature');
    const [report] = calibrateStages([probabilities], labels, CLASSES);
    assert.equal(report.temperature, t);
    assert.ok(report.nllAfter <= report.nllBefore, 'never worse on the data it was fitted on');
  });

  it('copes with probabilities that underflowed to 0 and refuses mismatched sizes', () => {
    const probabilities = new Float32Array([1, 0, 0, 0.2, 0.8, 0, 0.5, 0.5, 0]);
    const labels = new Int32Array([0, 1, 0]);
    const t = fitTemperature(probabilities, labels, 3);
    assert.ok(Number.isFinite(t) && t > 0, `temperature ${t}`);
    const scaled = applyTemperature(probabilities, 3, 2);
    assert.ok(
      scaled.every((p) => Number.isFinite(p)),
      'finite probabilities',
    );
    assert.throws(
      () => fitTemperature(probabilities, new Int32Array([0, 1]), 3),
      /9 probabilities for 2 samples/,
    );
  });
});
