/**
 * Every compression method by name. A recipe step names one of these; the contract tests
 * (test/compress/contract.test.ts) run over all of them. To add a method: write
 * `methods/<name>.ts` exporting a `defineMethod(...)` object, add its name to `MethodName`
 * and one line to the table (the table's type makes a missing entry a compile error).
 */
import type { CompressionMethod } from './method.js';
import { clusterMethod } from './methods/cluster.js';
import { distillMethod } from './methods/distill.js';
import { huffmanMethod } from './methods/huffman.js';
import { lowRankMethod } from './methods/lowrank.js';
import { globalMagnitudeMethod, magnitudeMethod } from './methods/magnitude.js';
import { quantizeMethod } from './methods/quantize.js';
import { structuredMethod } from './methods/structured.js';

export type MethodName =
  | 'magnitude'
  | 'global'
  | 'structured'
  | 'quantize'
  | 'cluster'
  | 'huffman'
  | 'lowrank'
  | 'distill';

export type CompressionMethods = Readonly<Record<MethodName, CompressionMethod<unknown>>>;

export const registry: CompressionMethods = {
  magnitude: magnitudeMethod,
  global: globalMagnitudeMethod,
  structured: structuredMethod,
  quantize: quantizeMethod,
  cluster: clusterMethod,
  huffman: huffmanMethod,
  lowrank: lowRankMethod,
  distill: distillMethod,
};

export function methodNames(methods: CompressionMethods = registry): MethodName[] {
  return Object.keys(methods) as MethodName[];
}

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(registry, name);
}
