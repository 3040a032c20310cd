/**
 * TensorFlow.js layers of a slimmable network: dense and convolution layers that use the first
 * units (filters) of their weights at the current width, and switchable batch norm (one set of
 * scale, offset and statistics per width, Yu et al. 2019). A layer's width is an index into the
 * network's widths, set on every layer before a call (`setLayerWidth`). Registered for
 * (de)serialisation once, so a saved slimmable model loads with `loadModel`.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { conv2dOutputShape, type Shape } from '../models/tfjs/custom-layers.js';

type Tfc = typeof TfCore;
type Tfl = typeof TfLayers;
type Tensor = TfCore.Tensor;

type Kwargs = Record<string, unknown>;
type Initializer = ReturnType<Tfl['initializers']['zeros']>;
interface Weight {
  read(): Tensor;
  write(value: Tensor): void;
}

/** Units of a layer of `full` units at width `w` (at least one). */
export const slimUnits = (full: number, w: number): number => Math.max(1, Math.round(full * w));

interface SlimArgs {
  name?: string;
  trainable?: boolean;
  widths: number[];
  /** Keeps all its units at every width (layers that produce a model output). */
  fixed: boolean;
  seed: number;
}

export interface SlimmableDenseArgs extends SlimArgs {
  units: number;
  activation?: string;
  useBias: boolean;
  /** Spatial positions a flattened input holds (1 otherwise): its rows are position-major. */
  inputPositions: number;
}

export interface SlimmableConv2dArgs extends SlimArgs {
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  dilationRate: [number, number];
  activation?: string;
  useBias: boolean;
}

export interface SwitchableBatchNormArgs extends SlimArgs {
  /** Channels at each width. */
  channels: number[];
  epsilon: number;
  momentum: number;
}

/** A layer whose width can be switched. */
export interface WidthSwitchable {
  widthIndex: number;
}

/** A switchable batch norm's [gamma, beta, moving mean, moving variance] at one width. */
export interface SwitchableWeights {
  widthWeights(index: number): Tensor[];
}

/**
 * Post-training calibration of a switchable batch norm: `startCalibration` zeroes the current
 * width's statistics, then every training-mode call adds its batch's mean and variance to a
 * cumulative average (instead of the moving average), until `endCalibration`.
 */
export interface CalibratableNorm {
  startCalibration(): void;
  endCalibration(): void;
}

export function setLayerWidth(model: TfLayers.LayersModel, index: number): void {
  for (const layer of model.layers)
    if ('widthIndex' in layer) (layer as unknown as WidthSwitchable).widthIndex = index;
}

export interface SlimmableLayers {
  dense(args: SlimmableDenseArgs): TfLayers.layers.Layer;
  conv2d(args: SlimmableConv2dArgs): TfLayers.layers.Layer;
  batchNorm(args: SwitchableBatchNormArgs): TfLayers.layers.Layer;
}

interface LayerInternals {
  addWeight(
    name: string,
    shape: number[],
    dtype: 'float32',
    initializer: Initializer,
    regularizer?: undefined,
    trainable?: boolean,
  ): Weight;
  getConfig(): Kwargs;
}

let defined: SlimmableLayers | undefined;

