/**
 * `parsimony cv <spec|zoo:name|mlp> --dataset D [--folds 5] [--depths 1,2,3] [--learning-curve] [--json]`:
 * stratified k-fold cross-validation of a model (mean and standard deviation of accuracy), the
 * choice of the number of hidden layers by CV with the one-standard-error rule (`--depths`), and a
 * learning curve with its under-/overfitting verdict (`--learning-curve`). A dataset's fixed test
 * part is never used: CV runs on its training part.
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type {
  CrossValidationResult,
  DepthChoice,
  LearningCurveResult,
} from '../../evaluate/cross-validation.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { parseIntegerOption, parsePositiveNumberOption } from '../options.js';
import type { CommandIO } from '../output.js';
import { readModel } from './analyze.js';

interface CvCommandOptions {
  dataset: string;
  folds: number;
  depths?: number[];
  learningCurve?: boolean;
  fractions: number[];
  epochs: number;
  units: number;
  learningRate: number;
  seed: number;
  json?: boolean;
}

function parseList(flag: string, parse: (v: string) => number) {
  return (value: string): number[] => {
    const items = value.split(',').map((s) => s.trim());
    if (items.length === 0 || items.some((s) => s === ''))
      throw new UsageError(`${flag} must be a comma-separated list, got "${value}"`);
    return items.map(parse);
  };
}

function parseFraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new UsageError(`--fractions: ${value} is not in (0, 1]`);
  return n;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function formatCv(label: string, cv: CrossValidationResult): string {
  const folds = cv.folds.map((f) => pct(f.validationAccuracy)).join(' ');
  return `${label}: validation accuracy ${pct(cv.mean)} ± ${pct(cv.std)} (sd; se ${pct(cv.standardError)}), training ${pct(cv.meanTrainAccuracy)}; folds: ${folds}`;
}

export function registerCvCommand(program: Command, io: CommandIO): void {
  program
    .command('cv')
    .description(
      'stratified k-fold cross-validation of a model; choose the number of hidden layers (one-standard-error rule) and draw a learning curve',
    )
    .argument('<model>', 'a Parsimony spec file, zoo:<name>, or mlp (dense layers of --units)')
    .requiredOption('--dataset <name>', 'a built-in dataset or csv:<path> (see `parsimony datasets`)')
    .option(
      '--folds <k>',
      'number of folds (at most the smallest class count)',
      parseIntegerOption('--folds'),
      5,
    )
    .option(
      '--depths <list>',
      'compare these numbers of hidden layers, e.g. 1,2,3 (mlp, or a spec of dense layers)',
      parseList('--depths', parseIntegerOption('--depths', 0)),
    )
    .option('--learning-curve', 'also train on growing fractions of the data and judge under-/overfitting')
    .option(
      '--fractions <list>',
      'training-set fractions of the learning curve',
      parseList('--fractions', parseFraction),
      [0.1, 0.25, 0.5, 0.75, 1],
    )
    .option('--epochs <n>', 'training epochs per model', parseIntegerOption('--epochs', 1), 10)
    .option('--units <n>', 'units per hidden layer of mlp', parseIntegerOption('--units', 1), 64)
    .option('--learning-rate <lr>', 'Adam learning rate', parsePositiveNumberOption('--learning-rate'), 0.01)
    .option(
      '--seed <n>',
      'seed of the folds, initialisation and shuffling',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option('--json', 'print the results as JSON')
    .action(async (model: string, options: CvCommandOptions) => {
      const result = await runCv(model, options, options.json ? undefined : io);
      if (options.json) io.stdout(JSON.stringify(result, null, 2));
    });
}

export interface CvRunResult {
  model: string;
  dataset: string;
  folds: number;
  crossValidation?: CrossValidationResult;
  depth?: Omit<DepthChoice, 'results'> & {
    results: { depth: number; mean: number; std: number; standardError: number }[];
  };
  learningCurve?: LearningCurveResult;
}

/** Runs the command; with `io`, prints progress and results as text as they come. */
export async function runCv(
  modelRef: string,
  options: Omit<CvCommandOptions, 'json'>,
  io?: CommandIO,
): Promise<CvRunResult> {
  const { CSV_PREFIX, loadDataset } = await import('../../data/registry.js');
  const evaluate = await import('../../evaluate/cross-validation.js');
  if (options.dataset.trim().toLowerCase().startsWith(CSV_PREFIX)) {
    const tableResult = await runCvOnTable(modelRef, options, io);
    if (tableResult) return tableResult;
  }
  const data = (await loadDataset(options.dataset)).train;
  // Bad fold counts fail before any model is read or trained.
  evaluate.checkFolds(options.folds, data.labels, data.classNames);
  const classes = data.classNames.length;
  const mlp = modelRef === 'mlp';
  const spec: ModelSpec | undefined = mlp ? undefined : await readModel(modelRef);
  const specOfDepth = (depth: number): ModelSpec =>
    spec
      ? evaluate.withHiddenDepth(spec, depth)
      : evaluate.mlpOfDepth(data.featureShape, classes, depth, { units: options.units });
  // Check every variant's shape against the data before training anything.
  const variants = options.depths ?? [];
  for (const d of variants) specOfDepth(d);
  const base = spec ?? evaluate.mlpOfDepth(data.featureShape, classes, 2, { units: options.units });
  const { initBackend } = await import('../../models/backends/index.js');
  await initBackend();
  const training = {
    folds: options.folds,
    epochs: options.epochs,
    seed: options.seed,
    optimizer: { type: 'adam' as const, learningRate: options.learningRate },
  };
  const result: CvRunResult = { model: modelRef, dataset: options.dataset, folds: options.folds };
  if (variants.length > 0) {
    const choice = await evaluate.chooseDepth(specOfDepth, data, {
      ...training,
      depths: variants,
      onDepth: (depth, cv) => io?.stdout(formatCv(`depth ${depth}`, cv)),
    });
    result.depth = {
      depth: choice.depth,
      bestDepth: choice.bestDepth,
      threshold: choice.threshold,
      results: choice.results.map((r) => ({
        depth: r.depth,
        mean: r.cv.mean,
        std: r.cv.std,
        standardError: r.cv.standardError,
      })),
    };
    io?.stdout(
      `chosen depth: ${choice.depth} (best mean at depth ${choice.bestDepth}; one-standard-error threshold ${pct(choice.threshold)})`,
    );
  } else {
    result.crossValidation = await evaluate.crossValidate(base, data, training);
    io?.stdout(formatCv(`${options.folds}-fold CV of ${base.name ?? modelRef}`, result.crossValidation));
  }
  if (options.learningCurve) {
    const curveSpec = result.depth ? specOfDepth(result.depth.depth) : base;
    io?.stdout(`learning curve of ${curveSpec.name ?? modelRef}:`);
    io?.stdout('fraction  samples  train     validation');
    result.learningCurve = await evaluate.learningCurve(curveSpec, data, {
      ...training,
      fractions: options.fractions,
      onPoint: (p) =>
        io?.stdout(
          `${p.fraction.toFixed(2).padStart(8)}  ${String(p.trainSize).padStart(7)}  ${pct(p.trainAccuracy).padStart(8)}  ${pct(p.validationAccuracy).padStart(10)}`,
        ),
    });
    const v = result.learningCurve.verdict;
    io?.stdout(
      `verdict: ${v.verdict} — ${v.reason}${v.stillRising ? '; validation accuracy still rising: more data would likely help' : ''}`,
    );
  }
  return result;
}

