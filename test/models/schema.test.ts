/**
 * assets/model-spec.schema.json: generated from the layer tables (a stale file fails here), every
 * zoo spec is valid under it, and specs the validator refuses the schema refuses too. Checked by a
 * small validator of the keywords the schema uses, and by Python's jsonschema when installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelSpecError } from '../../src/core/errors.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { modelSpecSchema } from '../../src/models/spec/schema.js';
import type { ModelSpec } from '../../src/models/spec/types.js';
import { parseModelSpec } from '../../src/models/spec/validate.js';
import { ZOO, zooModelFromReference } from '../../src/models/zoo/index.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';

const SCHEMA_FILE = join(import.meta.dirname, '..', '..', 'assets', 'model-spec.schema.json');
type Schema = Record<string, unknown>;

const KEYWORDS = new Set([
  '$schema',
  'title',
  'description',
  'definitions',
  '$ref',
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'minItems',
  'maxItems',
  'items',
  'required',
  'properties',
  'additionalProperties',
  'anyOf',
  'allOf',
  'if',
  'then',
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Errors of `value` under `schema` (draft-07, the keywords above only). */
function validate(schema: Schema, value: unknown, root: Schema, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Schema)[key], root);
    return validate(target as Schema, value, root, path);
  }
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);
  for (const [keyword, rule] of Object.entries(schema)) {
    const r = rule as never;
    switch (keyword) {
      case 'type': {
        const ok =
          rule === 'integer'
            ? Number.isInteger(value)
            : rule === 'array'
              ? Array.isArray(value)
              : rule === 'object'
                ? isObject(value)
                : typeof value === rule;
        if (!ok) fail(`not ${rule}`);
        break;
      }
      case 'enum':
        if (!(rule as unknown[]).includes(value)) fail(`not one of ${JSON.stringify(rule)}`);
        break;
      case 'const':
        if (value !== rule) fail(`not ${JSON.stringify(rule)}`);
        break;
      case 'minimum':
        if (typeof value === 'number' && value < r) fail(`below ${rule}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > r) fail(`above ${rule}`);
        break;
      case 'exclusiveMinimum':
        if (typeof value === 'number' && value <= r) fail(`not above ${rule}`);
        break;
      case 'exclusiveMaximum':
        if (typeof value === 'number' && value >= r) fail(`not below ${rule}`);
        break;
      case 'minLength':
        if (typeof value === 'string' && value.length < r) fail('too short');
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < r) fail('too few items');
        break;
      case 'maxItems':
        if (Array.isArray(value) && value.length > r) fail('too many items');
        break;
      case 'items':
        if (Array.isArray(value))
          value.forEach((item, i) => {
            errors.push(...validate(rule as Schema, item, root, `${path}[${i}]`));
          });
        break;
      case 'required':
        if (isObject(value))
          for (const key of rule as string[]) if (!(key in value)) fail(`missing "${key}"`);
        break;
      case 'properties':
        if (isObject(value))
          for (const [key, sub] of Object.entries(rule as Schema))
            if (key in value) errors.push(...validate(sub as Schema, value[key], root, `${path}.${key}`));
        break;
      case 'additionalProperties':
        if (isObject(value) && rule === false)
          for (const key of Object.keys(value))
            if (!(key in ((schema.properties as Schema) ?? {}))) fail(`unexpected "${key}"`);
        break;
      case 'anyOf':
        if (!(rule as Schema[]).some((sub) => validate(sub, value, root, path).length === 0))
          fail('matches none of anyOf');
        break;
      case 'allOf':
        for (const sub of rule as Schema[]) errors.push(...validate(sub, value, root, path));
        break;
      case 'if':
        if (validate(rule as Schema, value, root, path).length === 0 && schema.then)
          errors.push(...validate(schema.then as Schema, value, root, path));
        break;
      case '$schema':
      case 'title':
      case 'description':
      case 'definitions':
      case 'then':
        break;
      default:
        throw new Error(`the test's validator does not know the keyword ${keyword}`);
    }
  }
  return errors;
}

/** Every keyword the schema uses, so the small validator cannot skip one silently. */
function keywordsOf(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) keywordsOf(item, out);
  if (!isObject(node)) return out;
  for (const [key, value] of Object.entries(node)) {
    out.add(key);
    if (key === 'enum' || key === 'const' || key === 'required') continue;
    if (key !== 'properties' && key !== 'definitions') keywordsOf(value, out);
    // Maps from names to schemas; definitions.layerTypes is one more such map.
    else
      for (const [name, sub] of Object.entries(value as Schema))
        keywordsOf(name === 'layerTypes' ? Object.values(sub as Schema) : sub, out);
  }
  return out;
}

const ZOO_SPECS: ModelSpec[] = [
  ...ZOO.map((entry) => entry.build({})),
  zooModelFromReference('zoo:mobilenet-v2?alpha=0.5&inputSize=160'),
];

