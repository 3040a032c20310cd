export { analyzeDynamicModel, type DynamicComplexity, type DynamicVariant } from './analyze.js';
export {
  applyTemperature,
  calibrateStages,
  expectedCalibrationError,
  fitTemperature,
  negativeLogLikelihood,
  type StageCalibration,
} from './calibration.js';
export { type CascadeMember, type CascadePrediction, ModelCascade } from './cascade.js';
export {
  DEFAULT_GRADIENT_SCALE,
  EarlyExitNetwork,
  type EarlyExitPrediction,
  withExitHeads,
} from './early-exit.js';
export {
  chooseThreshold,
  DEFAULT_THRESHOLDS,
  type ExitPoint,
  exitCurve,
  type StageOutputs,
  type ThresholdChoice,
} from './exits.js';
export {
  type CascadeSpec,
  DYNAMIC_FILE,
  DYNAMIC_FORMAT,
  type DynamicModelSpec,
  type EarlyExitSpec,
  parseDynamicSpec,
  readDynamicSpec,
  type SlimmableSpec,
} from './format.js';
export {
  DEFAULT_WIDTHS,
  type SandwichOptions,
  SlimmableNetwork,
  specAtWidth,
  type WidthResult,
} from './slimmable.js';
