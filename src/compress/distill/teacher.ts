/**
 * The teacher side of distillation: checking that teacher and student agree on their outputs
 * (from the specs alone, before any training), turning a model that ends in softmax into one that
 * gives logits (the loss needs z / T, not probabilities), and computing teacher logits without
 * gradients, in batches.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../../core/errors.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { inferShapes } from '../../models/spec/validate.js';
import { buildTfjsModel } from '../../models/tfjs/build.js';

/** The output shape of a single-output spec. */
export function outputShape(spec: ModelSpec, role: string): readonly number[] {
  if (spec.outputs.length !== 1)
    throw new InvalidArgumentError(
      `${role}: distillation needs one output, the model has ${spec.outputs.length}`,
    );
  return inferShapes(spec).byName.get(spec.outputs[0]) as readonly number[];
}

/** Teacher and student must produce the same number of classes; the message names the field. */
export function checkTeacherStudent(teacher: ModelSpec, student: ModelSpec, where = 'distill'): void {
  const t = outputShape(teacher, `${where}: teacher`);
  const s = outputShape(student, `${where}: student`);
  if (t.length !== s.length || t.some((d, i) => d !== s[i]))
    throw new InvalidArgumentError(
      `${where}: student: output size [${s.join(', ')}] differs from the teacher's [${t.join(', ')}]`,
    );
}

/** Whether the spec's output layer applies softmax. */
export function endsInSoftmax(spec: ModelSpec): boolean {
  const out = spec.layers.find((l) => l.name === spec.outputs[0]);
  return out !== undefined && 'activation' in out && out.activation === 'softmax';
}

/** The same network with its final softmax removed (identical weights, logits out). */
export function logitsSpec(spec: ModelSpec): ModelSpec {
  const copy = structuredClone(spec);
  const out = copy.layers.find((l) => l.name === copy.outputs[0]);
  if (out && 'activation' in out && out.activation === 'softmax') out.activation = 'linear';
  return copy;
}

/** The same network with softmax put back on its output (for storing a student trained on logits). */
export function withSoftmax(spec: ModelSpec, like: ModelSpec): ModelSpec {
  if (!endsInSoftmax(like)) return spec;
  const copy = structuredClone(spec);
  const out = copy.layers.find((l) => l.name === copy.outputs[0]);
  if (out && 'activation' in out) out.activation = 'softmax';
  return copy;
}

/** A model giving logits, sharing nothing with `model` but copies of its weights. */
export async function logitsModel(
  model: TfLayers.LayersModel,
  spec: ModelSpec,
): Promise<TfLayers.LayersModel> {
  const logits = await buildTfjsModel(logitsSpec(spec));
  logits.setWeights(model.getWeights());
  return logits;
}

/** Teacher logits for `count` samples of `shape` in `x`, without gradients, in batches. */
export function teacherLogits(
  tf: typeof TfCore,
  teacher: TfLayers.LayersModel,
  x: Float32Array,
  shape: readonly number[],
  batchSize = 512,
): { logits: Float32Array; classes: number } {
  const size = shape.reduce((a, b) => a * b, 1);
  const count = x.length / size;
  let out: Float32Array | undefined;
  let classes = 0;
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const values = tf.tidy(() => {
      const batch = tf.tensor(x.subarray(start * size, end * size), [end - start, ...shape]);
      return (teacher.apply(batch, { training: false }) as TfCore.Tensor).dataSync() as Float32Array;
    });
    if (!out) {
      classes = values.length / (end - start);
      out = new Float32Array(count * classes);
    }
    out.set(values, start * classes);
  }
  return { logits: out ?? new Float32Array(0), classes };
}
