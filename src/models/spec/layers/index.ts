/**
 * LAYER_KINDS: the spec facet of every layer type (its fields, output shape and cost), which the
 * validator and the analyzer look up. Typed by `LayerType`, so a layer type without an entry does
 * not compile (see `LayerType` in ../types.ts for the other tables).
 */
import type { LayerSpec, LayerType, SpecOf } from '../types.js';
import { multiHeadAttentionKind } from './attention.js';
import { conv2dKind, depthwiseConv2dKind, separableConv2dKind } from './convolution.js';
import { denseKind } from './dense.js';
import { embeddingKind } from './embedding.js';
import { mixtureOfExpertsKind } from './experts.js';
import type { LayerKind } from './kind.js';
import { addKind, concatKind, multiplyKind } from './merge.js';
import { batchNormKind, layerNormKind } from './normalization.js';
import {
  avgPool2dKind,
  globalAvgPool1dKind,
  globalAvgPool2dKind,
  globalMaxPool2dKind,
  maxPool2dKind,
  zeroPadding2dKind,
} from './pooling.js';
import { gruKind, lstmKind } from './recurrent.js';
import { activationKind, dropoutKind, flattenKind, reshapeKind } from './shape.js';

export const LAYER_KINDS: { readonly [T in LayerType]: LayerKind<SpecOf<T>> } = {
  dense: denseKind,
  conv2d: conv2dKind,
  depthwiseConv2d: depthwiseConv2dKind,
  separableConv2d: separableConv2dKind,
  maxPool2d: maxPool2dKind,
  avgPool2d: avgPool2dKind,
  globalAvgPool2d: globalAvgPool2dKind,
  globalMaxPool2d: globalMaxPool2dKind,
  globalAvgPool1d: globalAvgPool1dKind,
  zeroPadding2d: zeroPadding2dKind,
  batchNorm: batchNormKind,
  layerNorm: layerNormKind,
  dropout: dropoutKind,
  flatten: flattenKind,
  reshape: reshapeKind,
  activation: activationKind,
  add: addKind,
  multiply: multiplyKind,
  concat: concatKind,
  embedding: embeddingKind,
  lstm: lstmKind,
  gru: gruKind,
  multiHeadAttention: multiHeadAttentionKind,
  mixtureOfExperts: mixtureOfExpertsKind,
};

export const LAYER_TYPES = Object.keys(LAYER_KINDS) as readonly LayerType[];

/** True for a known layer type (own keys only: untrusted JSON may name `toString`). */
export function isLayerType(type: unknown): type is LayerType {
  return typeof type === 'string' && Object.hasOwn(LAYER_KINDS, type);
}

/** The kind of a known layer type, typed for any spec (the table is checked per type above). */
export function layerKind(type: LayerType): LayerKind<LayerSpec> {
  return LAYER_KINDS[type] as unknown as LayerKind<LayerSpec>;
}

export type { LayerCost, LayerKind, Shape } from './kind.js';
