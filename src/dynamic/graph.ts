/** Graph helpers over a spec: which layers an output needs, and their cost. */
import { analyzeModel } from '../models/complexity/analyze.js';
import type { LayerSpec, ModelSpec } from '../models/spec/types.js';

/** Names of the layers `output` depends on (itself included). */
export function ancestors(spec: ModelSpec, output: string): Set<string> {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const seen = new Set<string>();
  const stack = [output];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    const layer = byName.get(name);
    if (!layer || seen.has(name)) continue;
    seen.add(name);
    stack.push(...layer.inputs);
  }
  return seen;
}

/**
 * The layers each output adds to those of the outputs before it, in spec order: what a sample
 * that reaches output i has run (stages[0..i]).
 */
export function outputStages(spec: ModelSpec): LayerSpec[][] {
  const done = new Set<string>();
  return spec.outputs.map((output) => {
    const needed = ancestors(spec, output);
    const stage = spec.layers.filter((l) => needed.has(l.name) && !done.has(l.name));
    for (const l of stage) done.add(l.name);
    return stage;
  });
}

export interface StageCost {
  output: string;
  /** Parameters and MACs of the layers run up to and including this output. */
  params: number;
  macs: number;
  activeMacs: number;
}

/** Cumulative cost per output, in output order. */
export function cumulativeOutputCosts(spec: ModelSpec): StageCost[] {
  const layers = new Map(analyzeModel(spec).layers.map((l) => [l.name, l]));
  let params = 0;
  let macs = 0;
  let activeMacs = 0;
  return outputStages(spec).map((stage, i) => {
    for (const l of stage) {
      const c = layers.get(l.name);
      params += c?.params ?? 0;
      macs += c?.macs ?? 0;
      activeMacs += c?.activeMacs ?? 0;
    }
    return { output: spec.outputs[i], params, macs, activeMacs };
  });
}
