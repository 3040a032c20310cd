/**
 * The model spec format as a JSON Schema (draft-07), generated from the same tables the validator
 * checks with: each layer type's fields come from its entry in LAYER_KINDS, each field's rule from
 * the `schema` of its check. `assets/model-spec.schema.json` is this function's output
 * (`npx tsx scripts/write-model-spec-schema.ts` rewrites it; a test fails when it is stale). The
 * validator checks more than a schema can say: shapes through the graph, names that exist, at
 * most one -1 in a reshape.
 */

import { LAYER_KINDS, LAYER_TYPES, layerKind } from './layers/index.js';
import type { JsonSchema } from './layers/kind.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, WEIGHT_INITS } from './types.js';
import { fieldRules } from './validate.js';

/** Fields every layer has, as the validator checks them. */
const COMMON_LAYER_FIELDS: Record<string, JsonSchema> = {
  name: { type: 'string', minLength: 1, description: 'unique in the model' },
  inputs: {
    type: 'array',
    items: { type: 'string' },
    description: 'names of the model inputs or earlier layers this layer reads, in order',
  },
  trainable: { type: 'boolean', description: 'false freezes the weights in training (default true)' },
  compression: {
    type: 'object',
    properties: {
      sparsity: { type: 'number', minimum: 0, maximum: 1 },
      weightBits: { type: 'integer', minimum: 1, maximum: 64 },
    },
  },
};

function layerSchema(type: (typeof LAYER_TYPES)[number]): JsonSchema {
  const rules = fieldRules(layerKind(type));
  const own = Object.fromEntries([...rules].map(([field, rule]) => [field, rule.check.schema]));
  const [min, max] = LAYER_KINDS[type].arity;
  return {
    type: 'object',
    required: ['name', 'type', 'inputs', ...[...rules].filter(([, r]) => r.required).map(([f]) => f)],
    properties: {
      ...COMMON_LAYER_FIELDS,
      type: { const: type },
      inputs: {
        ...COMMON_LAYER_FIELDS.inputs,
        minItems: min,
        ...(Number.isFinite(max) ? { maxItems: max } : {}),
      },
      ...own,
    },
    additionalProperties: false,
  };
}

export function modelSpecSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Parsimony model spec',
    description:
      'A model as a graph of named layers, each naming its inputs. Shapes leave out the batch dimension; images are channels-last [height, width, channels].',
    type: 'object',
    required: ['format', 'version', 'inputs', 'layers', 'outputs'],
    properties: {
      format: { const: MODEL_FORMAT },
      version: { const: MODEL_FORMAT_VERSION },
      name: { type: 'string' },
      init: {
        enum: [...WEIGHT_INITS],
        description:
          'how dense and convolution layers start: glorot (default; Glorot-uniform kernels, zero biases) or torch (kernels and biases uniform in +-1/sqrt(fan_in), as PyTorch)',
      },
      inputs: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['name', 'shape'],
          properties: {
            name: { type: 'string', minLength: 1 },
            shape: { type: 'array', items: { type: 'integer', minimum: 1 } },
            dtype: { enum: ['float32', 'int32'], description: 'int32 for token ids; default float32' },
          },
        },
      },
      layers: { type: 'array', items: { $ref: '#/definitions/layer' } },
      outputs: { type: 'array', minItems: 1, items: { type: 'string' } },
    },
    definitions: {
      layer: {
        type: 'object',
        required: ['name', 'type', 'inputs'],
        properties: { type: { enum: [...LAYER_TYPES] } },
        allOf: LAYER_TYPES.map((type) => ({
          if: { properties: { type: { const: type } } },
          // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
          then: { $ref: `#/definitions/layerTypes/${type}` },
        })),
      },
      layerTypes: Object.fromEntries(LAYER_TYPES.map((type) => [type, layerSchema(type)])),
    },
  };
}

/** The schema as the file holds it. */
export function modelSpecSchemaText(): string {
  return `${JSON.stringify(modelSpecSchema(), null, 2)}\n`;
}
