/** Leaving Parsimony: ONNX export of spec + weights models and evaluation of ONNX files or model directories. */
export { type EvaluateOptions, type EvaluationResult, evaluateModel } from './evaluate.js';
export { EXPORT_OPSET, EXPORT_RULES, exportOnnx } from './onnx-export.js';
