/**
 * Differentiable architecture search (DARTS, Liu, Simonyan and Yang 2019), first order, on a small
 * cell space for images.
 *
 * The network: a 3x3 stem convolution, then `cells` copies of one cell with a 2x2 max pooling
 * between them, global average pooling and a softmax layer. A cell has `nodes` intermediate nodes;
 * node j sums one mixed operation on every earlier state (the cell's input and nodes 1..j-1), and
 * the cell's output is its nodes concatenated and mixed back to `channels` by a 1x1 convolution.
 * Every cell shares the architecture parameters alpha (one logit per edge and operation), as
 * DARTS's normal cells do.
 *
 * A mixed operation is sum_o softmax(alpha_edge)_o * o(x) over `DARTS_OPS`: separable 3x3 and 5x5
 * convolutions (depthwise then pointwise, ReLU after), a full 3x3 convolution, 3x3 max and average
 * pooling (stride 1), the identity and zero. DARTS's dilated convolutions are left out: TensorFlow.js
 * 4.22 has no gradient for a depthwise convolution with dilation above 1.
 *
 * Search: each step first moves alpha by Adam on the cross-entropy of a validation batch (plus
 * `archWeightDecay` x |alpha|^2 / 2), the network weights held fixed (the first-order
 * approximation), then the weights by Adam on a training batch. Deriving the cell keeps, per node,
 * the `edgesPerNode` incoming edges whose strongest non-zero operation weighs most, and per kept
 * edge its `opsPerEdge` strongest non-zero operations (DARTS: 2 edges, 1 operation). The derived
 * cell is an ordinary Parsimony spec (`dartsCellSpec`) that `trainModel` retrains from scratch.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { DataError, InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { ModelBuilder } from '../models/spec/builder.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { saveModel } from '../models/tfjs/save.js';
import { evaluate, type TrainingData, trainModel } from '../train/trainer.js';

export const DARTS_OPS = [
  'sep_conv_3x3',
  'sep_conv_5x5',
  'conv_3x3',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'none',
] as const;
export type DartsOp = (typeof DARTS_OPS)[number];

/** The shape of the network around the cell. */
export interface DartsNetworkOptions {
  /** [height, width, channels] of one image. */
  inputShape: readonly number[];
  classes: number;
  /** Channels of the stem and of every cell (default 8). */
  channels?: number;
  /** Cells, with a 2x2 max pooling between neighbours (default 2). */
  cells?: number;
  /** Intermediate nodes per cell (default 3). */
  nodes?: number;
  /** Stride of the stem convolution (default 2 for images of 16 pixels or more a side, else 1). */
  stemStride?: number;
}

export interface DartsSearchOptions extends DartsNetworkOptions {
  train: TrainingData;
  /** Architecture parameters learn on this data (DARTS: the other half of the training data). */
  validation: TrainingData;
  /** Search epochs over the training data (default 10). */
  epochs?: number;
  /** Batch size of both steps (default 32). */
  batchSize?: number;
  /** Adam step size of the network weights (default 0.01). */
  weightLearningRate?: number;
  /** Adam step size of alpha (default 0.01; DARTS uses 3e-4 over 50 epochs, far more steps than here). */
  archLearningRate?: number;
  /** L2 penalty on alpha (default 0.001, as DARTS). */
  archWeightDecay?: number;
  /** Operations of the mixed edges (default all of DARTS_OPS). */
  ops?: readonly DartsOp[];
  /** Incoming edges kept per node when deriving (default 2, at most the node's inputs). */
  edgesPerNode?: number;
  /** Operations kept per kept edge (default 1). */
  opsPerEdge?: number;
  seed?: number;
  onEpoch?: (epoch: DartsEpoch) => void;
  signal?: AbortSignal;
}

/** One search epoch. */
export interface DartsEpoch {
  epoch: number;
  /** Supernet training loss and accuracy (mean over the epoch's batches). */
  loss: number;
  accuracy: number;
  /** Supernet validation accuracy after the epoch. */
  valAccuracy: number;
  seconds: number;
  /** softmax(alpha) per edge after the epoch. */
  weights: number[][];
}

/** An edge of the cell: from state `from` (0 = the cell's input, j = node j) into node `to` (1-based). */
export interface DartsEdge {
  from: number;
  to: number;
}

