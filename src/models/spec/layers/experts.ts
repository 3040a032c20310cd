/**
 * Gated mixture of experts over the last axis. Parameters: the gate ([d, experts] and its bias)
 * and every expert's dense weights ([d, units] and bias each). The static cost computes every
 * expert; the active cost per sample is the gate plus `topK` experts, what a sparse dispatch runs.
 */
import { ACTIVATIONS, type MixtureOfExpertsSpec } from '../types.js';
import {
  boolean,
  formatShape,
  type LayerKind,
  nonNegativeNumber,
  oneOf,
  optional,
  positiveInt,
  product,
  required,
} from './kind.js';

function parts(spec: MixtureOfExpertsSpec, input: readonly number[]) {
  const d = input[input.length - 1];
  const bias = spec.useBias === false ? 0 : 1;
  return {
    positions: product(input.slice(0, -1)),
    gateWeights: d * spec.experts,
    gateBiases: spec.experts,
    expertWeights: d * spec.units,
    expertBiases: bias * spec.units,
    topK: spec.topK ?? 1,
  };
}

export const mixtureOfExpertsKind: LayerKind<MixtureOfExpertsSpec> = {
  type: 'mixtureOfExperts',
  arity: [1, 1],
  fields: {
    experts: required(positiveInt),
    units: required(positiveInt),
    topK: optional(positiveInt),
    activation: optional(oneOf(ACTIVATIONS)),
    useBias: optional(boolean),
    balanceWeight: optional(nonNegativeNumber),
    gateNoise: optional(nonNegativeNumber),
  },
  outputShape(spec, [input], fail) {
    if (input.length === 0) fail(`mixtureOfExperts needs at least one axis, got ${formatShape(input)}`);
    if ((spec.topK ?? 1) > spec.experts) fail(`topK ${spec.topK} is more than the ${spec.experts} experts`);
    return [...input.slice(0, -1), spec.units];
  },
  cost(spec, [input]) {
    const p = parts(spec, input);
    const weights = p.gateWeights + spec.experts * p.expertWeights;
    return {
      weights,
      biases: p.gateBiases + spec.experts * p.expertBiases,
      otherLearned: 0,
      state: 0,
      macs: p.positions * weights,
      connections: p.positions * weights,
    };
  },
  activeCost(spec, [input]) {
    const p = parts(spec, input);
    return {
      params: p.gateWeights + p.gateBiases + p.topK * (p.expertWeights + p.expertBiases),
      macs: p.positions * (p.gateWeights + p.topK * p.expertWeights),
    };
  },
};
