/**
 * A TensorFlow.js layers model (`model.json`, as `model.save()` or the Keras converter write it)
 * as a Parsimony spec, so `analyzeModel` can count it without loading weights or building it.
 *
 * Reads the topology only: the full model.json (`{ modelTopology, weightsManifest }`) or a bare
 * topology (`{ class_name, config }`, what `model.toJSON(null, false)` returns), Sequential or
 * functional, with Keras 2 / tfjs `inbound_nodes` (`[[["name", 0, 0, {}]]]`) or Keras 3 ones
 * (`[{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ["name", 0, 0] } }] }]`).
 * A layer kind Parsimony has no spec for, or a layer applied more than once (shared weights), is
 * an error that names the layer.
 */
import { ModelSpecError } from '../../core/errors.js';
import {
  ACTIVATIONS,
  type Activation,
  type Conv2dSpec,
  type GlobalPoolSpec,
  type InputSpec,
  type LayerSpec,
  type LayerType,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelSpec,
  type Pool2dSpec,
  type RecurrentSpec,
  type SpecOf,
} from '../spec/types.js';
import { parseModelSpec } from '../spec/validate.js';

type Json = Record<string, unknown>;
type LayerBody = Record<string, unknown> & { type: LayerSpec['type'] };

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Keras and tfjs activation names to the spec's. */
const ACTIVATION_ALIASES: Record<string, Activation> = {
  silu: 'swish',
  hard_sigmoid: 'hardSigmoid',
  gelu_new: 'gelu',
};

export function specFromTfjsTopology(json: unknown, source = 'model.json'): ModelSpec {
  const fail = (message: string): never => {
    throw new ModelSpecError(`${source}: ${message}`);
  };
  const topology = isObject(json) && isObject(json.modelTopology) ? json.modelTopology : json;
  if (!isObject(topology) || typeof topology.class_name !== 'string')
    return fail('not a TensorFlow.js layers model (no modelTopology with a class_name)');
  // Keras saves `{ model_config: { class_name, config } }` in some versions.
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  const className = model.class_name as string;
  const config = model.config;
  if (className === 'Sequential') return sequentialSpec(config, source, fail);
  if (className === 'Model' || className === 'Functional') return functionalSpec(config, source, fail);
  return fail(`model class "${className}" is neither Sequential nor a functional Model`);
}

interface KerasLayer {
  class_name: string;
  config: Json;
  name?: string;
  inbound_nodes?: unknown;
}

function layerName(layer: KerasLayer): string {
  return String(layer.config.name ?? layer.name ?? '');
}

function sequentialSpec(config: unknown, source: string, fail: (m: string) => never): ModelSpec {
  const layers = (Array.isArray(config) ? config : isObject(config) ? config.layers : undefined) as
    | KerasLayer[]
    | undefined;
  if (!Array.isArray(layers) || layers.length === 0) return fail('Sequential model without layers');
  const first = layers[0];
  const inputShape =
    first.class_name === 'InputLayer'
      ? shapeOf(first.config)
      : (shapeOf(first.config) ?? fail(`the first layer "${layerName(first)}" states no input shape`));
  const inputName = first.class_name === 'InputLayer' ? layerName(first) || 'input' : 'input';
  const inputs: InputSpec[] = [{ name: inputName, shape: inputShape as number[], ...dtypeOf(first.config) }];
  const specLayers: LayerSpec[] = [];
  let previous = inputName;
  for (const layer of first.class_name === 'InputLayer' ? layers.slice(1) : layers) {
    const name = layerName(layer) || `layer_${specLayers.length}`;
    specLayers.push({ ...layerBody(layer, fail), name, inputs: [previous] } as LayerSpec);
    previous = name;
  }
  const name = isObject(config) && typeof config.name === 'string' ? config.name : undefined;
  return finish({ name, inputs, layers: specLayers, outputs: [previous] }, source);
}

