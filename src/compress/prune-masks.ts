/**
 * Magnitude masks: which weights to keep so that a given fraction of the smallest |w| is removed,
 * per layer (each layer its own threshold) or globally (one threshold across layers, with a
 * floor of kept weights for chosen layers — by default the last weighted layer, whose few
 * weights each carry a class).
 *
 * Counts are exact: k = round(sparsity * n) weights are pruned; ties at the threshold are broken
 * by position, so the result is deterministic. Weights pruned before (mask 0) stay pruned.
 */

/** The prunable values of one layer (all its `weight` tensors, e.g. an LSTM's kernel and recurrent kernel). */
export interface PruneGroup {
  layer: string;
  tensors: { name: string; values: Float32Array; previous?: Uint8Array }[];
}

export type GroupMasks = Map<string, Map<string, Uint8Array>>;

function groupSize(group: PruneGroup): number {
  return group.tensors.reduce((a, t) => a + t.values.length, 0);
}

/** |w| of a group's weights (a previously pruned weight counts as 0), concatenated. */
function magnitudes(group: PruneGroup): Float32Array {
  const out = new Float32Array(groupSize(group));
  let offset = 0;
  for (const t of group.tensors) {
    for (let i = 0; i < t.values.length; i++)
      out[offset + i] = t.previous && t.previous[i] === 0 ? 0 : Math.abs(t.values[i]);
    offset += t.values.length;
  }
  return out;
}

/**
 * How weights are ranked against each other: `magnitude` by |w|; `lamp` by Lee et al.'s (2021)
 * layer-adaptive score w^2 / (sum of w'^2 over the layer's weights at least as large), which is
 * comparable across layers whatever their scale, so a small layer with small weights (a first
 * convolution) is not emptied because of its initialisation.
 */
export type PruneScore = 'magnitude' | 'lamp';
export const PRUNE_SCORES: readonly PruneScore[] = ['magnitude', 'lamp'];

/** LAMP scores of one group's magnitudes (0 stays 0: a pruned weight ranks first). */
function lampScores(magnitude: Float32Array): Float32Array {
  const order = Array.from({ length: magnitude.length }, (_, i) => i).sort(
    (a, b) => magnitude[a] - magnitude[b] || a - b,
  );
  const out = new Float32Array(magnitude.length);
  let suffix = 0;
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    const square = magnitude[i] * magnitude[i];
    suffix += square;
    out[i] = suffix > 0 ? square / suffix : 0;
  }
  return out;
}

function scores(group: PruneGroup, score: PruneScore): Float32Array {
  const m = magnitudes(group);
  return score === 'lamp' ? lampScores(m) : m;
}

/** Keep-masks over `values` pruning exactly `prune` of the smallest (ties by position). */
function pruneSmallest(values: Float32Array, prune: number): Uint8Array {
  const mask = new Uint8Array(values.length).fill(1);
  if (prune <= 0) return mask;
  if (prune >= values.length) return mask.fill(0);
  const sorted = values.slice().sort();
  const threshold = sorted[prune - 1];
  let below = 0;
  for (let i = 0; i < values.length; i++) if (values[i] < threshold) below++;
  let ties = prune - below;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < threshold) mask[i] = 0;
    else if (values[i] === threshold && ties > 0) {
      mask[i] = 0;
      ties--;
    }
  }
  return mask;
}

function splitMask(group: PruneGroup, mask: Uint8Array, into: GroupMasks): void {
  const own = new Map<string, Uint8Array>();
  let offset = 0;
  for (const t of group.tensors) {
    own.set(t.name, mask.slice(offset, offset + t.values.length));
    offset += t.values.length;
  }
  into.set(group.layer, own);
}

/** Each layer pruned to its own sparsity (layers missing from `sparsity` are left as they are). */
export function layerwiseMasks(
  groups: readonly PruneGroup[],
  sparsity: ReadonlyMap<string, number>,
): GroupMasks {
  const masks: GroupMasks = new Map();
  for (const group of groups) {
    const s = sparsity.get(group.layer);
    if (s === undefined) continue;
    const values = magnitudes(group);
    splitMask(group, pruneSmallest(values, Math.round(s * values.length)), masks);
  }
  return masks;
}

/**
 * One threshold across all groups so that `sparsity` of their weights is pruned; a group in
 * `minKept` keeps at least that fraction of its weights (the others give up the difference).
 */
export function globalMasks(
  groups: readonly PruneGroup[],
  sparsity: number,
  minKept: ReadonlyMap<string, number> = new Map(),
  score: PruneScore = 'magnitude',
): GroupMasks {
  const total = groups.reduce((a, g) => a + groupSize(g), 0);
  let budget = Math.round(sparsity * total); // weights to prune
  const masks: GroupMasks = new Map();
  let free = [...groups];
  // Fix the floored groups that the global threshold would take below their floor, then re-run
  // on the rest with what is left of the budget (a fixed point: at most one pass per floored group).
  for (;;) {
    const values = concat(free.map((g) => scores(g, score)));
    const mask = pruneSmallest(values, Math.min(budget, values.length));
    let offset = 0;
    const violating: PruneGroup[] = [];
    for (const group of free) {
      const n = groupSize(group);
      const floor = minKept.get(group.layer);
      if (floor !== undefined) {
        let kept = 0;
        for (let i = offset; i < offset + n; i++) kept += mask[i];
        if (kept < Math.ceil(floor * n) - 1e-9) violating.push(group);
      }
      offset += n;
    }
    if (violating.length === 0) {
      offset = 0;
      for (const group of free) {
        const n = groupSize(group);
        splitMask(group, mask.slice(offset, offset + n), masks);
        offset += n;
      }
      return masks;
    }
    for (const group of violating) {
      const n = groupSize(group);
      const prune = n - Math.ceil((minKept.get(group.layer) ?? 0) * n);
      splitMask(group, pruneSmallest(magnitudes(group), prune), masks);
      budget -= prune;
    }
    free = free.filter((g) => !violating.includes(g));
    budget = Math.max(0, budget);
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
