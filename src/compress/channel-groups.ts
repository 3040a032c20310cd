/**
 * Channel analysis over a spec graph: which channels of which tensors must be removed together.
 *
 * Ids are propagated through the layers by their rules (channel-rules.ts) and joined with a
 * union-find; each resulting *channel set* is the smallest thing structured pruning can remove
 * (one filter with its batch-norm entries and the next layers' input slices; in a residual stage,
 * channel j of every block's output at once). Sets that share the same producing layers form a
 * *group* (a layer's filters; a residual stage's shared channels): a kept fraction applies per group.
 */
import { ModelSpecError } from '../core/errors.js';
import type { Shape } from '../models/spec/layers/kind.js';
import type { ModelSpec } from '../models/spec/types.js';
import { type InferredShapes, inferShapes } from '../models/spec/validate.js';
import { channelRule } from './channel-rules.js';

/** One output position of a producing layer (a unit or filter). */
export interface ProducedChannel {
  layer: string;
  position: number;
}

export interface ChannelSet {
  index: number;
  /** The units and filters in the set; removing the set removes all of them. */
  producers: ProducedChannel[];
  /** Why the set can never be removed (a model output, a softmax, ...); undefined when removable. */
  pinned?: string;
  /** Index of the set's group, -1 when pinned. */
  group: number;
}

export interface ChannelGroup {
  index: number;
  /** The producing layers, joined by '+': "conv1", or a residual stage's "b1_project+b2_project". */
  name: string;
  layers: string[];
  /** Indices of its (removable) channel sets. */
  sets: number[];
}

export interface ChannelAnalysis {
  spec: ModelSpec;
  shapes: InferredShapes;
  /** For every model input and layer output: the channel set of each position of its last axis. */
  channels: Map<string, Int32Array>;
  sets: ChannelSet[];
  groups: ChannelGroup[];
  /** Producing layer name -> its group index (absent for layers whose outputs are all pinned). */
  groupOfLayer: Map<string, number>;
}

class UnionFind {
  private readonly parent: number[] = [];

  add(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }

  find(x: number): number {
    let root = x;
    while (this.parent[root] !== root) root = this.parent[root];
    while (this.parent[x] !== root) {
      const next = this.parent[x];
      this.parent[x] = root;
      x = next;
    }
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  get size(): number {
    return this.parent.length;
  }
}

export function analyzeChannels(spec: ModelSpec): ChannelAnalysis {
  const shapes = inferShapes(spec);
  const ids = new UnionFind();
  const producedBy: (ProducedChannel | undefined)[] = [];
  const pinReason = new Map<number, string>();
  const raw = new Map<string, Int32Array>();

  const fresh = (count: number, make: (position: number) => ProducedChannel | undefined) => {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = ids.add();
      producedBy[out[i]] = make(i);
    }
    return out;
  };
  const pin = (list: ArrayLike<number>, reason: string) => {
    for (let i = 0; i < list.length; i++) if (!pinReason.has(list[i])) pinReason.set(list[i], reason);
  };

  for (const input of spec.inputs) {
    const channels = fresh(input.shape[input.shape.length - 1], () => undefined);
    pin(channels, `model input "${input.name}"`);
    raw.set(input.name, channels);
  }
  spec.layers.forEach((layer, i) => {
    const context = {
      produce: (count: number) => fresh(count, (position) => ({ layer: layer.name, position })),
      fixed: (count: number, reason: string) => {
        const out = fresh(count, () => undefined);
        pin(out, `${reason} (layer "${layer.name}")`);
        return out;
      },
      join: (a: number, b: number) => ids.union(a, b),
      pin: (list: ArrayLike<number>, reason: string) => pin(list, `${reason} (layer "${layer.name}")`),
    };
    const inputs = layer.inputs.map((name) => raw.get(name) as Int32Array);
    const output = shapes.byName.get(layer.name) as Shape;
    const channels = channelRule(layer.type).propagate(
      layer,
      inputs,
      { inputs: shapes.layerInputs[i], output },
      context,
    );
    if (channels.length !== output[output.length - 1])
      throw new ModelSpecError(
        `layer "${layer.name}": channel analysis gave ${channels.length} channels for output [${output.join(',')}]`,
      );
    raw.set(layer.name, channels);
  });
  for (const name of spec.outputs) pin(raw.get(name) as Int32Array, `output of the model ("${name}")`);

  // Resolve ids to sets, numbered in order of first appearance.
  const setOfRoot = new Map<number, number>();
  const sets: ChannelSet[] = [];
  const setOf = (id: number): number => {
    const root = ids.find(id);
    let index = setOfRoot.get(root);
    if (index === undefined) {
      index = sets.length;
      setOfRoot.set(root, index);
      sets.push({ index, producers: [], group: -1 });
    }
    return index;
  };
  for (let id = 0; id < ids.size; id++) {
    const set = sets[setOf(id)];
    const produced = producedBy[id];
    if (produced) set.producers.push(produced);
    const reason = pinReason.get(id);
    if (reason !== undefined && set.pinned === undefined) set.pinned = reason;
  }
  for (const set of sets) if (set.producers.length === 0) set.pinned ??= 'no layer produces it';
  const channels = new Map<string, Int32Array>();
  for (const [name, list] of raw) channels.set(name, list.map(setOf));

  // Group removable sets by the layers that produce them.
  const groups: ChannelGroup[] = [];
  const groupOfKey = new Map<string, number>();
  const groupOfLayer = new Map<string, number>();
  const order = new Map(spec.layers.map((l, i) => [l.name, i]));
  for (const set of sets) {
    if (set.pinned !== undefined) continue;
    const layers = [...new Set(set.producers.map((p) => p.layer))];
    layers.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
    const key = layers.join('\u0000');
    let group = groupOfKey.get(key);
    if (group === undefined) {
      group = groups.length;
      groupOfKey.set(key, group);
      groups.push({ index: group, name: layers.join('+'), layers, sets: [] });
      for (const layer of layers) groupOfLayer.set(layer, group);
    }
    groups[group].sets.push(set.index);
    set.group = group;
  }
  return { spec, shapes, channels, sets, groups, groupOfLayer };
}

/** Kept positions of every tensor's last axis, given which sets stay (1) and which go (0). */
export function keptPositions(analysis: ChannelAnalysis, keptSets: Uint8Array): Map<string, Int32Array> {
  const out = new Map<string, Int32Array>();
  for (const [name, channels] of analysis.channels) {
    const kept: number[] = [];
    for (let i = 0; i < channels.length; i++) if (keptSets[channels[i]]) kept.push(i);
    if (kept.length === 0)
      throw new ModelSpecError(`structured pruning would remove every channel of "${name}"`);
    out.set(name, Int32Array.from(kept));
  }
  return out;
}

/** Units or filters of each producing layer: how many there are and how many stay. */
export function keptPerLayer(
  analysis: ChannelAnalysis,
  keptSets: Uint8Array,
): { layer: string; total: number; kept: number }[] {
  const counts = new Map<string, { total: number; kept: number }>();
  for (const set of analysis.sets)
    for (const p of set.producers) {
      const entry = counts.get(p.layer) ?? { total: 0, kept: 0 };
      entry.total++;
      if (keptSets[set.index]) entry.kept++;
      counts.set(p.layer, entry);
    }
  return analysis.spec.layers
    .filter((l) => counts.has(l.name))
    .map((l) => ({ layer: l.name, ...(counts.get(l.name) as { total: number; kept: number }) }));
}
