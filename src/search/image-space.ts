/**
 * An image search space of stages and blocks, written as define-by-run code: `imageSpace(trial,
 * options)` asks the trial for every decision and returns a validated model spec built with
 * ModelBuilder. Its complexity (parameters, MACs, activation memory) is computed from the spec
 * alone, recorded on the trial and, with `maxParams` / `maxMacs`, used as a hard budget: an
 * over-budget configuration is pruned before anything is built or trained.
 *
 * Decisions (parameter names in brackets; stage i counts from 0):
 * - a stem convolution (`stem_filters`), then 1..maxStages stages (`stages`);
 * - per stage: block type (`s{i}_block`: plain, separable, bottleneck, inverted, basic), number of
 *   blocks (`s{i}_blocks`), output filters (`s{i}_filters`), kernel 3 or 5 (`s{i}_kernel`), stride
 *   of its first block (`s{i}_stride`, 1 or 2), skip connection on/off (`s{i}_skip`) and, for
 *   bottleneck and inverted-residual blocks only, the expansion (`s{i}_expansion`);
 * - for the whole network: activation, normalisation (batch or none), dropout before the head, and
 *   the head (global average pool or flatten, optionally a hidden dense layer).
 *
 * Blocks follow their papers' layouts: plain conv-norm-act; depthwise-separable (MobileNet) depthwise
 * kxk then pointwise 1x1; bottleneck (ResNet-50) 1x1 down to filters/expansion, kxk, 1x1 up; inverted
 * residual (MobileNetV2) 1x1 up to in*expansion, depthwise kxk, linear 1x1 down; basic (ResNet-18)
 * two kxk convolutions. With the skip on, a block adds its input, through a 1x1 projection when the
 * stride or width changes.
 */
import { TrialPruned } from '../core/errors.js';
import { analyzeModel, type ModelComplexity } from '../models/complexity/analyze.js';
import { ModelBuilder } from '../models/spec/builder.js';
import type { Activation, ModelSpec } from '../models/spec/types.js';
import type { SuggestingTrial } from './mlp-space.js';

export const IMAGE_BLOCKS = ['plain', 'separable', 'bottleneck', 'inverted', 'basic'] as const;
export type ImageBlock = (typeof IMAGE_BLOCKS)[number];
export const IMAGE_ACTIVATIONS = ['relu', 'relu6', 'swish'] as const satisfies readonly Activation[];
export const IMAGE_NORMS = ['batch', 'none'] as const;
export const IMAGE_HEADS = ['gap', 'flatten', 'gap-dense'] as const;

export interface ImageSpaceOptions {
  /** [height, width, channels] of one image. */
  inputShape: readonly [number, number, number];
  classes: number;
  /** Most stages (default 3). */
  maxStages?: number;
  /** Most blocks per stage (default 3). */
  maxBlocks?: number;
  /** Filter counts a stage may choose (default 8, 16, 24, 32, 48, 64). */
  filters?: readonly number[];
  /** Expansions of bottleneck and inverted-residual blocks (default 2, 4, 6). */
  expansions?: readonly number[];
  /** Block types offered (default all five). */
  blocks?: readonly ImageBlock[];
  /** Hard budget: configurations with more parameters are pruned before training. */
  maxParams?: number;
  /** Hard budget: configurations with more multiply-accumulates per sample are pruned before training. */
  maxMacs?: number;
}

/** What `imageSpace` needs of a trial: suggestions and, optionally, user attributes. */
export interface ImageSpaceTrial extends SuggestingTrial {
  setUserAttr?(key: string, value: unknown): void;
}

/** User attributes `imageSpace` records on each trial. */
export const IMAGE_ATTRS = {
  params: 'params',
  macs: 'macs',
  activationBytes: 'activationBytes',
  overBudget: 'overBudget',
} as const;

/** Thrown (as a pruned trial) when a configuration breaks `maxParams` or `maxMacs`. */
export class OverBudget extends TrialPruned {
  readonly complexity: ModelComplexity;
  constructor(message: string, complexity: ModelComplexity) {
    super(message);
    this.complexity = complexity;
  }
}

interface Context {
  b: ModelBuilder;
  activation: Activation;
  batchNorm: boolean;
}