export function slimmableLayers(tfc: Tfc, tfl: Tfl): SlimmableLayers {
  if (defined) return defined;
  const Base = tfl.layers.Layer as unknown as new (args: object) => TfLayers.layers.Layer & LayerInternals;
  const lastDim = (shape: Shape | Shape[]): number => {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as Shape;
    return s[s.length - 1] as number;
  };
  const activation = (name?: string) =>
    name && name !== 'linear' ? tfl.layers.activation({ activation: name as 'relu' }) : null;
  const config = (args: SlimArgs & object, base: TfCore.serialization.ConfigDict) => {
    const { name: _n, trainable: _t, ...rest } = args as SlimArgs & Record<string, unknown>;
    return { ...base, ...rest } as unknown as TfCore.serialization.ConfigDict;
  };

  abstract class Slim<A extends SlimArgs> extends Base implements WidthSwitchable {
    readonly args: A;
    widthIndex: number;
    constructor(args: A) {
      super({ name: args.name, trainable: args.trainable });
      this.args = args;
      this.widthIndex = args.widths.length - 1;
    }
    protected outputs(full: number): number {
      return this.args.fixed ? full : slimUnits(full, this.args.widths[this.widthIndex]);
    }
    override getConfig(): TfCore.serialization.ConfigDict {
      return config(this.args, super.getConfig());
    }
  }

  class SlimmableDense extends Slim<SlimmableDenseArgs> {
    static className = 'ParsimonySlimmableDense';
    private kernel: Weight | null = null;
    private bias: Weight | null = null;
    private readonly activationLayer = activation(this.args.activation);

    override build(inputShape: Shape | Shape[]): void {
      const d = lastDim(inputShape);
      const init = tfl.initializers.glorotUniform({ seed: this.args.seed });
      this.kernel = this.addWeight('kernel', [d, this.args.units], 'float32', init);
      if (this.args.useBias)
        this.bias = this.addWeight('bias', [this.args.units], 'float32', tfl.initializers.zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      return [...s.slice(0, -1), this.args.units];
    }

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor2D;
        const kernel = this.kernel!.read();
        const [rows, units] = kernel.shape;
        const out = this.outputs(units);
        const p = this.args.inputPositions;
        const used = x.shape[x.shape.length - 1] / p;
        // Rows of a flattened input are position-major: keep the first channels at each position.
        const w = tfc.reshape(
          tfc.slice(tfc.reshape(kernel, [p, rows / p, units]), [0, 0, 0], [p, used, out]),
          [p * used, out],
        ) as TfCore.Tensor2D;
        let y: Tensor = tfc.matMul(x, w);
        if (this.bias) y = tfc.add(y, tfc.slice(this.bias.read(), [0], [out]));
        return this.activationLayer ? (this.activationLayer.apply(y) as Tensor) : y;
      });
    }
  }

  class SlimmableConv2D extends Slim<SlimmableConv2dArgs> {
    static className = 'ParsimonySlimmableConv2D';
    private kernel: Weight | null = null;
    private bias: Weight | null = null;
    private readonly activationLayer = activation(this.args.activation);

    override build(inputShape: Shape | Shape[]): void {
      const c = lastDim(inputShape);
      const { kernelSize, filters, seed } = this.args;
      const init = tfl.initializers.glorotUniform({ seed });
      this.kernel = this.addWeight('kernel', [...kernelSize, c, filters], 'float32', init);
      if (this.args.useBias)
        this.bias = this.addWeight('bias', [filters], 'float32', tfl.initializers.zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      return conv2dOutputShape(inputShape, this.args);
    }

    override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor4D;
        const kernel = this.kernel!.read();
        const [kh, kw, , filters] = kernel.shape;
        const out = this.outputs(filters);
        const w = tfc.slice(kernel, [0, 0, 0, 0], [kh, kw, x.shape[3], out]) as TfCore.Tensor4D;
        const { strides, padding, dilationRate } = this.args;
        let y: Tensor = tfc.conv2d(x, w, strides, padding, 'NHWC', dilationRate);
        if (this.bias) y = tfc.add(y, tfc.slice(this.bias.read(), [0], [out]));
        return this.activationLayer ? (this.activationLayer.apply(y) as Tensor) : y;
      });
    }
  }

  class SwitchableBatchNorm
    extends Slim<SwitchableBatchNormArgs>
    implements SwitchableWeights, CalibratableNorm
  {
    static className = 'ParsimonySwitchableBatchNorm';
    private sets: { gamma: Weight; beta: Weight; mean: Weight; variance: Weight }[] = [];
    /** Batches averaged so far while calibrating; null when not calibrating. */
    private calibrated: number | null = null;

    startCalibration(): void {
      const set = this.sets[this.widthIndex];
      tfc.tidy(() => {
        set.mean.write(tfc.zerosLike(set.mean.read()));
        set.variance.write(tfc.zerosLike(set.variance.read()));
      });
      this.calibrated = 0;
    }

    endCalibration(): void {
      this.calibrated = null;
    }

    override build(_inputShape: Shape | Shape[]): void {
      const ones = tfl.initializers.ones();
      const zeros = tfl.initializers.zeros();
      this.sets = this.args.channels.map((c, i) => ({
        gamma: this.addWeight(`gamma/${i}`, [c], 'float32', ones),
        beta: this.addWeight(`beta/${i}`, [c], 'float32', zeros),
        mean: this.addWeight(`moving_mean/${i}`, [c], 'float32', zeros, undefined, false),
        variance: this.addWeight(`moving_variance/${i}`, [c], 'float32', ones, undefined, false),
      }));
      this.built = true;
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    }

    widthWeights(index: number): Tensor[] {
      const set = this.sets[index];
      return [set.gamma.read(), set.beta.read(), set.mean.read(), set.variance.read()];
    }

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
      return tfc.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor;
        const set = this.sets[this.widthIndex];
        const { epsilon, momentum } = this.args;
        if (kwargs.training !== true)
          return tfc.batchNorm(
            x,
            set.mean.read(),
            set.variance.read(),
            set.beta.read(),
            set.gamma.read(),
            epsilon,
          );
        const axes = x.shape.map((_, i) => i).slice(0, -1);
        const { mean, variance } = tfc.moments(x, axes);
        // Moving statistics as Keras keeps them (variance of the batch, not unbiased); while
        // calibrating, the plain average of every batch's so far.
        const keep = this.calibrated === null ? momentum : this.calibrated / (this.calibrated + 1);
        if (this.calibrated !== null) this.calibrated++;
        set.mean.write(tfc.add(tfc.mul(set.mean.read(), keep), tfc.mul(mean, 1 - keep)));
        set.variance.write(tfc.add(tfc.mul(set.variance.read(), keep), tfc.mul(variance, 1 - keep)));
        return tfc.batchNorm(x, mean, variance, set.beta.read(), set.gamma.read(), epsilon);
      });
    }
  }

  for (const cls of [SlimmableDense, SlimmableConv2D, SwitchableBatchNorm])
    tfc.serialization.registerClass(
      cls as unknown as TfCore.serialization.SerializableConstructor<TfCore.serialization.Serializable>,
    );
  defined = {
    dense: (args) => new SlimmableDense(args),
    conv2d: (args) => new SlimmableConv2D(args),
    batchNorm: (args) => new SwitchableBatchNorm(args),
  };
  return defined;
}
