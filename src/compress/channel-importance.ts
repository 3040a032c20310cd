/**
 * How much each channel set matters, by the criteria of the structured-pruning literature, and
 * which sets stay. Scores are per set (NaN for pinned sets); a set with several producers (a
 * residual stage's channel) adds up its producers' scores.
 *
 * - `l1`, `l2`: the norm of the weights that produce the channel (Li et al. 2017).
 * - `fpgm`: a filter's summed distance to the other filters of its layer; filters near the
 *   geometric median are the most replaceable (He et al. 2019).
 * - `taylor`: |activation x gradient| at the channel's consumers, summed over the batch and
 *   accumulated over batches (Molchanov et al. 2017); computed from weight gradients, since for
 *   weights that multiply one input channel, sum(w * dL/dw) equals sum(x * dL/dx) over that channel.
 * - `bn`: |gamma| of the batch norms the channel passes (network slimming, Liu et al. 2017).
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { ChannelAnalysis } from './channel-groups.js';
import { channelRule } from './channel-rules.js';
import type { PlainLayerWeights, PlainTensor } from './channel-shrink.js';

export const CRITERIA = ['l1', 'l2', 'fpgm', 'taylor', 'bn'] as const;
export type Criterion = (typeof CRITERIA)[number];

function tensorOf(
  layers: readonly PlainLayerWeights[],
  layer: string,
  name: string,
): PlainTensor | undefined {
  return layers.find((l) => l.layer === layer)?.tensors.find((t) => t.name === name);
}

/** Position along `axis` of each flat offset, computed by walking the tensor once. */
function forEachAlong(
  tensor: { shape: readonly number[] },
  axis: number,
  visit: (offset: number, position: number) => void,
) {
  const inner = tensor.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = tensor.shape[axis];
  const outer = tensor.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  let offset = 0;
  for (let o = 0; o < outer; o++)
    for (let p = 0; p < size; p++) for (let i = 0; i < inner; i++) visit(offset++, p);
}

function emptyScores(analysis: ChannelAnalysis): Float64Array {
  const scores = new Float64Array(analysis.sets.length).fill(Number.NaN);
  for (const set of analysis.sets) if (set.pinned === undefined) scores[set.index] = 0;
  return scores;
}

/** Each producing layer's weights per output position, with the sets they belong to. */
function producerTensors(analysis: ChannelAnalysis, layers: readonly PlainLayerWeights[]) {
  const out: { layer: string; tensor: PlainTensor; axis: number; sets: Int32Array }[] = [];
  for (const spec of analysis.spec.layers) {
    const where = channelRule(spec.type).producerWeights?.(spec);
    if (!where) continue;
    const tensor = tensorOf(layers, spec.name, where.tensor);
    if (!tensor)
      throw new InvalidArgumentError(
        `layer "${spec.name}": no "${where.tensor}" weights to rank channels by`,
      );
    out.push({
      layer: spec.name,
      tensor,
      axis: where.axis,
      sets: analysis.channels.get(spec.name) as Int32Array,
    });
  }
  return out;
}

export function normScores(
  analysis: ChannelAnalysis,
  layers: readonly PlainLayerWeights[],
  norm: 'l1' | 'l2',
): Float64Array {
  const scores = emptyScores(analysis);
  for (const { tensor, axis, sets } of producerTensors(analysis, layers)) {
    const sums = new Float64Array(tensor.shape[axis]);
    const v = tensor.values;
    if (norm === 'l1') forEachAlong(tensor, axis, (o, p) => (sums[p] += Math.abs(v[o])));
    else forEachAlong(tensor, axis, (o, p) => (sums[p] += v[o] * v[o]));
    for (let p = 0; p < sums.length; p++) if (!Number.isNaN(scores[sets[p]])) scores[sets[p]] += sums[p];
  }
  if (norm === 'l2') for (let s = 0; s < scores.length; s++) scores[s] = Math.sqrt(scores[s]);
  return scores;
}

/** Geometric-median criterion: per layer, each filter's summed Euclidean distance to the others. */
export function fpgmScores(analysis: ChannelAnalysis, layers: readonly PlainLayerWeights[]): Float64Array {
  const scores = emptyScores(analysis);
  for (const { tensor, axis, sets } of producerTensors(analysis, layers)) {
    const count = tensor.shape[axis];
    const length = tensor.values.length / count;
    const vectors = Array.from({ length: count }, () => new Float64Array(length));
    const filled = new Int32Array(count);
    forEachAlong(tensor, axis, (o, p) => {
      vectors[p][filled[p]++] = tensor.values[o];
    });
    const squares = vectors.map((v) => v.reduce((a, x) => a + x * x, 0));
    const distance = new Float64Array(count);
    for (let a = 0; a < count; a++)
      for (let b = a + 1; b < count; b++) {
        let dot = 0;
        const va = vectors[a];
        const vb = vectors[b];
        for (let i = 0; i < length; i++) dot += va[i] * vb[i];
        const d = Math.sqrt(Math.max(0, squares[a] + squares[b] - 2 * dot));
        distance[a] += d;
        distance[b] += d;
      }
    for (let p = 0; p < count; p++) if (!Number.isNaN(scores[sets[p]])) scores[sets[p]] += distance[p];
  }
  return scores;
}

