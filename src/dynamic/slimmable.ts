/**
 * Slimmable networks (Yu et al. 2019): one set of weights that runs at several widths, each width
 * using the first fraction of every hidden layer's units or filters, with switchable batch norm
 * (its own scale, offset and statistics per width). Training follows the sandwich rule (Yu & Huang
 * 2019): every step trains the largest width on the labels, then the smallest and `randomWidths`
 * others drawn from the widths in between, on the labels or (in-place distillation) on the
 * largest's detached predictions; after training each width's batch-norm statistics are
 * recomputed on the training data. The width is chosen per call; `atWidth` turns any width into
 * the plain model of that size (its spec and sliced weights), which saves, analyses and exports
 * as any model does.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, ModelSpecError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { analyzeModel, type ModelComplexity } from '../models/complexity/analyze.js';
import { pair, product } from '../models/spec/layers/kind.js';
import type { LayerSpec, LayerType, ModelSpec } from '../models/spec/types.js';
import { inferShapes } from '../models/spec/validate.js';
import { buildTfjsModel, TFJS_BUILDERS } from '../models/tfjs/build.js';
import { customLayers } from '../models/tfjs/custom-layers.js';
import { loadModel, saveModel } from '../models/tfjs/save.js';
import {
  evaluate,
  type TrainingData,
  type TrainOptions,
  type TrainResult,
  trainModel,
} from '../train/trainer.js';
import { DYNAMIC_FORMAT, readDynamicSpec, type SlimmableSpec, writeDynamicSpec } from './format.js';
import {
  type CalibratableNorm,
  type SwitchableWeights,
  setLayerWidth,
  slimmableLayers,
  slimUnits,
} from './slimmable-layers.js';

/** Layers that follow their input's channels (run unchanged at any width). */
const PASS_THROUGH: ReadonlySet<LayerType> = new Set([
  'activation',
  'dropout',
  'maxPool2d',
  'avgPool2d',
  'globalAvgPool2d',
  'globalMaxPool2d',
  'zeroPadding2d',
  'flatten',
]);

export const DEFAULT_WIDTHS: readonly number[] = [0.25, 0.5, 0.75, 1];

interface LayerPlan {
  /** Channels of the layer's output (last axis) at each width. */
  channels: number[];
  /** Dense and conv layers that keep all units (they produce a model output). */
  fixed: boolean;
  /** For dense layers: the spatial positions of a flattened input. */
  inputPositions: number;
}

