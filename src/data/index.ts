/** The data module: datasets, loaders, the registry of named datasets, splits and scalers. */
export { type CsvOptions, type CsvTable, loadCsv, loadCsvTable, parseCsv, parseCsvTable } from './csv.js';
export {
  classCounts,
  createDataset,
  type Dataset,
  type DatasetBundle,
  type DatasetInit,
  type Provenance,
  subset,
  withData,
} from './dataset.js';
export { DIGITS_CLASSES, DIGITS_PATH, DIGITS_PROVENANCE, loadDigits } from './digits.js';
export {
  type DownloadResult,
  defaultFashionMnistCacheDir,
  downloadFashionMnist,
  FASHION_MNIST_BASE_URL,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  FASHION_MNIST_PROVENANCE,
  FASHION_MNIST_SYSTEM_DIR,
  type FashionMnistFile,
  type FashionMnistFileKey,
  type FashionMnistOptions,
  type FetchLike,
  fashionMnistFile,
  fashionMnistSearchDirs,
  findFashionMnist,
  idxPayloadSha256,
  loadFashionMnist,
} from './fashion-mnist.js';
export {
  encodeIdx,
  type IdxArray,
  type IdxData,
  type IdxDType,
  idxToFloat32,
  isGzip,
  parseIdx,
  readIdxFile,
  readIdxFileAsync,
} from './idx.js';
export {
  BUILTIN_DATASET_NAMES,
  CSV_PREFIX,
  type DatasetInfo,
  type LoadDatasetOptions,
  listDatasets,
  loadDataset,
} from './registry.js';
export {
  applyTablePreparation,
  type ColumnPreparation,
  checkPreparation,
  fitTablePreparation,
  isMissing,
  MISSING_TOKENS,
  PREPARATION_FILE,
  parsePreparation,
  prepareTableSplits,
  readPreparation,
  serializePreparation,
  type TablePreparation,
  type TablePreparationOptions,
  writePreparation,
} from './table-preparation.js';
export {
  type DataSplits,
  fitMinMaxScaler,
  fitStandardScaler,
  oneHot,
  Scaler,
  type ScalerConfig,
  type SplitOptions,
  splitBundle,
  trainValTestSplit,
} from './transforms.js';
