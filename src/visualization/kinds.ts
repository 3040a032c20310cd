/** The plot kinds, apart from their code so the CLI can list them without loading it. */
export const PLOT_KINDS = [
  'history',
  'pareto',
  'parallel-coordinate',
  'slice',
  'contour',
  'intermediate',
  'importance',
  'timeline',
  'layers',
] as const;
export type PlotKind = (typeof PLOT_KINDS)[number];
