/**
 * Early exit (BranchyNet-style): classifier heads after intermediate blocks, trained jointly on
 * the weighted sum of their cross-entropies; at inference a sample leaves at the first head whose
 * confidence (largest class probability) exceeds the threshold, so easy samples run only the
 * first blocks. `calibrate` fits one temperature per head on validation data, so the threshold
 * means the same at every head; the temperatures are stored and applied wherever confidence is
 * read. `predict` runs block by block on the samples still in, so the saved work is real; `curve`
 * sweeps thresholds from every head's outputs, computed once.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, ModelSpecError } from '../core/errors.js';
import type { LayerSpec, ModelSpec } from '../models/spec/types.js';
import { inferShapes } from '../models/spec/validate.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { loadModel, saveModel } from '../models/tfjs/save.js';
import { type TrainingData, type TrainOptions, type TrainResult, trainModel } from '../train/trainer.js';
import {
  applyTemperature,
  calibrateStages,
  checkTemperatures,
  type StageCalibration,
} from './calibration.js';
import {
  chooseThreshold,
  DEFAULT_THRESHOLDS,
  type ExitPoint,
  exitCurve,
  type StageOutputs,
  type ThresholdChoice,
} from './exits.js';
import { DYNAMIC_FORMAT, type EarlyExitSpec, readDynamicSpec, writeDynamicSpec } from './format.js';
import { ancestors, cumulativeOutputCosts, outputStages, type StageCost } from './graph.js';

/**
 * A spec with a softmax head after each named layer (global average pooling first for images,
 * a flatten for other shapes of rank > 1); the heads come before the model's own output.
 */
export function withExitHeads(base: ModelSpec, after: readonly string[]): ModelSpec {
  if (base.outputs.length !== 1)
    throw new ModelSpecError(`${base.name ?? 'model'}: early exit needs a model with one output`);
  const shapes = inferShapes(base);
  const classes = (shapes.byName.get(base.outputs[0]) ?? []).at(-1) as number;
  const layers: LayerSpec[] = [...base.layers];
  const heads = after.map((name, i) => {
    const shape = shapes.byName.get(name);
    if (!shape || !base.layers.some((l) => l.name === name))
      throw new ModelSpecError(`${base.name ?? 'model'}: no layer "${name}" to put an exit head after`);
    let input = name;
    if (shape.length > 1) {
      const pool: LayerSpec =
        shape.length === 3
          ? { name: `exit-${i + 1}-pool`, type: 'globalAvgPool2d', inputs: [input] }
          : { name: `exit-${i + 1}-flatten`, type: 'flatten', inputs: [input] };
      layers.push(pool);
      input = pool.name;
    }
    const head: LayerSpec = {
      name: `exit-${i + 1}`,
      type: 'dense',
      inputs: [input],
      units: classes,
      activation: 'softmax',
    };
    layers.push(head);
    return head.name;
  });
  const spec: ModelSpec = { ...base, layers, outputs: [...heads, base.outputs[0]] };
  inferShapes(spec);
  return spec;
}

/** What early heads send back into the shared blocks, as a share of their gradient (see `train`). */
export const DEFAULT_GRADIENT_SCALE = 0.3;

export interface EarlyExitPrediction {
  predicted: Int32Array;
  /** The head (0-based) each sample left at. */
  exits: Int32Array;
  /** Mean MACs per sample of this run. */
  averageMacs: number;
}

export class EarlyExitNetwork {
  readonly model: TfLayers.LayersModel;
  readonly spec: EarlyExitSpec;
  /** Cumulative cost up to each head. */
  readonly costs: StageCost[];

  constructor(model: TfLayers.LayersModel, spec: EarlyExitSpec) {
    this.model = model;
    this.spec = spec;
    this.costs = cumulativeOutputCosts(spec.model);
    for (const output of spec.model.outputs) {
      const layer = spec.model.layers.find((l) => l.name === output);
      if (!layer || !('activation' in layer) || layer.activation !== 'softmax')
        throw new ModelSpecError(`early exit: head "${output}" must be a layer with softmax activation`);
    }
    if (spec.temperatures) checkTemperatures(spec.temperatures, spec.model.outputs.length, 'early exit');
  }

  /** A new network from a spec with heads (see `withExitHeads`); loss weights default to 1 per head. */
  static async create(
    model: ModelSpec,
    options: { lossWeights?: number[]; threshold?: number; seed?: number } = {},
  ): Promise<EarlyExitNetwork> {
    const lossWeights = options.lossWeights ?? model.outputs.map(() => 1);
    if (lossWeights.length !== model.outputs.length)
      throw new InvalidArgumentError(
        `early exit: ${lossWeights.length} loss weights for ${model.outputs.length} heads`,
      );
    const spec: EarlyExitSpec = {
      format: DYNAMIC_FORMAT,
      kind: 'early-exit',
      model,
      lossWeights,
      threshold: options.threshold ?? 1,
    };
    return new EarlyExitNetwork(await buildTfjsModel(model, { seed: options.seed ?? 0 }), spec);
  }