/** Checks the spec and works out, per layer, its channels at each width. */
function planWidths(spec: ModelSpec, widths: readonly number[]): Map<string, LayerPlan> {
  const source = spec.name ?? 'model';
  if (spec.inputs.length !== 1 || spec.outputs.length !== 1)
    throw new ModelSpecError(`${source}: a slimmable network needs one input and one output`);
  if (widths.length === 0 || widths.some((w, i) => !(w > 0 && w <= 1) || (i > 0 && w <= widths[i - 1])))
    throw new InvalidArgumentError(`slimmable: widths must ascend in (0, 1], got ${widths.join(', ')}`);
  if (widths.at(-1) !== 1) throw new InvalidArgumentError('slimmable: the last width must be 1');
  const shapes = inferShapes(spec);
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  // Producers feeding an output through pass-through layers keep their units.
  const fixed = new Set<string>();
  for (let name of spec.outputs) {
    let layer = byName.get(name);
    while (layer && (PASS_THROUGH.has(layer.type) || layer.type === 'batchNorm')) {
      name = layer.inputs[0];
      layer = byName.get(name);
    }
    if (layer) fixed.add(layer.name);
  }
  const plans = new Map<string, LayerPlan>();
  const inputChannels = (name: string): number[] =>
    plans.get(name)?.channels ?? widths.map(() => (shapes.byName.get(name) ?? [1]).at(-1) as number);
  for (const layer of spec.layers) {
    const fail = (why: string): never => {
      throw new ModelSpecError(`${source}: layer "${layer.name}" (${layer.type}): ${why}`);
    };
    if (layer.inputs.length !== 1) fail('slimmable networks take single-input layers only');
    const input = inputChannels(layer.inputs[0]);
    const inShape = shapes.byName.get(layer.inputs[0]) ?? [];
    let plan: LayerPlan;
    if (layer.type === 'dense' || layer.type === 'conv2d') {
      if (layer.type === 'conv2d' && (layer.groups ?? 1) !== 1) fail('grouped convolution is not slimmable');
      const units = layer.type === 'dense' ? layer.units : layer.filters;
      const isFixed = fixed.has(layer.name);
      const source = byName.get(layer.inputs[0]);
      const positions =
        layer.type === 'dense' && source?.type === 'flatten'
          ? product((shapes.byName.get(source.inputs[0]) ?? [1]).slice(0, -1))
          : 1;
      if (layer.type === 'dense' && positions === 1 && inShape.length !== 1)
        fail('a slimmable dense layer reads a vector (or a flatten)');
      plan = {
        channels: widths.map((w) => (isFixed ? units : slimUnits(units, w))),
        fixed: isFixed,
        inputPositions: positions,
      };
    } else if (layer.type === 'flatten') {
      const positions = product(inShape.slice(0, -1));
      plan = { channels: input.map((c) => c * positions), fixed: false, inputPositions: 1 };
    } else if (layer.type === 'batchNorm' || PASS_THROUGH.has(layer.type)) {
      if (layer.type === 'activation' && layer.activation === 'softmax' && !spec.outputs.includes(layer.name))
        fail('softmax over a slimmed axis');
      plan = { channels: input, fixed: false, inputPositions: 1 };
    } else
      return fail(
        'not supported in a slimmable network (dense, conv2d, batchNorm, pooling, activation, dropout, flatten)',
      );
    plans.set(layer.name, plan);
  }
  return plans;
}

/** The plain spec of the network at width `w` (one of its widths): hidden units and filters scaled. */
export function specAtWidth(spec: ModelSpec, widths: readonly number[], w: number): ModelSpec {
  const index = widths.indexOf(w);
  if (index < 0) throw new InvalidArgumentError(`slimmable: width ${w} is not one of ${widths.join(', ')}`);
  const plans = planWidths(spec, widths);
  const layers = spec.layers.map((layer): LayerSpec => {
    const units = plans.get(layer.name)?.channels[index] as number;
    if (layer.type === 'dense') return { ...layer, units };
    if (layer.type === 'conv2d') return { ...layer, filters: units };
    return { ...layer };
  });
  const slim = { ...spec, name: `${spec.name ?? 'model'}@${w}`, layers };
  inferShapes(slim);
  return slim;
}

export interface SandwichOptions {
  /** Distinct widths drawn from those between the smallest and the largest, per step (default 2). */
  randomWidths?: number;
  /**
   * Train the smaller widths on the largest width's (detached) predictions instead of the labels
   * (in-place distillation, Yu & Huang 2019; default false: on Fashion-MNIST at 5 epochs the labels
   * gave the more accurate widths over two seeds, on the digits distillation did; see the README).
   */
  inplaceDistillation?: boolean;
  /**
   * Weight of each smaller width's loss beside the largest width's. Default: 1 on the labels (the
   * losses summed, as Yu et al.); with in-place distillation 1 / (smaller widths per step), so the
   * distillation terms together weigh as much as the labels (summed, the targets the network
   * sets itself outweigh the labels and the largest width underfits at a few epochs).
   */
  smallerWeight?: number;
  /**
   * After training, recompute every width's batch-norm statistics on the training data
   * (`calibrateNorms`; default true): the moving averages kept during training lag behind the
   * weights, and each width's lags differently.
   */
  calibrate?: boolean;
}

export interface WidthResult {
  width: number;
  /** Units or filters of each hidden dense/conv layer at this width. */
  hidden: number[];
  params: number;
  macs: number;
  accuracy: number;
}

