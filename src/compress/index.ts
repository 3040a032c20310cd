export * from './fine-tune.js';
export * from './method.js';
export * from './model-weights.js';
export * from './pipeline.js';
export * from './registry.js';
export * from './report.js';
export * from './store.js';
