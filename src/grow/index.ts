/** Progressive growing: function-preserving Net2Net steps and staged growth schedules. */
export {
  buildNet,
  captureNet,
  type DeepenOptions,
  deepenAfter,
  type GrowableNet,
  type GrowthNoise,
  type WeightArray,
  widenLayer,
} from './net2net.js';
export {
  formatGrowthCurve,
  GROWTH_SCHEDULES,
  type GrowOptions,
  type GrowthResult,
  type GrowthScheduleKind,
  type GrowthStage,
  growNetwork,
  growthTargets,
  hiddenLayers,
} from './schedule.js';
