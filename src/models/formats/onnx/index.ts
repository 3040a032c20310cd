/** ONNX: reading and writing model files, analysing their graphs, exporting Parsimony models, evaluating. */
export {
  analyzeOnnxFile,
  analyzeOnnxGraph,
  type OnnxModelComplexity,
  type OnnxNodeComplexity,
} from './analyze.js';
export { type EvaluateOptions, type EvaluationResult, evaluateModel } from './evaluate.js';
export { EXPORT_OPSET, EXPORT_RULES, exportOnnx } from './export.js';
export { type OnnxGraph, readGraph, SUPPORTED_OPSETS } from './graph.js';
export { type OnnxModelFile, readOnnxFile, writeOnnxFile } from './model-file.js';