/** Names of the groups whose channels pass no batch norm (they cannot be ranked by |gamma|). */
export function groupsWithoutBatchNorm(analysis: ChannelAnalysis): string[] {
  const seen = new Uint8Array(analysis.sets.length);
  for (const spec of analysis.spec.layers)
    if (spec.type === 'batchNorm')
      for (const s of analysis.channels.get(spec.name) as Int32Array) seen[s] = 1;
  return analysis.groups.filter((g) => g.sets.some((s) => !seen[s])).map((g) => g.name);
}

/** |gamma| summed over the batch norms each set passes; a group that passes none cannot be ranked. */
export function batchNormScores(
  analysis: ChannelAnalysis,
  layers: readonly PlainLayerWeights[],
): Float64Array {
  const missing = groupsWithoutBatchNorm(analysis);
  if (missing.length > 0)
    throw new InvalidArgumentError(
      `criterion bn: the channels of ${missing.join(', ')} pass no batch norm (use l1, l2, fpgm or taylor)`,
    );
  const scores = emptyScores(analysis);
  for (const spec of analysis.spec.layers) {
    if (spec.type !== 'batchNorm') continue;
    const gamma = tensorOf(layers, spec.name, 'gamma');
    if (!gamma)
      throw new InvalidArgumentError(`layer "${spec.name}": no "gamma" weights to rank channels by`);
    const sets = analysis.channels.get(spec.name) as Int32Array;
    for (let p = 0; p < sets.length; p++)
      if (!Number.isNaN(scores[sets[p]])) scores[sets[p]] += Math.abs(gamma.values[p]);
  }
  return scores;
}

/**
 * First-order Taylor scores accumulated batch by batch: for each batch, the weights and their
 * gradients of the layers that mix channels give each set's summed activation x gradient, whose
 * absolute value is added up.
 */
export class TaylorAccumulator {
  private readonly analysis: ChannelAnalysis;
  private readonly totals: Float64Array;
  private batches = 0;

  constructor(analysis: ChannelAnalysis) {
    this.analysis = analysis;
    this.totals = emptyScores(analysis);
  }

  /** The tensors (layer, tensor name) whose gradients `addBatch` needs. */
  tensorsNeeded(): { layer: string; tensor: string; axis: number }[] {
    return this.analysis.spec.layers.flatMap((spec) =>
      (channelRule(spec.type).mixingWeights?.(spec) ?? []).map((w) => ({ layer: spec.name, ...w })),
    );
  }

  /** `gradient(layer, tensor)` returns dLoss/dWeight for one batch, in the weights' layout. */
  addBatch(
    weights: readonly PlainLayerWeights[],
    gradient: (layer: string, tensor: string) => Float32Array | undefined,
  ): void {
    const batch = new Float64Array(this.totals.length);
    for (const need of this.tensorsNeeded()) {
      const spec = this.analysis.spec.layers.find((l) => l.name === need.layer);
      const w = tensorOf(weights, need.layer, need.tensor);
      const g = gradient(need.layer, need.tensor);
      if (!spec || !w || !g) continue; // frozen layers have no gradient
      const sets = this.analysis.channels.get(spec.inputs[0]) as Int32Array;
      forEachAlong(w, need.axis, (o, p) => {
        batch[sets[p]] += w.values[o] * g[o];
      });
    }
    for (let s = 0; s < batch.length; s++)
      if (!Number.isNaN(this.totals[s])) this.totals[s] += Math.abs(batch[s]);
    this.batches++;
  }

  get batchCount(): number {
    return this.batches;
  }

  /** Mean over the batches added so far. */
  scores(): Float64Array {
    return this.totals.map((t) => t / Math.max(1, this.batches));
  }
}

/**
 * Keeps the best-scoring sets of each group: round(fraction x sets), at least one. `fractions`
 * has one kept fraction per group. Ties go to the earlier set, so the choice is deterministic.
 */
export function selectSets(
  analysis: ChannelAnalysis,
  scores: Float64Array,
  fractions: readonly number[],
): Uint8Array {
  const kept = new Uint8Array(analysis.sets.length).fill(1);
  for (const group of analysis.groups) {
    const count = Math.max(
      1,
      Math.min(group.sets.length, Math.round(fractions[group.index] * group.sets.length)),
    );
    const ranked = [...group.sets].sort((a, b) => scores[b] - scores[a] || a - b);
    for (const set of ranked.slice(count)) kept[set] = 0;
  }
  return kept;
}

/**
 * The kept fraction of each group: `keep` unless one of its layers is named in `perLayer` (the
 * smallest named fraction wins). A named layer without removable channels is an error naming it.
 */
export function groupFractions(
  analysis: ChannelAnalysis,
  keep: number,
  perLayer: Readonly<Record<string, number>> = {},
): number[] {
  const fractions = analysis.groups.map(() => keep);
  const named = analysis.groups.map(() => false);
  for (const [layer, fraction] of Object.entries(perLayer)) {
    const group = analysis.groupOfLayer.get(layer);
    if (group === undefined) {
      const spec = analysis.spec.layers.find((l) => l.name === layer);
      if (!spec) throw new InvalidArgumentError(`layer "${layer}" is not in the model`);
      const set = analysis.sets.find((s) => s.producers.some((p) => p.layer === layer));
      throw new InvalidArgumentError(
        `layer "${layer}" has no removable channels${set?.pinned ? `: ${set.pinned}` : ` (a ${spec.type} layer makes none)`}`,
      );
    }
    fractions[group] = named[group] ? Math.min(fractions[group], fraction) : fraction;
    named[group] = true;
  }
  return fractions;
}