export class SlimmableNetwork {
  readonly model: TfLayers.LayersModel;
  readonly spec: SlimmableSpec;

  constructor(model: TfLayers.LayersModel, spec: SlimmableSpec) {
    planWidths(spec.model, spec.widths);
    this.model = model;
    this.spec = spec;
  }

  get widths(): readonly number[] {
    return this.spec.widths;
  }

  static async create(
    model: ModelSpec,
    options: { widths?: readonly number[]; seed?: number } = {},
  ): Promise<SlimmableNetwork> {
    const widths = [...(options.widths ?? DEFAULT_WIDTHS)];
    const plans = planWidths(model, widths);
    const tfl = await import('@tensorflow/tfjs-layers');
    const tfc = await import('@tensorflow/tfjs-core');
    const slim = slimmableLayers(tfc, tfl);
    const custom = customLayers(tfc, tfl);
    const rng = new Random(options.seed ?? 0);
    const nextSeed = () => rng.nextUint32() % 2_147_483_647;
    const input = model.inputs[0];
    const tensors = new Map<string, TfLayers.SymbolicTensor>([
      [input.name, tfl.input({ shape: input.shape, name: input.name })],
    ]);
    const { layerInputs } = inferShapes(model);
    for (const [index, layer] of model.layers.entries()) {
      const plan = plans.get(layer.name) as LayerPlan;
      const base = {
        name: layer.name,
        trainable: layer.trainable ?? true,
        widths,
        fixed: plan.fixed,
        seed: nextSeed(),
      };
      let built: TfLayers.layers.Layer;
      if (layer.type === 'dense')
        built = slim.dense({
          ...base,
          units: layer.units,
          activation: layer.activation,
          useBias: layer.useBias ?? true,
          inputPositions: plan.inputPositions,
        });
      else if (layer.type === 'conv2d')
        built = slim.conv2d({
          ...base,
          filters: layer.filters,
          kernelSize: pair(layer.kernelSize, 1),
          strides: pair(layer.strides, 1),
          padding: layer.padding ?? 'valid',
          dilationRate: pair(layer.dilation, 1),
          activation: layer.activation,
          useBias: layer.useBias ?? true,
        });
      else if (layer.type === 'batchNorm')
        built = slim.batchNorm({
          ...base,
          channels: plan.channels,
          epsilon: layer.epsilon ?? 1e-3,
          momentum: layer.momentum ?? 0.99,
        });
      else {
        const build = TFJS_BUILDERS[layer.type] as (s: LayerSpec, c: object) => TfLayers.layers.Layer;
        built = build(layer, {
          tfl,
          custom,
          base: { name: layer.name, trainable: layer.trainable ?? true },
          nextSeed,
          glorot: () => tfl.initializers.glorotUniform({ seed: nextSeed() }),
          inputShapes: layerInputs[index],
          // The slimmable dense and conv layers start Glorot; the rest follow them, whatever model.init says.
          init: 'glorot',
        });
      }
      tensors.set(
        layer.name,
        built.apply(tensors.get(layer.inputs[0]) as TfLayers.SymbolicTensor) as TfLayers.SymbolicTensor,
      );
    }
    const tfModel = tfl.model({
      inputs: [tensors.get(input.name) as TfLayers.SymbolicTensor],
      outputs: [tensors.get(model.outputs[0]) as TfLayers.SymbolicTensor],
      name: model.name,
    });
    return new SlimmableNetwork(tfModel, { format: DYNAMIC_FORMAT, kind: 'slimmable', model, widths });
  }

  /** Runs the following calls at width `w` (one of the network's widths). */
  setWidth(w: number): void {
    const index = this.spec.widths.indexOf(w);
    if (index < 0)
      throw new InvalidArgumentError(`slimmable: width ${w} is not one of ${this.spec.widths.join(', ')}`);
    setLayerWidth(this.model, index);
  }

  /** Class probabilities (or the model's outputs) for a batch at width `w`. */
  predict(x: TfCore.Tensor, w: number): TfCore.Tensor {
    this.setWidth(w);
    return this.model.predict(x) as TfCore.Tensor;
  }

