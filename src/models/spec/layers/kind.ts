/**
 * The spec facet of a layer type: how to check its fields, its output shape, and its cost. Each
 * family of layers lives in its own file; LAYER_KINDS in `layers/index.ts` lists them, one entry
 * per layer type, next to the other per-type tables named at `LayerType` in ../types.ts.
 */
import type { LayerSpec } from '../types.js';

export type Shape = readonly number[];

/** Costs of one layer for one sample, computed from shapes alone. */
export interface LayerCost {
  /** Multiplicative weights (kernels, embedding tables): what pruning and quantization act on. */
  weights: number;
  /** Bias vectors. */
  biases: number;
  /** Other learned parameters (batch/layer-norm scale and offset). */
  otherLearned: number;
  /** Stored state that is not learned by gradient (batch-norm moving mean and variance). */
  state: number;
  /** Multiply-accumulates of the layer's weighted products. */
  macs: number;
  /** Weighted edges between input and output units (shared weights counted once per use). */
  connections: number;
}

export const NO_COST: LayerCost = {
  weights: 0,
  biases: 0,
  otherLearned: 0,
  state: 0,
  macs: 0,
  connections: 0,
};

/** A JSON Schema fragment (draft-07). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * A check of one field's value in untrusted JSON: returns what is wrong, or null. `schema` states
 * the same rule in JSON Schema, from which assets/model-spec.schema.json is generated.
 */
export interface FieldCheck {
  (value: unknown): string | null;
  readonly schema: JsonSchema;
}

export interface FieldRule<Required extends boolean = boolean> {
  required: Required;
  check: FieldCheck;
}

/** Fields every layer has, checked by the validator itself. */
type CommonField = 'type' | 'name' | 'inputs' | 'trainable' | 'compression';

/**
 * One rule per field of the layer's spec interface, so a field added to the interface without a
 * rule does not compile, and `required` must say what the interface says. `null`: this layer type
 * refuses a field of an interface it shares with another type (LSTM and GRU's `resetAfter`).
 */
export type FieldRules<S> = {
  readonly [K in Exclude<keyof S, CommonField>]-?: FieldRule<object extends Pick<S, K> ? false : true> | null;
};

export interface LayerKind<S extends LayerSpec = LayerSpec> {
  type: S['type'];
  /** How many inputs the layer takes: [min, max]. */
  arity: [number, number];
  fields: FieldRules<S>;
  /** Throws through `fail` with the reason when the input shapes do not fit. */
  outputShape(spec: S, inputs: readonly Shape[], fail: (message: string) => never): Shape;
  cost(spec: S, inputs: readonly Shape[], output: Shape): LayerCost;
  /**
   * Conditional layers (mixture of experts): what one sample uses, when less than `cost`'s static
   * upper bound. Without it, the active cost is the whole cost.
   */
  activeCost?(spec: S, inputs: readonly Shape[], output: Shape): { params: number; macs: number };
}

// ---- field checks -------------------------------------------------------------------------------

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/** A check and the JSON Schema that states the same rule. */
export const fieldCheck = (schema: JsonSchema, check: (value: unknown) => string | null): FieldCheck =>
  Object.assign(check, { schema });

export const required = (check: FieldCheck): FieldRule<true> => ({ required: true, check });
export const optional = (check: FieldCheck): FieldRule<false> => ({ required: false, check });

const POSITIVE_INT = { type: 'integer', minimum: 1 } as const;

export const positiveInt = fieldCheck(POSITIVE_INT, (v) =>
  Number.isInteger(v) && (v as number) > 0 ? null : `must be a positive integer, got ${show(v)}`,
);

export const positiveIntOrPair = fieldCheck(
  { anyOf: [POSITIVE_INT, { type: 'array', items: POSITIVE_INT, minItems: 2, maxItems: 2 }] },
  (v) =>
    positiveInt(v) === null || (Array.isArray(v) && v.length === 2 && v.every((x) => positiveInt(x) === null))
      ? null
      : `must be a positive integer or a pair of them, got ${show(v)}`,
);

export const oneOf = (choices: readonly string[]): FieldCheck =>
  fieldCheck({ enum: [...choices] }, (v) =>
    typeof v === 'string' && choices.includes(v)
      ? null
      : `must be one of ${choices.join(', ')}, got ${show(v)}`,
  );

export const boolean = fieldCheck({ type: 'boolean' }, (v) =>
  typeof v === 'boolean' ? null : `must be true or false, got ${show(v)}`,
);

export const fraction = fieldCheck({ type: 'number', minimum: 0, exclusiveMaximum: 1 }, (v) =>
  typeof v === 'number' && v >= 0 && v < 1 ? null : `must be a number in [0, 1), got ${show(v)}`,
);

export const positiveNumber = fieldCheck({ type: 'number', exclusiveMinimum: 0 }, (v) =>
  typeof v === 'number' && v > 0 && Number.isFinite(v) ? null : `must be a positive number, got ${show(v)}`,
);

export const nonNegativeNumber = fieldCheck({ type: 'number', minimum: 0 }, (v) =>
  typeof v === 'number' && v >= 0 && Number.isFinite(v) ? null : `must be a number >= 0, got ${show(v)}`,
);

export const integer = fieldCheck({ type: 'integer' }, (v) =>
  Number.isInteger(v) ? null : `must be an integer, got ${show(v)}`,
);

// ---- shape helpers -------------------------------------------------------------------------------

export function pair(v: number | readonly [number, number] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export const product = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Output length of a windowed op along one axis (TensorFlow's rule for 'same' and 'valid'). */
export function windowOutput(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: string,
): number {
  const extent = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - extent) / stride) + 1;
}

/**
 * Output length of a pooling window along one axis: TensorFlow's rule, or with `ceilMode` (and
 * padding 'valid') PyTorch's `ceil_mode`, which rounds up but drops a last window that would start
 * past the input's end.
 */
export function poolOutput(
  size: number,
  pool: number,
  stride: number,
  padding: string,
  ceilMode: boolean,
): number {
  if (!ceilMode || padding !== 'valid') return windowOutput(size, pool, stride, 1, padding);
  if (size < pool) return 0;
  const out = Math.ceil((size - pool) / stride) + 1;
  return (out - 1) * stride >= size ? out - 1 : out;
}

/**
 * Kernel taps that land on real (not padded) inputs, summed over all output positions of one
 * axis. Padding follows TensorFlow: the extra element goes at the end.
 */
export function realTaps(
  size: number,
  out: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: string,
): number {
  const extent = (kernel - 1) * dilation + 1;
  const before = padding === 'same' ? Math.floor(Math.max((out - 1) * stride + extent - size, 0) / 2) : 0;
  let taps = 0;
  for (let o = 0; o < out; o++)
    for (let k = 0; k < kernel; k++) {
      const i = o * stride - before + k * dilation;
      if (i >= 0 && i < size) taps++;
    }
  return taps;
}
