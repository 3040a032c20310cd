/**
 * Checking a model spec: `parseModelSpec` accepts untrusted JSON (a file a user wrote) and
 * `inferShapes` walks the graph, computing every layer's output shape. Every error is a
 * ModelSpecError naming the layer (and field or shapes) at fault.
 */
import { ModelSpecError } from '../../core/errors.js';
import { isLayerType, layerKind, type Shape } from './layers/index.js';
import { type FieldRule, formatShape, type LayerKind } from './layers/kind.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelSpec, WEIGHT_INITS } from './types.js';

const COMMON_FIELDS = new Set(['name', 'type', 'inputs', 'trainable', 'compression']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks a spec from JSON text or an already-parsed value; `source` names the file. */
export function parseModelSpec(input: string | unknown, source = 'model'): ModelSpec {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new ModelSpecError(`${source}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
  }
  const fail = (message: string): never => {
    throw new ModelSpecError(`${source}: ${message}`);
  };
  if (!isObject(value)) return fail('a model spec must be a JSON object');
  if (value.format !== MODEL_FORMAT)
    fail(`"format" must be "${MODEL_FORMAT}", got ${JSON.stringify(value.format)}`);
  if (value.version !== MODEL_FORMAT_VERSION)
    fail(
      `"version" ${JSON.stringify(value.version)} is not supported (this Parsimony reads version ${MODEL_FORMAT_VERSION})`,
    );
  if (value.name !== undefined && typeof value.name !== 'string') fail('"name" must be a string');
  if (value.init !== undefined && !(WEIGHT_INITS as readonly unknown[]).includes(value.init))
    fail(`"init" must be ${WEIGHT_INITS.join(' or ')}, got ${JSON.stringify(value.init)}`);
  if (!Array.isArray(value.inputs) || value.inputs.length === 0) fail('"inputs" must be a non-empty list');
  (value.inputs as unknown[]).forEach((inp, i) => {
    if (!isObject(inp) || typeof inp.name !== 'string' || inp.name === '')
      fail(`inputs[${i}] needs a "name"`);
    const shape = (inp as Record<string, unknown>).shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0))
      fail(`input "${(inp as { name: string }).name}": "shape" must be a list of positive integers`);
    const dtype = (inp as Record<string, unknown>).dtype;
    if (dtype !== undefined && dtype !== 'float32' && dtype !== 'int32')
      fail(`input "${(inp as { name: string }).name}": "dtype" must be float32 or int32`);
  });
  if (!Array.isArray(value.layers)) fail('"layers" must be a list');
  for (const [i, layer] of (value.layers as unknown[]).entries()) {
    if (!isObject(layer)) return fail(`layers[${i}] must be an object`);
    const name = layer.name;
    if (typeof name !== 'string' || name === '') return fail(`layers[${i}] needs a "name"`);
    const where = `layer "${name}"`;
    if (!isLayerType(layer.type)) return fail(`${where}: unknown type ${JSON.stringify(layer.type)}`);
    const kind = layerKind(layer.type);
    if (!Array.isArray(layer.inputs) || !layer.inputs.every((x) => typeof x === 'string'))
      fail(`${where}: "inputs" must be a list of layer or input names`);
    if (layer.trainable !== undefined && typeof layer.trainable !== 'boolean')
      fail(`${where}: "trainable" must be true or false`);
    if (layer.compression !== undefined) {
      const c = layer.compression;
      if (!isObject(c)) return fail(`${where}: "compression" must be an object`);
      if (c.sparsity !== undefined && !(typeof c.sparsity === 'number' && c.sparsity >= 0 && c.sparsity <= 1))
        fail(`${where}: compression.sparsity must be a number in [0, 1]`);
      if (
        c.weightBits !== undefined &&
        !(Number.isInteger(c.weightBits) && (c.weightBits as number) >= 1 && (c.weightBits as number) <= 64)
      )
        fail(`${where}: compression.weightBits must be an integer from 1 to 64`);
      if (
        c.storedWeightBits !== undefined &&
        !(Number.isInteger(c.storedWeightBits) && (c.storedWeightBits as number) >= 0)
      )
        fail(`${where}: compression.storedWeightBits must be a non-negative integer`);
    }
    const rules = fieldRules(kind);
    for (const [field, rule] of rules) {
      const v = layer[field];
      if (v === undefined) {
        if (rule.required) fail(`${where}: missing field "${field}"`);
        continue;
      }
      const problem = rule.check(v);
      if (problem) fail(`${where}: field "${field}" ${problem}`);
    }
    for (const key of Object.keys(layer))
      if (!rules.has(key) && !COMMON_FIELDS.has(key))
        fail(`${where}: unknown field "${key}" for type ${layer.type}`);
  }
  if (
    !Array.isArray(value.outputs) ||
    value.outputs.length === 0 ||
    !value.outputs.every((x) => typeof x === 'string')
  )
    fail('"outputs" must be a non-empty list of layer names');
  const spec = value as unknown as ModelSpec;
  inferShapes(spec, source);
  return spec;
}

/** The fields a layer kind accepts (null rules are fields of a shared interface it refuses). */
export function fieldRules(kind: LayerKind): Map<string, FieldRule> {
  return new Map(
    (Object.entries(kind.fields) as [string, FieldRule | null][]).filter(
      (entry): entry is [string, FieldRule] => entry[1] !== null,
    ),
  );
}

export interface InferredShapes {
  /** Output shape of every input and layer, by name. */
  byName: Map<string, Shape>;
  /** Input shapes of each layer, in `spec.layers` order. */
  layerInputs: Shape[][];
}

/**
 * Output shape of every layer. Layers must come after the layers they read (the order a
 * builder produces), which also rules out cycles.
 */
export function inferShapes(spec: ModelSpec, source = spec.name ?? 'model'): InferredShapes {
  const byName = new Map<string, Shape>();
  for (const input of spec.inputs) {
    if (byName.has(input.name)) throw new ModelSpecError(`${source}: duplicate name "${input.name}"`);
    byName.set(input.name, input.shape);
  }
  const allNames = new Set([...spec.inputs.map((i) => i.name), ...spec.layers.map((l) => l.name)]);
  const layerInputs: Shape[][] = [];
  for (const layer of spec.layers) {
    const fail = (message: string): never => {
      throw new ModelSpecError(`${source}: layer "${layer.name}": ${message}`);
    };
    if (byName.has(layer.name)) fail('duplicate name');
    if (!isLayerType(layer.type)) return fail(`unknown type ${JSON.stringify(layer.type)}`);
    const kind = layerKind(layer.type);
    const [min, max] = kind.arity;
    if (layer.inputs.length < min || layer.inputs.length > max)
      fail(
        `takes ${min === max ? min : `${min} to ${Number.isFinite(max) ? max : 'any number of'}`} input${max === 1 ? '' : 's'}, got ${layer.inputs.length}`,
      );
    const shapes = layer.inputs.map((name) => {
      const shape = byName.get(name);
      if (shape) return shape;
      if (name === layer.name) return fail('reads itself');
      if (allNames.has(name))
        return fail(
          `reads "${name}", which is listed after it (layers must follow their inputs; is there a cycle?)`,
        );
      return fail(`reads "${name}", which is no input or layer`);
    });
    const out = kind.outputShape(layer as never, shapes, fail);
    if (!out.every((d) => Number.isInteger(d) && d > 0)) fail(`output shape ${formatShape(out)} is empty`);
    byName.set(layer.name, out);
    layerInputs.push(shapes);
  }
  for (const output of spec.outputs)
    if (!byName.has(output)) throw new ModelSpecError(`${source}: output "${output}" is no input or layer`);
  return { byName, layerInputs };
}
