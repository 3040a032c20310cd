import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { weightsAccuracy } from '../../src/compress/fine-tune.js';
import type { CompressionData } from '../../src/compress/method.js';
import type { ModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { RecipeError } from '../../src/core/errors.js';
import { sequential } from '../../src/models/spec/builder.js';
import { captureWarnings } from '../helpers/warnings.js';
import { cnnSpec, digitsData, mlpSpec, trainedWeights } from './helpers.js';

let data: CompressionData;
let teacher: ModelWeights;

before(async () => {
  data = await digitsData([64]);
  teacher = await trainedWeights(mlpSpec(), data, 8);
});

const student = (classes = 10) =>
  sequential([64], { name: 'student' })
    .add('dense', { units: 6, activation: 'relu' })
    .add('dense', { units: classes, activation: 'softmax' })
    .build();

describe('distill method', () => {
  it('rejects a student with another output size, naming the step and field, before any training', () => {
    assert.throws(
      () => validateRecipe([{ method: 'distill', options: { student: student(5) } }], mlpSpec()),
      (e: Error) =>
        e instanceof RecipeError &&
        e.message === `step 1 (distill): field "student": output size [5] differs from the teacher's [10]`,
    );
    assert.throws(
      () => validateRecipe([{ method: 'distill', options: { student: 'no/such/student.json' } }], mlpSpec()),
      /step 1 \(distill\): field "student": file not found: no\/such\/student\.json/,
    );
    assert.throws(
      () => validateRecipe([{ method: 'distill', options: { student: student(), alpha: 1.5 } }], mlpSpec()),
      /step 1 \(distill\): field "alpha" must be a number in \[0, 1\]/,
    );
    assert.throws(
      () =>
        validateRecipe(
          [{ method: 'distill', options: { student: student(), augmentation: { shift: 0.1 } } }],
          mlpSpec(),
        ),
      /field "augmentation": augmentation needs images/,
    );
  });

  it('reads the student from a spec file; the planned spec is the student', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'parsimony-distill-'));
    try {
      const file = path.join(dir, 'student.json');
      await writeFile(file, JSON.stringify(student()));
      const [step] = validateRecipe([{ method: 'distill', options: { student: file } }], mlpSpec());
      assert.deepEqual(step.plan.spec, student());
      assert.ok(step.plan.after.params < step.plan.before.params, 'the student is smaller');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('trains the student from the teacher: the teacher is unchanged and the stored student ends in softmax', async () => {
    const before = JSON.stringify(teacher.layers.map((l) => l.tensors.map((t) => Array.from(t.values))));
    const result = await runPipeline(
      teacher,
      [
        {
          method: 'distill',
          options: { student: student(), epochs: 20, learningRate: 0.01, temperature: 4, alpha: 0.3 },
        },
      ],
      { data, seed: 0 },
    );
    assert.equal(
      JSON.stringify(teacher.layers.map((l) => l.tensors.map((t) => Array.from(t.values)))),
      before,
    );
    assert.deepEqual(result.weights.spec, student());
    const accuracy = await weightsAccuracy(result.weights, data.validation);
    assert.ok(accuracy > 0.8, `the distilled student learned (${accuracy})`);
    assert.equal(result.steps[0].details?.alpha, 0.3);
  });

  it('asked for 2 training threads, trains on one and says so with a ONE_THREAD warning', async () => {
    const { result, warnings } = await captureWarnings(() =>
      runPipeline(teacher, [{ method: 'distill', options: { student: student(), epochs: 1 } }], {
        data,
        seed: 0,
        fineTune: { threads: 2 },
      }),
    );
    assert.equal(result.completed, true);
    assert.deepEqual(
      warnings.filter((w) => w.code === 'ONE_THREAD').map((w) => w.message),
      [
        'fine-tune: distillation trains on 1 thread, not 2 (its loss uses the teacher, which only this thread holds)',
      ],
    );
  });

  it('works with augmentation on images', async () => {
    const images = await digitsData([8, 8, 1], 300);
    const cnnTeacher = await trainedWeights(cnnSpec(), images, 2);
    const small = sequential([8, 8, 1], { name: 'small' })
      .add('flatten')
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
    const result = await runPipeline(
      cnnTeacher,
      [
        {
          method: 'distill',
          options: {
            student: small,
            epochs: 4,
            learningRate: 0.01,
            augmentation: { shift: 0.1, noise: 0.05 },
          },
        },
      ],
      { data: images, seed: 0 },
    );
    assert.equal(result.completed, true);
    assert.ok(
      (result.steps[0].valAccuracy ?? 0) > 0.2,
      `student learned something (${result.steps[0].valAccuracy})`,
    );
  });
});
