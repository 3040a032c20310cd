import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelSpecError } from '../../src/core/errors.js';
import { ModelBuilder, sequential } from '../../src/models/spec/builder.js';
import { inferShapes, parseModelSpec } from '../../src/models/spec/validate.js';
import { ZOO, zooModel } from '../../src/models/zoo/index.js';

function throwsNaming(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof ModelSpecError && pattern.test(e.message));
}

describe('model spec', () => {
  it('every zoo model round-trips through JSON to an equal, valid spec', () => {
    for (const entry of ZOO) {
      const spec = entry.build({});
      const again = parseModelSpec(JSON.stringify(spec), entry.name);
      assert.deepEqual(again, spec);
    }
  });

  it('a zoo option that makes no model is a ModelSpecError naming the options', () => {
    throwsNaming(
      () => zooModel('transformer-encoder', { modelDim: 30, numHeads: 4 }),
      /transformer-encoder: modelDim 30 is not divisible by numHeads 4/,
    );
  });

  it('the sequential and functional builders produce the same spec', () => {
    const a = sequential([8], { name: 'm' })
      .add('dense', { units: 4, activation: 'relu' })
      .add('dense', { units: 2 })
      .build();
    const b = new ModelBuilder('m');
    const x = b.input([8]);
    const spec = b.build(b.dense(b.dense(x, { units: 4, activation: 'relu' }), { units: 2 }));
    assert.deepEqual(spec, a);
    assert.deepEqual(
      a.layers.map((l) => l.name),
      ['dense_1', 'dense_2'],
    );
  });

  it('infers shapes through residuals and concatenation', () => {
    const b = new ModelBuilder();
    const x = b.input([16, 16, 8]);
    const h = b.conv2d(x, { filters: 8, kernelSize: 3, padding: 'same' });
    const sum = b.add([x, h]);
    const both = b.concat([
      sum,
      b.maxPool2d(b.zeroPadding2d(x, { padding: 1 }), { poolSize: 3, strides: 1 }),
    ]);
    const spec = b.build(b.globalAvgPool2d(both));
    const shapes = inferShapes(spec);
    assert.deepEqual(shapes.byName.get(both), [16, 16, 16]);
    assert.deepEqual(shapes.byName.get(spec.outputs[0]), [16]);
  });

  it('mismatched residual shapes name the layer and both shapes', () => {
    const b = new ModelBuilder();
    const x = b.input([14, 14, 64]);
    const h = b.conv2d(x, { filters: 32, kernelSize: 1 });
    b.add([x, h], { name: 'add_3' });
    throwsNaming(() => b.build('add_3'), /layer "add_3": input shapes \[14,14,64\] and \[14,14,32\] differ/);
  });

  it('bad JSON is refused with the field and the layer named', () => {
    const base = {
      format: 'parsimony-model',
      version: 1,
      inputs: [{ name: 'x', shape: [4] }],
      outputs: ['d'],
    };
    const spec = (layers: unknown[]) => JSON.stringify({ ...base, layers });
    throwsNaming(() => parseModelSpec('{', 'm.json'), /m\.json: not valid JSON/);
    throwsNaming(
      () => parseModelSpec(spec([{ name: 'd', type: 'dense', inputs: ['x'], units: 0 }]), 'm.json'),
      /layer "d": field "units" must be a positive integer, got 0/,
    );
    throwsNaming(
      () => parseModelSpec(spec([{ name: 'd', type: 'denze', inputs: ['x'] }])),
      /layer "d": unknown type "denze"/,
    );
    throwsNaming(
      () => parseModelSpec(spec([{ name: 'd', type: 'dense', inputs: ['y'], units: 2 }])),
      /layer "d": reads "y", which is no input or layer/,
    );
    throwsNaming(
      () => parseModelSpec(spec([{ name: 'd', type: 'dense', inputs: ['x'], units: 2, unit: 3 }])),
      /unknown field "unit"/,
    );
    throwsNaming(
      () => parseModelSpec(spec([{ name: 'd', type: 'dense', inputs: ['x'] }])),
      /missing field "units"/,
    );
    throwsNaming(
      () =>
        parseModelSpec(
          spec([
            { name: 'd', type: 'dense', inputs: ['e'], units: 2 },
            { name: 'e', type: 'dense', inputs: ['d'], units: 2 },
          ]),
        ),
      /layer "d": reads "e", which is listed after it/,
    );
    throwsNaming(() => parseModelSpec({ ...base, version: 2, layers: [] }), /"version" 2 is not supported/);
  });

  it('shape errors: groups, kernels larger than the input, rank', () => {
    throwsNaming(
      () => sequential([8, 8, 6]).add('conv2d', { filters: 8, kernelSize: 3, groups: 4 }).build(),
      /groups 4 does not divide the 6 input channels/,
    );
    throwsNaming(
      () => sequential([4, 4, 1]).add('conv2d', { filters: 1, kernelSize: 5 }).build(),
      /kernel 5x5 does not fit input \[4,4,1\]/,
    );
    throwsNaming(
      () => sequential([10]).add('conv2d', { filters: 1, kernelSize: 1 }).build(),
      /expects an image/,
    );
    throwsNaming(
      () =>
        sequential([10])
          .add('reshape', { shape: [3, -1] })
          .build(),
      /cannot reshape \[10\]/,
    );
  });
});