/** A discrete cell: per kept edge, the operations it applies (summed when several). */
export interface DartsCell {
  nodes: number;
  edges: { from: number; to: number; ops: DartsOp[] }[];
}

export interface DartsSearchResult {
  ops: DartsOp[];
  edges: DartsEdge[];
  /** softmax(alpha) per edge at the end, in the order of `edges`. */
  weights: number[][];
  history: DartsEpoch[];
  secondsPerEpoch: number;
  cell: DartsCell;
  /** Parameters of the supernet (every operation on every edge). */
  supernetParams: number;
  stopped: 'epochs' | 'aborted';
}

/** The edges of a cell with `nodes` nodes, node by node. */
export function dartsEdges(nodes: number): DartsEdge[] {
  const edges: DartsEdge[] = [];
  for (let to = 1; to <= nodes; to++) for (let from = 0; from < to; from++) edges.push({ from, to });
  return edges;
}

interface Network {
  channels: number;
  cells: number;
  nodes: number;
  stemStride: number;
  inputShape: number[];
  classes: number;
}

function network(options: DartsNetworkOptions): Network {
  const channels = options.channels ?? 8;
  const cells = options.cells ?? 2;
  const nodes = options.nodes ?? 3;
  const shape = [...options.inputShape];
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0))
    throw new InvalidArgumentError(
      `darts: needs images of shape [height, width, channels], got [${shape.join(', ')}]`,
    );
  for (const [name, v] of [
    ['channels', channels],
    ['cells', cells],
    ['nodes', nodes],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new InvalidArgumentError(`darts: ${name} must be a positive integer, got ${v}`);
  const stemStride = options.stemStride ?? (Math.min(shape[0], shape[1]) >= 16 ? 2 : 1);
  if (stemStride !== 1 && stemStride !== 2)
    throw new InvalidArgumentError(`darts: stemStride must be 1 or 2, got ${options.stemStride}`);
  return { channels, cells, nodes, stemStride, inputShape: shape, classes: options.classes };
}

/** Glorot-uniform values from a seeded stream. */
function glorot(rng: Random, shape: number[], fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

interface OpWeights {
  depthwise?: TfCore.Variable;
  kernel: TfCore.Variable;
  bias: TfCore.Variable;
}

let supernetCounter = 0;

/** The supernet's variables and forward pass. */
class Supernet {
  readonly weights: TfCore.Variable[] = [];
  readonly alpha: TfCore.Variable;
  private readonly stem: OpWeights;
  /** Per cell, per edge, per op index: the op's weights (weightless ops have none). */
  private readonly cellOps: (OpWeights | null)[][][];
  private readonly mixers: OpWeights[];
  private readonly head: OpWeights;
  private readonly edges: DartsEdge[];

  constructor(
    private readonly tf: typeof TfCore,
    private readonly net: Network,
    readonly ops: readonly DartsOp[],
    rng: Random,
  ) {
    const prefix = `darts${++supernetCounter}`;
    const { channels: c, inputShape, nodes } = net;
    const variable = (name: string, shape: number[], fanIn: number, fanOut: number) => {
      const v = tf.variable(
        tf.tensor(glorot(rng.fork(name), shape, fanIn, fanOut), shape),
        true,
        `${prefix}/${name}`,
      );
      this.weights.push(v);
      return v;
    };
    const zeros = (name: string, n: number) => {
      const v = tf.variable(tf.zeros([n]), true, `${prefix}/${name}`);
      this.weights.push(v);
      return v;
    };
    this.stem = {
      kernel: variable('stem/kernel', [3, 3, inputShape[2], c], 9 * inputShape[2], 9 * c),
      bias: zeros('stem/bias', c),
    };
    this.edges = dartsEdges(nodes);
    this.cellOps = [];
    this.mixers = [];
    for (let k = 0; k < net.cells; k++) {
      this.cellOps.push(
        this.edges.map((e, ei) =>
          ops.map((op) => {
            const name = `cell${k}/edge${ei}_${e.from}to${e.to}/${op}`;
            if (op === 'sep_conv_3x3' || op === 'sep_conv_5x5') {
              const size = op === 'sep_conv_3x3' ? 3 : 5;
              return {
                depthwise: variable(`${name}/depthwise`, [size, size, c, 1], size * size, size * size),
                kernel: variable(`${name}/pointwise`, [1, 1, c, c], c, c),
                bias: zeros(`${name}/bias`, c),
              };
            }
            if (op === 'conv_3x3')
              return {
                kernel: variable(`${name}/kernel`, [3, 3, c, c], 9 * c, 9 * c),
                bias: zeros(`${name}/bias`, c),
              };
            return null;
          }),
        ),
      );
      this.mixers.push({
        kernel: variable(`cell${k}/mix/kernel`, [1, 1, nodes * c, c], nodes * c, c),
        bias: zeros(`cell${k}/mix/bias`, c),
      });
    }
    this.head = {
      kernel: variable('head/kernel', [c, net.classes], c, net.classes),
      bias: zeros('head/bias', net.classes),
    };
    const alphaRng = rng.fork('alpha');
    this.alpha = tf.variable(
      tf.tensor(
        Float32Array.from({ length: this.edges.length * ops.length }, () => 1e-3 * alphaRng.normal()),
        [this.edges.length, ops.length],
      ),
      true,
      `${prefix}/alpha`,
    );
  }

  get params(): number {
    return this.weights.reduce((n, v) => n + v.size, 0);
  }

  /** Logits of a batch. */
  forward(x: TfCore.Tensor4D): TfCore.Tensor2D {
    const { tf, net } = this;
    let h = tf.relu(
      tf.add(tf.conv2d(x, this.stem.kernel as TfCore.Tensor4D, net.stemStride, 'same'), this.stem.bias),
    );
    const mix = tf.softmax(this.alpha) as TfCore.Tensor2D;
    const weights = tf.unstack(mix); // one [ops] tensor per edge
    for (let k = 0; k < net.cells; k++) {
      if (k > 0) h = tf.maxPool(h as TfCore.Tensor4D, 2, 2, 'same');
      const states: TfCore.Tensor4D[] = [h as TfCore.Tensor4D];
      let ei = 0;
      for (let to = 1; to <= net.nodes; to++) {
        let node: TfCore.Tensor4D | null = null;
        for (let from = 0; from < to; from++, ei++) {
          const w = tf.unstack(weights[ei]);
          for (let o = 0; o < this.ops.length; o++) {
            const y = this.apply(this.ops[o], states[from], this.cellOps[k][ei][o]);
            if (y === null) continue;
            const term = tf.mul(y, w[o]) as TfCore.Tensor4D;
            node = node === null ? term : (tf.add(node, term) as TfCore.Tensor4D);
          }
        }
        states.push(node ?? (tf.zerosLike(states[0]) as TfCore.Tensor4D));
      }
      const cat = net.nodes > 1 ? tf.concat(states.slice(1), -1) : states[1];
      h = tf.relu(
        tf.add(
          tf.conv2d(cat as TfCore.Tensor4D, this.mixers[k].kernel as TfCore.Tensor4D, 1, 'same'),
          this.mixers[k].bias,
        ),
      );
    }
    const pooled = tf.mean(h, [1, 2]) as TfCore.Tensor2D;
    return tf.add(tf.matMul(pooled, this.head.kernel as TfCore.Tensor2D), this.head.bias) as TfCore.Tensor2D;
  }

  private apply(op: DartsOp, x: TfCore.Tensor4D, w: OpWeights | null): TfCore.Tensor4D | null {
    const { tf } = this;
    switch (op) {
      case 'sep_conv_3x3':
      case 'sep_conv_5x5':
        return tf.relu(
          tf.add(
            tf.separableConv2d(x, w!.depthwise as TfCore.Tensor4D, w!.kernel as TfCore.Tensor4D, 1, 'same'),
            w!.bias,
          ),
        ) as TfCore.Tensor4D;
      case 'conv_3x3':
        return tf.relu(
          tf.add(tf.conv2d(x, w!.kernel as TfCore.Tensor4D, 1, 'same'), w!.bias),
        ) as TfCore.Tensor4D;
      case 'max_pool_3x3':
        return tf.maxPool(x, 3, 1, 'same');
      case 'avg_pool_3x3':
        return tf.avgPool(x, 3, 1, 'same');
      case 'skip_connect':
        return x;
      case 'none':
        return null;
    }
  }

  /** softmax(alpha) as plain numbers, one row per edge. */
  mixingWeights(): number[][] {
    const values = this.tf.tidy(() => this.tf.softmax(this.alpha).arraySync() as number[][]);
    return values;
  }

  dispose(): void {
    for (const v of this.weights) v.dispose();
    this.alpha.dispose();
  }
}

/** Reads batch `rows` of `data` into a tensor of images and one of labels. */
function batchOf(
  tf: typeof TfCore,
  data: TrainingData,
  rows: ArrayLike<number>,
  scratch: Float32Array,
): [TfCore.Tensor4D, TfCore.Tensor1D] {
  const size = data.shape.reduce((a, b) => a * b, 1);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    scratch.set(data.x.subarray(rows[i] * size, (rows[i] + 1) * size), i * size);
    labels[i] = data.labels[rows[i]];
  }
  return [
    tf.tensor4d(scratch.subarray(0, rows.length * size), [rows.length, ...data.shape] as [
      number,
      number,
      number,
      number,
    ]),
    tf.tensor1d(labels, 'int32'),
  ];
}

/** Runs the search and derives the cell. */
export async function dartsSearch(options: DartsSearchOptions): Promise<DartsSearchResult> {
  const net = network(options);
  const ops = [...(options.ops ?? DARTS_OPS)];
  for (const op of ops)
    if (!DARTS_OPS.includes(op))
      throw new InvalidArgumentError(`darts: unknown operation "${op}" (known: ${DARTS_OPS.join(', ')})`);
  if (!ops.some((op) => op !== 'none'))
    throw new InvalidArgumentError('darts: ops needs at least one operation besides "none"');
  const epochs = options.epochs ?? 10;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new InvalidArgumentError(`darts: epochs must be a positive integer, got ${options.epochs}`);
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidArgumentError(`darts: batchSize must be a positive integer, got ${options.batchSize}`);
  for (const [name, data] of [
    ['train', options.train],
    ['validation', options.validation],
  ] as const) {
    if (data.shape.join(',') !== net.inputShape.join(','))
      throw new InvalidArgumentError(
        `darts: ${name} samples have shape [${data.shape.join(', ')}], the network takes [${net.inputShape.join(', ')}]`,
      );
    if (data.labels.length === 0) throw new InvalidArgumentError(`darts: the ${name} data is empty`);
  }
  const tf = await import('@tensorflow/tfjs-core');
  const rng = new Random(options.seed ?? 0);
  const supernet = new Supernet(tf, net, ops, rng.fork('init'));
  const weightOptimizer = tf.train.adam(options.weightLearningRate ?? 0.01);
  const archOptimizer = tf.train.adam(options.archLearningRate ?? 0.01);
  const decay = options.archWeightDecay ?? 1e-3;
  const size = net.inputShape.reduce((a, b) => a * b, 1);
  const scratch = new Float32Array(batchSize * size);
  const trainOrder = Int32Array.from({ length: options.train.labels.length }, (_, i) => i);
  const valOrder = Int32Array.from({ length: options.validation.labels.length }, (_, i) => i);
  const shuffle = rng.fork('shuffle');
  const history: DartsEpoch[] = [];
  let stopped: DartsSearchResult['stopped'] = 'epochs';
  const lossOf = (x: TfCore.Tensor4D, labels: TfCore.Tensor1D) => {
    const logits = supernet.forward(x);
    return {
      logits,
      loss: tf.losses.softmaxCrossEntropy(tf.oneHot(labels, net.classes), logits) as TfCore.Scalar,
    };
  };
  try {
    let valCursor = valOrder.length;
    for (let epoch = 0; epoch < epochs && stopped === 'epochs'; epoch++) {
      const started = performance.now();
      shuffle.shuffle(trainOrder);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let start = 0; start < trainOrder.length; start += batchSize) {
        const rows = trainOrder.subarray(start, Math.min(trainOrder.length, start + batchSize));
        if (valCursor + rows.length > valOrder.length) {
          shuffle.shuffle(valOrder);
          valCursor = 0;
        }
        const valRows = valOrder.subarray(valCursor, Math.min(valOrder.length, valCursor + rows.length));
        valCursor += valRows.length;
        // Architecture step on validation data, weights fixed (first-order DARTS).
        tf.tidy(() => {
          const [x, labels] = batchOf(tf, options.validation, valRows, scratch);
          const { grads } = tf.variableGrads(() => {
            const { loss } = lossOf(x, labels);
            return tf.add(loss, tf.mul(0.5 * decay, tf.sum(tf.square(supernet.alpha)))) as TfCore.Scalar;
          }, [supernet.alpha]);
          archOptimizer.applyGradients(grads as unknown as Record<string, TfCore.Variable>);
        });
        // Weight step on training data, alpha fixed.
        const [loss, hits] = tf.tidy(() => {
          const [x, labels] = batchOf(tf, options.train, rows, scratch);
          let logits: TfCore.Tensor2D | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const out = lossOf(x, labels);
            logits = tf.keep(out.logits);
            return out.loss;
          }, supernet.weights);
          weightOptimizer.applyGradients(grads as unknown as Record<string, TfCore.Variable>);
          const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits!, -1), labels), 'float32'));
          logits!.dispose();
          return [value.dataSync()[0], hit.dataSync()[0]];
        });
        lossSum += loss * rows.length;
        correct += hits;
        seen += rows.length;
        if (options.signal) {
          await new Promise((resolve) => setImmediate(resolve));
          if (options.signal.aborted) {
            stopped = 'aborted';
            break;
          }
        }
      }
      const record: DartsEpoch = {
        epoch,
        loss: lossSum / Math.max(1, seen),
        accuracy: correct / Math.max(1, seen),
        valAccuracy: supernetAccuracy(tf, supernet, options.validation, batchSize, scratch),
        seconds: (performance.now() - started) / 1000,
        weights: supernet.mixingWeights(),
      };
      history.push(record);
      options.onEpoch?.(record);
    }
    const weights = supernet.mixingWeights();
    const edges = dartsEdges(net.nodes);
    const complete = history.filter((h) => h.seconds > 0);
    return {
      ops,
      edges,
      weights,
      history,
      secondsPerEpoch: complete.reduce((s, h) => s + h.seconds, 0) / Math.max(1, complete.length),
      cell: deriveCell(ops, edges, weights, net.nodes, options),
      supernetParams: supernet.params,
      stopped,
    };
  } finally {
    weightOptimizer.dispose();
    archOptimizer.dispose();
    supernet.dispose();
  }
}

