import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distillationStudy } from '../../src/compress/distill/study.js';
import { sequential } from '../../src/models/spec/builder.js';
import { digitsData, mlpSpec, trainedWeights } from './helpers.js';

describe('distillationStudy', () => {
  it('samples T and alpha per trial within their ranges, with the student alone as trial 0', async () => {
    const data = await digitsData([64]);
    const teacher = await trainedWeights(mlpSpec(), data, 6);
    const student = sequential([64], { name: 'student' })
      .add('dense', { units: 6, activation: 'relu' })
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
    const result = await distillationStudy({
      teacher,
      student,
      data,
      trials: 3,
      epochs: 4,
      seed: 2,
      temperature: [2, 8],
      fineTune: { learningRate: 0.01, batchSize: 64 },
    });
    assert.equal(result.rows.length, 3);
    assert.equal(result.alone?.alpha, 1);
    for (const row of result.rows) {
      assert.ok(row.temperature >= 2 && row.temperature <= 8, `T ${row.temperature} in range`);
      assert.ok(row.alpha >= 0 && row.alpha <= 1, `alpha ${row.alpha} in range`);
      assert.ok(row.valAccuracy > 0.3, `trial ${row.trial} trained (${row.valAccuracy})`);
    }
    assert.ok(
      result.rows.every((r) => r.valAccuracy <= result.best.valAccuracy),
      'best is the highest validation accuracy',
    );
  });
});
