/** What an AutoML output directory holds: one list, read by the run and by `predict`. */
export const AUTOML_FILES = {
  study: 'study.db',
  trials: 'trials',
  best: 'best',
  ensemble: 'ensemble',
  report: 'report.json',
} as const;