function supernetAccuracy(
  tf: typeof TfCore,
  supernet: Supernet,
  data: TrainingData,
  batchSize: number,
  scratch: Float32Array,
): number {
  let correct = 0;
  const n = data.labels.length;
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  for (let start = 0; start < n; start += batchSize) {
    correct += tf.tidy(() => {
      const [x, labels] = batchOf(tf, data, rows.subarray(start, Math.min(n, start + batchSize)), scratch);
      return tf.sum(tf.cast(tf.equal(tf.argMax(supernet.forward(x), -1), labels), 'float32')).dataSync()[0];
    });
  }
  return correct / n;
}

/**
 * The discrete cell of mixing weights: per node the `edgesPerNode` incoming edges whose strongest
 * non-zero operation weighs most, per kept edge its `opsPerEdge` strongest non-zero operations.
 */
export function deriveCell(
  ops: readonly DartsOp[],
  edges: readonly DartsEdge[],
  weights: readonly (readonly number[])[],
  nodes: number,
  options: { edgesPerNode?: number; opsPerEdge?: number } = {},
): DartsCell {
  const edgesPerNode = options.edgesPerNode ?? 2;
  const opsPerEdge = options.opsPerEdge ?? 1;
  if (!Number.isInteger(edgesPerNode) || edgesPerNode < 1)
    throw new InvalidArgumentError(`darts: edgesPerNode must be a positive integer, got ${edgesPerNode}`);
  const candidates = ops.flatMap((op, o) => (op === 'none' ? [] : [o]));
  if (!Number.isInteger(opsPerEdge) || opsPerEdge < 1 || opsPerEdge > candidates.length)
    throw new InvalidArgumentError(
      `darts: opsPerEdge must be an integer in [1, ${candidates.length}], got ${opsPerEdge}`,
    );
  const cell: DartsCell = { nodes, edges: [] };
  for (let to = 1; to <= nodes; to++) {
    const incoming = edges.flatMap((e, i) => (e.to === to ? [i] : []));
    const strength = (i: number) => Math.max(...candidates.map((o) => weights[i][o]));
    const kept = [...incoming].sort((a, b) => strength(b) - strength(a) || a - b).slice(0, edgesPerNode);
    for (const i of kept.sort((a, b) => edges[a].from - edges[b].from)) {
      const best = [...candidates]
        .sort((a, b) => weights[i][b] - weights[i][a] || a - b)
        .slice(0, opsPerEdge);
      cell.edges.push({ from: edges[i].from, to, ops: best.map((o) => ops[o]) });
    }
  }
  return cell;
}

