/** AutoML: from a data file to a small, good, saved model within a wall-clock budget; prediction with it. */
export {
  AUTOML_FILES,
  type AutomlChoice,
  type AutomlChoiceSide,
  type AutomlEnsemble,
  type AutomlFrontRow,
  type AutomlOptions,
  type AutomlProgress,
  type AutomlResult,
  chooseAutomlModel,
  readAutomlReport,
  runAutoml,
} from './automl.js';
export { developmentRows } from './cross-validated-trial.js';
export { type AutomlSource, type ImageShape, parseImageShape, parseSource } from './data.js';
export {
  ENSEMBLE_FILE,
  type EnsembleCandidate,
  type EnsembleFile,
  type EnsembleSelection,
  readEnsemble,
  saveEnsemble,
  selectEnsemble,
} from './ensemble.js';
export {
  chosenModelDir,
  type Predictions,
  predictCsv,
  predictionsCsv,
  readPipeline,
} from './predict.js';
export { smallestImageNetwork, smallestTableNetwork, suggestTablePreparation } from './space.js';
