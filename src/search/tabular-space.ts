/**
 * A tabular search space of dense stacks, written as define-by-run code: `tabularSpace(trial,
 * options)` asks the trial for every decision and returns a validated model spec. Like
 * `imageSpace`, it records the spec's parameters, MACs and activation memory on the trial before
 * anything is built, and with `maxParams` / `maxMacs` prunes an over-budget configuration so it
 * costs no training.
 *
 * Decisions (parameter names in brackets; layer i counts from 0):
 * - the number of hidden layers (`layers`, minLayers..maxLayers; 0 is softmax regression);
 * - per layer: width (`l{i}_units`, log scale in [minUnits, maxUnits]), activation
 *   (`l{i}_activation`), dropout after it (`l{i}_dropout`, 0..0.5 in steps of 0.1), normalisation
 *   (`l{i}_norm`: batch, layer or none) and, from the second layer on, a skip connection from the
 *   previous layer's output (`l{i}_skip`), through a linear projection when the widths differ.
 *
 * A layer is dense (without bias when batch norm follows), normalisation, activation, then the skip
 * addition and dropout: the pre-activation order of residual MLPs keeps the shortcut an identity.
 * Inputs of rank above one (images given to a dense stack) are flattened first.
 */
import { ModelBuilder } from '../models/spec/builder.js';
import type { Activation, ModelSpec } from '../models/spec/types.js';
import { checkBudget, type ImageSpaceTrial } from './image-space.js';

export const TABULAR_ACTIVATIONS = ['relu', 'gelu', 'tanh', 'swish'] as const satisfies readonly Activation[];
export const TABULAR_NORMS = ['none', 'batch', 'layer'] as const;
export type TabularNorm = (typeof TABULAR_NORMS)[number];

export interface TabularSpaceOptions {
  /** Shape of one sample: [features], or any shape, which is flattened. */
  inputShape: readonly number[];
  classes: number;
  /** Fewest hidden layers (default 1; 0 offers softmax regression, often the best on small tables). */
  minLayers?: number;
  /** Most hidden layers (default 4). */
  maxLayers?: number;
  /** Width bounds of a hidden layer (default 8 and 256, searched on a log scale). */
  minUnits?: number;
  maxUnits?: number;
  /** Activations offered (default relu, gelu, tanh, swish). */
  activations?: readonly Activation[];
  /** Normalisations offered (default none, batch, layer). */
  norms?: readonly TabularNorm[];
  /** Largest dropout rate offered (default 0.5; 0 takes dropout out of the space). */
  maxDropout?: number;
  /** Hard budget: configurations with more parameters are pruned before training. */
  maxParams?: number;
  /** Hard budget: configurations with more multiply-accumulates per sample are pruned before training. */
  maxMacs?: number;
}

/** One hidden layer as the trial chose it. */
export interface TabularLayer {
  units: number;
  activation: Activation;
  dropout: number;
  norm: TabularNorm;
  skip: boolean;
}

/** Suggests the layers of a dense stack (no spec yet; `tabularSpec` builds one). */
export function suggestTabularLayers(trial: ImageSpaceTrial, options: TabularSpaceOptions): TabularLayer[] {
  const maxLayers = options.maxLayers ?? 4;
  const minUnits = options.minUnits ?? 8;
  const maxUnits = options.maxUnits ?? 256;
  const activations = options.activations ?? TABULAR_ACTIVATIONS;
  const norms = options.norms ?? TABULAR_NORMS;
  const maxDropout = options.maxDropout ?? 0.5;
  const minLayers = options.minLayers ?? 1;
  const count = trial.suggestInt('layers', minLayers, maxLayers);
  const layers: TabularLayer[] = [];
  for (let i = 0; i < count; i++) {
    const units = trial.suggestInt(`l${i}_units`, minUnits, maxUnits, { log: true });
    const activation = trial.suggestCategorical(`l${i}_activation`, activations);
    const dropout = maxDropout > 0 ? trial.suggestFloat(`l${i}_dropout`, 0, maxDropout, { step: 0.1 }) : 0;
    const norm = trial.suggestCategorical(`l${i}_norm`, norms);
    const skip = i > 0 ? trial.suggestCategorical(`l${i}_skip`, [true, false]) : false;
    layers.push({ units, activation, dropout, norm, skip });
  }
  return layers;
}

/** The spec of a dense stack with optional skips, softmax on top. */
export function tabularSpec(
  layers: readonly TabularLayer[],
  inputShape: readonly number[],
  classes: number,
): ModelSpec {
  const b = new ModelBuilder('tabular-space');
  let x = b.input([...inputShape]);
  if (inputShape.length > 1) x = b.flatten(x);
  let width = inputShape.reduce((a, d) => a * d, 1);
  layers.forEach((layer, i) => {
    let h = b.dense(x, { units: layer.units, useBias: layer.norm !== 'batch', name: `dense_${i}` });
    if (layer.norm === 'batch') h = b.batchNorm(h, { name: `batch_norm_${i}` });
    if (layer.norm === 'layer') h = b.layerNorm(h, { name: `layer_norm_${i}` });
    h = b.activation(h, { activation: layer.activation, name: `act_${i}` });
    if (layer.skip) {
      const shortcut =
        width === layer.units ? x : b.dense(x, { units: layer.units, useBias: false, name: `project_${i}` });
      h = b.add([shortcut, h], { name: `skip_${i}` });
    }
    if (layer.dropout > 0) h = b.dropout(h, { rate: layer.dropout, name: `dropout_${i}` });
    x = h;
    width = layer.units;
  });
  return b.build(b.dense(x, { units: classes, activation: 'softmax', name: 'classes' }));
}

/** Suggests a dense stack and returns its spec; throws OverBudget before any training. */
export function tabularSpace(trial: ImageSpaceTrial, options: TabularSpaceOptions): ModelSpec {
  const spec = tabularSpec(suggestTabularLayers(trial, options), options.inputShape, options.classes);
  checkBudget(trial, spec, options);
  return spec;
}