  /**
   * Trains every head at once with the trainer (weighted cross-entropies). `gradientScale`
   * multiplies the gradient each early head sends back into the shared blocks (its own weights
   * get the full gradient): 1 trains the blocks on every head's loss, 0 on the last head's only
   * (the last head then trains exactly as the network without heads). Default 0.3: with 1 the
   * early heads' losses pull the shared blocks away from what the last head needs (the README's
   * dynamic-networks section has the measurement), while 0.3 keeps most of the early heads' gain.
   */
  async train(
    data: TrainingData,
    options: Omit<TrainOptions, 'outputWeights'>,
    joint: { gradientScale?: number } = {},
  ): Promise<TrainResult> {
    const scale = joint.gradientScale ?? DEFAULT_GRADIENT_SCALE;
    if (!(scale >= 0 && scale <= 1))
      throw new InvalidArgumentError(`early exit: gradientScale must be in [0, 1], got ${scale}`);
    // The scaling wraps this thread's layers; replicas in worker threads would train without it.
    if (scale !== 1 && (options.threads ?? 1) > 1)
      throw new InvalidArgumentError(
        `early exit: gradientScale ${scale} needs threads 1 (or gradientScale 1 with threads ${options.threads})`,
      );
    const restore = scale === 1 ? () => {} : await this.scaleHeadGradients(scale);
    try {
      return await trainModel(this.model, data, { ...options, outputWeights: this.spec.lossWeights });
    } finally {
      restore();
    }
  }

  /**
   * Makes every head layer that reads a layer of the last head's path scale the gradient flowing
   * back through that input (the forward pass is unchanged); returns the undo.
   */
  private async scaleHeadGradients(scale: number): Promise<() => void> {
    const tf = await import('@tensorflow/tfjs-core');
    const model = this.spec.model;
    const shared = ancestors(model, model.outputs[model.outputs.length - 1]);
    const scaled = tf.customGrad((x, _save) => ({
      value: tf.clone(x as TfCore.Tensor),
      gradFunc: (dy: TfCore.Tensor) => tf.mul(dy, scale),
    }));
    const undo: (() => void)[] = [];
    for (const spec of model.layers) {
      if (shared.has(spec.name) || !spec.inputs.some((i) => shared.has(i))) continue;
      const layer = this.model.getLayer(spec.name) as unknown as {
        call(inputs: TfCore.Tensor | TfCore.Tensor[], kwargs: object): TfCore.Tensor | TfCore.Tensor[];
      };
      const call = layer.call;
      layer.call = (inputs, kwargs) => {
        const list = Array.isArray(inputs) ? inputs : [inputs];
        const through = list.map((t, i) => (shared.has(spec.inputs[i]) ? (scaled(t) as TfCore.Tensor) : t));
        return call.call(layer, Array.isArray(inputs) ? through : through[0], kwargs);
      };
      undo.push(() => {
        layer.call = call;
      });
    }
    return () => {
      for (const u of undo) u();
    };
  }

  /**
   * Fits each head's temperature on these (validation) data, from the raw outputs, and keeps them
   * in the spec: from then on `headOutputs`, `curve`, `chooseThreshold` and `predict` read the
   * calibrated confidences. Returns each head's NLL and ECE before and after on these data.
   */
  async calibrate(validation: TrainingData): Promise<StageCalibration[]> {
    const raw = await this.headOutputs(validation, 512, false);
    const report = calibrateStages(
      raw.map((h) => h.probabilities),
      validation.labels,
      validation.numClasses,
    );
    this.spec.temperatures = report.map((r) => r.temperature);
    return report;
  }

  /** Each head's temperature (1 before `calibrate`). */
  get temperatures(): number[] {
    return this.spec.temperatures ?? this.spec.model.outputs.map(() => 1);
  }

