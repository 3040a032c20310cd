/**
 * The tabular search space: every sampled spec validates and builds for tfjs with the analysed
 * parameter count, skips and norms appear as chosen, the budget prunes before training, and a
 * small study trains real dense stacks on the digits as a table. The documented define-by-run example
 * (examples/custom-space) runs too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digitsSpace, MAX_PARAMS, runExample } from '../../examples/custom-space/search.js';
import type { Trial } from '../../src/core/trial.js';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { parseModelSpec } from '../../src/models/spec/validate.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { RandomSampler } from '../../src/samplers/random.js';
import { TPESampler } from '../../src/samplers/tpe/tpe-sampler.js';
import { IMAGE_ATTRS } from '../../src/search/image-space.js';
import { suggestTabularLayers, tabularSpace, tabularSpec } from '../../src/search/tabular-space.js';
import { createStudy } from '../../src/study/create.js';
import { evaluate, trainingData, trainModel } from '../../src/train/trainer.js';

describe('tabular search space', () => {
  it('samples specs that validate and build with the analysed parameter count', async () => {
    await initBackend();
    const study = await createStudy({ sampler: new RandomSampler({ seed: 4 }) });
    const seen = { skip: 0, batch: 0, layer: 0, projection: 0 };
    await study.optimize(
      async (trial: Trial) => {
        const spec = tabularSpace(trial, { inputShape: [13], classes: 3, maxUnits: 64 });
        assert.deepEqual(parseModelSpec(JSON.stringify(spec)), spec, `trial ${trial.number}: round trip`);
        const types = spec.layers.map((l) => l.type);
        seen.skip += types.filter((t) => t === 'add').length;
        seen.batch += types.filter((t) => t === 'batchNorm').length;
        seen.layer += types.filter((t) => t === 'layerNorm').length;
        seen.projection += spec.layers.filter((l) => l.name.startsWith('project_')).length;
        const layers = trial.params.layers as number;
        assert.equal(types.filter((t) => t === 'dense').length - 1 >= layers, true, 'one dense per layer');
        const complexity = analyzeModel(spec);
        assert.equal(trial.userAttrs[IMAGE_ATTRS.params], complexity.params, 'params recorded');
        const model = await buildTfjsModel(spec, { seed: trial.number });
        try {
          assert.deepEqual(model.outputs[0].shape, [null, 3], `trial ${trial.number}: output shape`);
          assert.equal(
            model.countParams(),
            complexity.params + complexity.stateValues,
            `trial ${trial.number}`,
          );
        } finally {
          model.dispose();
        }
        return complexity.params;
      },
      { nTrials: 25 },
    );
    assert.equal(study.trials.filter((t) => t.state === 'COMPLETE').length, 25, 'every trial completes');
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no ${what} in 25 sampled stacks`);
  });

  it('offers softmax regression (no hidden layer) with minLayers 0, and not by default', () => {
    const fixed = (layers: number) => {
      const asked: [string, number, number][] = [];
      const trial = {
        suggestInt: (name: string, low: number, high: number) => {
          asked.push([name, low, high]);
          return name === 'layers' ? layers : low;
        },
        suggestFloat: (_name: string, low: number) => low,
        suggestCategorical: <T>(_name: string, choices: readonly T[]) => choices[0],
        setUserAttr: () => {},
      };
      return { trial, asked };
    };
    const linear = fixed(0);
    const spec = tabularSpace(linear.trial, { inputShape: [13], classes: 3, minLayers: 0 });
    assert.deepEqual(linear.asked, [['layers', 0, 4]], 'layers drawn from 0; no width asked');
    assert.deepEqual(
      spec.layers.filter((l) => l.type === 'dense').map((l) => l.name),
      ['classes'],
      'only the softmax layer',
    );
    assert.equal(analyzeModel(spec).params, 13 * 3 + 3);
    const usual = fixed(1);
    tabularSpace(usual.trial, { inputShape: [13], classes: 3 });
    assert.deepEqual(usual.asked[0], ['layers', 1, 4], 'at least one hidden layer by default');
  });

  it('adds an identity skip when widths match and a projection when they differ', () => {
    const base = { activation: 'relu' as const, dropout: 0, norm: 'none' as const };
    const same = tabularSpec(
      [
        { ...base, units: 16, skip: false },
        { ...base, units: 16, skip: true },
      ],
      [8, 8, 1],
      10,
    );
    assert.equal(same.layers[0].type, 'flatten', 'images are flattened first');
    const add = same.layers.find((l) => l.type === 'add')!;
    assert.deepEqual(add.inputs, ['act_0', 'act_1'], 'identity shortcut from the previous layer');
    const projected = tabularSpec(
      [
        { ...base, units: 16, skip: false },
        { ...base, units: 32, skip: true },
      ],
      [64],
      10,
    );
    assert.deepEqual(projected.layers.find((l) => l.type === 'add')!.inputs, ['project_1', 'act_1']);
    // 64*16+16 + 16*32+32 + 16*32 (projection, no bias) + 32*10+10
    assert.equal(analyzeModel(projected).params, 1040 + 544 + 512 + 330);
  });

  it('prunes over-budget stacks before any training', async () => {
    let trainings = 0;
    const study = await createStudy({ sampler: new RandomSampler({ seed: 2 }) });
    await study.optimize(
      (trial: Trial) => {
        const spec = tabularSpace(trial, { inputShape: [64], classes: 10, maxParams: 8_000, maxMacs: 7_000 });
        trainings++;
        return analyzeModel(spec).params;
      },
      { nTrials: 30 },
    );
    const pruned = study.trials.filter((t) => t.state === 'PRUNED');
    const complete = study.trials.filter((t) => t.state === 'COMPLETE');
    assert.ok(
      pruned.length > 0 && complete.length > 0,
      `${pruned.length} pruned, ${complete.length} complete`,
    );
    assert.equal(trainings, complete.length, 'an over-budget trial reached training');
    for (const t of pruned) {
      assert.equal(t.userAttrs[IMAGE_ATTRS.overBudget], true, `trial ${t.number} not marked`);
      const over =
        (t.userAttrs[IMAGE_ATTRS.params] as number) > 8_000 ||
        (t.userAttrs[IMAGE_ATTRS.macs] as number) > 7_000;
      assert.ok(over, `trial ${t.number} was within budget`);
    }
  });

  it('trains dense stacks from a TPE study on the digits as a table of 64 features', async () => {
    await initBackend();
    const splits = splitBundle(await loadDataset('digits'), { seed: 1, validation: 0.25, test: 0.2 });
    const scaler = fitStandardScaler(splits.train);
    const train = trainingData(scaler.transform(splits.train), [64]);
    const validation = trainingData(scaler.transform(splits.validation), [64]);
    const study = await createStudy({
      sampler: new TPESampler({ seed: 1, nStartupTrials: 3 }),
      direction: 'maximize',
    });
    await study.optimize(
      async (trial: Trial) => {
        const spec = tabularSpace(trial, {
          inputShape: train.shape,
          classes: 10,
          maxLayers: 2,
          maxUnits: 32,
        });
        const model = await buildTfjsModel(spec, { seed: trial.number });
        try {
          await trainModel(model, train, {
            epochs: 4,
            batchSize: 32,
            optimizer: { type: 'adam', learningRate: 0.01 },
            seed: trial.number,
          });
          return (await evaluate(model, validation)).accuracy;
        } finally {
          model.dispose();
        }
      },
      { nTrials: 5 },
    );
    assert.ok(study.bestValue! > 0.85, `best validation accuracy ${study.bestValue}`);
    assert.ok(suggestTabularLayers.length > 0, 'suggestTabularLayers exported');
  });
});

describe('define-by-run example (examples/custom-space)', () => {
  it('returns specs within its budget and runs a small two-objective study', async () => {
    const study = await runExample(6, 0);
    const complete = study.trials.filter((t) => t.state === 'COMPLETE');
    assert.ok(complete.length >= 3, `only ${complete.length} complete trials`);
    for (const t of complete) assert.ok(t.values![1] <= MAX_PARAMS, `trial ${t.number} over budget`);
    assert.ok(Math.max(...complete.map((t) => t.values![0])) > 0.5, 'no trial learned the digits');
    assert.equal(typeof digitsSpace, 'function');
  });
});