/** Suggests a network from the space and returns its spec; throws OverBudget before any training. */
export function imageSpace(trial: ImageSpaceTrial, options: ImageSpaceOptions): ModelSpec {
  const maxStages = options.maxStages ?? 3;
  const maxBlocks = options.maxBlocks ?? 3;
  const filterChoices = options.filters ?? [8, 16, 24, 32, 48, 64];
  const expansions = options.expansions ?? [2, 4, 6];
  const blocks = options.blocks ?? IMAGE_BLOCKS;

  const activation = trial.suggestCategorical('activation', IMAGE_ACTIVATIONS);
  const norm = trial.suggestCategorical('norm', IMAGE_NORMS);
  const c: Context = { b: new ModelBuilder('image-space'), activation, batchNorm: norm === 'batch' };
  const { b } = c;

  let x = b.input([...options.inputShape]);
  let channels = trial.suggestCategorical('stem_filters', filterChoices);
  x = convNormAct(c, x, channels, 3, 1, true);
  const stages = trial.suggestInt('stages', 1, maxStages);
  for (let i = 0; i < stages; i++) {
    const block = trial.suggestCategorical(`s${i}_block`, blocks);
    const count = trial.suggestInt(`s${i}_blocks`, 1, maxBlocks);
    const filters = trial.suggestCategorical(`s${i}_filters`, filterChoices);
    const kernel = trial.suggestCategorical(`s${i}_kernel`, [3, 5]);
    const stride = trial.suggestCategorical(`s${i}_stride`, [1, 2]);
    const skip = trial.suggestCategorical(`s${i}_skip`, [true, false]);
    const expansion =
      block === 'bottleneck' || block === 'inverted'
        ? trial.suggestCategorical(`s${i}_expansion`, expansions)
        : 1;
    for (let j = 0; j < count; j++) {
      const s = j === 0 ? stride : 1;
      x = imageBlock(c, x, { block, in: channels, out: filters, kernel, stride: s, expansion, skip });
      channels = filters;
    }
  }
  const dropout = trial.suggestFloat('dropout', 0, 0.5, { step: 0.1 });
  const head = trial.suggestCategorical('head', IMAGE_HEADS);
  x = head === 'flatten' ? b.flatten(x) : b.globalAvgPool2d(x);
  if (head === 'gap-dense') {
    const units = trial.suggestCategorical('head_units', [32, 64, 128]);
    x = b.dense(x, { units, activation });
  }
  if (dropout > 0) x = b.dropout(x, { rate: dropout });
  const spec = b.build(b.dense(x, { units: options.classes, activation: 'softmax' }));
  checkBudget(trial, spec, options);
  return spec;
}

/** Records the spec's complexity on the trial and throws OverBudget when it breaks the budget. */
export function checkBudget(
  trial: Pick<ImageSpaceTrial, 'setUserAttr'>,
  spec: ModelSpec,
  budget: Pick<ImageSpaceOptions, 'maxParams' | 'maxMacs'>,
): ModelComplexity {
  const complexity = analyzeModel(spec);
  trial.setUserAttr?.(IMAGE_ATTRS.params, complexity.params);
  trial.setUserAttr?.(IMAGE_ATTRS.macs, complexity.macs);
  trial.setUserAttr?.(IMAGE_ATTRS.activationBytes, complexity.activationBytes);
  const over: string[] = [];
  if (budget.maxParams !== undefined && complexity.params > budget.maxParams)
    over.push(`${complexity.params} parameters exceed maxParams ${budget.maxParams}`);
  if (budget.maxMacs !== undefined && complexity.macs > budget.maxMacs)
    over.push(`${complexity.macs} MACs exceed maxMacs ${budget.maxMacs}`);
  if (over.length > 0) {
    trial.setUserAttr?.(IMAGE_ATTRS.overBudget, true);
    throw new OverBudget(`over budget before training: ${over.join('; ')}`, complexity);
  }
  return complexity;
}

interface BlockConfig {
  block: ImageBlock;
  in: number;
  out: number;
  kernel: number;
  stride: number;
  expansion: number;
  skip: boolean;
}

/** Convolution (no bias when a batch norm follows), batch norm, then the activation unless `act` is false. */
function convNormAct(
  c: Context,
  x: string,
  filters: number,
  kernel: number,
  stride: number,
  act: boolean,
): string {
  let y = c.b.conv2d(x, {
    filters,
    kernelSize: kernel,
    strides: stride,
    padding: 'same',
    useBias: !c.batchNorm,
  });
  if (c.batchNorm) y = c.b.batchNorm(y);
  return act ? c.b.activation(y, { activation: c.activation }) : y;
}

function depthwiseNormAct(c: Context, x: string, kernel: number, stride: number): string {
  let y = c.b.depthwiseConv2d(x, {
    kernelSize: kernel,
    strides: stride,
    padding: 'same',
    useBias: !c.batchNorm,
  });
  if (c.batchNorm) y = c.b.batchNorm(y);
  return c.b.activation(y, { activation: c.activation });
}

function imageBlock(c: Context, x: string, k: BlockConfig): string {
  let y: string;
  // Whether the block ends with an activation applied after the skip addition.
  let actAfter = true;
  switch (k.block) {
    case 'plain':
      y = convNormAct(c, x, k.out, k.kernel, k.stride, false);
      break;
    case 'separable':
      y = depthwiseNormAct(c, x, k.kernel, k.stride);
      y = convNormAct(c, y, k.out, 1, 1, false);
      break;
    case 'bottleneck': {
      const mid = Math.max(4, Math.round(k.out / k.expansion));
      y = convNormAct(c, x, mid, 1, 1, true);
      y = convNormAct(c, y, mid, k.kernel, k.stride, true);
      y = convNormAct(c, y, k.out, 1, 1, false);
      break;
    }
    case 'inverted':
      y = convNormAct(c, x, k.in * k.expansion, 1, 1, true);
      y = depthwiseNormAct(c, y, k.kernel, k.stride);
      // MobileNetV2's linear bottleneck: no activation after the projection.
      y = convNormAct(c, y, k.out, 1, 1, false);
      actAfter = false;
      break;
    case 'basic':
      y = convNormAct(c, x, k.out, k.kernel, k.stride, true);
      y = convNormAct(c, y, k.out, k.kernel, 1, false);
      break;
  }
  if (k.skip) {
    const shortcut = k.stride === 1 && k.in === k.out ? x : convNormAct(c, x, k.out, 1, k.stride, false);
    y = c.b.add([shortcut, y]);
  }
  return actAfter ? c.b.activation(y, { activation: c.activation }) : y;
}
