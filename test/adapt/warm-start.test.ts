import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  datasetMetaFeatures,
  META_FEATURES_ATTR,
  metaFeatureDistance,
  WARM_START_FROM_ATTR,
  warmStartPrior,
  warmStartStudy,
} from '../../src/adapt/warm-start.js';
import { CategoricalDistribution, FloatDistribution } from '../../src/core/distributions.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import { Random } from '../../src/core/random.js';
import { createDataset, type Dataset, subset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { TPESampler } from '../../src/samplers/tpe/tpe-sampler.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { createStudy } from '../../src/study/create.js';

/** Two Gaussian blobs in 5 features, 9 of every 10 samples in class 0 (unlike digits in every way). */
function blobs(n: number, seed: number): Dataset {
  const rng = new Random(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0));
  const data = Float32Array.from({ length: n * 5 }, (_, i) => rng.normal(labels[Math.floor(i / 5)] * 3, 1));
  return createDataset({
    name: 'blobs',
    data,
    numFeatures: 5,
    labels,
    classNames: ['a', 'b'],
    provenance: { source: 'test blobs', location: 'memory' },
  });
}

const SPACE = {
  learningRate: new FloatDistribution(1e-4, 1e-1, { log: true }),
  units: new CategoricalDistribution([8, 16, 32]),
};

async function pastStudy(
  storage: InMemoryStorage,
  name: string,
  dataset: Dataset,
  score: (lr: number, units: number) => number,
  seed: number,
): Promise<void> {
  const study = await createStudy({
    storage,
    studyName: name,
    direction: 'maximize',
    sampler: new RandomSampler({ seed }),
  });
  await study.setUserAttr(META_FEATURES_ATTR, datasetMetaFeatures(dataset));
  for (let i = 0; i < 8; i++) {
    const trial = await study.ask();
    const lr = trial.suggestFloat('learningRate', 1e-4, 1e-1, { log: true });
    const units = trial.suggestCategorical('units', [8, 16, 32]);
    await study.tell(trial, score(lr, units));
  }
}