  /** Trains with the trainer at the largest width plus the sandwich rule's other widths each step. */
  async train(
    data: TrainingData,
    options: Omit<TrainOptions, 'hooks'>,
    sandwich: SandwichOptions = {},
  ): Promise<TrainResult> {
    const tf = await import('@tensorflow/tfjs-core');
    const widths = this.spec.widths;
    const last = widths.length - 1;
    const rng = new Random(options.seed ?? 0).fork('sandwich');
    const randomWidths = sandwich.randomWidths ?? 2;
    const distill = sandwich.inplaceDistillation ?? false;
    const smallerCount = Math.min(widths.length - 1, 1 + randomWidths);
    const smallerWeight = sandwich.smallerWeight ?? (distill ? 1 / Math.max(1, smallerCount) : 1);
    if (!(smallerWeight >= 0 && Number.isFinite(smallerWeight)))
      throw new InvalidArgumentError(`slimmable: smallerWeight must be >= 0, got ${smallerWeight}`);
    const probabilities =
      (this.spec.model.layers.find((l) => l.name === this.spec.model.outputs[0]) as { activation?: string })
        .activation === 'softmax';
    const lossAt = (x: TfCore.Tensor, targets: TfCore.Tensor, index: number): TfCore.Scalar => {
      setLayerWidth(this.model, index);
      const out = this.model.apply(x, { training: true }) as TfCore.Tensor;
      if (!probabilities) return tf.losses.softmaxCrossEntropy(targets, out) as TfCore.Scalar;
      const clipped = tf.clipByValue(out, 1e-7, 1 - 1e-7);
      return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.log(clipped)), -1))) as TfCore.Scalar;
    };
    setLayerWidth(this.model, last);
    try {
      const result = await trainModel(this.model, data, {
        ...options,
        hooks: {
          extraLoss: ({ x, output, targets }) => {
            if (widths.length === 1) return tf.scalar(0);
            // Detached (copied) so the smaller widths do not pull the largest towards them.
            const soft = distill
              ? tf.tensor((probabilities ? output : tf.softmax(output)).dataSync(), output.shape)
              : targets;
            // The smallest, then distinct widths from those in between (all of them when few).
            const middle = Array.from({ length: Math.max(0, widths.length - 2) }, (_, i) => i + 1);
            rng.shuffle(middle);
            const chosen = [0, ...middle.slice(0, randomWidths)];
            let loss: TfCore.Scalar = tf.scalar(0);
            for (const index of chosen) loss = tf.add(loss, lossAt(x, soft, index));
            if (smallerWeight !== 1) loss = tf.mul(loss, smallerWeight);
            setLayerWidth(this.model, last);
            return loss;
          },
        },
      });
      if (sandwich.calibrate ?? true) await this.calibrateNorms(data);
      return result;
    } finally {
      setLayerWidth(this.model, last);
    }
  }

  /**
   * Sets every width's batch-norm statistics to the average of the batch statistics over `data`
   * (up to `samples` samples, in batches of `batchSize`), the weights unchanged (post-training
   * calibration as in universally slimmable networks). Returns the number of samples used.
   */
  async calibrateNorms(
    data: TrainingData,
    options: { samples?: number; batchSize?: number } = {},
  ): Promise<number> {
    const norms = this.model.layers.filter((l) => 'startCalibration' in l) as unknown as CalibratableNorm[];
    if (norms.length === 0) return 0;
    const tf = await import('@tensorflow/tfjs-core');
    const n = Math.min(data.labels.length, options.samples ?? data.labels.length);
    const batchSize = options.batchSize ?? 256;
    const size = data.shape.reduce((a, b) => a * b, 1);
    try {
      for (const [index] of this.spec.widths.entries()) {
        setLayerWidth(this.model, index);
        for (const norm of norms) norm.startCalibration();
        for (let start = 0; start < n; start += batchSize) {
          const end = Math.min(n, start + batchSize);
          tf.tidy(() => {
            const x = tf.tensor(data.x.subarray(start * size, end * size), [end - start, ...data.shape]);
            this.model.apply(x, { training: true });
          });
        }
        for (const norm of norms) norm.endCalibration();
      }
    } finally {
      setLayerWidth(this.model, this.spec.widths.length - 1);
    }
    return n;
  }

  /** Accuracy, parameters and MACs at each width. */
  async evaluateWidths(data: TrainingData): Promise<WidthResult[]> {
    const results: WidthResult[] = [];
    try {
      for (const width of this.spec.widths) {
        this.setWidth(width);
        const accuracy = (await evaluate(this.model, data)).accuracy;
        const spec = specAtWidth(this.spec.model, this.spec.widths, width);
        const a = analyzeModel(spec);
        const hidden = spec.layers.flatMap((l) =>
          spec.outputs.includes(l.name)
            ? []
            : l.type === 'dense'
              ? [l.units]
              : l.type === 'conv2d'
                ? [l.filters]
                : [],
        );
        results.push({ width, hidden, params: a.params, macs: a.macs, accuracy });
      }
    } finally {
      this.setWidth(1);
    }
    return results;
  }

  /** Cost of every width, from the spec alone. */
  analyzeWidths(): { width: number; complexity: ModelComplexity }[] {
    return this.spec.widths.map((width) => ({
      width,
      complexity: analyzeModel(specAtWidth(this.spec.model, this.spec.widths, width)),
    }));
  }

  /** The plain model at width `w`: its spec and a TensorFlow.js model holding the sliced weights. */
  async atWidth(w: number): Promise<{ spec: ModelSpec; model: TfLayers.LayersModel }> {
    const tf = await import('@tensorflow/tfjs-core');
    const index = this.spec.widths.indexOf(w);
    const spec = specAtWidth(this.spec.model, this.spec.widths, w);
    const plans = planWidths(this.spec.model, this.spec.widths);
    const model = await buildTfjsModel(spec);
    const channels = (name: string): number =>
      plans.get(name)?.channels[index] ?? (this.spec.model.inputs[0].shape.at(-1) as number);
    for (const layer of this.spec.model.layers) {
      const source = this.model.getLayer(layer.name);
      const target = model.getLayer(layer.name);
      if (target.weights.length === 0) continue;
      const values = tf.tidy(() => {
        if (layer.type === 'batchNorm')
          return (source as unknown as SwitchableWeights).widthWeights(index).map((t) => t.clone());
        const plan = plans.get(layer.name) as LayerPlan;
        const [kernel, bias] = source.getWeights();
        const out = plan.channels[index];
        const used = channels(layer.inputs[0]);
        let k: TfCore.Tensor;
        if (layer.type === 'dense') {
          const p = plan.inputPositions;
          const [rows, units] = kernel.shape;
          k = tf.reshape(tf.slice(tf.reshape(kernel, [p, rows / p, units]), [0, 0, 0], [p, used / p, out]), [
            used,
            out,
          ]);
        } else {
          const [kh, kw] = kernel.shape;
          k = tf.slice(kernel, [0, 0, 0, 0], [kh, kw, used, out]);
        }
        return bias ? [k, tf.slice(bias, [0], [out])] : [k];
      });
      target.setWeights(values);
      tf.dispose(values);
    }
    return { spec, model };
  }

  async save(dir: string): Promise<void> {
    await saveModel(this.model, this.spec.model, dir);
    await writeDynamicSpec(dir, this.spec);
  }

  static async load(dir: string): Promise<SlimmableNetwork> {
    const spec = await readDynamicSpec(dir);
    if (spec.kind !== 'slimmable') throw new ModelSpecError(`${dir}: a ${spec.kind} model, not slimmable`);
    slimmableLayers(await import('@tensorflow/tfjs-core'), await import('@tensorflow/tfjs-layers'));
    const { model } = await loadModel(dir);
    return new SlimmableNetwork(model, spec);
  }

  dispose(): void {
    this.model.dispose();
  }
}
