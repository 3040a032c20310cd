/**
 * Function-preserving growth of a spec with its weights (Chen, Goodfellow & Shlens 2016, Net2Net):
 * Net2WiderNet gives a dense layer more units (a conv more filters) by copying existing units and
 * dividing the next layer's weights from each copied unit by its number of copies; Net2DeeperNet
 * inserts an identity-initialised dense or conv layer after a ReLU, which ReLU(I·x) = x keeps exact.
 * Batch norm between the widened layer and the next is copied per channel; a batch norm inserted
 * when deepening is set to the identity on its moving statistics. Optional seeded noise breaks the
 * symmetry between copies at the cost of a small, bounded change of the function.
 */
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, ModelSpecError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { LayerSpec, ModelSpec } from '../models/spec/types.js';
import { inferShapes } from '../models/spec/validate.js';
import { buildTfjsModel } from '../models/tfjs/build.js';

/** One weight array of a layer, in tfjs-layers' order and layout. */
export interface WeightArray {
  shape: number[];
  values: Float32Array;
}

/** A spec with the weights of each layer, by layer name. */
export interface GrowableNet {
  spec: ModelSpec;
  weights: Record<string, WeightArray[]>;
}

export interface GrowthNoise {
  /** Standard deviation of the noise relative to the standard deviation of the layer's weights (default 0: exact). */
  noise?: number;
  /** Seeds which units are copied and the noise (default 0). */
  seed?: number;
}

/** Reads every layer's weights from a built model. */
export function captureNet(model: TfLayers.LayersModel, spec: ModelSpec): GrowableNet {
  const weights: Record<string, WeightArray[]> = {};
  for (const layer of spec.layers) {
    const arrays = model.getLayer(layer.name).getWeights();
    if (arrays.length === 0) continue;
    weights[layer.name] = arrays.map((t) => ({
      shape: [...t.shape],
      values: new Float32Array(t.dataSync()),
    }));
  }
  return { spec, weights };
}

/** Builds the net's model and loads its weights (call `initBackend()` first). */
export async function buildNet(net: GrowableNet, seed = 0): Promise<TfLayers.LayersModel> {
  const tf = await import('@tensorflow/tfjs-core');
  const model = await buildTfjsModel(net.spec, { seed });
  for (const layer of net.spec.layers) {
    const arrays = net.weights[layer.name];
    if (!arrays) continue;
    const tensors = arrays.map((w) => tf.tensor(w.values, w.shape));
    model.getLayer(layer.name).setWeights(tensors);
    for (const t of tensors) t.dispose();
  }
  return model;
}

/** Layers that keep the channel axis as it is and own no weights across channels. */
const CHANNEL_WISE = new Set([
  'activation',
  'dropout',
  'maxPool2d',
  'avgPool2d',
  'globalAvgPool2d',
  'globalMaxPool2d',
  'zeroPadding2d',
]);

function findLayer(spec: ModelSpec, name: string, step: string): LayerSpec {
  const layer = spec.layers.find((l) => l.name === name);
  if (!layer) throw new InvalidArgumentError(`${step}: no layer named "${name}" in the model`);
  return layer;
}

/** The one layer reading `name`, or an error naming the branch this chain-only growth cannot follow. */
function soleConsumer(spec: ModelSpec, name: string, step: string): LayerSpec {
  if (spec.outputs.includes(name))
    throw new ModelSpecError(`${step}: layer "${name}" is a model output; grow a hidden layer`);
  const readers = spec.layers.filter((l) => l.inputs.includes(name));
  if (readers.length !== 1)
    throw new ModelSpecError(
      `${step}: layer "${name}" feeds ${readers.length} layers; growth follows single chains only`,
    );
  return readers[0];
}

function isGrowableWeighted(layer: LayerSpec): layer is Extract<LayerSpec, { type: 'dense' | 'conv2d' }> {
  return layer.type === 'dense' || (layer.type === 'conv2d' && (layer.groups ?? 1) === 1);
}

function standardDeviation(values: Float32Array): number {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length || 1;
  let sum = 0;
  for (const v of values) sum += (v - mean) ** 2;
  return Math.sqrt(sum / (values.length || 1));
}

/** Copies along the last axis: out[..., j] = in[..., map[j]]. */
function gatherLastAxis(w: WeightArray, map: Int32Array): WeightArray {
  const oldLast = w.shape[w.shape.length - 1];
  const outer = w.values.length / oldLast;
  const values = new Float32Array(outer * map.length);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < map.length; j++) values[o * map.length + j] = w.values[o * oldLast + map[j]];
  return { shape: [...w.shape.slice(0, -1), map.length], values };
}

/**
 * Net2WiderNet: gives `layerName` (a dense layer or an ungrouped conv2d) `width` units or filters.
 * New units copy randomly chosen existing ones; the next dense or conv layer divides what it reads
 * from each copied unit by the copies' count, so the model computes the same function.
 */