  /**
   * Every head's probabilities for the data (all heads run on every sample), rescaled by the
   * heads' temperatures unless `calibrated` is false.
   */
  async headOutputs(data: TrainingData, batchSize = 512, calibrated = true): Promise<StageOutputs[]> {
    const tf = await import('@tensorflow/tfjs-core');
    const n = data.labels.length;
    const size = data.shape.reduce((a, b) => a * b, 1);
    const heads = this.spec.model.outputs.length;
    const out = Array.from({ length: heads }, () => new Float32Array(n * data.numClasses));
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      tf.tidy(() => {
        const x = tf.tensor(data.x.subarray(start * size, end * size), [end - start, ...data.shape]);
        const ys = this.model.apply(x, { training: false }) as TfCore.Tensor[];
        ys.forEach((y, h) => {
          out[h].set(y.dataSync(), start * data.numClasses);
        });
      });
    }
    const temperatures = this.temperatures;
    return out.map((probabilities, h) => ({
      probabilities: calibrated
        ? applyTemperature(probabilities, data.numClasses, temperatures[h])
        : probabilities,
      cumulativeMacs: this.costs[h].activeMacs,
    }));
  }

  /**
   * Sets the threshold to the cheapest one whose accuracy on these (validation) data reaches
   * `targetAccuracy`, and records the share of samples each head answered there.
   */
  async chooseThreshold(
    validation: TrainingData,
    targetAccuracy: number,
    thresholds: readonly number[] = DEFAULT_THRESHOLDS,
  ): Promise<ThresholdChoice> {
    const choice = chooseThreshold(
      await this.headOutputs(validation),
      validation.labels,
      validation.numClasses,
      targetAccuracy,
      thresholds,
    );
    this.spec.threshold = choice.chosen.threshold;
    this.spec.exitShares = choice.chosen.exitShares;
    return choice;
  }

  /** Accuracy and average MACs per sample at each threshold. */
  async curve(data: TrainingData, thresholds: readonly number[] = DEFAULT_THRESHOLDS): Promise<ExitPoint[]> {
    return exitCurve(await this.headOutputs(data), data.labels, data.numClasses, thresholds);
  }

  /**
   * Classifies samples block by block: after each head, the samples whose (calibrated) confidence
   * exceeds the threshold leave and only the others run the next block.
   */
  async predict(
    x: Float32Array,
    shape: readonly number[],
    threshold = this.spec.threshold,
  ): Promise<EarlyExitPrediction> {
    const tf = await import('@tensorflow/tfjs-core');
    const size = shape.reduce((a, b) => a * b, 1);
    const n = x.length / size;
    const predicted = new Int32Array(n);
    const exits = new Int32Array(n);
    const stages = outputStages(this.spec.model);
    const later = stages.map(
      (_, s) => new Set(stages.slice(s + 1).flatMap((st) => st.flatMap((l) => l.inputs))),
    );
    let rows = Int32Array.from({ length: n }, (_, i) => i);
    const cache = new Map<string, TfCore.Tensor>([
      [this.spec.model.inputs[0].name, tf.tensor(x, [n, ...shape])],
    ]);
    let macs = 0;
    const temperatures = this.temperatures;
    try {
      for (let s = 0; s < stages.length && rows.length > 0; s++) {
        for (const layer of stages[s]) {
          const inputs = layer.inputs.map((name) => cache.get(name) as TfCore.Tensor);
          const out = tf.tidy(
            () =>
              this.model.getLayer(layer.name).apply(inputs.length === 1 ? inputs[0] : inputs, {
                training: false,
              }) as TfCore.Tensor,
          );
          cache.set(layer.name, out);
        }
        const raw = (cache.get(this.spec.model.outputs[s]) as TfCore.Tensor).dataSync() as Float32Array;
        const classes = raw.length / rows.length;
        const probabilities = applyTemperature(raw, classes, temperatures[s]);
        const last = s === stages.length - 1;
        const staying: number[] = [];
        for (let r = 0; r < rows.length; r++) {
          let best = 0;
          for (let c = 1; c < classes; c++)
            if (probabilities[r * classes + c] > probabilities[r * classes + best]) best = c;
          if (last || probabilities[r * classes + best] > threshold) {
            predicted[rows[r]] = best;
            exits[rows[r]] = s;
            macs += this.costs[s].activeMacs;
          } else staying.push(r);
        }
        // Keep only what later blocks read, for the samples still in.
        const keep = tf.tensor1d(staying, 'int32');
        for (const [name, t] of [...cache]) {
          if (later[s].has(name) && staying.length > 0) cache.set(name, tf.gather(t, keep));
          else cache.delete(name);
          t.dispose();
        }
        keep.dispose();
        rows = Int32Array.from(staying, (r) => rows[r]);
      }
    } finally {
      tf.dispose([...cache.values()]);
    }
    return { predicted, exits, averageMacs: macs / n };
  }

  async save(dir: string): Promise<void> {
    await saveModel(this.model, this.spec.model, dir);
    await writeDynamicSpec(dir, this.spec);
  }

  static async load(dir: string): Promise<EarlyExitNetwork> {
    const spec = await readDynamicSpec(dir);
    if (spec.kind !== 'early-exit') throw new ModelSpecError(`${dir}: a ${spec.kind} model, not early-exit`);
    const { model } = await loadModel(dir);
    return new EarlyExitNetwork(model, spec);
  }

  dispose(): void {
    this.model.dispose();
  }
}
