/**
 * Model switching: a cascade of models of increasing size. Every sample goes to the smallest
 * model first; while the current model's confidence (largest class probability) is at most the
 * threshold, the sample goes on to the next one, and the last always answers. The threshold is
 * chosen on validation data as the cheapest one that reaches a target accuracy. A sample that
 * reaches member i has paid for members 0..i. `calibrate` fits one temperature per member on
 * validation data (see calibration.ts), so the threshold means the same for every member; they
 * are stored and applied wherever confidence is read.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, ModelSpecError } from '../core/errors.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { loadModel, saveModel } from '../models/tfjs/save.js';
import { type TrainingData, type TrainOptions, trainModel } from '../train/trainer.js';
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
import { type CascadeSpec, DYNAMIC_FORMAT, memberDir, readDynamicSpec, writeDynamicSpec } from './format.js';

export interface CascadeMember {
  spec: ModelSpec;
  model: TfLayers.LayersModel;
}

export interface CascadePrediction {
  predicted: Int32Array;
  /** The member (0-based) that answered each sample. */
  answeredBy: Int32Array;
  /** Mean MACs per sample of this run. */
  averageMacs: number;
}

export class ModelCascade {
  readonly members: CascadeMember[];
  threshold: number;
  /** Share of the validation samples each member answered at the chosen threshold. */
  exitShares: number[] | undefined;
  /** Per member, the temperature its confidence is read at (`calibrate`); undefined: raw. */
  temperatures: number[] | undefined;
  /** MACs per sample of each member alone. */
  readonly memberMacs: number[];
  /** MACs a sample answered by member i has run (members 0..i). */
  readonly cumulativeMacs: number[];

  constructor(members: CascadeMember[], threshold = 1, exitShares?: number[], temperatures?: number[]) {
    if (members.length === 0) throw new InvalidArgumentError('cascade: no members');
    if (!(threshold >= 0 && threshold <= 1))
      throw new InvalidArgumentError(`cascade: threshold must be in [0, 1], got ${threshold}`);
    members.forEach(({ spec }, i) => {
      const out = spec.layers.find((l) => l.name === spec.outputs[0]);
      if (spec.outputs.length !== 1 || !out || !('activation' in out) || out.activation !== 'softmax')
        throw new ModelSpecError(
          `cascade: member ${i} (${spec.name ?? 'model'}) must have one softmax output`,
        );
    });
    if (temperatures) checkTemperatures(temperatures, members.length, 'cascade');
    this.members = members;
    this.threshold = threshold;
    this.exitShares = exitShares;
    this.temperatures = temperatures;
    this.memberMacs = members.map((m) => analyzeModel(m.spec).activeMacs);
    let sum = 0;
    this.cumulativeMacs = this.memberMacs.map((m) => {
      sum += m;
      return sum;
    });
  }

  /** Builds and trains every member with the trainer (same options, member i seeded seed + i). */
  static async train(
    specs: readonly ModelSpec[],
    data: TrainingData,
    options: TrainOptions,
  ): Promise<ModelCascade> {
    const members: CascadeMember[] = [];
    for (const [i, spec] of specs.entries()) {
      const model = await buildTfjsModel(spec, { seed: (options.seed ?? 0) + i });
      await trainModel(model, data, { ...options, seed: (options.seed ?? 0) + i });
      members.push({ spec, model });
    }
    return new ModelCascade(members);
  }

  get spec(): CascadeSpec {
    return {
      format: DYNAMIC_FORMAT,
      kind: 'cascade',
      members: this.members.map((m) => m.spec),
      threshold: this.threshold,
      ...(this.exitShares ? { exitShares: this.exitShares } : {}),
      ...(this.temperatures ? { temperatures: this.temperatures } : {}),
    };
  }

  private temperatureOf(member: number): number {
    return this.temperatures?.[member] ?? 1;
  }

  /**
   * Fits each member's temperature on these (validation) data from its raw outputs and keeps them:
   * from then on every confidence read is calibrated. Returns NLL and ECE before and after.
   */
  async calibrate(validation: TrainingData): Promise<StageCalibration[]> {
    const raw = await this.memberOutputs(validation, 512, false);
    const report = calibrateStages(
      raw.map((m) => m.probabilities),
      validation.labels,
      validation.numClasses,
    );
    this.temperatures = report.map((r) => r.temperature);
    return report;
  }

