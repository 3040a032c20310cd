export { type AugmentationConfig, augmentBatch } from './augment.js';
export { EarlyStopping, type EarlyStoppingOptions, type EarlyStoppingUpdate } from './early-stopping.js';
export {
  createOptimizer,
  type OptimizerConfig,
  type OptimizerState,
  type TrainingOptimizer,
} from './optimizers.js';
export {
  PlateauReducer,
  type ScheduleConfig,
  scheduledLearningRate,
  type WarmupConfig,
  warmupFactor,
} from './schedules.js';
export {
  type EpochMetrics,
  evaluate,
  type RegularizationConfig,
  type ReportingTrial,
  type TrainingData,
  type TrainingHooks,
  type TrainOptions,
  type TrainResult,
  trainingData,
  trainModel,
} from './trainer.js';
