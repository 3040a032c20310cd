/** Cost of dynamic networks from their stored spec alone, and the checks of that file. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeDynamicModel } from '../../src/dynamic/analyze.js';
import { withExitHeads } from '../../src/dynamic/early-exit.js';
import { DYNAMIC_FORMAT, parseDynamicSpec } from '../../src/dynamic/format.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { sequential } from '../../src/models/spec/builder.js';

const mlp = (hidden: number) =>
  sequential([64], { name: `mlp-${hidden}` })
    .add('dense', { name: 'hidden', units: hidden, activation: 'relu' })
    .add('dense', { name: 'classes', units: 10, activation: 'softmax' })
    .build();

describe('analyzeDynamicModel', () => {
  it('slimmable: the full width is the upper bound, each width costs its plain spec', () => {
    const a = analyzeDynamicModel({
      format: DYNAMIC_FORMAT,
      kind: 'slimmable',
      model: mlp(40),
      widths: [0.5, 1],
    });
    assert.deepEqual(a.upperBound, {
      params: analyzeModel(mlp(40)).params,
      macs: 64 * 40 + 40 * 10,
      stateValues: 0,
    });
    assert.deepEqual(
      a.variants.map((v) => v.macs),
      [64 * 20 + 20 * 10, 64 * 40 + 40 * 10],
    );
  });

  it('early exit: cumulative cost per exit and the expected cost of measured exit shares', () => {
    const model = withExitHeads(mlp(32), ['hidden']);
    const a = analyzeDynamicModel(
      { format: DYNAMIC_FORMAT, kind: 'early-exit', model, lossWeights: [1, 1], threshold: 0.9 },
      [0.75, 0.25],
    );
    assert.deepEqual(
      a.variants.map((v) => v.macs),
      [64 * 32 + 32 * 10, 64 * 32 + 2 * 32 * 10],
    );
    assert.equal(a.upperBound.macs, 64 * 32 + 2 * 32 * 10);
    assert.equal(a.expectedMacs, 0.75 * (64 * 32 + 320) + 0.25 * (64 * 32 + 640));
  });

  it('cascade: a sample answered by member i has paid for members 0..i', () => {
    const a = analyzeDynamicModel(
      { format: DYNAMIC_FORMAT, kind: 'cascade', members: [mlp(4), mlp(16)], threshold: 0.5 },
      [0.5, 0.5],
    );
    const small = 64 * 4 + 40;
    const large = 64 * 16 + 160;
    assert.deepEqual(
      a.variants.map((v) => v.macs),
      [small, small + large],
    );
    assert.equal(a.expectedMacs, small + 0.5 * large);
    assert.throws(
      () =>
        analyzeDynamicModel(
          { format: DYNAMIC_FORMAT, kind: 'cascade', members: [mlp(4)], threshold: 0 },
          [0.5],
        ),
      /shares/,
    );
  });

  it('names the file and field of a bad dynamic spec', () => {
    const good = { format: DYNAMIC_FORMAT, kind: 'slimmable', model: mlp(8), widths: [0.5, 1] };
    assert.throws(
      () => parseDynamicSpec(JSON.stringify({ ...good, widths: [1, 0.5] }), 'd.json'),
      /d\.json: field "widths" must ascend/,
    );
    assert.throws(
      () => parseDynamicSpec(JSON.stringify({ ...good, kind: 'x' }), 'd.json'),
      /field "kind" must be/,
    );
    assert.throws(
      () =>
        parseDynamicSpec(
          JSON.stringify({ format: DYNAMIC_FORMAT, kind: 'cascade', members: [mlp(4)], threshold: 2 }),
          'd.json',
        ),
      /field "threshold" must be a number in \[0, 1\]/,
    );
    const exit = {
      format: DYNAMIC_FORMAT,
      kind: 'early-exit',
      model: withExitHeads(mlp(8), ['hidden']),
      lossWeights: [1, 1],
      threshold: 0.9,
    };
    assert.deepEqual(
      (
        parseDynamicSpec(JSON.stringify({ ...exit, temperatures: [1.5, 0.8] }), 'd.json') as {
          temperatures: number[];
        }
      ).temperatures,
      [1.5, 0.8],
    );
    assert.throws(
      () => parseDynamicSpec(JSON.stringify({ ...exit, temperatures: [1.5, 0] }), 'd.json'),
      /d\.json: field "temperatures" must be a non-empty list of positive numbers/,
    );
    assert.throws(
      () => parseDynamicSpec(JSON.stringify({ ...exit, temperatures: [1.5] }), 'd.json'),
      /field "temperatures" must hold 2 temperatures, one per stage/,
    );
  });
});
