/**
 * The image search space: every sampled spec validates, builds for TensorFlow.js with the parameter
 * count the analysis predicted; the budget prunes over-budget configurations before any training;
 * and a small study with aging evolution trains real networks on the digits data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Trial } from '../../src/core/trial.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { parseModelSpec } from '../../src/models/spec/validate.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { AgingEvolutionSampler } from '../../src/samplers/aging-evolution.js';
import { RandomSampler } from '../../src/samplers/random.js';
import {
  IMAGE_ATTRS,
  IMAGE_BLOCKS,
  type ImageSpaceOptions,
  imageSpace,
} from '../../src/search/image-space.js';
import { createStudy } from '../../src/study/create.js';
import { evaluate, trainingData, trainModel } from '../../src/train/trainer.js';

const DIGITS: ImageSpaceOptions = { inputShape: [8, 8, 1], classes: 10 };

describe('image search space', () => {
  it('samples specs that validate and build for tfjs with the analysed parameter count', async () => {
    await initBackend();
    const study = await createStudy({ sampler: new RandomSampler({ seed: 11 }) });
    const blocks = new Set<string>();
    await study.optimize(
      async (trial: Trial) => {
        const spec = imageSpace(trial, { ...DIGITS, maxStages: 3, maxBlocks: 2 });
        // The stored form parses back: the spec is valid JSON the loader accepts.
        const parsed = parseModelSpec(JSON.stringify(spec));
        assert.deepEqual(parsed, spec, `trial ${trial.number}: the spec changed on a JSON round trip`);
        const complexity = analyzeModel(spec);
        const model = await buildTfjsModel(spec, { seed: trial.number });
        try {
          assert.deepEqual(model.outputs[0].shape, [null, 10], `trial ${trial.number}: output shape`);
          // TensorFlow.js counts batch-norm moving statistics as (non-trainable) weights.
          assert.equal(
            model.countParams(),
            complexity.params + complexity.stateValues,
            `trial ${trial.number}: tfjs parameter count differs from the analysis`,
          );
        } finally {
          model.dispose();
        }
        for (let i = 0; i < (trial.params.stages as number); i++)
          blocks.add(trial.params[`s${i}_block`] as string);
        return complexity.params;
      },
      { nTrials: 30 },
    );
    assert.equal(
      study.trials.filter((t) => t.state === 'COMPLETE').length,
      30,
      'every trial should complete',
    );
    assert.deepEqual([...blocks].sort(), [...IMAGE_BLOCKS].sort(), 'every block type should be sampled');
  });

  it('prunes over-budget configurations before any training', async () => {
    let trainings = 0;
    const budget = { maxParams: 5_000, maxMacs: 200_000 };
    const study = await createStudy({ sampler: new RandomSampler({ seed: 3 }) });
    await study.optimize(
      (trial: Trial) => {
        const spec = imageSpace(trial, { ...DIGITS, ...budget });
        trainings++; // Stands for training: only reached within the budget.
        return analyzeModel(spec).params;
      },
      { nTrials: 40 },
    );
    const pruned = study.trials.filter((t) => t.state === 'PRUNED');
    const complete = study.trials.filter((t) => t.state === 'COMPLETE');
    assert.ok(
      pruned.length > 0 && complete.length > 0,
      `${pruned.length} pruned, ${complete.length} complete`,
    );
    assert.equal(trainings, complete.length, 'an over-budget trial reached training');
    for (const t of pruned) {
      assert.equal(t.userAttrs[IMAGE_ATTRS.overBudget], true, `trial ${t.number} not marked over budget`);
      const params = t.userAttrs[IMAGE_ATTRS.params] as number;
      const macs = t.userAttrs[IMAGE_ATTRS.macs] as number;
      assert.ok(params > budget.maxParams || macs > budget.maxMacs, `trial ${t.number} was within budget`);
    }
    for (const t of complete) {
      assert.ok((t.userAttrs[IMAGE_ATTRS.params] as number) <= budget.maxParams, `trial ${t.number} params`);
      assert.ok((t.userAttrs[IMAGE_ATTRS.macs] as number) <= budget.maxMacs, `trial ${t.number} MACs`);
    }
  });

  it('runs a small study with aging evolution on the digits data', async () => {
    await initBackend();
    const splits = splitBundle(await loadDataset('digits'), { seed: 1, validation: 0.2, test: 0.2 });
    const scaler = fitStandardScaler(splits.train);
    const shape = [8, 8, 1];
    const train = trainingData(scaler.transform(splits.train), shape);
    const validation = trainingData(scaler.transform(splits.validation), shape);
    const sampler = new AgingEvolutionSampler({ seed: 1, populationSize: 3, sampleSize: 2 });
    const study = await createStudy({ sampler, directions: ['maximize'] });
    await study.optimize(
      async (trial: Trial) => {
        const spec = imageSpace(trial, {
          ...DIGITS,
          maxStages: 2,
          maxBlocks: 1,
          filters: [8, 16],
          maxParams: 20_000,
        });
        const model = await buildTfjsModel(spec, { seed: trial.number });
        try {
          await trainModel(model, train, {
            epochs: 2,
            batchSize: 64,
            optimizer: { type: 'adam', learningRate: 0.01 },
            seed: trial.number,
          });
          return (await evaluate(model, validation)).accuracy;
        } finally {
          model.dispose();
        }
      },
      { nTrials: 6 },
    );
    const complete = study.trials.filter((t) => t.state === 'COMPLETE');
    assert.ok(complete.length >= 3, `only ${complete.length} trials completed`);
    assert.ok(study.bestValue! > 0.5, `best validation accuracy ${study.bestValue} after 2 epochs`);
    const children = study.trials.filter((t) => sampler.mutationOf(study.studyName, t.number));
    assert.ok(children.length > 0, 'no trial was a mutated child');
  });
});