describe('warm starts from past studies', () => {
  it('computes meta-features with landmarkers that tell an easy dataset', () => {
    const digits = datasetMetaFeatures(loadDigits());
    assert.equal(digits.samples, 1797, 'samples');
    assert.equal(digits.features, 64, 'features');
    assert.equal(digits.classes, 10, 'classes');
    assert.ok(
      digits.classBalance > 0.9 && digits.classEntropy > 0.99,
      `digits balance ${JSON.stringify(digits)}`,
    );
    assert.ok(digits.oneNearestNeighbourAccuracy > 0.9, `1-NN ${digits.oneNearestNeighbourAccuracy}`);
    assert.ok(digits.nearestCentroidAccuracy > 0.8, `centroid ${digits.nearestCentroidAccuracy}`);
    const skewed = datasetMetaFeatures(blobs(400, 1));
    assert.ok(Math.abs(skewed.classBalance - 40 / 360) < 1e-12, `balance ${skewed.classBalance}`);
    assert.ok(skewed.classEntropy < 0.5, `entropy ${skewed.classEntropy}`);
    // A subsample of digits is nearer to digits than the blobs are.
    const part = datasetMetaFeatures(subset(loadDigits(), new Random(2).permutation(1797).subarray(0, 900)));
    assert.ok(
      metaFeatureDistance(digits, part) < metaFeatureDistance(digits, skewed),
      'digits nearer to digits',
    );
  });

  it('enqueues the best configuration of the nearest past study with the same space first', async () => {
    const storage = new InMemoryStorage();
    const digits = loadDigits();
    await pastStudy(storage, 'blobs-past', blobs(400, 3), (lr, units) => lr * 10 + units, 1);
    await pastStudy(
      storage,
      'digits-past',
      digits,
      (lr, units) => -Math.abs(Math.log10(lr) + 2) - units / 100,
      2,
    );
    // Same data, another space: never used.
    const other = await createStudy({ storage, studyName: 'other-space', direction: 'maximize' });
    await other.setUserAttr(META_FEATURES_ATTR, datasetMetaFeatures(digits));
    const t = await other.ask();
    t.suggestFloat('dropout', 0, 0.5);
    await other.tell(t, 1);

    const study = await createStudy({ storage, studyName: 'new', direction: 'maximize' });
    const meta = datasetMetaFeatures(subset(digits, new Random(5).permutation(1797).subarray(0, 1200)));
    const sources = await warmStartStudy(study, { metaFeatures: meta, space: SPACE, maxStudies: 2 });
    assert.deepEqual(
      sources.map((s) => s.studyName),
      ['digits-past', 'blobs-past'],
      'nearest first, the other space skipped',
    );
    const best = (await storage.getAllTrials(await storage.getStudyIdFromName('digits-past')))
      .filter((x: FrozenTrial) => x.state === 'COMPLETE')
      .sort((a: FrozenTrial, b: FrozenTrial) => (b.values?.[0] ?? 0) - (a.values?.[0] ?? 0))[0];
    assert.deepEqual(sources[0].enqueued[0], best.params, 'the best past configuration');
    const first = await study.ask();
    assert.equal(
      first.suggestFloat('learningRate', 1e-4, 1e-1, { log: true }),
      best.params.learningRate,
      'lr',
    );
    assert.equal(first.suggestCategorical('units', [8, 16, 32]), best.params.units, 'units');
    assert.equal(first.userAttrs[WARM_START_FROM_ATTR], 'digits-past', 'source recorded');
    assert.deepEqual((await study.getUserAttrs())[META_FEATURES_ATTR], meta, 'meta-features recorded');
    // Warm-starting twice does not enqueue the same configuration again.
    await warmStartStudy(study, { metaFeatures: meta, space: SPACE, maxStudies: 2 });
    assert.equal(
      (await study.getTrials({ states: ['WAITING'] })).length,
      1,
      'one waiting (the blobs config)',
    );
    await assert.rejects(
      warmStartStudy(study, { metaFeatures: meta, space: SPACE, maxStudies: 0 }),
      (e: unknown) => e instanceof InvalidArgumentError && /maxStudies/.test(e.message),
    );
  });

  it('gives TPE a prior from past trials: the first sampled trials go where the past good ones were', async () => {
    const storage = new InMemoryStorage();
    const digits = loadDigits();
    // Past study on digits: the best learning rates are near 1e-2; units do not matter much.
    const peak = (lr: number, units: number) => -Math.abs(Math.log10(lr) + 2) - units / 1000;
    const past = await createStudy({
      storage,
      studyName: 'digits-past',
      direction: 'maximize',
      sampler: new RandomSampler({ seed: 4 }),
    });
    await past.setUserAttr(META_FEATURES_ATTR, datasetMetaFeatures(digits));
    for (let i = 0; i < 40; i++) {
      const trial = await past.ask();
      await past.tell(
        trial,
        peak(
          trial.suggestFloat('learningRate', 1e-4, 1e-1, { log: true }),
          trial.suggestCategorical('units', [8, 16, 32]),
        ),
      );
    }
    await pastStudy(storage, 'blobs-past', blobs(400, 3), (lr) => lr, 1);
    const meta = datasetMetaFeatures(subset(digits, new Random(5).permutation(1797).subarray(0, 1200)));
    const prior = await warmStartPrior(storage, { metaFeatures: meta, space: SPACE, maxStudies: 1 });
    assert.deepEqual(
      prior.sources.map((s) => s.studyName),
      ['digits-past'],
      'the nearest past study only',
    );
    assert.equal(prior.studies[0].observations.length, 40, 'every completed trial, not only the best');
    assert.ok(
      Math.abs(prior.studies[0].weight - 1 / (1 + prior.sources[0].distance)) < 1e-12,
      'weight 1 / (1 + distance)',
    );
    const firstLearningRates = async (sampler: TPESampler) => {
      const study = await createStudy({ direction: 'maximize', sampler });
      const out: number[] = [];
      for (let i = 0; i < 8; i++) {
        const trial = await study.ask();
        const lr = trial.suggestFloat('learningRate', 1e-4, 1e-1, { log: true });
        await study.tell(trial, peak(lr, trial.suggestCategorical('units', [8, 16, 32])));
        out.push(Math.abs(Math.log10(lr) + 2));
      }
      return out.sort((a, b) => a - b)[4];
    };
    const warm = await firstLearningRates(new TPESampler({ seed: 3, prior }));
    const cold = await firstLearningRates(new TPESampler({ seed: 3 }));
    assert.ok(warm < 0.4, `warm: median distance of the first 8 learning rates from 1e-2 is ${warm} decades`);
    assert.ok(warm < cold, `warm ${warm} should start nearer the past optimum than cold ${cold}`);
    // Excluding the study by name leaves the other one; no usable study keeps the random startup.
    const other = await warmStartPrior(storage, {
      metaFeatures: meta,
      space: SPACE,
      exclude: ['digits-past'],
    });
    assert.deepEqual(
      other.sources.map((s) => s.studyName),
      ['blobs-past'],
      'excluded by name',
    );
    const none = await warmStartPrior(new InMemoryStorage(), { metaFeatures: meta, space: SPACE });
    assert.equal(none.studies.length, 0, 'no past study');
    assert.ok((none.startupTrials ?? 0) > 1000, 'TPE keeps its startup trials without a past study');
    assert.throws(
      () => new TPESampler({ prior: { space: SPACE, studies: [{ ...prior.studies[0], weight: 0 }] } }),
      /weight > 0/,
    );
  });

  it('lets a misleading past study fade once the new trials rank against it, and splits ties at the cut evenly', async () => {
    const LR = { learningRate: new FloatDistribution(1e-4, 1e-1, { log: true }) };
    const logs = Array.from({ length: 40 }, (_, i) => -4 + (3 * i) / 39);
    // The past study found the best learning rates near 1e-4; the new problem peaks near 5e-2.
    const misleading = {
      space: LR,
      studies: [
        {
          direction: 'maximize' as const,
          weight: 1,
          observations: logs.map((l) => ({ params: { learningRate: 10 ** l }, value: -Math.abs(l + 4) })),
        },
      ],
    };
    const bestAfter = async (sampler: TPESampler, n: number) => {
      const study = await createStudy({ direction: 'maximize', sampler });
      for (let i = 0; i < n; i++) {
        const trial = await study.ask();
        const lr = trial.suggestFloat('learningRate', 1e-4, 1e-1, { log: true });
        await study.tell(trial, -Math.abs(Math.log10(lr) + 1.3));
      }
      return -Math.max(...(await study.getTrials()).map((t) => t.values?.[0] ?? Number.NEGATIVE_INFINITY));
    };
    const adaptive = await bestAfter(new TPESampler({ seed: 1, prior: misleading }), 20);
    const fixed = await bestAfter(new TPESampler({ seed: 1, prior: { ...misleading, adaptive: false } }), 20);
    assert.ok(adaptive < 0.1, `adaptive: best of 20 trials ${adaptive} decades from the new optimum`);
    assert.ok(
      fixed > 2 * adaptive,
      `fixed weights stay misled (${fixed}) longer than adaptive (${adaptive})`,
    );
    // 20 past trials tie at the best value over 1e-3..1e-2, listed from the top end down, with
    // worse ones on both sides: the good places are shared among all of them, not given to the
    // first few listed.
    const tied = {
      space: LR,
      relevanceAfter: 1000,
      studies: [
        {
          direction: 'maximize' as const,
          weight: 1,
          observations: [
            ...Array.from({ length: 20 }, (_, i) => ({
              params: { learningRate: 10 ** (-2 - i / 19) },
              value: 1,
            })),
            ...Array.from({ length: 20 }, (_, i) => ({
              params: { learningRate: 10 ** (i < 10 ? -4 + (0.8 * i) / 9 : -1.8 + (0.8 * (i - 10)) / 9) },
              value: 0,
            })),
          ],
        },
      ],
    };
    const study = await createStudy({
      direction: 'maximize',
      sampler: new TPESampler({ seed: 2, prior: tied }),
    });
    const sampled: number[] = [];
    for (let i = 0; i < 15; i++) {
      const trial = await study.ask();
      sampled.push(Math.log10(trial.suggestFloat('learningRate', 1e-4, 1e-1, { log: true })));
      await study.tell(trial, 0);
    }
    const middle = [...sampled].sort((a, b) => a - b)[7];
    assert.ok(
      middle < -2.3 && middle > -2.9,
      `sampled learning rates should spread over the tied range 1e-3..1e-2, median 10^${middle}`,
    );
    assert.throws(() => new TPESampler({ prior: { ...tied, relevanceAfter: 1 } }), /relevanceAfter/);
  });
});
