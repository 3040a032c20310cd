/**
 * Compression of an ONNX model's weight initializers that needs no training: magnitude pruning
 * (per tensor or one global threshold, through prune-masks.ts), weight clustering (k-means per
 * tensor through kmeans.ts, stored as uint8 codes and a codebook that a Cast + Gather expand) and
 * low-rank factorisation of Gemm/MatMul weights (truncated SVD through lowrank/factorize.ts: one
 * product becomes two). Each works on the decoded protobuf in place.
 */
import { OnnxError } from '../../core/errors.js';
import type { GraphProto, NodeProto } from '../../models/formats/onnx/proto.js';
import { kMeans1d } from '../kmeans.js';
import { rankForEnergy, singularValues, truncatedSvd } from '../lowrank/factorize.js';
import { globalMasks, layerwiseMasks, type PruneGroup } from '../prune-masks.js';
import {
  attributeInt,
  floatTensor,
  floatValues,
  int8Tensor,
  intAttribute,
  node,
  setFloatValues,
  uniqueNamer,
  type WeightTensor,
  weightTensors,
} from './tensors.js';

export interface TensorChange {
  /** The initializer (weight tensor) and the node that reads it. */
  tensor: string;
  node: string;
  op: string;
  weights: number;
  nonZeroBefore: number;
  nonZeroAfter: number;
  /** What the method did to it, e.g. "rank 32 (2 MatMuls)" or "16 shared values". */
  note?: string;
}

function nonZero(values: Float32Array): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) n++;
  return n;
}

/** The weights a step works on: every weight tensor but those whose tensor or node name is skipped. */
export function selectWeights(graph: GraphProto, skip: readonly string[], step: string): WeightTensor[] {
  const all = weightTensors(graph);
  for (const name of skip)
    if (!all.some((w) => w.name === name || w.nodeName === name))
      throw new OnnxError(
        `${step}: "${name}" is neither a weight tensor nor a weighted node of the model (weights: ${all.map((w) => `${w.nodeName}/${w.name}`).join(', ') || 'none'})`,
      );
  const chosen = all.filter((w) => !skip.includes(w.name) && !skip.includes(w.nodeName));
  if (chosen.length === 0)
    throw new OnnxError(
      `${step}: the model has no float32 weight initializer of a Conv, ConvTranspose, Gemm or MatMul node to compress`,
    );
  return chosen;
}

export interface PruneOptions {
  sparsity: number;
  /** One threshold for all tensors (global) or each tensor pruned to the sparsity. */
  global: boolean;
  /** Global only: the last weight tensor keeps at least this fraction (default 0.2). */
  lastLayerMinKept?: number;
  skip?: string[];
}

export function pruneOnnx(graph: GraphProto, options: PruneOptions, step: string): TensorChange[] {
  const weights = selectWeights(graph, options.skip ?? [], step);
  const values = weights.map((w) => floatValues(w.tensor));
  const groups: PruneGroup[] = weights.map((w, i) => ({
    layer: w.name,
    tensors: [{ name: w.name, values: values[i] }],
  }));
  const masks = options.global
    ? globalMasks(
        groups,
        options.sparsity,
        new Map([[weights[weights.length - 1].name, options.lastLayerMinKept ?? 0.2]]),
      )
    : layerwiseMasks(groups, new Map(weights.map((w) => [w.name, options.sparsity])));
  return weights.map((w, i) => {
    const mask = masks.get(w.name)?.get(w.name);
    const before = nonZero(values[i]);
    if (mask) for (let j = 0; j < mask.length; j++) if (mask[j] === 0) values[i][j] = 0;
    setFloatValues(w.tensor, values[i]);
    return {
      tensor: w.name,
      node: w.nodeName,
      op: w.op,
      weights: values[i].length,
      nonZeroBefore: before,
      nonZeroAfter: nonZero(values[i]),
    };
  });
}

export interface ClusterOptions {
  bits: number;
  init?: 'linear' | 'density' | 'kmeans++';
  seed: number;
  skip?: string[];
}

/**
 * Each weight tensor's non-zero values clustered into 2^bits - 1 shared values (zero, the pruned
 * weights, is its own code); the tensor is stored as uint8 codes and a float32 codebook and rebuilt
 * by Cast (to int32) and Gather when the model loads, so the file holds a byte per weight.
 */
export function clusterOnnx(graph: GraphProto, options: ClusterOptions, step: string): TensorChange[] {
  const weights = selectWeights(graph, options.skip ?? [], step);
  const fresh = uniqueNamer(graph);
  const expand: NodeProto[] = [];
  const changes = weights.map((w) => {
    const values = floatValues(w.tensor);
    const kept = values.filter((v) => v !== 0);
    const k = Math.max(1, Math.min(2 ** options.bits - 1, kept.length));
    const { centroids, assignments } = kMeans1d(kept, {
      k,
      init: options.init ?? 'linear',
      seed: options.seed,
    });
    const codebook = new Float32Array(centroids.length + 1); // code 0 is zero
    codebook.set(centroids, 1);
    const codes = new Int32Array(values.length);
    let j = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== 0) codes[i] = assignments[j++] + 1;
    const codesName = fresh(`${w.name}_codes`);
    const codebookName = fresh(`${w.name}_codebook`);
    const indices = fresh(`${w.name}_indices`);
    graph.initializer.splice(
      graph.initializer.indexOf(w.tensor),
      1,
      int8Tensor(codesName, codes, w.dims, true),
      floatTensor(codebookName, codebook, [codebook.length]),
    );
    graph.input = graph.input.filter((i) => i.name !== w.name);
    expand.push(
      node('Cast', [codesName], [indices], fresh(`${w.name}_cast`), [intAttribute('to', 6)]),
      node('Gather', [codebookName, indices], [w.name], fresh(`${w.name}_gather`), [intAttribute('axis', 0)]),
    );
    let after = 0;
    for (let i = 0; i < codes.length; i++) if (codebook[codes[i]] !== 0) after++;
    return {
      tensor: w.name,
      node: w.nodeName,
      op: w.op,
      weights: values.length,
      nonZeroBefore: kept.length,
      nonZeroAfter: after,
      note: `${centroids.length} shared values + zero, uint8 codes`,
    };
  });
  graph.node.unshift(...expand);
  return changes;
}

