/** ONNX: reading and writing model files, analysing their graphs, (exporting and evaluating live in src/deploy). */
export {
  analyzeOnnxFile,
  analyzeOnnxGraph,
  type OnnxModelComplexity,
  type OnnxNodeComplexity,
} from './analyze.js';
export { type OnnxGraph, readGraph, SUPPORTED_OPSETS } from './graph.js';
export { type OnnxModelFile, readOnnxFile, writeOnnxFile } from './model-file.js';
