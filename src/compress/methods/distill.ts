/**
 * Knowledge distillation as a compression step: the model the step receives is the teacher, and
 * the step's result is a new, smaller student (`student`: a spec file, `zoo:<name>`, or a spec
 * object) trained with alpha * CE + (1 - alpha) * T^2 * KL(teacher_T || student_T). Teacher
 * logits are computed from the same (augmented) batch in the training step; the teacher's
 * variables are not among those trained, so no gradient reaches them. Both models are trained
 * and compared on logits (a final softmax is removed for training and put back for storing).
 * alpha = 1 trains the same student on the labels alone, the baseline distillation must beat.
 */
import { readFileSync } from 'node:fs';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, ParsimonyError, RecipeError } from '../../core/errors.js';
import { sequential } from '../../models/spec/builder.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { inferShapes, parseModelSpec } from '../../models/spec/validate.js';
import { buildTfjsModel } from '../../models/tfjs/build.js';
import { zooModelFromReference } from '../../models/zoo/index.js';
import { type AugmentationConfig, checkAugmentation } from '../../train/augment.js';
import type { ScheduleConfig } from '../../train/schedules.js';
import type { TrainingData } from '../../train/trainer.js';
import { distillationLoss } from '../distill/loss.js';
import { checkTeacherStudent, logitsSpec, teacherLogits, withSoftmax } from '../distill/teacher.js';
import {
  checkKnownFields,
  costOf,
  defineMethod,
  readLearningRate,
  readLearningRateSchedule,
  readNumber,
  readOptionalNumber,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import { buildModelWithWeights, readModelWeights } from '../model-weights.js';

export interface DistillOptions {
  student: ModelSpec;
  temperature: number;
  alpha: number;
  epochs: number;
  learningRate?: number;
  augmentation?: AugmentationConfig;
  /**
   * Mixup's Beta concentration: each batch is mixed with a permutation of itself after
   * augmentation, and the teacher labels the mixed images the student sees (function matching).
   */
  mixup?: number;
  /**
   * Learning-rate schedule of the student's training ("cosine": down to 0 over `epochs`); the
   * student trained alone (alpha = 1) takes the same one, so neither arm ends on a noisy epoch.
   */
  schedule?: ScheduleConfig;
}

const FIELDS = [
  'student',
  'temperature',
  'alpha',
  'epochs',
  'learningRate',
  'augmentation',
  'mixup',
  'schedule',
] as const;
export const DEFAULT_TEMPERATURE = 4;
export const DEFAULT_ALPHA = 0.5;

/** A spec from a file, `zoo:<name>`, or an object; errors name the step and the field. */
function readStudent(value: unknown, step: string): ModelSpec {
  const field = `${step}: field "student"`;
  try {
    if (typeof value === 'string') {
      if (value.startsWith('zoo:')) return zooModelFromReference(value);
      let text: string;
      try {
        text = readFileSync(value, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new RecipeError(`${field}: file not found: ${value}`, { cause: error });
        throw error;
      }
      return parseModelSpec(text, value);
    }
    if (typeof value === 'object' && value !== null) return parseModelSpec(value, 'student');
  } catch (error) {
    if (error instanceof RecipeError) throw error;
    if (error instanceof ParsimonyError)
      throw new RecipeError(`${field}: ${error.message}`, { cause: error });
    throw error;
  }
  throw new RecipeError(
    `${field} must be a spec file, zoo:<name> or a spec object, got ${JSON.stringify(value)}`,
  );
}

function validate(raw: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): DistillOptions {
  checkKnownFields(raw, FIELDS, step);
  if (raw.student === undefined) throw new RecipeError(`${step}: field "student" is required`);
  const student = readStudent(raw.student, step);
  try {
    checkTeacherStudent(spec, student, step);
  } catch (error) {
    if (error instanceof InvalidArgumentError)
      throw new RecipeError(error.message.replace(`${step}: student:`, `${step}: field "student":`), {
        cause: error,
      });
    throw error;
  }
  const teacherInput = spec.inputs.map((i) => i.shape.join(','));
  const studentInput = student.inputs.map((i) => i.shape.join(','));
  if (teacherInput.join(';') !== studentInput.join(';'))
    throw new RecipeError(
      `${step}: field "student": input shape [${studentInput.join('; ')}] differs from the teacher's [${teacherInput.join('; ')}]`,
    );
  let augmentation: AugmentationConfig | undefined;
  if (raw.augmentation !== undefined) {
    if (typeof raw.augmentation !== 'object' || raw.augmentation === null || Array.isArray(raw.augmentation))
      throw new RecipeError(
        `${step}: field "augmentation" must be an object (shift, horizontalFlip, rotation, noise, erasing)`,
      );
    augmentation = raw.augmentation as AugmentationConfig;
    checkKnownFields(
      augmentation as Record<string, unknown>,
      ['shift', 'horizontalFlip', 'rotation', 'noise', 'erasing'],
      `${step}: augmentation`,
    );
    try {
      checkAugmentation(augmentation, inferShapes(student).byName.get(student.inputs[0].name) ?? []);
    } catch (error) {
      if (error instanceof InvalidArgumentError)
        throw new RecipeError(`${step}: field "augmentation": ${error.message}`, { cause: error });
      throw error;
    }
  }
  const epochs = readNumber(raw, 'epochs', step, { min: 1, integer: true }, 10);
  const schedule = readLearningRateSchedule(raw, 'schedule', step, epochs);
  return {
    student,
    temperature: readNumber(raw, 'temperature', step, { min: 0, minExclusive: true }, DEFAULT_TEMPERATURE),
    alpha: readNumber(raw, 'alpha', step, { min: 0, max: 1 }, DEFAULT_ALPHA),
    epochs,
    learningRate: readLearningRate(raw, step),
    ...(augmentation ? { augmentation } : {}),
    mixup: readOptionalNumber(raw, 'mixup', step, { min: 0, minExclusive: true }),
    ...(schedule ? { schedule } : {}),
  };
}

async function apply(input: StepInput, options: DistillOptions, context: StepContext): Promise<StepOutput> {
  const tf = await import('@tensorflow/tfjs-core');
  const teacher = await buildModelWithWeights({ ...input.weights, spec: logitsSpec(input.weights.spec) });
  try {
    const studentSpec = logitsSpec(options.student);
    const fresh = await buildTfjsModel(studentSpec, { seed: context.seed });
    const initial = readModelWeights(fresh, studentSpec);
    fresh.dispose();
    const { temperature, alpha } = options;
    context.log(
      `student ${costOf(studentSpec).params} parameters, teacher ${costOf(input.weights.spec).params}; T = ${temperature}, alpha = ${alpha}`,
    );
    // Without augmentation every batch row is a training image: its teacher logits are computed
    // once, up front, and looked up by the row's content (a conv teacher costs far more per image
    // than a small student, so this is most of a step's time otherwise).
    const cache =
      options.augmentation || options.mixup || alpha === 1
        ? null
        : teacherCache(tf, teacher, context.data.train);
    const teacherOf = (x: TfCore.Tensor): TfCore.Tensor =>
      cache ? cachedLogits(tf, teacher, cache, x) : (teacher.apply(x, { training: false }) as TfCore.Tensor);
    const tuned = await context.fineTune(
      initial,
      {},
      {
        epochs: options.epochs,
        learningRate: options.learningRate,
        augmentation: options.augmentation,
        mixup: options.mixup,
        schedule: options.schedule,
        hooks: () =>
          alpha === 1
            ? {}
            : {
                crossEntropyWeight: alpha,
                extraLoss: ({ x, output, targets }) =>
                  tf.mul(
                    distillationLoss(tf, output, teacherOf(x), targets, {
                      temperature,
                      alpha: 0,
                    }),
                    1 - alpha,
                  ),
              },
      },
    );
    return {
      weights: { spec: withSoftmax(tuned.weights.spec, options.student), layers: tuned.weights.layers },
      masks: {},
      interrupted: tuned.result.stopped === 'aborted',
      details: {
        temperature,
        alpha,
        epochs: tuned.result.history.length,
        ...(options.mixup ? { mixup: options.mixup } : {}),
        ...(options.augmentation ? { augmentation: options.augmentation } : {}),
        ...(options.schedule ? { schedule: options.schedule } : {}),
        teacherParams: costOf(input.weights.spec).params,
        studentParams: costOf(options.student).params,
      },
    };
  } finally {
    teacher.dispose();
  }
}

interface LogitCache {
  /** Row content hash -> index of the row's logits. */
  index: Map<string, number>;
  logits: Float32Array;
  classes: number;
  size: number;
}

/** Two FNV-1a hashes of a row's bytes: collisions between distinct images are out of reach. */
function rowKey(values: Float32Array, start: number, size: number): string {
  const bytes = new Uint32Array(values.buffer, values.byteOffset + start * 4, size);
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < size; i++) {
    a = Math.imul(a ^ bytes[i], 0x01000193) >>> 0;
    b = Math.imul(b ^ bytes[i], 0x5bd1e995) >>> 0;
  }
  return `${a.toString(36)}.${b.toString(36)}`;
}

function teacherCache(tf: typeof TfCore, teacher: TfLayers.LayersModel, data: TrainingData): LogitCache {
  const { logits, classes } = teacherLogits(tf, teacher, data.x, data.shape);
  const size = data.shape.reduce((a, b) => a * b, 1);
  const index = new Map<string, number>();
  for (let row = 0; row < data.labels.length; row++) index.set(rowKey(data.x, row * size, size), row);
  return { index, logits, classes, size };
}

/** Teacher logits of a batch from the cache; rows it does not hold are computed by the teacher. */
function cachedLogits(
  tf: typeof TfCore,
  teacher: TfLayers.LayersModel,
  cache: LogitCache,
  x: TfCore.Tensor,
): TfCore.Tensor {
  const values = x.dataSync() as Float32Array;
  const rows = x.shape[0] as number;
  const out = new Float32Array(rows * cache.classes);
  for (let r = 0; r < rows; r++) {
    const at = cache.index.get(rowKey(values, r * cache.size, cache.size));
    if (at === undefined) return teacher.apply(x, { training: false }) as TfCore.Tensor;
    out.set(cache.logits.subarray(at * cache.classes, (at + 1) * cache.classes), r * cache.classes);
  }
  return tf.tensor(out, [rows, cache.classes]);
}

/** A small MLP with the spec's input and output: the contract tests' student. */
export function smallStudent(spec: ModelSpec, hidden = 8): ModelSpec {
  const shapes = inferShapes(spec);
  const input = spec.inputs[0].shape;
  const output = shapes.byName.get(spec.outputs[0]) as readonly number[];
  const model = sequential(input, { name: `${spec.name ?? 'model'}-student` });
  if (input.length > 1) model.add('flatten');
  return model
    .add('dense', { units: hidden, activation: 'relu' })
    .add('dense', { units: output[output.length - 1], activation: 'softmax' })
    .build();
}

export const distillMethod = defineMethod<DistillOptions>({
  name: 'distill',
  summary:
    'knowledge distillation: train a smaller student spec on the labels and the teacher (this model) logits',
  exampleOptions: (spec) => ({ student: smallStudent(spec), epochs: 1, temperature: 4, alpha: 0.5 }),
  validate,
  transformSpec: (_spec, options) => structuredClone(options.student),
  apply,
});
