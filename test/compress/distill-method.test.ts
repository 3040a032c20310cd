import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { logitsSpec } from '../../src/compress/distill/teacher.js';
import { weightsAccuracy } from '../../src/compress/fine-tune.js';
import type { CompressionData } from '../../src/compress/method.js';
import { type ModelWeights, readModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { RecipeError } from '../../src/core/errors.js';
import { sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
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

  it('the teacher labels the augmented, mixed batch the student sees: a teacher equal to the student gives it no gradient', async () => {
    // The teacher is the student's own starting point (same spec, same seed), so with alpha = 0
    // the loss is KL(student || itself) = 0 and plain SGD leaves it where it started, however
    // the batch was shifted, flipped, noised and mixed: but only if the teacher reads that batch.
    const images = await digitsData([8, 8, 1], 200);
    const spec = sequential([8, 8, 1], { name: 'self' })
      .add('flatten')
      .add('dense', { units: 12, activation: 'relu' })
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
    const seed = 3;
    const initial = await buildTfjsModel(logitsSpec(spec), { seed });
    const self: ModelWeights = { ...readModelWeights(initial, logitsSpec(spec)), spec };
    initial.dispose();
    const flat = (w: ModelWeights) => w.layers.flatMap((l) => l.tensors.flatMap((t) => Array.from(t.values)));
    const largestChange = async (options: Record<string, unknown>) => {
      const result = await runPipeline(
        self,
        [{ method: 'distill', options: { student: spec, temperature: 1, epochs: 2, ...options } }],
        { data: images, seed, fineTune: { optimizer: 'sgd', learningRate: 0.5 } },
      );
      const before = flat(self);
      return Math.max(...flat(result.weights).map((v, i) => Math.abs(v - before[i])));
    };
    const augmented = { augmentation: { shift: 0.25, horizontalFlip: true, noise: 0.3 }, mixup: 1 };
    const labels = await largestChange({ alpha: 1, ...augmented });
    assert.ok(labels > 0.01, `trained on the labels, the student moves (${labels})`);
    const matched = await largestChange({ alpha: 0, ...augmented });
    assert.ok(matched < 1e-5, `the teacher saw the student's augmented batch (largest change ${matched})`);
    const cached = await largestChange({ alpha: 0 });
    assert.ok(cached < 1e-5, `without augmentation the cached teacher logits match too (${cached})`);
  });

  it('takes a learning-rate schedule: a step schedule that stops learning after epoch 1 gives the 1-epoch student', async () => {
    const distilled = async (options: Record<string, unknown>) =>
      (
        await runPipeline(
          teacher,
          [
            {
              method: 'distill',
              options: { student: student(), learningRate: 0.01, alpha: 0.5, ...options },
            },
          ],
          { data, seed: 0 },
        )
      ).weights.layers.flatMap((l) => l.tensors.flatMap((t) => Array.from(t.values)));
    const one = await distilled({ epochs: 1 });
    const gap = (other: number[]) => Math.max(...other.map((v, i) => Math.abs(v - one[i])));
    const frozen = gap(await distilled({ epochs: 3, schedule: { type: 'step', stepSize: 1, gamma: 1e-12 } }));
    assert.ok(frozen < 1e-6, `learning rate ~0 after epoch 1 leaves the 1-epoch weights (${frozen})`);
    const constant = gap(await distilled({ epochs: 3, schedule: 'constant' }));
    assert.ok(constant > 1e-3, `a constant rate keeps learning (${constant})`);
    const cosine = gap(await distilled({ epochs: 3, schedule: 'cosine' }));
    assert.ok(cosine > 1e-3 && cosine < constant, `cosine is between (${cosine} vs ${constant})`);
    const [step] = validateRecipe(
      [{ method: 'distill', options: { student: student(), epochs: 7, schedule: 'cosine' } }],
      mlpSpec(),
    );
    assert.deepEqual((step.options as { schedule: unknown }).schedule, { type: 'cosine', period: 7 });
    assert.throws(
      () =>
        validateRecipe(
          [{ method: 'distill', options: { student: student(), schedule: 'linear' } }],
          mlpSpec(),
        ),
      /step 1 \(distill\): field "schedule" must be "constant", "cosine" or a schedule object, got "linear"/,
    );
    assert.throws(
      () =>
        validateRecipe(
          [{ method: 'distill', options: { student: student(), schedule: { type: 'cosine', period: -1 } } }],
          mlpSpec(),
        ),
      /step 1 \(distill\): field "schedule": schedule: period must be a positive number, got -1/,
    );
  });
});