function functionalSpec(config: unknown, source: string, fail: (m: string) => never): ModelSpec {
  if (!isObject(config) || !Array.isArray(config.layers)) return fail('functional model without layers');
  const layers = config.layers as KerasLayer[];
  const inputs: InputSpec[] = [];
  const specLayers: LayerSpec[] = [];
  for (const layer of layers) {
    const name = layerName(layer);
    if (!name) return fail(`a ${layer.class_name} layer has no name`);
    if (layer.class_name === 'InputLayer') {
      const shape = shapeOf(layer.config) ?? fail(`input "${name}" has no shape`);
      inputs.push({ name, shape, ...dtypeOf(layer.config) });
      continue;
    }
    const nodes = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes : [];
    if (nodes.length === 0) return fail(`layer "${name}" is connected to nothing (no inbound_nodes)`);
    if (nodes.length > 1)
      return fail(`layer "${name}" is applied ${nodes.length} times; shared layers are not supported`);
    const from = inboundNames(nodes[0]);
    if (from.length === 0) return fail(`layer "${name}" has an inbound node without tensors`);
    specLayers.push({ ...layerBody(layer, fail), name, inputs: from } as LayerSpec);
  }
  const outputs = (Array.isArray(config.output_layers) ? config.output_layers : []).map((entry) =>
    Array.isArray(entry) ? String(entry[0]) : fail('output_layers entries must be [name, node, tensor]'),
  );
  if (outputs.length === 0) return fail('functional model without output_layers');
  const name = typeof config.name === 'string' ? config.name : undefined;
  return finish({ name, inputs, layers: specLayers, outputs }, source);
}

/** Layer names an inbound node reads, in order, in either the Keras 2/tfjs or the Keras 3 form. */
function inboundNames(node: unknown): string[] {
  const names: string[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      // Keras 2 / tfjs: [name, nodeIndex, tensorIndex, kwargs]
      if (typeof x[0] === 'string' && typeof x[1] === 'number' && typeof x[2] === 'number') {
        names.push(x[0]);
        if (isObject(x[3])) visit(Object.values(x[3]));
        return;
      }
      for (const item of x) visit(item);
      return;
    }
    if (!isObject(x)) return;
    if (x.class_name === '__keras_tensor__' && isObject(x.config) && Array.isArray(x.config.keras_history)) {
      names.push(String(x.config.keras_history[0]));
      return;
    }
    // Keras 3: { args: [...], kwargs: {...} }; kwargs may carry more inputs (attention's key).
    if ('args' in x || 'kwargs' in x) {
      visit(x.args);
      if (isObject(x.kwargs)) visit(Object.values(x.kwargs));
    }
  };
  visit(node);
  return names;
}

function shapeOf(config: Json): number[] | undefined {
  const batch = (config.batch_input_shape ?? config.batch_shape ?? config.batchInputShape) as unknown;
  if (Array.isArray(batch)) return batch.slice(1) as number[];
  const shape = (config.input_shape ?? config.inputShape) as unknown;
  return Array.isArray(shape) ? (shape as number[]) : undefined;
}

function dtypeOf(config: Json): { dtype?: 'int32' } {
  return config.dtype === 'int32' || config.dtype === 'int64' ? { dtype: 'int32' } : {};
}

function finish(parts: Omit<ModelSpec, 'format' | 'version'>, source: string): ModelSpec {
  const spec: ModelSpec = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, ...parts };
  if (spec.name === undefined) delete spec.name;
  // The spec validator checks fields and shapes, naming the layer at fault.
  return parseModelSpec(spec, source);
}

/** Helpers an importer reads a Keras config with; each failure names the layer. */
interface ImportContext {
  /** Fails naming the layer and its class. */
  bad(message: string): never;
  /** A Keras or tfjs activation as the spec's name (undefined when absent). */
  activation(value: unknown): Activation | undefined;
  /** Refuses channels_first. */
  channelsLast(): void;
  /** `{ key: value }`, or nothing when the value is absent. */
  optional<T>(key: string, value: T | undefined): Record<string, T>;
  /** The window fields every convolution shares. */
  window(): Pick<Conv2dSpec, 'kernelSize' | 'strides' | 'padding' | 'dilation' | 'activation' | 'useBias'>;
}

/** A layer type's spec body without its name and inputs. */
type Body<S extends LayerSpec> = S extends LayerSpec ? Omit<S, 'name' | 'inputs'> : never;

interface TfjsImporter<S extends LayerSpec> {
  /** The Keras / tfjs-layers classes read as this layer type (tfjs writes configs in snake_case). */
  classNames: readonly string[];
  read(config: Json, className: string, context: ImportContext): Body<S>;
}

const globalPool = (type: GlobalPoolSpec['type'], className: string): TfjsImporter<GlobalPoolSpec> => ({
  classNames: [className],
  read: (c, _name, { bad, channelsLast }) => {
    channelsLast();
    if (c.keepdims === true) bad('keepdims: true is not supported');
    return { type };
  },
});

