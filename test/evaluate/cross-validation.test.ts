import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DataError, InvalidArgumentError } from '../../src/core/errors.js';
import { createDataset, type Dataset, subset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/registry.js';
import {
  checkFolds,
  chooseDepth,
  crossValidate,
  type LearningCurvePoint,
  learningCurve,
  learningCurveVerdict,
  mlpOfDepth,
  oneStandardErrorChoice,
  stratifiedFolds,
  withHiddenDepth,
} from '../../src/evaluate/cross-validation.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';

let digits: Dataset;
/** 300 digits (stratified-ish: every tenth sample of the first 3000 rows), for quick training. */
let small: Dataset;

before(async () => {
  await initBackend({ backend: 'cpu' });
  digits = (await loadDataset('digits')).train;
  small = subset(
    digits,
    Array.from({ length: 300 }, (_, i) => (i * 6) % digits.numSamples),
    'digits-300',
  );
});

function countsOf(labels: Int32Array, indices: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const i of indices) counts[labels[i]]++;
  return counts;
}

describe('stratifiedFolds', () => {
  it('makes disjoint folds that cover digits, with per-class counts differing by at most 1', () => {
    for (const k of [2, 5, 7]) {
      const folds = stratifiedFolds(digits.labels, 10, k, 3);
      assert.equal(folds.length, k, `${k} folds`);
      const seen = new Uint8Array(digits.numSamples);
      for (const fold of folds)
        for (const i of fold) {
          assert.equal(seen[i], 0, `sample ${i} is in two folds (k=${k})`);
          seen[i] = 1;
        }
      assert.equal(
        seen.reduce((a, b) => a + b, 0),
        digits.numSamples,
        `folds cover all ${digits.numSamples} samples (k=${k})`,
      );
      const perFold = folds.map((f) => countsOf(digits.labels, f, 10));
      for (let c = 0; c < 10; c++) {
        const counts = perFold.map((p) => p[c]);
        assert.ok(
          Math.max(...counts) - Math.min(...counts) <= 1,
          `class ${c} counts per fold ${counts} (k=${k})`,
        );
      }
      const sizes = folds.map((f) => f.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
    }
  });

  it('depends on the seed and is reproducible', () => {
    const a = stratifiedFolds(digits.labels, 10, 5, 1);
    const b = stratifiedFolds(digits.labels, 10, 5, 1);
    const c = stratifiedFolds(digits.labels, 10, 5, 2);
    assert.deepEqual(a, b, 'same seed, same folds');
    assert.notDeepEqual(a, c, 'another seed, other folds');
  });

  it('rejects fewer than 2 folds and more folds than the smallest class has samples', () => {
    const tiny = createDataset({
      name: 'tiny',
      data: new Float32Array(7),
      numFeatures: 1,
      labels: Int32Array.from([0, 0, 0, 0, 1, 1, 1]),
      classNames: ['a', 'b'],
      provenance: { source: 'test', location: 'constructed in the test' },
    });
    assert.throws(() => checkFolds(1, tiny.labels, tiny.classNames), InvalidArgumentError);
    assert.throws(() => checkFolds(2.5, tiny.labels, tiny.classNames), InvalidArgumentError);
    assert.throws(
      () => checkFolds(4, tiny.labels, tiny.classNames),
      (e: Error) =>
        e instanceof DataError && /smallest class "b"/.test(e.message) && !e.message.includes('\n'),
    );
    checkFolds(3, tiny.labels, tiny.classNames);
  });
});

describe('crossValidate', () => {
  it('trains one model per fold on digits and reports mean, standard deviation and standard error', async () => {
    const spec = mlpOfDepth(small.featureShape, 10, 1, { units: 16 });
    const seen: number[] = [];
    const result = await crossValidate(spec, small, {
      folds: 3,
      epochs: 3,
      seed: 0,
      onFold: (f) => seen.push(f.fold),
    });
    assert.deepEqual(seen, [0, 1, 2], 'each fold reported in order');
    assert.equal(result.folds.length, 3, 'three folds');
    for (const f of result.folds) {
      assert.equal(f.trainSize + f.validationSize, small.numSamples, `fold ${f.fold} sizes`);
      assert.ok(f.validationAccuracy > 0.3, `fold ${f.fold} learned something: ${f.validationAccuracy}`);
    }
    const accs = result.folds.map((f) => f.validationAccuracy);
    const mean = accs.reduce((a, b) => a + b, 0) / 3;
    const sd = Math.sqrt(accs.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
    assert.ok(Math.abs(result.mean - mean) < 1e-12, `mean ${result.mean} vs ${mean}`);
    assert.ok(Math.abs(result.std - sd) < 1e-12, `sd ${result.std} vs ${sd}`);
    assert.ok(Math.abs(result.standardError - sd / Math.sqrt(3)) < 1e-12, 'standard error');
  });

  it('rejects a spec whose input does not match the data, before training', async () => {
    const spec = mlpOfDepth([10], 10, 1);
    await assert.rejects(crossValidate(spec, small, { folds: 3, epochs: 1 }), DataError);
  });
});

describe('one-standard-error rule', () => {
  it('picks the smallest depth within one standard error of the best mean', () => {
    const scores = [
      { depth: 1, mean: 0.9, standardError: 0.01 },
      { depth: 2, mean: 0.935, standardError: 0.01 },
      { depth: 3, mean: 0.94, standardError: 0.012 },
      { depth: 4, mean: 0.93, standardError: 0.02 },
    ];
    const choice = oneStandardErrorChoice(scores);
    assert.equal(choice.bestDepth, 3, 'best mean at depth 3');
    assert.ok(Math.abs(choice.threshold - 0.928) < 1e-12, `threshold ${choice.threshold}`);
    assert.equal(choice.depth, 2, 'depth 2 is within one SE of the best and smaller');
    // With a tight standard error only the best itself qualifies.
    assert.equal(
      oneStandardErrorChoice(scores.map((s) => ({ ...s, standardError: 0.001 }))).depth,
      3,
      'tight SE keeps the best depth',
    );
    // Order of the table does not matter.
    assert.equal(oneStandardErrorChoice([...scores].reverse()).depth, 2, 'reversed table');
  });

  it('chooses a depth by CV on digits with the same folds for every depth', async () => {
    const choice = await chooseDepth((d) => mlpOfDepth(small.featureShape, 10, d, { units: 16 }), small, {
      depths: [2, 1],
      folds: 2,
      epochs: 2,
    });
    assert.deepEqual(
      choice.results.map((r) => r.depth),
      [1, 2],
      'depths sorted',
    );
    const expected = oneStandardErrorChoice(
      choice.results.map((r) => ({ depth: r.depth, mean: r.cv.mean, standardError: r.cv.standardError })),
    );
    assert.equal(choice.depth, expected.depth, 'the rule applied to the measured table');
    assert.equal(
      choice.results[1].spec.layers.filter((l) => l.type === 'dense').length,
      3,
      'depth 2 has two hidden dense layers and the output',
    );
  });
});

describe('withHiddenDepth', () => {
  it('truncates or repeats the hidden dense layers of a dense spec', () => {
    const spec = sequential([64])
      .add('dense', { units: 32, activation: 'tanh' })
      .add('dropout', { rate: 0.1 })
      .add('dense', { units: 16, activation: 'relu' })
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
    const units = (d: number) =>
      withHiddenDepth(spec, d)
        .layers.filter((l) => l.type === 'dense')
        .map((l) => (l.type === 'dense' ? l.units : 0));
    assert.deepEqual(units(1), [32, 10], 'depth 1');
    assert.deepEqual(units(2), [32, 16, 10], 'depth 2');
    assert.deepEqual(units(4), [32, 16, 16, 16, 10], 'depth 4');
    const conv = sequential([8, 8, 1]).add('conv2d', { filters: 2, kernelSize: 3 }).add('flatten').build();
    assert.throws(() => withHiddenDepth(conv, 1), InvalidArgumentError);
  });
});

describe('learning curves', () => {
  const curve = (rows: [number, number, number][]): LearningCurvePoint[] =>
    rows.map(([fraction, trainAccuracy, validationAccuracy]) => ({
      fraction,
      trainSize: Math.round(1000 * fraction),
      trainAccuracy,
      validationAccuracy,
    }));

  it('tells overfitting, underfitting and a good fit apart on constructed curves', () => {
    const over = learningCurveVerdict(
      curve([
        [0.25, 1, 0.7],
        [0.5, 1, 0.76],
        [1, 0.99, 0.82],
      ]),
    );
    assert.equal(over.verdict, 'overfitting', over.reason);
    assert.ok(over.stillRising, 'validation still rising');
    const under = learningCurveVerdict(
      curve([
        [0.25, 0.66, 0.6],
        [0.5, 0.64, 0.62],
        [1, 0.63, 0.625],
      ]),
    );
    assert.equal(under.verdict, 'underfitting', under.reason);
    assert.ok(!under.stillRising, 'flat validation');
    const good = learningCurveVerdict(
      curve([
        [1, 0.97, 0.95],
        [0.5, 0.98, 0.9],
      ]),
    );
    assert.equal(good.verdict, 'good-fit', good.reason);
    assert.ok(Math.abs(good.gap - 0.02) < 1e-12, `gap read at the largest fraction: ${good.gap}`);
    // The thresholds are options.
    assert.equal(
      learningCurveVerdict(curve([[1, 0.97, 0.95]]), { maxGap: 0.01 }).verdict,
      'overfitting',
      'stricter gap',
    );
    assert.throws(() => learningCurveVerdict([]), InvalidArgumentError);
  });

  it('trains on nested stratified fractions of digits', async () => {
    const result = await learningCurve(mlpOfDepth(small.featureShape, 10, 1, { units: 16 }), small, {
      fractions: [1, 0.3],
      epochs: 3,
    });
    assert.deepEqual(
      result.points.map((p) => p.fraction),
      [0.3, 1],
      'fractions ascending',
    );
    assert.ok(result.points[0].trainSize < result.points[1].trainSize, 'more samples at 1');
    assert.equal(result.points[1].trainSize + result.validationSize, small.numSamples, 'all used');
    assert.equal(
      result.verdict.verdict,
      learningCurveVerdict(result.points).verdict,
      'verdict of the points',
    );
    await assert.rejects(
      learningCurve(mlpOfDepth(small.featureShape, 10, 1), small, { fractions: [0] }),
      InvalidArgumentError,
    );
  });
});
