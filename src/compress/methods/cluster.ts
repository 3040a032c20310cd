/**
 * Weight sharing (Deep Compression, Han et al. 2016, section 3): per layer, the non-zero weights
 * are clustered by 1-D k-means into 2^bits shared values (linear, density or k-means++
 * initialisation); each weight becomes an index into its layer's codebook. Fine-tuning then trains
 * the centroids: every member of a cluster receives the sum of its cluster's gradients, so members
 * start equal, get equal updates (also under Adam, whose moments are then equal too) and stay
 * equal; pruned weights (mask 0) stay zero. At the end each centroid is read back as its members'
 * mean. The step writes `compressed.json` + `compressed.bin` (codebook + fixed-width indices, or
 * Huffman-coded sparse entries with `huffman: true`).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../models/spec/types.js';
import type { TrainingHooks } from '../../train/trainer.js';
import { type CodedTensor, decodeSymbols } from '../compressed-format.js';
import { KMEANS_INITS, type KMeansInit, kMeans1d } from '../kmeans.js';
import {
  checkKnownFields,
  defineMethod,
  readBoolean,
  readChoice,
  readLearningRate,
  readNumber,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import { cloneWeights, type VariableOwner, weightTensors } from '../model-weights.js';
import { readLayerBits, storeCoded } from './layer-bits.js';

export interface ClusterOptions {
  bits: Record<string, number>;
  init: KMeansInit;
  fineTuneEpochs: number;
  learningRate?: number;
  huffman: boolean;
}

const FIELDS = [
  'bits',
  'convBits',
  'denseBits',
  'layers',
  'skip',
  'init',
  'fineTuneEpochs',
  'learningRate',
  'huffman',
];

function validate(raw: Readonly<Record<string, unknown>>, spec: ModelSpec, step: string): ClusterOptions {
  checkKnownFields(raw, FIELDS, step);
  return {
    bits: readLayerBits(raw, spec, step, { min: 1, max: 8 }, 5),
    init: readChoice(raw, 'init', step, KMEANS_INITS, 'linear'),
    fineTuneEpochs: readNumber(raw, 'fineTuneEpochs', step, { min: 0, integer: true }, 1),
    learningRate: readLearningRate(raw, step),
    huffman: readBoolean(raw, 'huffman', step, false),
  };
}

function transformSpec(spec: ModelSpec, o: ClusterOptions): ModelSpec {
  const next = structuredClone(spec);
  for (const layer of next.layers) {
    const bits = o.bits[layer.name];
    if (bits === undefined) continue;
    const { storedWeightBits: _, ...rest } = layer.compression ?? {};
    layer.compression = { ...rest, weightBits: bits };
  }
  return next;
}

/** Cluster index per weight (-1 for zeros, which are pruned or stay zero) and the codebook. */
interface Clustering {
  assignments: Int32Array;
  centroids: Float32Array;
}

function clusterTensor(values: Float32Array, bits: number, init: KMeansInit, seed: number): Clustering {
  const positions: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) positions.push(i);
  const nonZero = Float32Array.from(positions, (p) => values[p]);
  const k = Math.min(2 ** bits, Math.max(1, nonZero.length));
  const result = kMeans1d(nonZero, { k, init, seed });
  const assignments = new Int32Array(values.length).fill(-1);
  for (const [j, p] of positions.entries()) assignments[p] = result.assignments[j];
  return { assignments, centroids: result.centroids };
}

/** Centroids as the mean of their members' current values (after fine-tuning). */
function recentre(values: Float32Array, c: Clustering): void {
  const sums = new Float64Array(c.centroids.length);
  const counts = new Float64Array(c.centroids.length);
  for (let i = 0; i < values.length; i++) {
    const j = c.assignments[i];
    if (j < 0) continue;
    sums[j] += values[i];
    counts[j]++;
  }
  for (let j = 0; j < sums.length; j++) if (counts[j] > 0) c.centroids[j] = sums[j] / counts[j];
}

