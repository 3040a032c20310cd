/**
 * Per-layer bit widths for quantize and cluster: one `bits` for every weighted layer, overridden
 * by layer kind (`convBits` for convolutions, `denseBits` for dense layers) and by name (`layers`).
 * Layers in `skip` stay float32.
 */
import { RecipeError } from '../../core/errors.js';
import type { LayerType, ModelSpec } from '../../models/spec/types.js';
import {
  type CodedTensor,
  type CompressedHeader,
  codedBitsByLayer,
  compressedFiles,
  decodeCompressed,
  type EncodeOptions,
  encodeCompressed,
} from '../compressed-format.js';
import { checkLayerName, readLayerMap, readNumber, readOptionalNumber, readStringList } from '../method.js';
import {
  hasWeights,
  type LayerWeights,
  layerSpecOf,
  type ModelWeights,
  TENSOR_ROLES,
} from '../model-weights.js';

export const CONV_TYPES: readonly LayerType[] = ['conv2d', 'depthwiseConv2d', 'separableConv2d'];

export interface LayerBitsOptions {
  /** Bits per weighted layer that is not skipped. */
  bits: Record<string, number>;
}

export function readLayerBits(
  raw: Readonly<Record<string, unknown>>,
  spec: ModelSpec,
  step: string,
  range: { min: number; max: number },
  fallback: number,
): Record<string, number> {
  const bitsRange = { ...range, integer: true };
  const bits = readNumber(raw, 'bits', step, bitsRange, fallback);
  const convBits = readOptionalNumber(raw, 'convBits', step, bitsRange);
  const denseBits = readOptionalNumber(raw, 'denseBits', step, bitsRange);
  const skip = readStringList(raw, 'skip', step);
  for (const name of skip) checkLayerName(spec, name, 'skip', step);
  const byName: Record<string, number> = {};
  for (const [name, value] of Object.entries(readLayerMap(raw, 'layers', step, 'bit widths'))) {
    checkLayerName(spec, name, 'layers', step);
    if (!hasWeights(layerSpecOf(spec, name).type))
      throw new RecipeError(`${step}: field "layers" names layer "${name}", which has no weights`);
    byName[name] = readNumber({ [`layers.${name}`]: value }, `layers.${name}`, step, bitsRange);
  }
  const out: Record<string, number> = {};
  for (const layer of spec.layers) {
    if (!hasWeights(layer.type) || skip.includes(layer.name)) continue;
    out[layer.name] =
      byName[layer.name] ??
      (CONV_TYPES.includes(layer.type) ? convBits : layer.type === 'dense' ? denseBits : undefined) ??
      bits;
  }
  if (Object.keys(out).length === 0)
    throw new RecipeError(`${step}: no layer left to compress (all in "skip")`);
  return out;
}

/**
 * Output channels of a weight tensor when its output axis is the last one (element i then belongs
 * to channel i % channels); 1 otherwise, so per-channel settings fall back to one per tensor.
 */
export function lastAxisChannels(layer: LayerWeights, tensor: { name: string; shape: number[] }): number {
  const rule = TENSOR_ROLES[layer.type][tensor.name];
  const axis = rule?.outputAxis;
  return axis !== undefined && axis === tensor.shape.length - 1 ? tensor.shape[axis] : 1;
}

/**
 * The spec with, per compressed layer, `weightBits` and the measured `storedWeightBits` (bits of
 * its weight tensors in the compressed file).
 */
export function specWithStoredBits(
  weights: ModelWeights,
  bits: Readonly<Record<string, number>>,
  storedWeightBits: ReadonlyMap<string, number>,
): ModelSpec {
  const spec = structuredClone(weights.spec);
  for (const [name, b] of Object.entries(bits)) {
    const layer = layerSpecOf(spec, name);
    const stored = storedWeightBits.get(name);
    layer.compression = {
      ...(layer.compression ?? {}),
      weightBits: b,
      ...(stored === undefined ? {} : { storedWeightBits: stored }),
    };
  }
  return spec;
}

/**
 * Encodes the coded tensors, decodes the bytes back, and gives the weights the next step receives
 * (the decoded ones, with `weightBits` and the measured `storedWeightBits` in their spec; the file's
 * header carries the same spec) and the files to store.
 */
export function storeCoded(
  weights: ModelWeights,
  coded: ReadonlyMap<string, CodedTensor>,
  bits: Readonly<Record<string, number>>,
  options: EncodeOptions,
  extra?: Record<string, unknown>,
): { weights: ModelWeights; files: Record<string, Uint8Array | string>; header: CompressedHeader } {
  const encoded = encodeCompressed(weights, coded, options, extra);
  const decoded = decodeCompressed(encoded.header, encoded.bin);
  const spec = specWithStoredBits(decoded, bits, codedBitsByLayer(encoded.header));
  encoded.header.spec = spec;
  return { weights: { ...decoded, spec }, files: compressedFiles(encoded), header: encoded.header };
}
