/**
 * Activation calibration for static int8 quantization of an ONNX model: the float model runs in
 * onnxruntime-node on samples of the user's data with the tensors to be quantized exposed as extra
 * graph outputs, and each tensor's range comes from calibration.ts (minmax, percentile, MSE or
 * entropy) over the values seen.
 */
import { DataError, OnnxError } from '../../core/errors.js';
import { loadDataset } from '../../data/registry.js';
import { fitStandardScaler, splitBundle } from '../../data/transforms.js';
import { type GraphProto, int64, type ModelProto, modelProtoType } from '../../models/formats/onnx/proto.js';
import { type CalibrationOptions, calibrateRange, type Range } from '../calibration.js';

/** Values kept per tensor for the percentile, MSE and entropy searches (evenly strided beyond it). */
const MAX_VALUES_PER_TENSOR = 1 << 21;

export interface GraphInput {
  name: string;
  /** Shape without the batch axis. */
  shape: number[];
  /** The batch size the graph fixes, or null when its batch axis is symbolic. */
  fixedBatch: number | null;
}

/** The model's one float input, with a static shape after the batch axis. */
export function graphInput(graph: GraphProto, file: string): GraphInput {
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1)
    throw new OnnxError(`${file}: calibration needs a model with one input, this one has ${inputs.length}`);
  const input = inputs[0];
  const tensor = input.type?.tensorType;
  if (!tensor || (tensor.elemType ?? 1) !== 1)
    throw new OnnxError(
      `${file}: input "${input.name}" is not a float32 tensor; calibration feeds float32 samples`,
    );
  const dims = tensor.shape?.dim ?? [];
  if (dims.length < 2)
    throw new OnnxError(`${file}: input "${input.name}" has no batch axis and sample shape`);
  const shape = dims.slice(1).map((d, i) => {
    const v = int64(d.dimValue);
    if (v <= 0)
      throw new OnnxError(
        `${file}: input "${input.name}" dimension ${i + 1} (${d.dimParam || '?'}) is symbolic; only the batch axis may be`,
      );
    return v;
  });
  const batch = int64(dims[0].dimValue);
  return { name: input.name, shape, fixedBatch: batch > 0 ? batch : null };
}

/**
 * `count` training samples of the dataset, split with the seed and standardised on the training
 * part as compression and evaluation do; their size must be the model input's.
 */
export async function calibrationSamples(
  dataset: string,
  seed: number,
  count: number,
  input: GraphInput,
  file: string,
): Promise<Float32Array[]> {
  const bundle = await loadDataset(dataset);
  const splits = splitBundle(bundle, { seed });
  const width = input.shape.reduce((a, b) => a * b, 1);
  const featureWidth = splits.train.featureShape.reduce((a, b) => a * b, 1);
  if (width !== featureWidth)
    throw new DataError(
      `${file}: calibration data ${dataset} has samples of shape [${splits.train.featureShape.join(', ')}] (${featureWidth} values) but input "${input.name}" expects [${input.shape.join(', ')}] (${width} values)`,
    );
  const train = fitStandardScaler(splits.train).transform(splits.train);
  return train.features.slice(0, Math.min(count, train.numSamples)).map((f) => Float32Array.from(f));
}

/** Observed values of each named tensor (all of them, or an even stride plus the extremes). */
export async function observeTensors(
  proto: ModelProto,
  graph: GraphProto,
  tensors: readonly string[],
  samples: readonly Float32Array[],
  input: GraphInput,
  file: string,
): Promise<Map<string, Float32Array>> {
  const outputs = new Set(graph.output.map((o) => o.name));
  const extra = tensors.filter((t) => !outputs.has(t));
  const saved = graph.output;
  graph.output = [...saved, ...extra.map((name) => ({ name, type: { tensorType: { elemType: 1 } } }))];
  let bytes: Uint8Array;
  try {
    const type = modelProtoType();
    bytes = type.encode(type.fromObject(proto as unknown as Record<string, unknown>)).finish();
  } finally {
    graph.output = saved;
  }
  const ort = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (error) {
    throw new OnnxError(
      `${file}: onnxruntime cannot run the model to calibrate it: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  const chunks = new Map<string, Float32Array[]>(tensors.map((t) => [t, []]));
  const width = input.shape.reduce((a, b) => a * b, 1);
  const batch = input.fixedBatch ?? 32;
  try {
    for (let start = 0; start + (input.fixedBatch ?? 1) <= samples.length; start += batch) {
      const n = Math.min(batch, samples.length - start);
      const x = new Float32Array(n * width);
      for (let i = 0; i < n; i++) x.set(samples[start + i], i * width);
      const result = await session.run({ [input.name]: new ort.Tensor('float32', x, [n, ...input.shape]) }, [
        ...tensors,
      ]);
      for (const t of tensors) {
        const data = result[t].data;
        if (!(data instanceof Float32Array))
          // not a user error: the caller chose float tensors by their producing ops
          throw new Error(`calibration: tensor ${t} is not float32`);
        chunks.get(t)?.push(Float32Array.from(data));
      }
    }
  } finally {
    await session.release();
  }
  const observed = new Map<string, Float32Array>();
  for (const [t, parts] of chunks) observed.set(t, gather(parts));
  return observed;
}

function gather(parts: Float32Array[]): Float32Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const stride = Math.max(1, Math.ceil(total / MAX_VALUES_PER_TENSOR));
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  const kept: number[] = [];
  let index = 0;
  for (const p of parts)
    for (let i = 0; i < p.length; i++, index++) {
      const v = p[i];
      if (v < low) low = v;
      if (v > high) high = v;
      if (index % stride === 0) kept.push(v);
    }
  // The extremes always take part, so minmax sees the true range.
  if (stride > 1 && total > 0) kept.push(low, high);
  return Float32Array.from(kept);
}

export function tensorRange(values: Float32Array, options: CalibrationOptions): Range {
  return calibrateRange(values, options);
}