export interface OnnxLowRankOptions {
  rank?: number;
  energy?: number;
  paramRatio?: number;
  /** Node or tensor names; default every Gemm/MatMul weight but the last. */
  layers?: string[];
}

/** A Gemm or MatMul weight as the matrix W [in, out] the node multiplies by. */
function asMatrix(w: WeightTensor): { values: Float32Array; rows: number; cols: number } {
  const values = floatValues(w.tensor);
  const [a, b] = w.dims;
  if (w.op === 'Gemm' && attributeInt(w.node, 'transB', 0)) {
    const t = new Float32Array(values.length);
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) t[j * a + i] = values[i * b + j];
    return { values: t, rows: b, cols: a };
  }
  return { values, rows: a, cols: b };
}

/**
 * W [in, out] ~ L [in, r] R [r, out]: a MatMul by W becomes MatMul by L then MatMul by R; a Gemm
 * becomes MatMul by L then the Gemm by R (alpha, beta and its bias kept). A tensor whose factors
 * would not be smaller is left as it is.
 */
export function lowRankOnnx(graph: GraphProto, options: OnnxLowRankOptions, step: string): TensorChange[] {
  const all = weightTensors(graph).filter(
    (w) =>
      (w.op === 'MatMul' || (w.op === 'Gemm' && attributeInt(w.node, 'transA', 0) === 0)) &&
      w.dims.length === 2,
  );
  if (all.length === 0) throw new OnnxError(`${step}: the model has no Gemm or MatMul weight to factorise`);
  let chosen: WeightTensor[];
  if (options.layers) {
    chosen = options.layers.map((name) => {
      const w = all.find((x) => x.name === name || x.nodeName === name);
      if (!w)
        throw new OnnxError(
          `${step}: field "layers": "${name}" is not a Gemm or MatMul weight or node (factorisable: ${all.map((x) => x.nodeName).join(', ')})`,
        );
      return w;
    });
  } else chosen = all.slice(0, -1);
  const fresh = uniqueNamer(graph);
  const changes: TensorChange[] = [];
  for (const w of chosen) {
    const { values, rows, cols } = asMatrix(w);
    const full = Math.min(rows, cols);
    let rank: number;
    if (options.rank !== undefined) {
      if (options.rank > full)
        throw new OnnxError(
          `${step}: field "rank": rank ${options.rank} is larger than ${w.nodeName} allows (weight [${rows}, ${cols}]: at most ${full})`,
        );
      rank = options.rank;
    } else if (options.paramRatio !== undefined)
      rank = Math.max(1, Math.floor((options.paramRatio * rows * cols) / (rows + cols)));
    else rank = rankForEnergy(singularValues(values, rows, cols), options.energy ?? 0.9);
    const nonZeroBefore = nonZero(values);
    if (rank * (rows + cols) >= rows * cols) {
      changes.push({
        tensor: w.name,
        node: w.nodeName,
        op: w.op,
        weights: rows * cols,
        nonZeroBefore,
        nonZeroAfter: nonZeroBefore,
        note: `left as it is: rank ${rank} factors would hold ${rank * (rows + cols)} weights, not fewer than ${rows * cols}`,
      });
      continue;
    }
    const svd = truncatedSvd(values, rows, cols, rank);
    const leftName = fresh(`${w.name}_left`);
    const rightName = fresh(`${w.name}_right`);
    const hidden = fresh(`${w.nodeName}_lowrank`);
    graph.initializer.push(
      floatTensor(leftName, svd.left, [rows, rank]),
      floatTensor(rightName, svd.right, [rank, cols]),
    );
    const first = node('MatMul', [w.node.input[0], leftName], [hidden], fresh(`${w.nodeName}_left`));
    const at = graph.node.indexOf(w.node);
    if (w.op === 'MatMul') {
      const second = node('MatMul', [hidden, rightName], w.node.output, w.node.name || fresh(w.nodeName));
      graph.node.splice(at, 1, first, second);
    } else {
      const gemm: NodeProto = {
        ...w.node,
        input: [hidden, rightName, ...w.node.input.slice(2)],
        attribute: [...w.node.attribute.filter((a) => a.name !== 'transB'), intAttribute('transB', 0)],
      };
      graph.node.splice(at, 1, first, gemm);
    }
    // The original weight goes unless another node still reads it.
    if (!graph.node.some((n) => n.input.includes(w.name))) {
      graph.initializer = graph.initializer.filter((t) => t !== w.tensor);
      graph.input = graph.input.filter((i) => i.name !== w.name);
    }
    changes.push({
      tensor: w.name,
      node: w.nodeName,
      op: w.op,
      weights: rows * cols,
      nonZeroBefore,
      nonZeroAfter: rank * (rows + cols),
      note: `rank ${rank}: [${rows}, ${rank}] x [${rank}, ${cols}] (${((rank * (rows + cols)) / (rows * cols)).toFixed(3)} of the weights)`,
    });
  }
  return changes;
}
