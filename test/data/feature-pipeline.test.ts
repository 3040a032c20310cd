import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';
import { createDataset, type Dataset } from '../../src/data/dataset.js';
import {
  applyFeatureSteps,
  checkPipeline,
  eliminateFeatures,
  fitFeatureSteps,
  transformDataset,
} from '../../src/data/feature-pipeline.js';

/** n rows of d features; the class is the sign of feature `informative`, the others are noise. */
function signal(n: number, d: number, informative: number, seed = 1): Dataset {
  const rng = new Random(seed);
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) data[r * d + j] = rng.normal() * (j + 1);
    labels[r] = data[r * d + informative] > 0 ? 1 : 0;
  }
  return createDataset({
    name: 'signal',
    data,
    numFeatures: d,
    labels,
    classNames: ['neg', 'pos'],
    provenance: { source: 'test', location: 'memory' },
  });
}

describe('feature pipeline', () => {
  it('scales with the training statistics only, also when applied to other rows', () => {
    const train = signal(50, 3, 0);
    const steps = fitFeatureSteps(train, { scaler: 'minmax', reduction: 'none' });
    const out = transformDataset(steps, train);
    for (let j = 0; j < 3; j++) {
      const column = Array.from({ length: 50 }, (_, r) => out.data[r * 3 + j]);
      assert.ok(Math.abs(Math.min(...column)) < 1e-6, `column ${j} min 0`);
      assert.ok(Math.abs(Math.max(...column) - 1) < 1e-6, `column ${j} max 1`);
    }
    // A row outside the training range is not clipped: the training min and max are kept.
    const config = steps[0].type === 'scale' ? steps[0].scaler : undefined;
    assert.ok(config?.type === 'minmax', 'a min-max scaler');
    const far = new Float32Array([config.max[0] * 3, 0, 0]);
    assert.ok(applyFeatureSteps(steps, far, 3).data[0] > 1.5, 'beyond the training maximum');
  });

  it('PCA keeps the fewest components that hold the asked share of variance, with orthonormal axes', () => {
    // Two strongly correlated features and one small independent one: one axis holds most variance.
    const rng = new Random(3);
    const n = 200;
    const data = new Float32Array(n * 3);
    for (let r = 0; r < n; r++) {
      const t = rng.normal();
      data[r * 3] = t;
      data[r * 3 + 1] = t + 0.01 * rng.normal();
      data[r * 3 + 2] = 0.05 * rng.normal();
    }
    const train = createDataset({
      name: 'corr',
      data,
      numFeatures: 3,
      labels: new Int32Array(n),
      classNames: ['a', 'b'],
      provenance: { source: 'test', location: 'memory' },
    });
    const byVariance = fitFeatureSteps(train, { scaler: 'standard', reduction: 'pca', pcaVariance: 0.6 });
    const pca = byVariance[1];
    assert.ok(pca.type === 'pca', 'a PCA step');
    assert.equal(pca.components.length, 1);
    assert.ok(pca.keptVariance >= 0.6 && pca.keptVariance < 0.7, `kept ${pca.keptVariance}`);
    const all = fitFeatureSteps(train, { scaler: 'standard', reduction: 'pca', pcaComponents: 3 })[1];
    assert.ok(all.type === 'pca', 'a PCA step');
    assert.ok(Math.abs(all.keptVariance - 1) < 1e-9, 'three components hold all the variance');
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        const dot = all.components[a].reduce((s, v, j) => s + v * all.components[b][j], 0);
        assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-6, `axes ${a}, ${b}: dot ${dot}`);
      }
    const projected = transformDataset(byVariance, train);
    assert.deepEqual(projected.featureShape, [1]);
  });

  for (const method of ['weights', 'permutation'] as const)
    it(`recursive feature elimination (${method}) keeps the feature that decides the class`, () => {
      const train = signal(300, 6, 4);
      const steps = fitFeatureSteps(train, {
        scaler: 'standard',
        reduction: 'rfe',
        rfeMethod: method,
        rfeKeep: 1,
      });
      const select = steps[1];
      assert.ok(select.type === 'select', 'a selection step');
      assert.deepEqual(select.indices, [4]);
      const kept = eliminateFeatures(
        transformDataset(steps.slice(0, 1), train).data,
        6,
        train.labels,
        2,
        3,
        method,
      );
      assert.ok(kept.includes(4), `kept ${kept}`);
      assert.equal(kept.length, 3);
    });

  it('refuses a pipeline file with an unknown step', () => {
    assert.throws(
      () =>
        checkPipeline({
          format: 'parsimony-pipeline',
          version: 1,
          classNames: ['a', 'b'],
          featureNames: [],
          steps: [{ type: 'whiten' }],
          inputShape: [2],
        }),
      /step 1: type must be scale, pca or select/,
    );
  });
});