const pool2d = (type: Pool2dSpec['type'], classNames: readonly string[]): TfjsImporter<Pool2dSpec> => ({
  classNames,
  read: (c, _name, { channelsLast, optional }) => {
    channelsLast();
    return {
      type,
      poolSize: c.pool_size as number | [number, number],
      ...optional('strides', c.strides as number | [number, number] | undefined),
      ...optional('padding', c.padding as 'same' | 'valid' | undefined),
      ...(c.ceil_mode === true ? { ceilMode: true } : {}),
    };
  },
});

const recurrent = (
  type: RecurrentSpec['type'],
  classNames: readonly string[],
): TfjsImporter<RecurrentSpec> => ({
  classNames,
  read: (c, className, { optional }) => ({
    type,
    units: c.units as number,
    ...optional('returnSequences', c.return_sequences as boolean | undefined),
    ...optional('useBias', c.use_bias as boolean | undefined),
    // tfjs-layers' GRU has no reset_after and applies the gate before; Keras' default is after.
    ...(className === 'GRU' ? { resetAfter: c.reset_after === true } : {}),
    ...(className === 'ParsimonyGRUResetAfter' ? { resetAfter: true } : {}),
  }),
});

/** The TensorFlow.js import facet: which classes read as each layer type (see `LayerType`). */
export const TFJS_IMPORTERS: { readonly [T in LayerType]: TfjsImporter<SpecOf<T>> } = {
  dense: {
    classNames: ['Dense'],
    read: (c, _name, { activation, optional }) => ({
      type: 'dense',
      units: c.units as number,
      ...optional('activation', activation(c.activation)),
      ...optional('useBias', c.use_bias as boolean | undefined),
    }),
  },
  conv2d: {
    classNames: ['Conv2D', 'ParsimonyGroupedConv2D'],
    read: (c, _name, { window }) => {
      const groups = (c.groups as number | undefined) ?? 1;
      return { type: 'conv2d', filters: c.filters as number, ...window(), ...(groups > 1 ? { groups } : {}) };
    },
  },
  depthwiseConv2d: {
    classNames: ['DepthwiseConv2D'],
    read: (c, _name, { window, optional }) => ({
      type: 'depthwiseConv2d',
      ...window(),
      ...optional('depthMultiplier', c.depth_multiplier as number | undefined),
    }),
  },
  separableConv2d: {
    classNames: ['SeparableConv2D'],
    read: (c, _name, { window, optional }) => ({
      type: 'separableConv2d',
      filters: c.filters as number,
      ...window(),
      ...optional('depthMultiplier', c.depth_multiplier as number | undefined),
    }),
  },
  maxPool2d: pool2d('maxPool2d', ['MaxPooling2D', 'ParsimonyMaxPooling2DCeil']),
  avgPool2d: pool2d('avgPool2d', ['AveragePooling2D', 'ParsimonyAveragePooling2DCeil']),
  globalAvgPool2d: globalPool('globalAvgPool2d', 'GlobalAveragePooling2D'),
  globalMaxPool2d: globalPool('globalMaxPool2d', 'GlobalMaxPooling2D'),
  globalAvgPool1d: globalPool('globalAvgPool1d', 'GlobalAveragePooling1D'),
  zeroPadding2d: {
    classNames: ['ZeroPadding2D'],
    read: (c, _name, { channelsLast }) => {
      channelsLast();
      return { type: 'zeroPadding2d', padding: c.padding as number };
    },
  },
  batchNorm: {
    classNames: ['BatchNormalization'],
    read: (c, _name, { bad, optional }) => {
      const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
      if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3))
        bad(`axis ${JSON.stringify(c.axis)}: only the channels axis (-1) is supported`);
      return {
        type: 'batchNorm',
        ...optional('epsilon', c.epsilon as number | undefined),
        ...optional('momentum', c.momentum as number | undefined),
      };
    },
  },
  layerNorm: {
    classNames: ['LayerNormalization'],
    read: (c, _name, { optional }) => ({
      type: 'layerNorm',
      ...optional('epsilon', c.epsilon as number | undefined),
    }),
  },
  dropout: {
    classNames: ['Dropout', 'SpatialDropout2D', 'SpatialDropout1D'],
    read: (c) => ({ type: 'dropout', rate: c.rate as number }),
  },
  flatten: { classNames: ['Flatten'], read: () => ({ type: 'flatten' }) },
  reshape: { classNames: ['Reshape'], read: (c) => ({ type: 'reshape', shape: c.target_shape as number[] }) },
  activation: {
    classNames: ['Activation', 'ReLU', 'Softmax'],
    read: (c, className, { activation, bad }) => {
      if (className === 'Softmax') return { type: 'activation', activation: 'softmax' };
      if (className === 'ReLU') {
        if (c.max_value !== undefined && c.max_value !== null && c.max_value !== 6)
          bad(`max_value ${String(c.max_value)}: only 6 (relu6) or none is supported`);
        return { type: 'activation', activation: c.max_value === 6 ? 'relu6' : 'relu' };
      }
      return { type: 'activation', activation: activation(c.activation) ?? bad('no activation') };
    },
  },
  add: { classNames: ['Add'], read: () => ({ type: 'add' }) },
  multiply: { classNames: ['Multiply'], read: () => ({ type: 'multiply' }) },
  concat: {
    classNames: ['Concatenate'],
    read: (c) => {
      const axis = (c.axis as number | undefined) ?? -1;
      // Keras counts the batch axis; the spec does not.
      return { type: 'concat', axis: axis < 0 ? axis : axis - 1 };
    },
  },
  embedding: {
    classNames: ['Embedding'],
    read: (c) => ({ type: 'embedding', inputDim: c.input_dim as number, outputDim: c.output_dim as number }),
  },
  lstm: recurrent('lstm', ['LSTM']),
  gru: recurrent('gru', ['GRU', 'ParsimonyGRUResetAfter']),
  multiHeadAttention: {
    classNames: ['MultiHeadAttention', 'ParsimonyMultiHeadAttention'],
    read: (c, _name, { optional }) => ({
      type: 'multiHeadAttention',
      numHeads: c.num_heads as number,
      keyDim: c.key_dim as number,
      ...optional('valueDim', c.value_dim as number | undefined),
      ...optional('useBias', c.use_bias as boolean | undefined),
    }),
  },
  mixtureOfExperts: {
    classNames: ['ParsimonyMixtureOfExperts'],
    read: (c, _name, { activation, optional }) => ({
      type: 'mixtureOfExperts',
      experts: c.experts as number,
      units: c.units as number,
      ...optional('topK', c.top_k as number | undefined),
      ...optional('activation', activation(c.activation)),
      ...optional('useBias', c.use_bias as boolean | undefined),
      ...optional('balanceWeight', c.balance_weight as number | undefined),
      ...optional('gateNoise', c.gate_noise as number | undefined),
    }),
  },
};

