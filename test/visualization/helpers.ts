/** Hand-made frozen trials for the plot-data tests. */
import {
  CategoricalDistribution,
  type Distribution,
  FloatDistribution,
  type ParamValue,
} from '../../src/core/distributions.js';
import { type FrozenTrial, freezeTrial, type TrialState } from '../../src/core/frozen-trial.js';

export interface TrialInput {
  number: number;
  state?: TrialState;
  values?: number[] | null;
  params?: Record<string, ParamValue>;
  distributions?: Record<string, Distribution>;
  userAttrs?: Record<string, unknown>;
  systemAttrs?: Record<string, unknown>;
  intermediate?: Record<number, number>;
  start?: number;
  end?: number | null;
}

export const X_DIST = new FloatDistribution(0, 10);
export const LR_DIST = new FloatDistribution(1e-4, 1, { log: true });
export const OPT_DIST = new CategoricalDistribution(['adam', 'sgd']);

export function trial(input: TrialInput): FrozenTrial {
  const params = input.params ?? {};
  const distributions: Record<string, Distribution> = input.distributions ?? {};
  for (const name of Object.keys(params))
    if (!(name in distributions))
      distributions[name] = name === 'lr' ? LR_DIST : name === 'optimizer' ? OPT_DIST : X_DIST;
  const state = input.state ?? 'COMPLETE';
  const start = input.start ?? 1_000_000 + input.number * 1000;
  const end = input.end === undefined ? start + 500 : input.end;
  return freezeTrial({
    trialId: 100 + input.number,
    number: input.number,
    state,
    values: input.values === undefined ? (state === 'COMPLETE' ? [input.number] : null) : input.values,
    params,
    distributions,
    userAttrs: input.userAttrs ?? {},
    systemAttrs: input.systemAttrs ?? {},
    intermediateValues: input.intermediate ?? {},
    datetimeStart: new Date(start),
    datetimeComplete: end === null ? null : new Date(end),
  });
}