export function widenLayer(
  net: GrowableNet,
  layerName: string,
  width: number,
  options: GrowthNoise = {},
): GrowableNet {
  const step = `widen "${layerName}"`;
  const { spec } = net;
  const target = findLayer(spec, layerName, step);
  if (!isGrowableWeighted(target))
    throw new ModelSpecError(
      `${step}: only dense and ungrouped conv2d layers can be widened, not ${target.type}`,
    );
  const oldWidth = target.type === 'dense' ? target.units : target.filters;
  if (!(Number.isInteger(width) && width >= oldWidth))
    throw new InvalidArgumentError(`${step}: new width must be an integer >= ${oldWidth}, got ${width}`);
  soleConsumer(spec, layerName, step);
  const rng = new Random(options.seed ?? 0);
  const map = new Int32Array(width);
  for (let j = 0; j < width; j++) map[j] = j < oldWidth ? j : rng.int(0, oldWidth - 1);
  const copies = new Int32Array(oldWidth);
  for (const u of map) copies[u]++;
  const shapes = inferShapes(spec).byName;

  const weights: Record<string, WeightArray[]> = { ...net.weights };
  const own = net.weights[layerName];
  if (!own) throw new InvalidArgumentError(`${step}: the net has no weights for this layer`);
  const kernel = gatherLastAxis(own[0], map);
  const noise = options.noise ?? 0;
  if (noise > 0) {
    // Noise only on the new copies' incoming weights: the original units stay as they were.
    const scale = noise * standardDeviation(own[0].values);
    for (let o = 0; o < kernel.values.length / width; o++)
      for (let j = oldWidth; j < width; j++) kernel.values[o * width + j] += rng.normal(0, scale);
  }
  weights[layerName] = [kernel, ...own.slice(1).map((w) => gatherLastAxis(w, map))];

  const layers = spec.layers.map((l) =>
    l.name === layerName
      ? ({ ...l, ...(l.type === 'dense' ? { units: width } : { filters: width }) } as LayerSpec)
      : l,
  );
  // Follow the chain to the next layer with weights across channels.
  let current = layerName;
  let spatial = 1; // positions per channel once a flatten has mixed them into one axis
  for (;;) {
    const next = soleConsumer(spec, current, step);
    if (next.type === 'batchNorm') {
      const arrays = net.weights[next.name];
      if (arrays) weights[next.name] = arrays.map((w) => gatherLastAxis(w, map));
    } else if (next.type === 'flatten') {
      const shape = shapes.get(current) as number[];
      spatial = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    } else if (isGrowableWeighted(next)) {
      const [k, ...rest] = net.weights[next.name] ?? [];
      if (!k) throw new InvalidArgumentError(`${step}: the net has no weights for layer "${next.name}"`);
      weights[next.name] = [divideIncoming(k, map, copies, spatial), ...rest];
      break;
    } else if (!CHANNEL_WISE.has(next.type)) {
      throw new ModelSpecError(
        `${step}: cannot carry the new units through layer "${next.name}" (${next.type})`,
      );
    }
    current = next.name;
  }
  return { spec: { ...spec, layers }, weights };
}

/**
 * The next layer's kernel for the widened input: dense [in, out] or conv [kh, kw, in, out]; with a
 * flatten in between, dense input p * channels + c reads position p of channel c.
 */
function divideIncoming(k: WeightArray, map: Int32Array, copies: Int32Array, spatial: number): WeightArray {
  const out = k.shape[k.shape.length - 1];
  const oldChannels = copies.length;
  const newChannels = map.length;
  const window = k.shape.length === 4 ? k.shape[0] * k.shape[1] : 1;
  const oldIn = k.shape.length === 4 ? k.shape[2] : k.shape[0];
  if (oldIn !== oldChannels * spatial)
    throw new ModelSpecError(`widen: next layer reads ${oldIn} inputs, expected ${oldChannels * spatial}`);
  const newIn = newChannels * spatial;
  const values = new Float32Array(window * newIn * out);
  for (let w = 0; w < window; w++)
    for (let p = 0; p < spatial; p++)
      for (let j = 0; j < newChannels; j++) {
        const u = map[j];
        const from = (w * oldIn + p * oldChannels + u) * out;
        const to = (w * newIn + p * newChannels + j) * out;
        for (let o = 0; o < out; o++) values[to + o] = k.values[from + o] / copies[u];
      }
  const shape = k.shape.length === 4 ? [k.shape[0], k.shape[1], newIn, out] : [newIn, out];
  return { shape, values };
}

export interface DeepenOptions extends GrowthNoise {
  /** Insert dense/conv (linear) → batch norm (identity) → ReLU instead of one dense/conv with ReLU. */
  batchNorm?: boolean;
  /** Kernel size of an inserted conv (odd, default 3). */
  kernelSize?: number;
}