/** Keras class name to its importer; a class claimed by two layer types is a programming error. */
const IMPORTER_BY_CLASS = new Map<string, TfjsImporter<LayerSpec>>();
for (const importer of Object.values(TFJS_IMPORTERS) as TfjsImporter<LayerSpec>[])
  for (const className of importer.classNames) {
    if (IMPORTER_BY_CLASS.has(className))
      // not a user error: two entries of the importer table name the same Keras class
      throw new Error(`two importers claim the class ${className}`);
    IMPORTER_BY_CLASS.set(className, importer);
  }

function layerBody(layer: KerasLayer, fail: (m: string) => never): LayerBody {
  const c = layer.config;
  const name = layerName(layer);
  const bad = (message: string): never => fail(`layer "${name}" (${layer.class_name}): ${message}`);
  const activation = (value: unknown): Activation | undefined => {
    if (value === undefined || value === null) return undefined;
    const raw = isObject(value) ? String(value.config ?? value.class_name) : String(value);
    const mapped = ACTIVATION_ALIASES[raw] ?? raw;
    return (ACTIVATIONS as readonly string[]).includes(mapped)
      ? (mapped as Activation)
      : bad(`activation "${raw}" is not one Parsimony knows (${ACTIVATIONS.join(', ')})`);
  };
  const channelsLast = () => {
    if (c.data_format !== undefined && c.data_format !== 'channels_last')
      bad(`data_format ${String(c.data_format)}: only channels_last is supported`);
  };
  const optional = <T>(key: string, value: T | undefined): Record<string, T> =>
    value === undefined || value === null ? {} : { [key]: value };
  const window = () => {
    channelsLast();
    return {
      kernelSize: c.kernel_size as number | [number, number],
      ...optional('strides', c.strides as number | [number, number] | undefined),
      ...optional('padding', c.padding as 'same' | 'valid' | undefined),
      ...optional('dilation', c.dilation_rate as number | [number, number] | undefined),
      ...optional('activation', activation(c.activation)),
      ...optional('useBias', c.use_bias as boolean | undefined),
    };
  };
  const importer = IMPORTER_BY_CLASS.get(layer.class_name);
  if (!importer) return bad('a layer kind Parsimony has no spec for');
  return importer.read(c, layer.class_name, { bad, activation, channelsLast, optional, window }) as LayerBody;
}
