/** Pruners: decide from intermediate values whether a running trial should stop. */

export type { Pruner } from '../core/pruner.js';
export {
  HyperbandPruner,
  type HyperbandPrunerOptions,
} from './hyperband.js';
export { NopPruner } from './nop.js';
export {
  ParetoSuccessiveHalvingPruner,
  type ParetoSuccessiveHalvingPrunerOptions,
} from './pareto-successive-halving.js';
export { PatientPruner, type PatientPrunerOptions } from './patient.js';
export { MedianPruner, PercentilePruner, type PercentilePrunerOptions } from './percentile.js';
export { SuccessiveHalvingPruner, type SuccessiveHalvingPrunerOptions } from './successive-halving.js';
export { ThresholdPruner, type ThresholdPrunerOptions } from './threshold.js';
export {
  WilcoxonPruner,
  type WilcoxonPrunerOptions,
  type WilcoxonTestResult,
  wilcoxonSignedRankTest,
} from './wilcoxon.js';