/**
 * A random cell with the same shape as `like` (the same number of kept edges into each node and
 * operations per edge), its sources and operations drawn uniformly among the non-zero ones.
 */
export function randomCell(like: DartsCell, ops: readonly DartsOp[], seed: number): DartsCell {
  const rng = new Random(seed);
  const choices = ops.filter((op) => op !== 'none');
  const cell: DartsCell = { nodes: like.nodes, edges: [] };
  for (let to = 1; to <= like.nodes; to++) {
    const same = like.edges.filter((e) => e.to === to);
    const sources = Array.from({ length: to }, (_, i) => i);
    rng.shuffle(sources);
    const picked = sources.slice(0, same.length).sort((a, b) => a - b);
    picked.forEach((from, k) => {
      const pool = [...choices];
      rng.shuffle(pool);
      cell.edges.push({ from, to, ops: pool.slice(0, same[k].ops.length) });
    });
  }
  return cell;
}

/** The network of DartsNetworkOptions with the discrete `cell` in every cell position, as a spec. */
export function dartsCellSpec(cell: DartsCell, options: DartsNetworkOptions): ModelSpec {
  const net = network({ ...options, nodes: cell.nodes });
  const c = net.channels;
  const b = new ModelBuilder('darts-cell');
  let h = b.conv2d(b.input(net.inputShape), {
    filters: c,
    kernelSize: 3,
    strides: net.stemStride,
    padding: 'same',
    activation: 'relu',
    name: 'stem',
  });
  for (let k = 0; k < net.cells; k++) {
    if (k > 0) h = b.maxPool2d(h, { poolSize: 2, strides: 2, padding: 'same', name: `reduce_${k}` });
    const states = [h];
    for (let to = 1; to <= cell.nodes; to++) {
      const parts: string[] = [];
      for (const edge of cell.edges.filter((e) => e.to === to))
        for (const op of edge.ops) {
          const name = `cell${k}_${edge.from}to${to}_${op}`;
          parts.push(opLayer(b, op, states[edge.from], c, name));
        }
      if (parts.length === 0)
        throw new InvalidArgumentError(`darts: node ${to} of the cell has no incoming operation`);
      // A node that is one input as it is still gets a layer, so concat never reads a tensor twice.
      states.push(
        parts.length > 1
          ? b.add(parts, { name: `cell${k}_node${to}` })
          : b.activation(parts[0], { activation: 'linear', name: `cell${k}_node${to}` }),
      );
    }
    const nodes = states.slice(1);
    const cat = nodes.length > 1 ? b.concat(nodes, { name: `cell${k}_concat` }) : nodes[0];
    h = b.conv2d(cat, { filters: c, kernelSize: 1, activation: 'relu', name: `cell${k}_mix` });
  }
  const pooled = b.globalAvgPool2d(h, { name: 'pool' });
  return b.build(b.dense(pooled, { units: net.classes, activation: 'softmax', name: 'classes' }));
}