/** The coded form: symbol = cluster index, zeros get an extra codebook entry 0 (skipped when sparse). */
function codedOf(c: Clustering): CodedTensor {
  const hasZero = c.assignments.some((a) => a < 0);
  const values = Float32Array.from([...c.centroids, ...(hasZero ? [0] : [])]);
  const zero = c.centroids.length;
  return {
    table: { kind: 'codebook', values },
    symbols: Int32Array.from(c.assignments, (a) => (a < 0 ? zero : a)),
    alphabet: values.length,
  };
}

/** Trainer hooks: each clustered weight's gradient becomes its cluster's summed gradient. */
async function sharedGradientHooks(
  owners: ReadonlyMap<string, VariableOwner>,
  clusterings: ReadonlyMap<string, Clustering>,
): Promise<TrainingHooks> {
  const tf = await import('@tensorflow/tfjs-core');
  const byVariable = new Map<string, Clustering>();
  for (const [variable, owner] of owners) {
    const c = clusterings.get(`${owner.layer}/${owner.tensor}`);
    if (c) byVariable.set(variable, c);
  }
  return {
    transformGradients: (grads) => {
      const out: TfCore.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) {
        const c = byVariable.get(name);
        if (!c) {
          out[name] = g;
          continue;
        }
        const values = g.dataSync() as Float32Array;
        const sums = new Float64Array(c.centroids.length);
        for (let i = 0; i < values.length; i++)
          if (c.assignments[i] >= 0) sums[c.assignments[i]] += values[i];
        const shared = Float32Array.from(c.assignments, (a) => (a < 0 ? 0 : sums[a]));
        out[name] = tf.tensor(shared, g.shape);
      }
      return out;
    },
  };
}

async function apply(input: StepInput, o: ClusterOptions, context: StepContext): Promise<StepOutput> {
  let weights = cloneWeights(input.weights);
  const clusterings = new Map<string, Clustering>();
  for (const layer of weights.layers) {
    const bits = o.bits[layer.layer];
    if (bits === undefined) continue;
    for (const tensor of weightTensors(layer)) {
      const c = clusterTensor(tensor.values, bits, o.init, context.seed);
      clusterings.set(`${layer.layer}/${tensor.name}`, c);
      tensor.values = decodeSymbols(codedOf(c));
    }
  }
  let interrupted = false;
  const before = await context.accuracy(weights);
  if (o.fineTuneEpochs > 0) {
    context.log(`fine-tuning shared centroids, ${o.fineTuneEpochs} epochs`);
    const tuned = await context.fineTune(weights, input.masks, {
      epochs: o.fineTuneEpochs,
      learningRate: o.learningRate,
      hooks: (owners) => sharedGradientHooks(owners, clusterings),
    });
    interrupted = tuned.result.stopped === 'aborted';
    weights = tuned.weights;
    for (const layer of weights.layers)
      for (const tensor of weightTensors(layer)) {
        const c = clusterings.get(`${layer.layer}/${tensor.name}`);
        if (!c) continue;
        recentre(tensor.values, c);
        tensor.values = decodeSymbols(codedOf(c));
      }
  }
  const coded = new Map<string, CodedTensor>([...clusterings].map(([key, c]) => [key, codedOf(c)]));
  const stored = storeCoded(weights, coded, o.bits, { huffman: o.huffman, sparse: true });
  return {
    weights: stored.weights,
    masks: input.masks,
    details: {
      bits: o.bits,
      init: o.init,
      valAccuracyBeforeFineTune: before,
      storedBytes: Math.ceil(stored.header.storedBits / 8),
    },
    files: stored.files,
    ...(interrupted ? { interrupted } : {}),
  };
}

export const clusterMethod = defineMethod<ClusterOptions>({
  name: 'cluster',
  summary:
    'weight sharing: k-means per layer to 2^bits shared values, centroids fine-tuned (Deep Compression)',
  validate,
  transformSpec,
  exampleOptions: () => ({ bits: 4, fineTuneEpochs: 1 }),
  apply,
});
