/**
 * Progressive growing: train a small network, then in stages widen every hidden layer (and every
 * few stages insert a layer) with the function-preserving Net2Net steps, so each stage starts from
 * what the last one learned. The parameter count after each stage follows a linear, logarithmic
 * (front-loaded) or exponential (back-loaded) schedule up to a budget; growing stops early when the
 * validation accuracy gained per thousand added parameters falls below a threshold.
 *
 * Optimizer state is reset at every stage: the trainer makes a fresh optimizer per call, and Adam's
 * moments would not fit the new weight shapes anyway.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { countParams } from '../models/complexity/analyze.js';
import type { LayerSpec, ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import type { OptimizerConfig } from '../train/optimizers.js';
import { evaluate, type TrainingData, trainModel } from '../train/trainer.js';
import { buildNet, captureNet, deepenAfter, type GrowableNet, widenLayer } from './net2net.js';

export type GrowthScheduleKind = 'linear' | 'log' | 'exp';
export const GROWTH_SCHEDULES: readonly GrowthScheduleKind[] = ['linear', 'log', 'exp'];

export interface GrowOptions {
  train: TrainingData;
  validation: TrainingData;
  schedule: GrowthScheduleKind;
  /** Parameter budget of the last stage. */
  maxParams: number;
  /** Growth stages after the initial one (default 5). */
  stages?: number;
  /** Training epochs of each stage, the initial one included (default 3). */
  epochsPerStage?: number;
  batchSize?: number;
  optimizer?: OptimizerConfig;
  /** Stop when validation accuracy (0..1) gained per 1000 added parameters is below this (default 0.001). */
  minGainPerThousand?: number;
  /** Insert a layer every this many stages (default 2; 0 never). */
  addLayerEvery?: number;
  /** Hidden dense/conv layers the net may reach by deepening (default 4). */
  maxHiddenLayers?: number;
  /** Symmetry-breaking noise of the growth steps, relative to the weights' spread (default 0.01). */
  noise?: number;
  /** Seeds initialisation, the units copied, noise and shuffling (default 0). */
  seed?: number;
  onStage?: (stage: GrowthStage) => void;
}

export interface GrowthStage {
  stage: number;
  action: 'initial' | 'widen' | 'deepen+widen' | 'deepen';
  /** The schedule's parameter target (the grown net has at most this many, unless deepening alone exceeded it). */
  targetParams: number;
  params: number;
  /** Width of each hidden dense/conv layer, in order. */
  hidden: number[];
  trainAccuracy: number;
  valAccuracy: number;
  /** Validation accuracy gained per 1000 added parameters since the previous stage (undefined at stage 0). */
  gainPerThousand?: number;
  epochs: number;
  seconds: number;
}

export interface GrowthResult {
  curve: GrowthStage[];
  /** The last stage's spec and trained weights. */
  net: GrowableNet;
  stopped: 'stages' | 'max-params' | 'gain-below-threshold';
  totalEpochs: number;
  seconds: number;
}

/** Parameter targets of stages 1..stages, from the starting count p0 to maxParams. */
export function growthTargets(
  kind: GrowthScheduleKind,
  p0: number,
  maxParams: number,
  stages: number,
): number[] {
  return Array.from({ length: stages }, (_, i) => {
    const s = i + 1;
    if (kind === 'linear') return Math.round(p0 + ((maxParams - p0) * s) / stages);
    if (kind === 'log') return Math.round(p0 + ((maxParams - p0) * Math.log1p(s)) / Math.log1p(stages));
    return Math.round(p0 * (maxParams / p0) ** (s / stages));
  });
}

/** The layers growth widens: dense or ungrouped conv2d layers that are not model outputs. */
export function hiddenLayers(spec: ModelSpec): Extract<LayerSpec, { type: 'dense' | 'conv2d' }>[] {
  return spec.layers.filter(
    (l): l is Extract<LayerSpec, { type: 'dense' | 'conv2d' }> =>
      (l.type === 'dense' || (l.type === 'conv2d' && (l.groups ?? 1) === 1)) &&
      !spec.outputs.includes(l.name),
  );
}

function widthOf(layer: Extract<LayerSpec, { type: 'dense' | 'conv2d' }>): number {
  return layer.type === 'dense' ? layer.units : layer.filters;
}

function withWidths(spec: ModelSpec, widths: Map<string, number>): ModelSpec {
  return {
    ...spec,
    layers: spec.layers.map((l) => {
      const w = widths.get(l.name);
      if (w === undefined) return l;
      return (l.type === 'dense' ? { ...l, units: w } : { ...l, filters: w }) as LayerSpec;
    }),
  };
}

/** Widths after scaling every hidden layer by the largest factor that keeps params within target. */
function widthsForTarget(spec: ModelSpec, target: number): Map<string, number> {
  const hidden = hiddenLayers(spec);
  const at = (f: number) =>
    new Map(hidden.map((l) => [l.name, Math.max(widthOf(l), Math.floor(widthOf(l) * f))]));
  let low = 1;
  let high = 2;
  while (countParams(withWidths(spec, at(high))) <= target && high < 1e6) high *= 2;
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (countParams(withWidths(spec, at(mid))) <= target) low = mid;
    else high = mid;
  }
  return at(low);
}

/** The last layer whose output is a ReLU's before the output layer: where a new layer goes. */
function deepeningPoint(spec: ModelSpec): string | undefined {
  const candidates = spec.layers.filter(
    (l) =>
      !spec.outputs.includes(l.name) &&
      ((l.type === 'activation' && l.activation === 'relu') ||
        ((l.type === 'dense' || l.type === 'conv2d') && l.activation === 'relu')),
  );
  // A ReLU that feeds exactly one layer (chains only).
  for (let i = candidates.length - 1; i >= 0; i--)
    if (spec.layers.filter((l) => l.inputs.includes(candidates[i].name)).length === 1)
      return candidates[i].name;
  return undefined;
}

