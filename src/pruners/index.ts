/** Pruners: decide from intermediate values whether a running trial should stop. */
export {
  HyperbandPruner,
  type HyperbandPrunerOptions,
} from './hyperband.js';
export {
  ParetoSuccessiveHalvingPruner,
  type ParetoSuccessiveHalvingPrunerOptions,
} from './pareto-successive-halving.js';
export { PatientPruner, type PatientPrunerOptions } from './patient.js';
export { MedianPruner, PercentilePruner, type PercentilePrunerOptions } from './percentile.js';
export { NopPruner, type Pruner } from './pruner.js';
export { SuccessiveHalvingPruner, type SuccessiveHalvingPrunerOptions } from './successive-halving.js';
export { ThresholdPruner, type ThresholdPrunerOptions } from './threshold.js';
export {
  WilcoxonPruner,
  type WilcoxonPrunerOptions,
  type WilcoxonTestResult,
  wilcoxonSignedRankTest,
} from './wilcoxon.js';
