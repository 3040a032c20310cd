/**
 * Plot data computed from frozen trials, apart from any drawing (as `optuna.visualization` does),
 * so notebooks, reports, the CLI's `plot` and the dashboard show the same figures.
 */
export {
  axisValue,
  COMPLEXITY_ATTRS,
  completedTrials,
  isFeasibleTrial,
  type Measure,
  type ParamAxis,
  paramAxes,
  parseMeasure,
} from './common.js';
export * from './compression.js';
export { type ContourData, getContourData } from './contour.js';
export { type EchartsOption, echartsOptions } from './echarts.js';
export { getHistoryData, type HistoryData, type HistoryPoint } from './history.js';
export { type HtmlSection, renderHtmlDocument } from './html.js';
export {
  getImportanceData,
  IMPORTANCE_METHODS,
  type ImportanceData,
  type ImportanceMethod,
  type ImportanceOptions,
} from './importance.js';
export { getIntermediateData, type IntermediateCurve, type IntermediateData } from './intermediate.js';
export {
  findModelSpec,
  getLayerComplexityData,
  type LayerComplexityData,
  MODEL_SPEC_ATTRS,
} from './layers.js';
export { getParallelCoordinateData, type ParallelData, type ParallelDimension } from './parallel.js';
export { defaultParetoAxes, getParetoData, type ParetoData, type ParetoPoint } from './pareto.js';
export {
  checkPlotKind,
  computePlot,
  PLOT_KINDS,
  type PlotData,
  type PlotKind,
  type PlotOptions,
  plotPanels,
} from './plots.js';
export { getSliceData, type SliceData, type SlicePanel } from './slice.js';
export { getStudySummaryData, type StudySummaryData } from './summary.js';
export { type AnyPanel, type Panel, renderSvg } from './svg.js';
export { getTimelineData, type TimelineBar, type TimelineData } from './timeline.js';