function checkGrowOptions(options: GrowOptions, p0: number): void {
  if (!GROWTH_SCHEDULES.includes(options.schedule))
    throw new InvalidArgumentError(
      `grow: schedule must be one of ${GROWTH_SCHEDULES.join(', ')}, got "${options.schedule}"`,
    );
  if (!(Number.isInteger(options.maxParams) && options.maxParams > p0))
    throw new InvalidArgumentError(
      `grow: max params must be an integer above the starting model's ${p0} parameters, got ${options.maxParams}`,
    );
  const stages = options.stages ?? 5;
  if (!(Number.isInteger(stages) && stages > 0))
    throw new InvalidArgumentError(`grow: stages must be a positive integer, got ${stages}`);
  const epochs = options.epochsPerStage ?? 3;
  if (!(Number.isInteger(epochs) && epochs > 0))
    throw new InvalidArgumentError(`grow: epochs per stage must be a positive integer, got ${epochs}`);
}

/**
 * Grows `spec` (call `initBackend()` first). Returns the growth curve, one entry per stage, and
 * the final net.
 */
export async function growNetwork(spec: ModelSpec, options: GrowOptions): Promise<GrowthResult> {
  const p0 = countParams(spec);
  checkGrowOptions(options, p0);
  if (hiddenLayers(spec).length === 0)
    throw new InvalidArgumentError('grow: the model has no hidden dense or conv2d layer to widen');
  const stages = options.stages ?? 5;
  const epochs = options.epochsPerStage ?? 3;
  const seed = options.seed ?? 0;
  const threshold = options.minGainPerThousand ?? 0.001;
  const addLayerEvery = options.addLayerEvery ?? 2;
  const maxHidden = options.maxHiddenLayers ?? 4;
  const noise = options.noise ?? 0.01;
  const started = performance.now();
  const targets = growthTargets(options.schedule, p0, options.maxParams, stages);
  const curve: GrowthStage[] = [];

  let model = await buildTfjsModel(spec, { seed });
  let net: GrowableNet = { spec, weights: {} };
  let stopped: GrowthResult['stopped'] = 'stages';
  for (let stage = 0; stage <= stages; stage++) {
    const stageStart = performance.now();
    let action: GrowthStage['action'] = 'initial';
    let target = p0;
    if (stage > 0) {
      target = targets[stage - 1];
      let grown = captureNet(model, net.spec);
      const deepen =
        addLayerEvery > 0 && stage % addLayerEvery === 0 && hiddenLayers(grown.spec).length < maxHidden;
      const point = deepen ? deepeningPoint(grown.spec) : undefined;
      if (point) grown = deepenAfter(grown, point, { noise, seed: seed * 7919 + stage });
      const widths = widthsForTarget(grown.spec, target);
      let widened = false;
      let k = 0;
      for (const layer of hiddenLayers(grown.spec)) {
        const width = widths.get(layer.name) as number;
        k++;
        if (width === widthOf(layer)) continue;
        grown = widenLayer(grown, layer.name, width, { noise, seed: seed * 7919 + stage * 101 + k });
        widened = true;
      }
      action = point ? (widened ? 'deepen+widen' : 'deepen') : 'widen';
      if (!point && !widened) {
        stopped = 'max-params';
        break;
      }
      model.dispose();
      model = await buildNet(grown, seed + stage);
      net = grown;
    }
    await trainModel(model, options.train, {
      epochs,
      batchSize: options.batchSize,
      optimizer: options.optimizer,
      seed: seed + stage,
    });
    const trained = await evaluate(model, options.train);
    const validated = await evaluate(model, options.validation);
    const params = countParams(net.spec);
    const previous = curve[curve.length - 1];
    const entry: GrowthStage = {
      stage,
      action,
      targetParams: target,
      params,
      hidden: hiddenLayers(net.spec).map(widthOf),
      trainAccuracy: trained.accuracy,
      valAccuracy: validated.accuracy,
      ...(previous
        ? {
            gainPerThousand:
              (validated.accuracy - previous.valAccuracy) / (Math.max(1, params - previous.params) / 1000),
          }
        : {}),
      epochs,
      seconds: (performance.now() - stageStart) / 1000,
    };
    curve.push(entry);
    options.onStage?.(entry);
    if (entry.gainPerThousand !== undefined && entry.gainPerThousand < threshold) {
      stopped = 'gain-below-threshold';
      break;
    }
    if (params >= options.maxParams) {
      stopped = 'max-params';
      break;
    }
  }
  net = captureNet(model, net.spec);
  model.dispose();
  return {
    curve,
    net,
    stopped,
    totalEpochs: curve.reduce((sum, s) => sum + s.epochs, 0),
    seconds: (performance.now() - started) / 1000,
  };
}

/** The growth curve as a text table, one row per stage. */
export function formatGrowthCurve(curve: readonly GrowthStage[]): string {
  const header = [
    'stage',
    'action',
    'target',
    'params',
    'hidden',
    'train acc',
    'val acc',
    'gain/1k params',
    'seconds',
  ];
  const rows = curve.map((s) => [
    String(s.stage),
    s.action,
    String(s.targetParams),
    String(s.params),
    s.hidden.join('-'),
    `${(s.trainAccuracy * 100).toFixed(2)}%`,
    `${(s.valAccuracy * 100).toFixed(2)}%`,
    s.gainPerThousand === undefined ? '' : `${(s.gainPerThousand * 100).toFixed(3)} pts`,
    s.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
