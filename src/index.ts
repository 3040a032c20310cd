/** The public API of Parsimony. Everything a user imports comes from here, named explicitly. */

export * from './adapt/index.js';
export {
  type AutomlOptions,
  type AutomlResult,
  predictCsv,
  predictionsCsv,
  runAutoml,
  selectEnsemble,
} from './automl/index.js';
export { compressModel } from './compress/compress.js';
export { compressionData } from './compress/data.js';
export { type DistillationSettings, distillationLoss } from './compress/distill/loss.js';
export {
  type DistillationStudyOptions,
  type DistillationStudyResult,
  distillationStudy,
} from './compress/distill/study.js';
export {
  analyzeChannels,
  type ChannelAnalysis,
  type CompressionData,
  type CompressionMethod,
  type CompressionReport,
  costOf,
  loadCompressed,
  loadModelWeights,
  type ModelWeights,
  type Recipe,
  type ReportRow,
  readCompressedModel,
  readRecipe,
  registry as compressionMethods,
  runPipeline,
  saveModelWeights,
  validateRecipe,
  writeCompressedModel,
} from './compress/index.js';
export { type LowRankOptions, planLowRank } from './compress/lowrank/plan.js';
export { type Factorisation, factoriseSpec } from './compress/lowrank/rewrite.js';
export {
  type CategoricalChoice,
  CategoricalDistribution,
  type Distribution,
  type DistributionConfig,
  distributionFromConfig,
  FloatDistribution,
  IntDistribution,
  type ParamValue,
} from './core/distributions.js';
export {
  DataError,
  type ErrorCode,
  FileNotFoundError,
  InvalidArgumentError,
  isParsimonyError,
  ModelSpecError,
  OnnxError,
  ParsimonyError,
  TrialPruned,
  UsageError,
} from './core/errors.js';
export {
  type FrozenTrial,
  type IntermediateValue,
  type StudyDirection,
  TrialState,
} from './core/frozen-trial.js';
export { dominates, hypervolume, nonDominatedRanks, paretoFrontIndices } from './core/multi-objective.js';
export { Random } from './core/random.js';
export type { Sampler, SearchSpace } from './core/sampler.js';
export type { Storage, StudySummary } from './core/storage.js';
export {
  type HeartbeatOptions,
  type Objective,
  type OptimizeOptions,
  Study,
  type TellInput,
} from './core/study.js';
export type { StudyView } from './core/study-view.js';
export { Trial } from './core/trial.js';
export {
  applyTablePreparation,
  type CsvTable,
  type DataSplits,
  type Dataset,
  type DatasetBundle,
  type DatasetInfo,
  type FeaturePipeline,
  fitFeatureSteps,
  fitMinMaxScaler,
  fitStandardScaler,
  fitTablePreparation,
  listDatasets,
  loadCsv,
  loadCsvTable,
  loadDataset,
  loadDatasetSplits,
  loadDigits,
  loadFashionMnist,
  oneHot,
  parseCsvTable,
  prepareTableSplits,
  readIdxFile,
  readPreparation,
  Scaler,
  splitBundle,
  type TablePreparation,
  trainValTestSplit,
  transformDataset,
  writePreparation,
} from './data/index.js';
export { type EvaluationResult, evaluateModel, exportOnnx } from './deploy/index.js';
export * from './dynamic/index.js';
export {
  type ChooseDepthOptions,
  type CrossValidateOptions,
  type CrossValidationResult,
  type CurveVerdict,
  checkFolds,
  chooseDepth,
  crossValidate,
  crossValidateTable,
  type DepthChoice,
  type DepthScore,
  type FitVerdict,
  type FoldResult,
  type FoldTrainingOptions,
  type LearningCurveOptions,
  type LearningCurvePoint,
  type LearningCurveResult,
  learningCurve,
  learningCurveVerdict,
  mlpOfDepth,
  oneStandardErrorChoice,
  stratifiedFolds,
  trainAndScore,
  type VerdictOptions,
  withHiddenDepth,
} from './evaluate/index.js';
export {
  buildNet,
  captureNet,
  type DeepenOptions,
  deepenAfter,
  formatGrowthCurve,
  GROWTH_SCHEDULES,
  type GrowableNet,
  type GrowOptions,
  type GrowthResult,
  type GrowthScheduleKind,
  type GrowthStage,
  growNetwork,
  growthTargets,
  widenLayer,
} from './grow/index.js';
export { initBackend } from './models/backends/index.js';
export {
  analyzeOnnxFile,
  type OnnxModelComplexity,
  type OnnxNodeComplexity,
  readOnnxFile,
  writeOnnxFile,
} from './models/formats/onnx/index.js';
export {
  analyzeModel,
  countParams,
  inferShapes,
  type LayerComplexity,
  type LayerSpec,
  type LayerType,
  ModelBuilder,
  type ModelComplexity,
  type ModelSpec,
  modelSpecSchema,
  parseModelSpec,
  type SpecOf,
  type SqueezeExcitationOptions,
  sequential,
  squeezeExcitation,
  WEIGHT_INITS,
  type WeightInit,
  ZOO,
  zooModel,
} from './models/index.js';
export { buildTfjsModel } from './models/tfjs/build.js';
export { loadModel, saveModel } from './models/tfjs/save.js';
export {
  HyperbandPruner,
  type HyperbandPrunerOptions,
  MedianPruner,
  NopPruner,
  ParetoSuccessiveHalvingPruner,
  type ParetoSuccessiveHalvingPrunerOptions,
  PatientPruner,
  type PatientPrunerOptions,
  PercentilePruner,
  type PercentilePrunerOptions,
  type Pruner,
  SuccessiveHalvingPruner,
  type SuccessiveHalvingPrunerOptions,
  ThresholdPruner,
  type ThresholdPrunerOptions,
  WilcoxonPruner,
  type WilcoxonPrunerOptions,
} from './pruners/index.js';
export {
  type ThreadObjective,
  type ThreadObjectiveOptions,
  threadObjective,
} from './run/thread-objective.js';
export {
  AgingEvolutionSampler,
  type AgingEvolutionSamplerOptions,
  type Mutation,
} from './samplers/aging-evolution.js';
export { CmaEsSampler, type CmaEsSamplerOptions } from './samplers/cmaes/cmaes-sampler.js';
export { GPSampler, type GPSamplerOptions } from './samplers/gp/gp-sampler.js';
export { GridSampler, type GridSamplerOptions } from './samplers/grid.js';
export { NSGAIISampler, type NSGAIISamplerOptions } from './samplers/nsga2/nsga2-sampler.js';
export { PartialFixedSampler } from './samplers/partial-fixed.js';
export { QMCSampler, type QMCSamplerOptions } from './samplers/qmc/qmc-sampler.js';
export { RandomSampler, type RandomSamplerOptions } from './samplers/random.js';
export { ReinforceSampler, type ReinforceSamplerOptions } from './samplers/reinforce.js';
export {
  TPESampler,
  type TPESamplerOptions,
  type TpePrior,
  type TpePriorStudy,
} from './samplers/tpe/tpe-sampler.js';
export {
  DARTS_OPS,
  type DartsCell,
  type DartsEdge,
  type DartsEpoch,
  type DartsNetworkOptions,
  type DartsOp,
  type DartsSearchOptions,
  type DartsSearchResult,
  dartsCellSpec,
  dartsEdges,
  dartsImageData,
  dartsSearch,
  deriveCell,
  formatCell,
  formatMixingWeights,
  randomCell,
  retrainCell,
} from './search/darts.js';
export {
  checkBudget,
  IMAGE_ATTRS,
  IMAGE_BLOCKS,
  type ImageBlock,
  type ImageSpaceOptions,
  type ImageSpaceTrial,
  imageSpace,
  OverBudget,
} from './search/image-space.js';
export {
  runSizeSearch,
  type SizeSearchOptions,
  type SizeSearchResult,
  type SizeSearchRow,
} from './search/size-search.js';
export {
  suggestTabularLayers,
  TABULAR_ACTIVATIONS,
  TABULAR_NORMS,
  type TabularLayer,
  type TabularNorm,
  type TabularSpaceOptions,
  tabularSpace,
  tabularSpec,
} from './search/tabular-space.js';
export { type CopyStudyOptions, copyStudy } from './storage/copy.js';
export { type ExportFormat, exportTrials } from './storage/export.js';
export { createStorage } from './storage/factory.js';
export { InMemoryStorage } from './storage/memory.js';
export { openStudyReader, type StudyInfo, type StudyReader } from './storage/study-reader.js';
export { type CreateStudyOptions, createStudy, type LoadStudyOptions, loadStudy } from './study/create.js';
export {
  EarlyStopping,
  type EarlyStoppingOptions,
  type EarlyStoppingUpdate,
} from './train/early-stopping.js';
export {
  type AugmentationConfig,
  type EpochMetrics,
  evaluate,
  type OptimizerConfig,
  type ScheduleConfig,
  type TrainingData,
  type TrainingHooks,
  type TrainOptions,
  type TrainResult,
  trainingData,
  trainModel,
} from './train/index.js';
export {
  type CompressionReportData,
  compressionEcharts,
  compressionPanels,
  computePlot,
  echartsOptions,
  getCompressionReportData,
  getContourData,
  getHistoryData,
  getImportanceData,
  getIntermediateData,
  getLayerComplexityData,
  getParallelCoordinateData,
  getParetoData,
  getSliceData,
  getStudySummaryData,
  getTimelineData,
  IMPORTANCE_METHODS,
  type ImportanceMethod,
  PLOT_KINDS,
  type PlotData,
  type PlotKind,
  type PlotOptions,
  plotPanels,
  readCompressionReport,
  renderHtmlDocument,
  renderSvg,
} from './visualization/index.js';
