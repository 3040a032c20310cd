export { type CsvOptions, loadCsv, parseCsv } from './csv.js';
export {
  classCounts,
  createDataset,
  type Dataset,
  type DatasetBundle,
  type DatasetInit,
  type Provenance,
  subset,
} from './dataset.js';
export { DIGITS_PATH, loadDigits } from './digits.js';
export {
  downloadFashionMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  type FashionMnistOptions,
  findFashionMnist,
  loadFashionMnist,
  payloadSha256,
} from './fashion-mnist.js';
export { encodeIdx, type IdxArray, parseIdx, readIdxFile } from './idx.js';
export { type DatasetInfo, type LoadDatasetOptions, listDatasets, loadDataset } from './registry.js';
export {
  type DataSplits,
  fitMinMaxScaler,
  fitStandardScaler,
  oneHot,
  Scaler,
  type ScalerConfig,
  type SplitOptions,
  trainValTestSplit,
} from './transforms.js';
