/**
 * Full integer quantization's activation side: every layer's output (and the model input) is
 * quantized to `bits` unsigned levels over a range calibrated on a sample of the training data.
 * Inference runs the graph layer by layer in spec order and rounds each output onto its grid, so
 * accuracy is that of a model whose activations hold only the stored integer levels. The model's
 * final output (probabilities or logits) stays real, as integer runtimes dequantize it.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../core/errors.js';
import type { ModelSpec } from '../models/spec/types.js';
import type { TrainingData } from '../train/trainer.js';
import { type CalibrationMethod, calibrateRange, type Range } from './calibration.js';
import { rangeParameters } from './quantizers.js';

export interface ActivationQuantization {
  bits: number;
  method: CalibrationMethod;
  /** Per quantized tensor (a model input or a layer name): its range, scale and zero point. */
  ranges: Record<string, Range & { scale: number; zeroPoint: number }>;
}

/** Names whose outputs are quantized: the inputs and every layer but the outputs. */
function quantizedNames(spec: ModelSpec): string[] {
  return [
    ...spec.inputs.map((i) => i.name),
    ...spec.layers.map((l) => l.name).filter((n) => !spec.outputs.includes(n)),
  ];
}

/**
 * Runs the model layer by layer; `transform(name, tensor)` may replace each named output (input
 * or layer) before later layers read it. Returns the model outputs.
 */
function runLayers(
  model: TfLayers.LayersModel,
  spec: ModelSpec,
  x: TfCore.Tensor,
  transform: (name: string, output: TfCore.Tensor) => TfCore.Tensor,
): TfCore.Tensor {
  const values = new Map<string, TfCore.Tensor>();
  if (spec.inputs.length !== 1)
    throw new InvalidArgumentError(
      `activation quantization runs single-input models; this model has ${spec.inputs.length} inputs`,
    );
  values.set(spec.inputs[0].name, transform(spec.inputs[0].name, x));
  for (const layer of spec.layers) {
    const inputs = layer.inputs.map((n) => values.get(n) as TfCore.Tensor);
    const output = model.getLayer(layer.name).apply(inputs.length === 1 ? inputs[0] : inputs, {
      training: false,
    }) as TfCore.Tensor;
    values.set(layer.name, transform(layer.name, output));
  }
  return values.get(spec.outputs[0]) as TfCore.Tensor;
}

/** Calibrates every activation's range on `samples` rows of the data. */
export async function calibrateActivations(
  model: TfLayers.LayersModel,
  spec: ModelSpec,
  data: TrainingData,
  options: { method: CalibrationMethod; bits?: number; samples?: number; percentile?: number },
): Promise<ActivationQuantization> {
  const tf = await import('@tensorflow/tfjs-core');
  const bits = options.bits ?? 8;
  const n = Math.min(options.samples ?? 1000, data.labels.length);
  const size = data.shape.reduce((a, b) => a * b, 1);
  const names = new Set(quantizedNames(spec));
  const collected = new Map<string, Float32Array>();
  tf.tidy(() => {
    const x = tf.tensor(data.x.subarray(0, n * size), [n, ...data.shape]);
    runLayers(model, spec, x, (name, output) => {
      if (names.has(name)) collected.set(name, output.dataSync() as Float32Array);
      return output;
    });
  });
  const ranges: ActivationQuantization['ranges'] = {};
  for (const [name, values] of collected) {
    const range = calibrateRange(values, { method: options.method, bits, percentile: options.percentile });
    ranges[name] = { ...range, ...rangeParameters(range.low, range.high, bits, 'asymmetric') };
  }
  return { bits, method: options.method, ranges };
}

/** Accuracy and predictions of the model with every calibrated activation rounded onto its grid. */
export async function quantizedActivationAccuracy(
  model: TfLayers.LayersModel,
  spec: ModelSpec,
  quantization: ActivationQuantization,
  data: TrainingData,
  batchSize = 512,
): Promise<{ accuracy: number; predictions: Int32Array }> {
  const tf = await import('@tensorflow/tfjs-core');
  const qmax = 2 ** quantization.bits - 1;
  const size = data.shape.reduce((a, b) => a * b, 1);
  const n = data.labels.length;
  const predictions = new Int32Array(n);
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const predicted = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(start * size, end * size), [end - start, ...data.shape]);
      const output = runLayers(model, spec, x, (name, value) => {
        const r = quantization.ranges[name];
        if (!r) return value;
        const q = tf.clipByValue(tf.add(tf.round(tf.div(value, r.scale)), r.zeroPoint), 0, qmax);
        return tf.mul(tf.sub(q, r.zeroPoint), r.scale);
      });
      return tf.argMax(output, -1).dataSync() as Int32Array;
    });
    predictions.set(predicted, start);
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === data.labels[start + i]) correct++;
  }
  return { accuracy: correct / n, predictions };
}
