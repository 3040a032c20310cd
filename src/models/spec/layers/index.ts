/** The one place that lists every layer type; the validator and the analyzer look kinds up here. */
import type { LayerSpec, LayerType } from '../types.js';
import { multiHeadAttentionKind } from './attention.js';
import { conv2dKind, depthwiseConv2dKind, separableConv2dKind } from './convolution.js';
import { denseKind } from './dense.js';
import { embeddingKind } from './embedding.js';
import type { LayerKind } from './kind.js';
import { addKind, concatKind } from './merge.js';
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

const KINDS: readonly LayerKind<never>[] = [
  denseKind,
  conv2dKind,
  depthwiseConv2dKind,
  separableConv2dKind,
  maxPool2dKind,
  avgPool2dKind,
  globalAvgPool2dKind,
  globalMaxPool2dKind,
  globalAvgPool1dKind,
  zeroPadding2dKind,
  batchNormKind,
  layerNormKind,
  dropoutKind,
  flattenKind,
  reshapeKind,
  activationKind,
  addKind,
  concatKind,
  embeddingKind,
  lstmKind,
  gruKind,
  multiHeadAttentionKind,
] as unknown as LayerKind<never>[];

const BY_TYPE = new Map<string, LayerKind>(KINDS.map((k) => [k.type, k as unknown as LayerKind]));

export const LAYER_TYPES: readonly LayerType[] = KINDS.map((k) => k.type as LayerType);

export function layerKind<S extends LayerSpec>(type: S['type']): LayerKind<S> | undefined {
  return BY_TYPE.get(type) as LayerKind<S> | undefined;
}

export type { LayerCost, LayerKind, Shape } from './kind.js';
