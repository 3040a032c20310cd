/**
 * TensorFlow.js layers models (model.json topologies) converted to Parsimony specs: the analysis of
 * the import must count what TensorFlow.js counts, for Sequential and functional models, tfjs'
 * own JSON and Keras 3's, and refuse what it cannot represent by naming the layer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ModelSpecError } from '../../../src/core/errors.js';
import { initBackend } from '../../../src/models/backends/index.js';
import { analyzeModel } from '../../../src/models/complexity/analyze.js';
import { specFromTfjsTopology } from '../../../src/models/import/tfjs-layers.js';
import { ModelBuilder } from '../../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../../src/models/tfjs/build.js';
import { zooModel } from '../../../src/models/zoo/index.js';
import { runCliCaptured } from '../../helpers/cli.js';

before(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('specFromTfjsTopology', () => {
  const cases: [string, Record<string, number>][] = [
    ['lenet-300-100', {}],
    ['lenet-5', {}],
    ['mobilenet-v1', { alpha: 0.25, inputSize: 64, numClasses: 10 }],
    ['mobilenet-v2', { alpha: 0.35, inputSize: 64, numClasses: 10 }],
    ['resnet-18', { inputSize: 32, numClasses: 10 }],
    ['transformer-encoder', { vocabSize: 100, sequenceLength: 16, modelDim: 32, numHeads: 4, numBlocks: 1 }],
  ];
  for (const [name, options] of cases)
    it(`${name}: the imported tfjs topology analyses like the spec it was built from`, async () => {
      const spec = zooModel(name, options);
      const model = await buildTfjsModel(spec, { seed: 1 });
      try {
        const topology = model.toJSON(null, false) as object;
        const imported = analyzeModel(specFromTfjsTopology({ modelTopology: topology }, `${name}.json`));
        const original = analyzeModel(spec);
        assert.equal(imported.params + imported.nonTrainableParams, model.countParams());
        for (const key of ['params', 'macs', 'connections', 'activationBytes'] as const)
          assert.equal(imported[key], original[key], key);
      } finally {
        model.dispose();
      }
    });

  it("Parsimony's own layers (grouped conv, attention, reset-after GRU) come back as spec layers", async () => {
    const b = new ModelBuilder('mixed');
    const image = b.input([6, 6, 4]);
    const g = b.conv2d(image, { filters: 4, kernelSize: 3, groups: 2 });
    const seq = b.reshape(g, { shape: [4, 16] });
    const spec = b.build(b.gru(b.multiHeadAttention(seq, { numHeads: 2, keyDim: 4 }), { units: 3 }));
    const model = await buildTfjsModel(spec);
    try {
      const imported = specFromTfjsTopology(model.toJSON(null, false) as object);
      assert.deepEqual(
        imported.layers.map((l) => l.type),
        ['conv2d', 'reshape', 'multiHeadAttention', 'gru'],
      );
      assert.equal(analyzeModel(imported).params, model.countParams());
    } finally {
      model.dispose();
    }
  });

  it('reads a Keras 2 Sequential without an InputLayer (batch_input_shape on the first layer)', () => {
    const spec = specFromTfjsTopology({
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 'mlp',
          layers: [
            {
              class_name: 'Dense',
              config: { name: 'd1', units: 16, activation: 'relu', batch_input_shape: [null, 8] },
            },
            { class_name: 'Dropout', config: { name: 'drop', rate: 0.2 } },
            { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax' } },
          ],
        },
      },
    });
    assert.equal(analyzeModel(spec).params, 8 * 16 + 16 + 16 * 3 + 3);
    assert.deepEqual(spec.outputs, ['d2']);
  });

  it('reads a Keras 3 functional model (keras_history inbound nodes, batch_shape, a skip connection)', () => {
    const tensor = (name: string) => ({
      class_name: '__keras_tensor__',
      config: { shape: [null, 8], dtype: 'float32', keras_history: [name, 0, 0] },
    });
    const spec = specFromTfjsTopology({
      class_name: 'Functional',
      config: {
        name: 'residual',
        layers: [
          {
            class_name: 'InputLayer',
            name: 'x',
            config: { name: 'x', batch_shape: [null, 8] },
            inbound_nodes: [],
          },
          {
            class_name: 'Dense',
            name: 'h',
            config: { name: 'h', units: 8, activation: 'silu' },
            inbound_nodes: [{ args: [tensor('x')], kwargs: {} }],
          },
          {
            class_name: 'Add',
            name: 'sum',
            config: { name: 'sum' },
            inbound_nodes: [{ args: [[tensor('x'), tensor('h')]], kwargs: {} }],
          },
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['sum', 0, 0]],
      },
    });
    assert.deepEqual(
      spec.layers.map((l) => [l.name, l.type, l.inputs]),
      [
        ['h', 'dense', ['x']],
        ['sum', 'add', ['x', 'h']],
      ],
    );
    assert.equal(spec.layers[0].type === 'dense' && spec.layers[0].activation, 'swish');
    assert.equal(analyzeModel(spec).params, 72);
  });

  it('refuses what it cannot represent, naming the layer', () => {
    const sequential = (layer: object) => ({
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 4, 4, 2] } },
          layer,
        ],
      },
    });
    const refuses = (json: object, pattern: RegExp) =>
      assert.throws(
        () => specFromTfjsTopology(json, 'm.json'),
        (e: unknown) => e instanceof ModelSpecError && pattern.test(e.message),
      );
    refuses(sequential({ class_name: 'Lambda', config: { name: 'fn' } }), /m\.json: layer "fn" \(Lambda\)/);
    refuses(
      sequential({
        class_name: 'Conv2D',
        config: { name: 'c', filters: 2, kernel_size: 3, data_format: 'channels_first' },
      }),
      /layer "c".*channels_last/,
    );
    refuses(
      sequential({ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'leaky_relu' } }),
      /layer "d".*activation "leaky_relu"/,
    );
    refuses(
      {
        class_name: 'Model',
        config: {
          layers: [
            {
              class_name: 'InputLayer',
              name: 'a',
              config: { name: 'a', batch_input_shape: [null, 3] },
              inbound_nodes: [],
            },
            {
              class_name: 'Dense',
              name: 'shared',
              config: { name: 'shared', units: 3 },
              inbound_nodes: [[['a', 0, 0, {}]], [['shared', 0, 0, {}]]],
            },
          ],
          output_layers: [['shared', 1, 0]],
        },
      },
      /layer "shared" is applied 2 times/,
    );
    refuses({ nope: 1 }, /not a TensorFlow\.js layers model/);
  });
});

describe('parsimony analyze on a TensorFlow.js model', () => {
  it('takes a model.json or the directory holding it', async () => {
    const spec = zooModel('lenet-5');
    const model = await buildTfjsModel(spec);
    const dir = mkdtempSync(join(tmpdir(), 'parsimony-tfjs-'));
    try {
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: model.toJSON(null, false) as object,
          weightsManifest: [],
        }),
      );
      for (const target of [join(dir, 'model.json'), dir]) {
        const r = await runCliCaptured(['analyze', target, '--json']);
        assert.equal(r.code, 0, r.err);
        assert.equal(JSON.parse(r.out).params, 431_080);
      }
      writeFileSync(join(dir, 'broken.json'), '{"modelTopology": ');
      const bad = await runCliCaptured(['analyze', join(dir, 'broken.json')]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.err, /broken\.json: not valid JSON/);
    } finally {
      model.dispose();
    }
  });
});