function opLayer(b: ModelBuilder, op: DartsOp, x: string, channels: number, name: string): string {
  switch (op) {
    case 'sep_conv_3x3':
    case 'sep_conv_5x5':
      return b.separableConv2d(x, {
        filters: channels,
        kernelSize: op === 'sep_conv_3x3' ? 3 : 5,
        padding: 'same',
        activation: 'relu',
        name,
      });
    case 'conv_3x3':
      return b.conv2d(x, { filters: channels, kernelSize: 3, padding: 'same', activation: 'relu', name });
    case 'max_pool_3x3':
      return b.maxPool2d(x, { poolSize: 3, strides: 1, padding: 'same', name });
    case 'avg_pool_3x3':
      return b.avgPool2d(x, { poolSize: 3, strides: 1, padding: 'same', name });
    case 'skip_connect':
      return x;
    case 'none':
      throw new InvalidArgumentError('darts: a derived cell cannot hold the zero operation');
  }
}

/** The cell as text, one kept edge a line: `node 2 <- node 1: sep_conv_3x3`. */
export function formatCell(cell: DartsCell): string {
  return cell.edges
    .map((e) => `node ${e.to} <- ${e.from === 0 ? 'input' : `node ${e.from}`}: ${e.ops.join(' + ')}`)
    .join('\n');
}