  /**
   * Every member's probabilities for the data (every member runs on every sample), rescaled by
   * the members' temperatures unless `calibrated` is false.
   */
  async memberOutputs(data: TrainingData, batchSize = 512, calibrated = true): Promise<StageOutputs[]> {
    const tf = await import('@tensorflow/tfjs-core');
    const n = data.labels.length;
    const size = data.shape.reduce((a, b) => a * b, 1);
    return this.members.map(({ model }, i) => {
      const probabilities = new Float32Array(n * data.numClasses);
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        tf.tidy(() => {
          const x = tf.tensor(data.x.subarray(start * size, end * size), [end - start, ...data.shape]);
          probabilities.set((model.predict(x) as TfCore.Tensor).dataSync(), start * data.numClasses);
        });
      }
      return {
        probabilities: calibrated
          ? applyTemperature(probabilities, data.numClasses, this.temperatureOf(i))
          : probabilities,
        cumulativeMacs: this.cumulativeMacs[i],
      };
    });
  }

  async curve(data: TrainingData, thresholds: readonly number[] = DEFAULT_THRESHOLDS): Promise<ExitPoint[]> {
    return exitCurve(await this.memberOutputs(data), data.labels, data.numClasses, thresholds);
  }

  /** Sets the threshold to the cheapest one reaching `targetAccuracy` on these (validation) data. */
  async chooseThreshold(
    validation: TrainingData,
    targetAccuracy: number,
    thresholds: readonly number[] = DEFAULT_THRESHOLDS,
  ): Promise<ThresholdChoice> {
    const choice = chooseThreshold(
      await this.memberOutputs(validation),
      validation.labels,
      validation.numClasses,
      targetAccuracy,
      thresholds,
    );
    this.threshold = choice.chosen.threshold;
    this.exitShares = choice.chosen.exitShares;
    return choice;
  }

  /** Classifies samples member by member; only the samples still unsure (calibrated confidence) go on. */
  async predict(
    x: Float32Array,
    shape: readonly number[],
    threshold = this.threshold,
  ): Promise<CascadePrediction> {
    const tf = await import('@tensorflow/tfjs-core');
    const size = shape.reduce((a, b) => a * b, 1);
    const n = x.length / size;
    const predicted = new Int32Array(n);
    const answeredBy = new Int32Array(n);
    let rows = Int32Array.from({ length: n }, (_, i) => i);
    let macs = 0;
    for (let m = 0; m < this.members.length && rows.length > 0; m++) {
      const batch = new Float32Array(rows.length * size);
      rows.forEach((r, i) => {
        batch.set(x.subarray(r * size, (r + 1) * size), i * size);
      });
      const raw = tf.tidy(() =>
        (
          this.members[m].model.predict(tf.tensor(batch, [rows.length, ...shape])) as TfCore.Tensor
        ).dataSync(),
      ) as Float32Array;
      const classes = raw.length / rows.length;
      const probabilities = applyTemperature(raw, classes, this.temperatureOf(m));
      const last = m === this.members.length - 1;
      const staying: number[] = [];
      rows.forEach((row, r) => {
        let best = 0;
        for (let c = 1; c < classes; c++)
          if (probabilities[r * classes + c] > probabilities[r * classes + best]) best = c;
        if (last || probabilities[r * classes + best] > threshold) {
          predicted[row] = best;
          answeredBy[row] = m;
          macs += this.cumulativeMacs[m];
        } else staying.push(row);
      });
      rows = Int32Array.from(staying);
    }
    return { predicted, answeredBy, averageMacs: macs / n };
  }

  async save(dir: string): Promise<void> {
    for (const [i, { model, spec }] of this.members.entries())
      await saveModel(model, spec, memberDir(dir, i));
    await writeDynamicSpec(dir, this.spec);
  }

  static async load(dir: string): Promise<ModelCascade> {
    const spec = await readDynamicSpec(dir);
    if (spec.kind !== 'cascade') throw new ModelSpecError(`${dir}: a ${spec.kind} model, not a cascade`);
    const members: CascadeMember[] = [];
    for (const [i, memberSpec] of spec.members.entries())
      members.push({ spec: memberSpec, model: (await loadModel(memberDir(dir, i))).model });
    return new ModelCascade(members, spec.threshold, spec.exitShares, spec.temperatures);
  }

  dispose(): void {
    for (const m of this.members) m.model.dispose();
  }
}
