/** ONNX: reading and writing model files, and analysing their graphs. */
export {
  analyzeOnnxFile,
  analyzeOnnxGraph,
  type OnnxModelComplexity,
  type OnnxNodeComplexity,
} from './analyze.js';
export { type OnnxGraph, readGraph, SUPPORTED_OPSETS } from './graph.js';
export { type OnnxModelFile, readOnnxFile, writeOnnxFile } from './model-file.js';
