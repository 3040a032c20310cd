/**
 * Kernels Parsimony adds (wasm only) for the per-step loss and accuracy of a classifier whose
 * outputs are probabilities (it ends in softmax), in place of the dozen small tfjs kernels the
 * composed ops take (clip, log, multiply, sum, mean, negate and their gradients; argMax, equal,
 * cast, sum): on LeNet-300-100 those were about a tenth of a training step, each kernel costing
 * the engine's bookkeeping more than its arithmetic.
 *
 * - `ParsimonyClippedCrossEntropy`(probabilities p [B, C], targets t [B, C]) → the scalar
 *   −(1/B) Σ_b Σ_c t·log(clip(p, ε, 1 − ε)), ε = 1e-7, as `crossEntropy` in src/train composes it.
 * - `ParsimonyClippedCrossEntropyGrad`(dy, p, t) → dp = −dy·t / (B·clip(p)) where ε ≤ p ≤ 1 − ε,
 *   0 elsewhere (tfjs' clipByValue gradient passes the bounds themselves).
 * - `ParsimonyCountCorrect`(outputs [B, C], labels [B] int32) → how many rows' first maximum is at
 *   their label, as a float32 scalar.
 * Sums run in float64: the same values as the composed float32 ops up to summation order.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelArgs, WasmCalls } from './wasm-calls.js';

export const CLIPPED_CROSS_ENTROPY = 'ParsimonyClippedCrossEntropy';
export const CLIPPED_CROSS_ENTROPY_GRAD = 'ParsimonyClippedCrossEntropyGrad';
export const COUNT_CORRECT = 'ParsimonyCountCorrect';

/** The clip bounds of the probabilities (Keras' epsilon). */
export const PROBABILITY_EPSILON = 1e-7;

function checkPair(kernel: string, p: TensorInfo, t: TensorInfo): void {
  if (
    p.shape.length !== 2 ||
    p.shape.join() !== t.shape.join() ||
    p.dtype !== 'float32' ||
    t.dtype !== 'float32'
  )
    // not a user error: the trainer calls these kernels with matching float32 matrices only
    throw new Error(
      `${kernel}: needs float32 [batch, classes] probabilities and targets, got [${p.shape}] and [${t.shape}]`,
    );
}

/** The clip bounds as float32 values, as tfjs' clipByValue compares them. */
const LOW = Math.fround(PROBABILITY_EPSILON);
const HIGH = Math.fround(1 - PROBABILITY_EPSILON);

function crossEntropy({ inputs, backend }: KernelArgs<object>): TensorInfo {
  const calls = new WasmCalls(backend);
  const p = inputs.p as TensorInfo;
  const t = inputs.t as TensorInfo;
  checkPair(CLIPPED_CROSS_ENTROPY, p, t);
  const [rows, classes] = p.shape;
  const out = backend.makeOutput([], 'float32');
  const probabilities = calls.floats(p);
  const targets = calls.floats(t);
  let total = 0;
  for (let i = 0; i < rows * classes; i++)
    total += targets[i] * Math.log(Math.min(HIGH, Math.max(LOW, probabilities[i])));
  calls.floats(out)[0] = rows === 0 ? Number.NaN : -total / rows;
  return out;
}

function crossEntropyGrad({ inputs, backend }: KernelArgs<object>): TensorInfo {
  const calls = new WasmCalls(backend);
  const dyInfo = inputs.dy as TensorInfo;
  const p = inputs.p as TensorInfo;
  const t = inputs.t as TensorInfo;
  checkPair(CLIPPED_CROSS_ENTROPY_GRAD, p, t);
  const [rows, classes] = p.shape;
  const out = backend.makeOutput(p.shape, 'float32');
  const dp = calls.floats(out);
  const probabilities = calls.floats(p);
  const targets = calls.floats(t);
  const scale = -calls.floats(dyInfo)[0] / rows;
  for (let i = 0; i < rows * classes; i++) {
    const v = probabilities[i];
    dp[i] = v >= LOW && v <= HIGH ? (scale * targets[i]) / v : 0;
  }
  return out;
}

function countCorrect({ inputs, backend }: KernelArgs<object>): TensorInfo {
  const calls = new WasmCalls(backend);
  const outputs = inputs.outputs as TensorInfo;
  const labels = inputs.labels as TensorInfo;
  const [rows, classes] = outputs.shape;
  if (outputs.shape.length !== 2 || labels.shape.join() !== `${rows}` || labels.dtype !== 'int32')
    // not a user error: the trainer calls this kernel with [batch, classes] outputs and int32 labels
    throw new Error(`${COUNT_CORRECT}: needs [batch, classes] outputs and [batch] int32 labels`);
  const values = calls.floats(outputs);
  const wanted = backend.typedArrayFromHeap(labels) as Int32Array;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    // argMax: the first maximum (NaN never wins a comparison, as in tfjs' kernel)
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[r * classes + c] > values[r * classes + best]) best = c;
    if (best === wanted[r]) correct++;
  }
  const out = backend.makeOutput([], 'float32');
  calls.floats(out)[0] = correct;
  return out;
}

export function crossEntropyConfigs(): KernelConfig[] {
  const wasm = (kernelName: string, kernelFunc: unknown): KernelConfig => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as KernelFunc,
  });
  return [
    wasm(CLIPPED_CROSS_ENTROPY, crossEntropy),
    wasm(CLIPPED_CROSS_ENTROPY_GRAD, crossEntropyGrad),
    wasm(COUNT_CORRECT, countCorrect),
  ];
}