/**
 * A CSV with categorical columns or missing cells: cross-validates an mlp with the table
 * preparation fitted inside each fold. Returns undefined when every cell is a number (the
 * ordinary path handles it).
 */
async function runCvOnTable(
  modelRef: string,
  options: Omit<CvCommandOptions, 'json'>,
  io?: CommandIO,
): Promise<CvRunResult | undefined> {
  const { loadCsvTable, parseNumber } = await import('../../data/csv.js');
  const table = loadCsvTable(options.dataset.trim().slice('csv:'.length));
  if (table.cells.every((row) => row.every((cell) => parseNumber(cell) !== undefined))) return undefined;
  if (modelRef !== 'mlp' || options.depths || options.learningCurve)
    throw new UsageError(
      `${table.source} has categorical or missing cells: cv prepares them only for mlp, without --depths or --learning-curve`,
    );
  const evaluate = await import('../../evaluate/cross-validation.js');
  const { initBackend } = await import('../../models/backends/index.js');
  await initBackend();
  const crossValidation = await evaluate.crossValidateTable(
    (features) => evaluate.mlpOfDepth([features], table.classNames.length, 2, { units: options.units }),
    table,
    {
      folds: options.folds,
      epochs: options.epochs,
      seed: options.seed,
      optimizer: { type: 'adam', learningRate: options.learningRate },
    },
  );
  io?.stdout(
    formatCv(
      `${options.folds}-fold CV of mlp-2x${options.units} (preparation fitted per fold)`,
      crossValidation,
    ),
  );
  return { model: modelRef, dataset: options.dataset, folds: options.folds, crossValidation };
}
