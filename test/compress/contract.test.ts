/**
 * What every registered compression method promises, checked on real (small) trained models:
 * validation errors name the step and field, transformSpec leaves its input alone and gives an
 * analysable spec, apply leaves its input alone and gives buildable weights whose masked weights
 * are zero, the stored model predicts as the weights do, and an aborted run returns cleanly.
 * A method added to the registry is tested here without any change to this file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { weightsAccuracy } from '../../src/compress/fine-tune.js';
import type { CompressionData } from '../../src/compress/method.js';
import { costOf } from '../../src/compress/method.js';
import { buildModelWithWeights, type ModelWeights } from '../../src/compress/model-weights.js';
import { runPipeline, validateRecipe } from '../../src/compress/pipeline.js';
import { methodNames, registry } from '../../src/compress/registry.js';
import { layerKept, reportRow } from '../../src/compress/report.js';
import { readCompressedModel, writeCompressedModel } from '../../src/compress/store.js';
import { RecipeError } from '../../src/core/errors.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { cnnSpec, digitsData, mlpSpec, trainedWeights } from './helpers.js';

let mlpData: CompressionData;
let cnnData: CompressionData;
const bases = new Map<string, ModelWeights>();

before(async () => {
  mlpData = await digitsData([64]);
  // The cpu backend's convolutions are slow: the CNN trains on a slice of the data.
  cnnData = await digitsData([8, 8, 1], 300);
  bases.set('mlp', await trainedWeights(mlpSpec(), mlpData));
  bases.set('cnn', await trainedWeights(cnnSpec(), cnnData));
});

const kinds = ['mlp', 'cnn'] as const;
const dataOf = (kind: (typeof kinds)[number]) => (kind === 'mlp' ? mlpData : cnnData);

function snapshot(weights: ModelWeights): string {
  return JSON.stringify({
    spec: weights.spec,
    layers: weights.layers.map((l) => l.tensors.map((t) => [t.name, t.shape, Array.from(t.values)])),
  });
}

async function predictions(weights: ModelWeights, data: CompressionData): Promise<Int32Array> {
  const tf = await import('@tensorflow/tfjs-core');
  const model = await buildModelWithWeights(weights);
  try {
    const n = Math.min(64, data.validation.labels.length);
    const size = data.validation.shape.reduce((a, b) => a * b, 1);
    return tf.tidy(() => {
      const x = tf.tensor(data.validation.x.subarray(0, n * size), [n, ...data.validation.shape]);
      return tf
        .argMax(model.predict(x) as import('@tensorflow/tfjs-core').Tensor, -1)
        .dataSync() as Int32Array;
    });
  } finally {
    model.dispose();
  }
}

for (const name of methodNames()) {
  const method = registry[name];
  describe(`compression method "${name}" (contract)`, () => {
    it('has a name matching its registry key and a one-line summary', () => {
      assert.equal(method.name, name);
      assert.ok(method.summary.length > 0 && !method.summary.includes('\n'), 'summary is one line');
    });

    it('rejects an unknown field with a RecipeError naming the step and the field', () => {
      const spec = mlpSpec();
      const options = { ...method.exampleOptions(spec), noSuchField: 1 };
      assert.throws(
        () => validateRecipe([{ method: name, options }], spec),
        (error: unknown) =>
          error instanceof RecipeError &&
          error.code === 'INVALID_RECIPE' &&
          error.message.includes(`step 1 (${name})`) &&
          error.message.includes('noSuchField') &&
          !error.message.includes('\n'),
      );
    });

    for (const kind of kinds) {
      it(`plans, applies and stores on a small ${kind}`, async () => {
        const base = bases.get(kind) as ModelWeights;
        const data = dataOf(kind);
        const before = snapshot(base);
        const options = method.exampleOptions(base.spec);
        const [step] = validateRecipe([{ method: name, options }], base.spec);
        // transformSpec: the input spec is untouched and the result is analysable.
        assert.equal(snapshot(base), before, 'validate/transformSpec changed the input');
        assert.ok(analyzeModel(step.plan.spec).params > 0, 'planned spec analyses');
        assert.deepEqual(step.plan.before, costOf(base.spec));

        const result = await runPipeline(base, [{ method: name, options }], { data, seed: 0 });
        assert.equal(snapshot(base), before, 'apply changed its input weights');
        assert.equal(result.steps.length, 1);
        assert.equal(result.completed, true);
        // Masks match their tensors and masked weights are exactly zero.
        for (const [layer, tensors] of Object.entries(result.masks)) {
          const lw = result.weights.layers.find((l) => l.layer === layer);
          assert.ok(lw, `mask for unknown layer ${layer}`);
          for (const [tensor, mask] of Object.entries(tensors)) {
            const values: Float32Array | undefined = lw.tensors.find((x) => x.name === tensor)?.values;
            assert.ok(values?.length === mask.length, `mask ${layer}/${tensor} has the tensor's length`);
            for (let i = 0; i < mask.length; i++)
              if (!mask[i]) assert.equal(values?.[i], 0, `${layer}/${tensor}[${i}] masked but not zero`);
          }
        }
        // The row is the cost of the spec the weights carry.
        const row = result.steps[0];
        assert.equal(row.nonZeroParams, costOf(result.weights.spec).nonZeroParams);
        assert.ok(row.valAccuracy !== null && row.valAccuracy >= 0 && row.valAccuracy <= 1, 'val accuracy');

        // Stored, reloaded: same predictions, same masks, same accuracy.
        const dir = await mkdtemp(path.join(tmpdir(), 'parsimony-contract-'));
        try {
          const out = path.join(dir, 'out');
          const report = await writeCompressedModel(out, {
            weights: result.weights,
            masks: result.masks,
            files: result.files,
            finishReport: async (stored) => ({
              model: base.spec.name ?? 'model',
              base: reportRow(base.spec, { valAccuracy: null, testAccuracy: null, seconds: 0 }),
              steps: result.steps,
              result: reportRow(stored.weights.spec, {
                valAccuracy: await weightsAccuracy(stored.weights, data.validation),
                testAccuracy: null,
                seconds: 0,
              }),
              layers: layerKept(stored.weights),
              completed: true,
            }),
          });
          const stored = await readCompressedModel(out);
          assert.deepEqual(await predictions(stored.weights, data), await predictions(result.weights, data));
          assert.deepEqual(stored.masks, result.masks);
          assert.equal(report.result.valAccuracy, row.valAccuracy, 'stored model measures as the step did');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }

    it('returns cleanly when aborted before it starts training', async () => {
      const base = bases.get('mlp') as ModelWeights;
      const controller = new AbortController();
      controller.abort();
      const result = await runPipeline(base, [{ method: name, options: method.exampleOptions(base.spec) }], {
        data: mlpData,
        signal: controller.signal,
      });
      assert.equal(result.completed, false);
      assert.equal(result.steps.length, 0, 'no step runs once aborted');
    });
  });
}
