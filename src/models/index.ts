export {
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
  initBackend,
} from './backends/index.js';
export {
  analyzeModel,
  countParams,
  type LayerComplexity,
  type ModelComplexity,
} from './complexity/analyze.js';
export {
  type LayerConfig,
  ModelBuilder,
  SequentialBuilder,
  type SqueezeExcitationOptions,
  sequential,
  squeezeExcitation,
} from './spec/builder.js';
export { LAYER_TYPES } from './spec/layers/index.js';
export { modelSpecSchema } from './spec/schema.js';
export type {
  Activation,
  CompressionSpec,
  InputSpec,
  LayerSpec,
  LayerType,
  ModelSpec,
  SpecOf,
  WeightInit,
} from './spec/types.js';
export { MODEL_FORMAT, MODEL_FORMAT_VERSION, WEIGHT_INITS } from './spec/types.js';
export { inferShapes, parseModelSpec } from './spec/validate.js';
export { ZOO, type ZooEntry, zooModel, zooModelFromReference } from './zoo/index.js';
