/**
 * Layers the spec has and tfjs-layers lacks, as tfjs-layers `Layer` subclasses: grouped
 * convolution, Keras-style multi-head attention, GRU with the reset gate applied after the
 * recurrent product (Keras' and PyTorch's default), and pooling in PyTorch's ceil mode. Their weights have the shapes Keras gives them,
 * so parameter counts match `analyzeModel`. Each class is registered for (de)serialisation once,
 * here, so saved models that use them load again through `loadModel`.
 *
 * tfjs-layers is loaded lazily elsewhere, so the classes are defined on first use from the loaded
 * module rather than at import time.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { poolOutput, windowOutput } from '../spec/layers/kind.js';

type Tfc = typeof TfCore;
type Tfl = typeof TfLayers;
type Tensor = TfCore.Tensor;
export type Shape = (number | null)[];
type Kwargs = Record<string, unknown>;
type Initializer = ReturnType<Tfl['initializers']['zeros']>;

/** Input shape of a single-input layer, whether tfjs passes it alone or in a list. */
export function firstShape(shape: Shape | Shape[]): Shape {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as Shape;
}

/** Output shape [n, h, w, filters] of a 2-D convolution over an NHWC input (TensorFlow's rule). */
export function conv2dOutputShape(
  inputShape: Shape | Shape[],
  conv: {
    kernelSize: readonly number[];
    strides: readonly number[];
    dilationRate: readonly number[];
    padding: string;
    filters: number;
  },
): Shape {
  const [n, h, w] = firstShape(inputShape);
  const { kernelSize, strides, padding, dilationRate, filters } = conv;
  const out = (size: number | null, axis: 0 | 1) =>
    size === null ? null : windowOutput(size, kernelSize[axis], strides[axis], dilationRate[axis], padding);
  return [n, out(h, 0), out(w, 1), filters];
}

export interface GroupedConv2dArgs {
  name?: string;
  trainable?: boolean;
  filters: number;
  groups: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  dilationRate: [number, number];
  activation?: string;
  useBias: boolean;
  /** Seed of the kernel's initialiser (the bias's, under torchInit, is seed + 1). */
  seed: number;
  /** PyTorch's start: kernel and bias uniform in +-1/sqrt(fan_in) (default: Glorot kernel, zero bias). */
  torchInit?: boolean;
}

export interface MultiHeadAttentionArgs {
  name?: string;
  trainable?: boolean;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  useBias: boolean;
  seed: number;
}

export interface GruResetAfterArgs {
  name?: string;
  trainable?: boolean;
  units: number;
  returnSequences: boolean;
  useBias: boolean;
  seed: number;
}

export interface CeilPool2dArgs {
  name?: string;
  trainable?: boolean;
  poolSize: [number, number];
  strides: [number, number];
}

export interface MixtureOfExpertsArgs {
  name?: string;
  trainable?: boolean;
  experts: number;
  units: number;
  topK: number;
  activation?: string;
  useBias: boolean;
  balanceWeight: number;
  /** Standard deviation of the noise on the gate logits in training (0: none). */
  gateNoise?: number;
  seed: number;
}

/** A layer that adds a term to the training loss (read and cleared by the trainer after each forward pass). */
export interface AuxiliaryLossLayer {
  takeAuxiliaryLosses(): TfCore.Scalar[];
}

/** Every auxiliary loss the model's layers produced since the last call (the caller disposes them). */
export function takeAuxiliaryLosses(model: TfLayers.LayersModel): TfCore.Scalar[] {
  return model.layers.flatMap((layer) =>
    'takeAuxiliaryLosses' in layer ? (layer as unknown as AuxiliaryLossLayer).takeAuxiliaryLosses() : [],
  );
}

type LayerFactory<A> = (args: A) => TfLayers.layers.Layer;

export interface CustomLayers {
  groupedConv2d: LayerFactory<GroupedConv2dArgs>;
  multiHeadAttention: LayerFactory<MultiHeadAttentionArgs>;
  gruResetAfter: LayerFactory<GruResetAfterArgs>;
  /** Max pooling with PyTorch's ceil_mode (padding 'valid'). */
  maxPool2dCeil: LayerFactory<CeilPool2dArgs>;
  /** Average pooling with PyTorch's ceil_mode: a window cut by the input's end averages what remains. */
  avgPool2dCeil: LayerFactory<CeilPool2dArgs>;
  mixtureOfExperts: LayerFactory<MixtureOfExpertsArgs>;
}