const VALID = (): ModelSpec => ({
  format: 'parsimony-model',
  version: 1,
  inputs: [{ name: 'x', shape: [8, 8, 2] }],
  layers: [{ name: 'c', type: 'conv2d', inputs: ['x'], filters: 4, kernelSize: 3 }],
  outputs: ['c'],
});

/** Specs the validator refuses for a reason a schema can state. */
const INVALID: [string, (spec: Record<string, unknown> & { layers: Record<string, unknown>[] }) => void][] = [
  ['a missing required field', (s) => delete s.layers[0].filters],
  ['zero filters', (s) => (s.layers[0].filters = 0)],
  ['a kernel size of one element', (s) => (s.layers[0].kernelSize = [3])],
  ['an unknown field', (s) => (s.layers[0].filter = 4)],
  ['an unknown padding', (s) => (s.layers[0].padding = 'full')],
  ['an unknown activation', (s) => (s.layers[0].activation = 'leaky')],
  ['an unknown layer type', (s) => (s.layers[0].type = 'conv3d')],
  [
    'resetAfter on an LSTM',
    (s) => (s.layers[0] = { name: 'c', type: 'lstm', inputs: ['x'], units: 2, resetAfter: true }),
  ],
  [
    'ceilMode not a boolean',
    (s) => (s.layers[0] = { name: 'c', type: 'maxPool2d', inputs: ['x'], poolSize: 2, ceilMode: 'yes' }),
  ],
  ['a dropout rate of 1', (s) => (s.layers[0] = { name: 'c', type: 'dropout', inputs: ['x'], rate: 1 })],
  ['an add of one input', (s) => (s.layers[0] = { name: 'c', type: 'add', inputs: ['x'] })],
  ['a reshape to no shape', (s) => (s.layers[0] = { name: 'c', type: 'reshape', inputs: ['x'], shape: [] })],
  [
    'padding [[1, 2]]',
    (s) => (s.layers[0] = { name: 'c', type: 'zeroPadding2d', inputs: ['x'], padding: [[1, 2]] }),
  ],
  ['another format version', (s) => (s.version = 2)],
  ['no outputs', (s) => delete s.outputs],
];

const invalidSpecs = () =>
  INVALID.map(([label, change]) => {
    const spec = VALID() as unknown as Parameters<(typeof INVALID)[number][1]>[0];
    change(spec);
    return [label, spec] as const;
  });

describe('the model spec JSON Schema', () => {
  const schema = modelSpecSchema() as Schema;

  it('assets/model-spec.schema.json is generated from the layer tables and up to date', () => {
    assert.deepEqual(
      JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')),
      modelSpecSchema(),
      'stale: run `npx tsx scripts/write-model-spec-schema.ts`',
    );
  });

  it('the test validator knows every keyword the schema uses', () => {
    const unknown = [...keywordsOf(schema)].filter((k) => !KEYWORDS.has(k));
    assert.deepEqual(unknown, []);
  });

  it('every zoo spec is valid under the schema', () => {
    for (const spec of ZOO_SPECS) assert.deepEqual(validate(schema, spec, schema), [], spec.name);
    assert.deepEqual(validate(schema, VALID(), schema), []);
  });

  it("the README's example spec is valid under both, with the shapes it implies", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const block = /A model is a JSON spec[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, 'the README has an example spec');
    const spec = parseModelSpec(block[1], 'README example');
    assert.deepEqual(validate(schema, spec, schema), []);
    const a = analyzeModel(spec);
    assert.deepEqual(a.layers.find((l) => l.name === 'pool')?.outputShape, [16, 16, 16]);
    assert.deepEqual(a.layers.find((l) => l.name === 'scaled')?.outputShape, [32, 32, 16]);
  });

  it('what the validator refuses, the schema refuses', () => {
    for (const [label, spec] of invalidSpecs()) {
      assert.throws(() => parseModelSpec(spec, label), ModelSpecError, `validator accepts ${label}`);
      assert.notDeepEqual(validate(schema, spec, schema), [], `schema accepts ${label}`);
    }
  });

  const python = findPython(['jsonschema']);
  const jsonschema = python ? false : skipWithoutPython(['jsonschema'], ['python3-jsonschema']);
  it("Python's jsonschema (Draft 7) agrees on the zoo and the refused specs", { skip: jsonschema }, () => {
    const script = [
      'import json, sys, jsonschema',
      'schema = json.load(open(sys.argv[1]))',
      'jsonschema.Draft7Validator.check_schema(schema)',
      'validator = jsonschema.Draft7Validator(schema)',
      'print(json.dumps([validator.is_valid(s) for s in json.load(sys.stdin)]))',
    ].join('\n');
    const specs = [...ZOO_SPECS, ...invalidSpecs().map(([, spec]) => spec)];
    const run = spawnSync(python?.executable ?? 'python3', ['-c', script, SCHEMA_FILE], {
      input: JSON.stringify(specs),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [...ZOO_SPECS.map(() => true), ...INVALID.map(() => false)]);
  });
});