function uniqueName(spec: ModelSpec, base: string): string {
  const taken = new Set([...spec.inputs.map((i) => i.name), ...spec.layers.map((l) => l.name)]);
  for (let k = 1; ; k++) if (!taken.has(`${base}_${k}`)) return `${base}_${k}`;
}

/** True when the layer's output is a ReLU's (so an identity layer with ReLU after it changes nothing). */
function endsInRelu(layer: LayerSpec): boolean {
  if (layer.type === 'activation') return layer.activation === 'relu';
  if (layer.type === 'dense' || layer.type === 'conv2d') return layer.activation === 'relu';
  return false;
}

/**
 * Net2DeeperNet: inserts an identity-initialised layer after `layerName`, whose output must be a
 * ReLU's: a dense layer for a vector, a same-padded conv2d for an image.
 */
export function deepenAfter(net: GrowableNet, layerName: string, options: DeepenOptions = {}): GrowableNet {
  const step = `deepen after "${layerName}"`;
  const { spec } = net;
  const anchor = findLayer(spec, layerName, step);
  if (!endsInRelu(anchor))
    throw new ModelSpecError(
      `${step}: the layer's output must be a ReLU's (dense/conv2d with relu, or a relu activation)`,
    );
  if (spec.outputs.includes(layerName)) throw new ModelSpecError(`${step}: layer is a model output`);
  const shape = inferShapes(spec).byName.get(layerName) as number[];
  const channels = shape[shape.length - 1];
  const kernelSize = options.kernelSize ?? 3;
  if (shape.length === 3 && !(Number.isInteger(kernelSize) && kernelSize > 0 && kernelSize % 2 === 1))
    throw new InvalidArgumentError(`${step}: kernelSize must be a positive odd integer, got ${kernelSize}`);
  if (shape.length !== 1 && shape.length !== 3)
    throw new ModelSpecError(`${step}: output shape [${shape.join(',')}] is neither a vector nor an image`);
  const rng = new Random(options.seed ?? 0);
  const noise = options.noise ?? 0;
  const withBn = options.batchNorm ?? false;

  const name = uniqueName(spec, `${layerName}_deeper`);
  const inserted: LayerSpec[] = [];
  const weights: Record<string, WeightArray[]> = { ...net.weights };
  const activation = withBn ? 'linear' : 'relu';
  let kernel: WeightArray;
  if (shape.length === 1) {
    inserted.push({ type: 'dense', name, inputs: [layerName], units: channels, activation });
    kernel = { shape: [channels, channels], values: new Float32Array(channels * channels) };
    for (let c = 0; c < channels; c++) kernel.values[c * channels + c] = 1;
  } else {
    inserted.push({
      type: 'conv2d',
      name,
      inputs: [layerName],
      filters: channels,
      kernelSize,
      padding: 'same',
      activation,
    });
    const centre = (kernelSize >> 1) * kernelSize + (kernelSize >> 1);
    kernel = {
      shape: [kernelSize, kernelSize, channels, channels],
      values: new Float32Array(kernelSize * kernelSize * channels * channels),
    };
    for (let c = 0; c < channels; c++) kernel.values[(centre * channels + c) * channels + c] = 1;
  }
  if (noise > 0) {
    // Identity has no spread of its own: scale by the incoming layer's weights, or 1/fan-in.
    const source = net.weights[layerName]?.[0]?.values;
    const scale = noise * (source ? standardDeviation(source) : 1 / Math.sqrt(channels));
    for (let i = 0; i < kernel.values.length; i++) kernel.values[i] += rng.normal(0, scale);
  }
  weights[name] = [kernel, { shape: [channels], values: new Float32Array(channels) }];
  let last = name;
  if (withBn) {
    const bnName = uniqueName(spec, `${layerName}_deeper_bn`);
    const epsilon = 1e-3;
    inserted.push({ type: 'batchNorm', name: bnName, inputs: [name], epsilon });
    // y = gamma (x - mean) / sqrt(var + eps) + beta is x with mean 0, var 1, gamma sqrt(1 + eps), beta 0.
    weights[bnName] = [
      { shape: [channels], values: new Float32Array(channels).fill(Math.sqrt(1 + epsilon)) },
      { shape: [channels], values: new Float32Array(channels) },
      { shape: [channels], values: new Float32Array(channels) },
      { shape: [channels], values: new Float32Array(channels).fill(1) },
    ];
    const reluName = uniqueName(spec, `${layerName}_deeper_relu`);
    inserted.push({ type: 'activation', name: reluName, inputs: [bnName], activation: 'relu' });
    last = reluName;
  }
  const layers: LayerSpec[] = [];
  for (const l of spec.layers) {
    layers.push(
      l.inputs.includes(layerName)
        ? ({ ...l, inputs: l.inputs.map((i) => (i === layerName ? last : i)) } as LayerSpec)
        : l,
    );
    if (l.name === layerName) layers.push(...inserted);
  }
  return { spec: { ...spec, layers }, weights };
}
