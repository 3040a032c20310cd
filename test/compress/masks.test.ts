/**
 * Pruning masks: exact counts, the global threshold with the last layer's floor, the schedules'
 * formulas, and masks held in the training step through every optimizer, weight decay and L1/L2.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { maskHooks } from '../../src/compress/fine-tune.js';
import type { CompressionData } from '../../src/compress/method.js';
import {
  globalMagnitudeMethod,
  type MagnitudeOptions,
  magnitudeMethod,
} from '../../src/compress/methods/magnitude.js';
import {
  buildModelWithWeights,
  type ModelWeights,
  readModelWeights,
  type WeightMasks,
} from '../../src/compress/model-weights.js';
import { globalMasks, layerwiseMasks, type PruneGroup } from '../../src/compress/prune-masks.js';
import {
  agpSparsity,
  iterativeSparsity,
  polynomialSparsity,
  sparsityEvents,
} from '../../src/compress/sparsity-schedule.js';
import { Random } from '../../src/core/random.js';
import type { OptimizerConfig } from '../../src/train/optimizers.js';
import { type TrainResult, trainModel } from '../../src/train/trainer.js';
import { digitsData, mlpSpec, trainedWeights } from './helpers.js';

function group(layer: string, values: number[]): PruneGroup {
  return { layer, tensors: [{ name: 'kernel', values: Float32Array.from(values) }] };
}
const kept = (mask: Uint8Array | undefined) => (mask ? mask.reduce((a, b) => a + b, 0) : -1);

describe('magnitude masks', () => {
  it('prunes exactly round(s * n) of the smallest |w|, ties by position', () => {
    const masks = layerwiseMasks([group('a', [0.5, -0.1, 0.1, 0.1, -2, 0.3])], new Map([['a', 1 / 3]]));
    assert.deepEqual(Array.from(masks.get('a')?.get('kernel') ?? []), [1, 0, 0, 1, 1, 1]);
  });

  it('keeps a weight pruned before pruned, even when it would rank high now', () => {
    const g = group('a', [5, 4, 3, 2]);
    g.tensors[0].previous = Uint8Array.from([0, 1, 1, 1]);
    const masks = layerwiseMasks([g], new Map([['a', 0.25]]));
    assert.deepEqual(Array.from(masks.get('a')?.get('kernel') ?? []), [0, 1, 1, 1]);
  });

  it('global: one threshold across layers; the floored layer keeps its floor and the others give it up', () => {
    const rng = new Random(3);
    const big = group(
      'big',
      Array.from({ length: 1000 }, () => rng.normal() * 1.0),
    );
    const last = group(
      'last',
      Array.from({ length: 100 }, () => rng.normal() * 0.01),
    ); // all small
    const plain = globalMasks([big, last], 0.9);
    assert.equal(kept(plain.get('last')?.get('kernel')), 0, 'without a floor the small layer is emptied');
    const floored = globalMasks([big, last], 0.9, new Map([['last', 0.2]]));
    const lastKept = kept(floored.get('last')?.get('kernel'));
    const bigKept = kept(floored.get('big')?.get('kernel'));
    assert.equal(lastKept, 20);
    assert.equal(lastKept + bigKept, 110, 'total kept is still 10% of 1,100');
  });
  it("LAMP ranks each weight by w^2 over its layer's larger weights' w^2, comparable across layers", () => {
    // Scores: a = [1/14, 4/13, 1], b = [100/500, 1]: the two smallest scores are a's 1 and b's 10,
    // where plain magnitude prunes a's 1 and 2.
    const a = group('a', [1, -2, 3]);
    const b = group('b', [10, -20]);
    const lamp = globalMasks([a, b], 0.4, new Map(), 'lamp');
    assert.deepEqual(Array.from(lamp.get('a')?.get('kernel') ?? []), [0, 1, 1]);
    assert.deepEqual(Array.from(lamp.get('b')?.get('kernel') ?? []), [0, 1]);
    const plain = globalMasks([a, b], 0.4);
    assert.deepEqual(Array.from(plain.get('a')?.get('kernel') ?? []), [0, 0, 1]);
    assert.deepEqual(Array.from(plain.get('b')?.get('kernel') ?? []), [1, 1]);
  });

  it('LAMP keeps a small-scale layer that one magnitude threshold empties, and a pruned weight stays pruned', () => {
    const rng = new Random(5);
    const big = group(
      'big',
      Array.from({ length: 1000 }, () => rng.normal()),
    );
    const small = group(
      'small',
      Array.from({ length: 100 }, () => rng.normal() * 0.01),
    );
    small.tensors[0].previous = Uint8Array.from({ length: 100 }, (_, i) => (i === 99 ? 0 : 1));
    small.tensors[0].values[99] = 50; // pruned before: ranks as 0 whatever its value now
    const lamp = globalMasks([big, small], 0.9, new Map(), 'lamp');
    const smallMask = lamp.get('small')?.get('kernel');
    assert.ok(kept(smallMask) >= 5, `LAMP keeps some of the small layer (${kept(smallMask)})`);
    assert.equal(smallMask?.[99], 0, 'the weight pruned before stays pruned');
    assert.equal(kept(lamp.get('big')?.get('kernel')) + kept(smallMask), 110, 'total kept is 10% of 1,100');
    assert.equal(kept(globalMasks([big, small], 0.9).get('small')?.get('kernel')), 0);
  });
});

describe('the score option', () => {
  it('global takes score magnitude (default) or lamp; layer-wise pruning has no score', () => {
    const spec = mlpSpec();
    const step = 'step 1 (global)';
    const scoreOf = (raw: Record<string, unknown>) =>
      (globalMagnitudeMethod.validate(raw, spec, step) as MagnitudeOptions).score;
    assert.equal(scoreOf({ sparsity: 0.5 }), 'magnitude');
    assert.equal(scoreOf({ sparsity: 0.5, score: 'lamp' }), 'lamp');
    assert.throws(
      () => globalMagnitudeMethod.validate({ sparsity: 0.5, score: 'snip' }, spec, step),
      /step 1 \(global\): field "score"/,
    );
    assert.throws(
      () => magnitudeMethod.validate({ sparsity: 0.5, score: 'lamp' }, spec, 'step 1 (magnitude)'),
      /step 1 \(magnitude\): unknown field "score"/,
    );
  });
});

describe('sparsity schedules', () => {
  it("polynomial decay follows TF-MOT's formula", () => {
    const s = { initialSparsity: 0.2, finalSparsity: 0.8, beginStep: 100, endStep: 1100, power: 3 };
    assert.ok(Math.abs(polynomialSparsity(s, 0) - 0.2) < 1e-12, 'before beginStep');
    assert.ok(Math.abs(polynomialSparsity(s, 600) - (0.8 + (0.2 - 0.8) * 0.5 ** 3)) < 1e-12, 'midpoint');
    assert.equal(polynomialSparsity(s, 5000), 0.8);
  });

  it("AGP's events reach the final sparsity on the anchor's steps", () => {
    const events = sparsityEvents(
      {
        schedule: 'agp',
        finalSparsity: 0.96,
        initialSparsity: 0,
        pruneSteps: 4,
        frequency: 100,
        power: 3,
        beginStep: 0,
      },
      800,
    );
    assert.deepEqual(
      events.map((e) => e.step),
      [0, 200, 400, 600],
    );
    assert.ok(Math.abs(events[0].sparsity - 0.96 * (1 - 0.75 ** 3)) < 1e-12, 'first event as the anchor');
    assert.equal(events[3].sparsity, 0.96);
    assert.equal(agpSparsity(0, 0.5, 4, 4), 0.5);
  });

  it('polynomial and constant events end at the final sparsity; iterative rounds remove equal fractions', () => {
    const base = {
      finalSparsity: 0.9,
      initialSparsity: 0,
      pruneSteps: 4,
      frequency: 30,
      power: 3,
      beginStep: 0,
    };
    const poly = sparsityEvents({ ...base, schedule: 'polynomial', endStep: 100 }, 200);
    assert.equal(poly[poly.length - 1].sparsity, 0.9);
    assert.ok(
      poly.every((e, i) => i === 0 || e.sparsity >= poly[i - 1].sparsity),
      'non-decreasing',
    );
    const constant = sparsityEvents({ ...base, schedule: 'constant' }, 200);
    assert.ok(
      constant.every((e) => e.sparsity === 0.9),
      'constant',
    );
    const kept1 = 1 - iterativeSparsity(0.9, 1, 2);
    const kept2 = 1 - iterativeSparsity(0.9, 2, 2);
    assert.ok(Math.abs(kept2 / kept1 - kept1) < 1e-12 && Math.abs(kept2 - 0.1) < 1e-12, 'geometric rounds');
  });
});

describe('masks in the training step', () => {
  let data: CompressionData;
  let base: ModelWeights;
  let masks: WeightMasks;

  before(async () => {
    data = await digitsData([64], 320); // batch 32: 10 steps per epoch
    base = await trainedWeights(mlpSpec(), data, 1);
    const rng = new Random(7);
    masks = {};
    for (const layer of base.layers) {
      const kernel = layer.tensors.find((t) => t.name === 'kernel');
      if (kernel)
        masks[layer.layer] = {
          kernel: Uint8Array.from(kernel.values, () => (rng.uniform(0, 1) < 0.5 ? 0 : 1)),
        };
    }
  });

  const optimizers: [string, OptimizerConfig, { l1?: number; l2?: number }][] = [
    ['adam', { type: 'adam', learningRate: 0.01 }, {}],
    ['adamw (weight decay)', { type: 'adamw', learningRate: 0.01, weightDecay: 0.1 }, {}],
    ['rmsprop with momentum', { type: 'rmsprop', learningRate: 0.01, momentum: 0.9 }, {}],
    ['sgd momentum + L1 + L2', { type: 'sgd', learningRate: 0.05, momentum: 0.9 }, { l1: 1e-3, l2: 1e-3 }],
    ['adagrad + L2', { type: 'adagrad', learningRate: 0.05 }, { l2: 1e-2 }],
  ];
  for (const [label, optimizer, regularization] of optimizers)
    it(`${label}: pruned weights stay exactly zero over 100 steps while kept ones train`, async () => {
      const steps: number[] = [];
      // The hooks alone hold the masks here: the weights are read from the model as trained.
      const model = await buildModelWithWeights(base);
      const masking = await maskHooks(model, base.spec, masks);
      let result: TrainResult;
      let weights: ModelWeights;
      try {
        result = await trainModel(model, data.train, {
          epochs: 10,
          batchSize: 32,
          optimizer,
          regularization,
          hooks: masking.hooks,
          onStep: (s) => steps.push(s),
        });
        weights = readModelWeights(model, base.spec);
      } finally {
        masking.dispose();
        model.dispose();
      }
      assert.equal(steps.length, 100, 'trained 100 steps');
      assert.equal(result.stopped, 'epochs');
      let moved = 0;
      for (const layer of weights.layers) {
        const mask = masks[layer.layer]?.kernel;
        const after = layer.tensors.find((t) => t.name === 'kernel')?.values;
        const start = base.layers
          .find((l) => l.layer === layer.layer)
          ?.tensors.find((t) => t.name === 'kernel')?.values;
        assert.ok(mask && after && start, `kernel of ${layer.layer}`);
        for (let i = 0; i < mask.length; i++) {
          if (!mask[i])
            assert.equal(Object.is(after[i], -0) ? 0 : after[i], 0, `${layer.layer}[${i}] is ${after[i]}`);
          else if (after[i] !== start[i]) moved++;
        }
      }
      assert.ok(moved > 1000, `kept weights trained (${moved} moved)`);
    });
});