/** The part of tfjs-layers' protected Layer API the subclasses use. */
interface LayerInternals {
  addWeight(name: string, shape: number[], dtype: 'float32', initializer: Initializer): { read(): Tensor };
  getConfig(): Kwargs;
}

let defined: CustomLayers | undefined;

/** Defines and registers the classes on first call; later calls return the same factories. */
export function customLayers(tfc: Tfc, tfl: Tfl): CustomLayers {
  if (defined) return defined;
  const Base = tfl.layers.Layer as unknown as new (args: object) => TfLayers.layers.Layer & LayerInternals;
  const glorot = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const zeros = () => tfl.initializers.zeros();
  const orthogonal = (seed: number) => tfl.initializers.orthogonal({ seed });
  const lastDim = (shape: Shape | Shape[]): number => {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as Shape;
    return s[s.length - 1] as number;
  };

  class GroupedConv2D extends Base {
    static className = 'ParsimonyGroupedConv2D';
    readonly args: GroupedConv2dArgs;
    private kernel: { read(): Tensor } | null = null;
    private bias: { read(): Tensor } | null = null;
    private readonly activationLayer: TfLayers.layers.Layer | null;

    constructor(args: GroupedConv2dArgs) {
      super({ name: args.name, trainable: args.trainable });
      this.args = args;
      this.activationLayer =
        args.activation && args.activation !== 'linear'
          ? tfl.layers.activation({ activation: args.activation as 'relu' })
          : null;
    }

    override build(inputShape: Shape | Shape[]): void {
      const { kernelSize, groups, filters, seed, torchInit } = this.args;
      const perGroup = lastDim(inputShape) / groups;
      const bound = 1 / Math.sqrt(kernelSize[0] * kernelSize[1] * perGroup);
      const uniform = (s: number) =>
        tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed: s });
      const kernelInit = torchInit ? uniform(seed) : glorot(seed);
      this.kernel = this.addWeight('kernel', [...kernelSize, perGroup, filters], 'float32', kernelInit);
      if (this.args.useBias)
        this.bias = this.addWeight('bias', [filters], 'float32', torchInit ? uniform(seed + 1) : zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      return conv2dOutputShape(inputShape, this.args);
    }

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor4D;
        const { groups, strides, padding, dilationRate } = this.args;
        const xs = tfc.split(x, groups, 3);
        const ks = tfc.split(this.kernel!.read() as TfCore.Tensor4D, groups, 3);
        const ys = xs.map((xi, i) =>
          tfc.conv2d(xi as TfCore.Tensor4D, ks[i] as TfCore.Tensor4D, strides, padding, 'NHWC', dilationRate),
        );
        let y: Tensor = groups === 1 ? ys[0] : tfc.concat(ys, 3);
        if (this.bias) y = tfc.add(y, this.bias.read());
        return this.activationLayer ? (this.activationLayer.apply(y) as Tensor) : y;
      });
    }

    override getConfig(): TfCore.serialization.ConfigDict {
      const { name: _n, trainable: _t, ...rest } = this.args;
      return { ...super.getConfig(), ...rest } as unknown as TfCore.serialization.ConfigDict;
    }
  }

  class MultiHeadAttention extends Base {
    static className = 'ParsimonyMultiHeadAttention';
    readonly args: MultiHeadAttentionArgs;
    private weightsByName = new Map<string, { read(): Tensor }>();

    constructor(args: MultiHeadAttentionArgs) {
      super({ name: args.name, trainable: args.trainable });
      this.args = args;
    }

    override build(inputShape: Shape | Shape[]): void {
      const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as Shape[];
      const dq = lastDim(shapes[0]);
      const dv = lastDim(shapes[1] ?? shapes[0]);
      const dk = lastDim(shapes[2] ?? shapes[1] ?? shapes[0]);
      const { numHeads: h, keyDim: kd, valueDim: vd, useBias, seed } = this.args;
      const add = (name: string, shape: number[], init: Initializer) =>
        this.weightsByName.set(name, this.addWeight(name, shape, 'float32', init));
      // Keras' layout: projections [in, heads, size], output [heads, valueDim, out].
      add('query/kernel', [dq, h, kd], glorot(seed));
      if (useBias) add('query/bias', [h, kd], zeros());
      add('key/kernel', [dk, h, kd], glorot(seed + 1));
      if (useBias) add('key/bias', [h, kd], zeros());
      add('value/kernel', [dv, h, vd], glorot(seed + 2));
      if (useBias) add('value/bias', [h, vd], zeros());
      add('output/kernel', [h, vd, dq], glorot(seed + 3));
      if (useBias) add('output/bias', [dq], zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    }

    /** [b, t, d] → [b, heads, t, size] through a [d, heads, size] kernel. */
    private project(x: Tensor, name: string, size: number): Tensor {
      const [b, t, d] = x.shape;
      const h = this.args.numHeads;
      const kernel = tfc.reshape(this.weightsByName.get(`${name}/kernel`)!.read(), [d, h * size]);
      let y = tfc.matMul(tfc.reshape(x, [b * t, d]), kernel);
      const bias = this.weightsByName.get(`${name}/bias`);
      if (bias) y = tfc.add(y, tfc.reshape(bias.read(), [h * size]));
      return tfc.transpose(tfc.reshape(y, [b, t, h, size]), [0, 2, 1, 3]);
    }

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const list = Array.isArray(inputs) ? inputs : [inputs];
        const query = list[0];
        const value = list[1] ?? query;
        const key = list[2] ?? value;
        const { numHeads: h, keyDim: kd, valueDim: vd } = this.args;
        const [b, tq, dq] = query.shape;
        const q = tfc.mul(this.project(query, 'query', kd), 1 / Math.sqrt(kd));
        const k = this.project(key, 'key', kd);
        const v = this.project(value, 'value', vd);
        const attention = tfc.softmax(tfc.matMul(q, k, false, true)); // [b, h, tq, tv]
        const context = tfc.transpose(tfc.matMul(attention, v), [0, 2, 1, 3]); // [b, tq, h, vd]
        const kernel = tfc.reshape(this.weightsByName.get('output/kernel')!.read(), [h * vd, dq]);
        let out = tfc.matMul(tfc.reshape(context, [b * tq, h * vd]), kernel);
        const bias = this.weightsByName.get('output/bias');
        if (bias) out = tfc.add(out, bias.read());
        return tfc.reshape(out, [b, tq, dq]);
      });
    }

    override getConfig(): TfCore.serialization.ConfigDict {
      const { name: _n, trainable: _t, ...rest } = this.args;
      return { ...super.getConfig(), ...rest } as unknown as TfCore.serialization.ConfigDict;
    }
  }

  class GruResetAfter extends Base {
    static className = 'ParsimonyGRUResetAfter';
    readonly args: GruResetAfterArgs;
    private kernel: { read(): Tensor } | null = null;
    private recurrentKernel: { read(): Tensor } | null = null;
    private bias: { read(): Tensor } | null = null;

    constructor(args: GruResetAfterArgs) {
      super({ name: args.name, trainable: args.trainable });
      this.args = args;
    }

    override build(inputShape: Shape | Shape[]): void {
      const features = lastDim(inputShape);
      const { units, seed } = this.args;
      // Keras' layout: gates in the order z, r, h; bias row 0 for the input, row 1 for the recurrent product.
      this.kernel = this.addWeight('kernel', [features, 3 * units], 'float32', glorot(seed));
      this.recurrentKernel = this.addWeight(
        'recurrent_kernel',
        [units, 3 * units],
        'float32',
        orthogonal(seed + 1),
      );
      if (this.args.useBias) this.bias = this.addWeight('bias', [2, 3 * units], 'float32', zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [b, t] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      return this.args.returnSequences ? [b, t, this.args.units] : [b, this.args.units];
    }

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor3D;
        const [b, steps, features] = x.shape;
        const u = this.args.units;
        const split3 = (t: Tensor) => tfc.split(t, 3, -1);
        // Input contributions for every step at once: [b·steps, 3u].
        let xw = tfc.matMul(tfc.reshape(x, [b * steps, features]), this.kernel!.read() as TfCore.Tensor2D);
        let recurrentBias: Tensor | null = null;
        if (this.bias) {
          const [inputBias, rBias] = tfc.unstack(this.bias.read());
          xw = tfc.add(xw, inputBias);
          recurrentBias = rBias;
        }
        const perStep = tfc.unstack(tfc.reshape(xw, [b, steps, 3 * u]), 1);
        let h: Tensor = tfc.zeros([b, u]);
        const outputs: Tensor[] = [];
        for (const xt of perStep) {
          let hu = tfc.matMul(h as TfCore.Tensor2D, this.recurrentKernel!.read() as TfCore.Tensor2D);
          if (recurrentBias) hu = tfc.add(hu, recurrentBias);
          const [xz, xr, xh] = split3(xt);
          const [hz, hr, hh] = split3(hu);
          const z = tfc.sigmoid(tfc.add(xz, hz));
          const r = tfc.sigmoid(tfc.add(xr, hr));
          const candidate = tfc.tanh(tfc.add(xh, tfc.mul(r, hh)));
          h = tfc.add(tfc.mul(z, h), tfc.mul(tfc.sub(1, z), candidate));
          if (this.args.returnSequences) outputs.push(h);
        }
        return this.args.returnSequences ? tfc.stack(outputs, 1) : h;
      });
    }

    override getConfig(): TfCore.serialization.ConfigDict {
      const { name: _n, trainable: _t, ...rest } = this.args;
      return { ...super.getConfig(), ...rest } as unknown as TfCore.serialization.ConfigDict;
    }
  }

  /**
   * Ceil-mode pooling: the input is padded at its end (bottom and right) so that 'valid' pooling
   * yields the rounded-up size. Max pooling pads with the lowest float, which never wins a window
   * (every window starts inside the input); average pooling pads with zeros and rescales each
   * output by pool area / real values in its window, so it averages only what is in the input.
   */
  abstract class CeilPool2D extends Base {
    readonly args: CeilPool2dArgs;

    constructor(args: CeilPool2dArgs) {
      super({ name: args.name, trainable: args.trainable });
      this.args = args;
    }

    protected outputSize(h: number, w: number): [number, number] {
      const { poolSize: k, strides: s } = this.args;
      return [poolOutput(h, k[0], s[0], 'valid', true), poolOutput(w, k[1], s[1], 'valid', true)];
    }

    /** Padding at the end of each axis that the last window needs. */
    protected endPadding(h: number, w: number): [number, number] {
      const { poolSize: k, strides: s } = this.args;
      const [oh, ow] = this.outputSize(h, w);
      return [Math.max(0, (oh - 1) * s[0] + k[0] - h), Math.max(0, (ow - 1) * s[1] + k[1] - w)];
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [n, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      if (h === null || w === null) return [n, null, null, c];
      return [n, ...this.outputSize(h, w), c];
    }

    override getConfig(): TfCore.serialization.ConfigDict {
      const { name: _n, trainable: _t, ...rest } = this.args;
      return {
        ...super.getConfig(),
        ...rest,
        padding: 'valid',
        ceilMode: true,
      } as unknown as TfCore.serialization.ConfigDict;
    }
  }

  class MaxPool2DCeil extends CeilPool2D {
    static className = 'ParsimonyMaxPooling2DCeil';

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor4D;
        const [pb, pr] = this.endPadding(x.shape[1], x.shape[2]);
        const padded =
          pb === 0 && pr === 0
            ? x
            : tfc.pad(
                x,
                [
                  [0, 0],
                  [0, pb],
                  [0, pr],
                  [0, 0],
                ],
                -3.4028234663852886e38,
              );
        return tfc.maxPool(padded, this.args.poolSize, this.args.strides, 'valid');
      });
    }
  }

  class AvgPool2DCeil extends CeilPool2D {
    static className = 'ParsimonyAveragePooling2DCeil';

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor4D;
        const [h, w] = [x.shape[1], x.shape[2]];
        const [pb, pr] = this.endPadding(h, w);
        const { poolSize: k, strides: s } = this.args;
        if (pb === 0 && pr === 0) return tfc.avgPool(x, k, s, 'valid');
        const padded = tfc.pad(x, [
          [0, 0],
          [0, pb],
          [0, pr],
          [0, 0],
        ]);
        const [oh, ow] = this.outputSize(h, w);
        const real = (o: number, axis: 0 | 1, size: number) =>
          Math.min(o * s[axis] + k[axis], size) - o * s[axis];
        const scale = new Float32Array(oh * ow);
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) scale[i * ow + j] = (k[0] * k[1]) / (real(i, 0, h) * real(j, 1, w));
        return tfc.mul(tfc.avgPool(padded, k, s, 'valid'), tfc.tensor4d(scale, [1, oh, ow, 1]));
      });
    }
  }

  /**
   * Top-k gated mixture of experts over the last axis. Weights: gate kernel [d, experts] and bias,
   * expert kernels side by side [d, experts, units] and biases [experts, units]. With top k > 1 the
   * gate's softmax runs over the top-k logits only (the others masked), so unselected experts get
   * weight 0 and gradients reach the gate through the selected logits; with top 1 the chosen
   * expert is weighted by its probability in the softmax over every logit (Switch Transformer).
   *
   * Training computes every expert on every row (one matrix product, what the backward pass
   * needs) and records the load-balancing loss, experts x sum_e f_e P_e (f_e: share of the
   * top-k slots expert e receives, P_e: its mean gate probability; Switch Transformer's form),
   * times `balanceWeight`. With `gateNoise` > 0, training adds Gaussian noise of that standard
   * deviation to the gate logits before the choice and the gate weights (noisy top-k gating), so a
   * sample near a boundary between experts trains each of them on some steps; the noise is seeded
   * from the layer's seed and a count of its training calls. Inference dispatches: each expert
   * runs only on the rows routed to it, noiseless.
   */
  class MixtureOfExperts extends Base implements AuxiliaryLossLayer {
    static className = 'ParsimonyMixtureOfExperts';
    readonly args: MixtureOfExpertsArgs;
    private weightsByName = new Map<string, { read(): Tensor }>();
    private pending: TfCore.Scalar[] = [];
    private noisyCalls = 0;
    private readonly activationLayer: TfLayers.layers.Layer | null;

    constructor(args: MixtureOfExpertsArgs) {
      super({ name: args.name, trainable: args.trainable });
      this.args = args;
      this.activationLayer =
        args.activation && args.activation !== 'linear'
          ? tfl.layers.activation({ activation: args.activation as 'relu' })
          : null;
    }

    override build(inputShape: Shape | Shape[]): void {
      const d = lastDim(inputShape);
      const { experts, units, useBias, seed } = this.args;
      const add = (name: string, shape: number[], init: Initializer) =>
        this.weightsByName.set(name, this.addWeight(name, shape, 'float32', init));
      add('gate/kernel', [d, experts], glorot(seed));
      add('gate/bias', [experts], zeros());
      // Glorot over each expert's own [d, units] fan, as a dense layer of that size would have.
      const limit = Math.sqrt(6 / (d + units));
      add(
        'kernel',
        [d, experts, units],
        tfl.initializers.randomUniform({ minval: -limit, maxval: limit, seed: seed + 1 }),
      );
      if (useBias) add('bias', [experts, units], zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      return [...s.slice(0, -1), this.args.units];
    }

    takeAuxiliaryLosses(): TfCore.Scalar[] {
      const taken = this.pending;
      this.pending = [];
      return taken;
    }

    private weight(name: string): Tensor | undefined {
      return this.weightsByName.get(name)?.read();
    }

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor;
        const { experts: e, units, topK } = this.args;
        const d = x.shape[x.shape.length - 1];
        const rows = tfc.reshape(x, [-1, d]) as TfCore.Tensor2D;
        const n = rows.shape[0];
        const clean = tfc.add(
          tfc.matMul(rows, this.weight('gate/kernel') as TfCore.Tensor2D),
          this.weight('gate/bias')!,
        );
        const noise = kwargs.training === true ? (this.args.gateNoise ?? 0) : 0;
        const logits =
          noise > 0
            ? tfc.add(
                clean,
                tfc.randomNormal(clean.shape, 0, noise, 'float32', this.args.seed + 7919 * ++this.noisyCalls),
              )
            : clean;
        // The choice itself has no gradient (TopK has none in tfjs): taken from a detached copy.
        const { indices } = tfc.topk(tfc.tensor(logits.dataSync(), logits.shape), topK);
        const selected = tfc.sum(tfc.oneHot(indices, e), 1); // [n, e], 1 where chosen
        // Top 1 (Switch Transformer): the chosen expert's probability among all, which the task
        // loss can move; a softmax over that one logit would be 1 and leave the gate untrained.
        // Top k > 1: the softmax over the k chosen logits, 0 off them.
        const gates =
          topK === 1
            ? tfc.mul(tfc.softmax(logits), selected)
            : tfc.softmax(tfc.add(logits, tfc.mul(tfc.sub(1, selected), -1e9)));
        const kernel = this.weight('kernel')!;
        const bias = this.weight('bias');
        let out: Tensor;
        if (kwargs.training === true) {
          let y = tfc.reshape(tfc.matMul(rows, tfc.reshape(kernel, [d, e * units])), [n, e, units]);
          if (bias) y = tfc.add(y, bias);
          if (this.activationLayer) y = this.activationLayer.apply(y) as Tensor;
          out = tfc.sum(tfc.mul(y, tfc.expandDims(gates, 2)), 1);
          if (this.args.balanceWeight > 0) {
            const share = tfc.div(tfc.mean(selected, 0), topK);
            const probability = tfc.mean(tfc.softmax(logits), 0);
            const balance = tfc.mul(tfc.sum(tfc.mul(share, probability)), e * this.args.balanceWeight);
            this.pending.push(tfc.keep(balance as TfCore.Scalar));
          }
        } else out = this.dispatch(rows, selected, gates, kernel, bias);
        return tfc.reshape(out, [...x.shape.slice(0, -1), units]);
      });
    }

    /** Each expert on the rows routed to it only; their gate-weighted outputs summed per row. */
    private dispatch(rows: Tensor, selected: Tensor, gates: Tensor, kernel: Tensor, bias?: Tensor): Tensor {
      const { experts: e, units } = this.args;
      const [n, d] = rows.shape;
      const chosen = selected.dataSync();
      let out: Tensor = tfc.zeros([n, units]);
      for (let expert = 0; expert < e; expert++) {
        const routed: number[] = [];
        for (let r = 0; r < n; r++) if (chosen[r * e + expert] > 0) routed.push(r);
        if (routed.length === 0) continue;
        const at = tfc.tensor1d(routed, 'int32');
        const w = tfc.reshape(tfc.slice(kernel, [0, expert, 0], [d, 1, units]), [
          d,
          units,
        ]) as TfCore.Tensor2D;
        let y: Tensor = tfc.matMul(tfc.gather(rows, at) as TfCore.Tensor2D, w);
        if (bias) y = tfc.add(y, tfc.reshape(tfc.slice(bias, [expert, 0], [1, units]), [units]));
        if (this.activationLayer) y = this.activationLayer.apply(y) as Tensor;
        const weight = tfc.gather(tfc.slice(gates, [0, expert], [n, 1]), at);
        out = tfc.add(out, tfc.scatterND(tfc.expandDims(at, 1), tfc.mul(y, weight), [n, units]));
      }
      return out;
    }

    override getConfig(): TfCore.serialization.ConfigDict {
      const { name: _n, trainable: _t, ...rest } = this.args;
      return { ...super.getConfig(), ...rest } as unknown as TfCore.serialization.ConfigDict;
    }
  }

  for (const cls of [
    GroupedConv2D,
    MultiHeadAttention,
    GruResetAfter,
    MaxPool2DCeil,
    AvgPool2DCeil,
    MixtureOfExperts,
  ])
    tfc.serialization.registerClass(
      cls as unknown as TfCore.serialization.SerializableConstructor<TfCore.serialization.Serializable>,
    );
  defined = {
    groupedConv2d: (args) => new GroupedConv2D(args),
    multiHeadAttention: (args) => new MultiHeadAttention(args),
    gruResetAfter: (args) => new GruResetAfter(args),
    maxPool2dCeil: (args) => new MaxPool2DCeil(args),
    avgPool2dCeil: (args) => new AvgPool2DCeil(args),
    mixtureOfExperts: (args) => new MixtureOfExperts(args),
  };
  return defined;
}