/** The mixing weights as a table: one row per edge, one column per operation. */
export function formatMixingWeights(
  ops: readonly DartsOp[],
  edges: readonly DartsEdge[],
  weights: readonly (readonly number[])[],
): string {
  const head = ['edge', ...ops];
  const rows = edges.map((e, i) => [
    `${e.from === 0 ? 'in' : e.from}->${e.to}`,
    ...weights[i].map((w) => w.toFixed(3)),
  ]);
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export interface RetrainOptions {
  epochs?: number;
  /** Save the trained model (spec and weights) to this directory. */
  saveTo?: string;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
}

/**
 * Trains a derived (or random) cell's spec from scratch with `trainModel` (Adam) and returns its
 * accuracy on each of `evaluateOn`.
 */
export async function retrainCell(
  spec: ModelSpec,
  train: TrainingData,
  evaluateOn: Record<string, TrainingData>,
  options: RetrainOptions = {},
): Promise<{ accuracy: Record<string, number>; seconds: number }> {
  const started = performance.now();
  const model = await buildTfjsModel(spec, { seed: options.seed ?? 0 });
  try {
    await trainModel(model, train, {
      epochs: options.epochs ?? 10,
      batchSize: options.batchSize ?? 32,
      optimizer: { type: 'adam', learningRate: options.learningRate ?? 0.01 },
      seed: options.seed ?? 0,
    });
    const accuracy: Record<string, number> = {};
    for (const [name, data] of Object.entries(evaluateOn))
      accuracy[name] = (await evaluate(model, data)).accuracy;
    if (options.saveTo) await saveModel(model, spec, options.saveTo);
    return { accuracy, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.dispose();
  }
}

export interface ImageSplitOptions {
  seed?: number;
  /** Keep at most this many samples of the training pool (seeded random subset; default all). */
  trainSamples?: number;
  /** Keep at most this many test samples (default all). */
  testSamples?: number;
  /** Fraction of the (kept) training pool that alpha learns on (default 0.3). */
  validation?: number;
}

/**
 * A dataset as DARTS uses it: images standardised with the training part's statistics, split into
 * the part the weights learn on, the part alpha learns on, and the test part.
 */
export async function dartsImageData(
  dataset: string,
  options: ImageSplitOptions = {},
): Promise<{ train: TrainingData; validation: TrainingData; test: TrainingData; shape: number[] }> {
  const { loadDataset } = await import('../data/registry.js');
  const { fitStandardScaler, splitBundle } = await import('../data/transforms.js');
  const { subset } = await import('../data/dataset.js');
  const { trainingData } = await import('../train/trainer.js');
  const seed = options.seed ?? 0;
  const bundle = await loadDataset(dataset);
  const shape = [...bundle.train.featureShape];
  if (shape.length !== 3)
    throw new DataError(
      `darts: dataset ${dataset} has samples of shape [${shape.join(', ')}]; DARTS searches image cells and needs [height, width, channels]`,
    );
  const rng = new Random(seed);
  const keep = (d: typeof bundle.train, n: number | undefined, label: string) => {
    if (n === undefined || n >= d.numSamples) return d;
    const order = rng.fork(label).permutation(d.numSamples);
    return subset(d, order.subarray(0, n));
  };
  const pool = keep(bundle.train, options.trainSamples, 'train');
  const splits = splitBundle(
    { train: pool, test: bundle.test ? keep(bundle.test, options.testSamples, 'test') : undefined },
    { seed, validation: options.validation ?? 0.3, test: 0.2 },
  );
  const test = bundle.test ? splits.test : keep(splits.test, options.testSamples, 'test');
  const scaler = fitStandardScaler(splits.train);
  return {
    train: trainingData(scaler.transform(splits.train), shape),
    validation: trainingData(scaler.transform(splits.validation), shape),
    test: trainingData(scaler.transform(test), shape),
    shape,
  };
}
