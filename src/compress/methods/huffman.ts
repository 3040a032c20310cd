/**
 * The last stage of Deep Compression: the weights of every layer (after a cluster or quantize step,
 * so each layer holds few distinct values) are stored as a codebook of their distinct non-zero
 * values (a layer with more than 256 distinct values keeps float32 values), sparse entries with relative offsets (`denseIndexBits` for dense layers, `convIndexBits`
 * for the rest, padding zeros where a gap is longer), and both the codebook indices and the offsets
 * Huffman-coded. Lossless: the weights handed on are decoded from the written bytes and equal the
 * input. Writes `compressed.json` + `compressed.bin` and sets each layer's
 * `compression.storedWeightBits` to its measured bits, so analyzeModel reports the stored size.
 */
import type { ModelSpec } from '../../models/spec/types.js';
import { type CodedTensor, distinctValueCoding, floatCoding } from '../compressed-format.js';
import {
  checkKnownFields,
  defineMethod,
  readNumber,
  type StepContext,
  type StepInput,
  type StepOutput,
} from '../method.js';
import { hasWeights, weightTensors } from '../model-weights.js';
import { CONV_TYPES, storeCoded } from './layer-bits.js';

export interface HuffmanOptions {
  denseIndexBits: number;
  convIndexBits: number;
}

/** A codebook larger than this is not weight sharing any more (and would cost more than it saves). */
const MAX_CODEBOOK = 256;

function validate(raw: Readonly<Record<string, unknown>>, _spec: ModelSpec, step: string): HuffmanOptions {
  checkKnownFields(raw, ['denseIndexBits', 'convIndexBits'], step);
  return {
    denseIndexBits: readNumber(raw, 'denseIndexBits', step, { min: 1, max: 16, integer: true }, 5),
    convIndexBits: readNumber(raw, 'convIndexBits', step, { min: 1, max: 16, integer: true }, 8),
  };
}

async function apply(input: StepInput, o: HuffmanOptions, context: StepContext): Promise<StepOutput> {
  const coded = new Map<string, CodedTensor>();
  const bits: Record<string, number> = {};
  for (const layer of input.weights.layers) {
    if (!hasWeights(layer.type)) continue;
    for (const tensor of weightTensors(layer)) {
      const shared = distinctValueCoding(tensor.values, MAX_CODEBOOK);
      if (!shared)
        context.log(`layer "${layer.layer}" keeps float32 values (not clustered or quantized per tensor)`);
      coded.set(`${layer.layer}/${tensor.name}`, shared ?? floatCoding(tensor.values));
    }
    const own = input.weights.spec.layers.find((l) => l.name === layer.layer)?.compression?.weightBits;
    bits[layer.layer] = own ?? 32;
  }
  const stored = storeCoded(input.weights, coded, bits, {
    huffman: true,
    sparse: true,
    indexBits: (layer) => (CONV_TYPES.includes(layer.type) ? o.convIndexBits : o.denseIndexBits),
  });
  const layers = Object.fromEntries(
    stored.header.tensors
      .filter((t) => t.coding.kind === 'coded')
      .map((t) => [`${t.layer}/${t.tensor}`, t.coding.kind === 'coded' ? t.coding.bits : null]),
  );
  return {
    weights: stored.weights,
    masks: input.masks,
    details: { storedBytes: Math.ceil(stored.header.storedBits / 8), bits: layers },
    files: stored.files,
  };
}

export const huffmanMethod = defineMethod<HuffmanOptions>({
  name: 'huffman',
  summary: 'Huffman-codes shared weights and relative sparse indices (Deep Compression storage); lossless',
  validate,
  transformSpec: (spec) => structuredClone(spec),
  exampleOptions: () => ({}),
  apply,
});
