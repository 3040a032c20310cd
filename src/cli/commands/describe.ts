import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { classCounts, type Dataset } from '../../data/dataset.js';
import { loadDatasetSplits } from '../../data/registry.js';
import { type CommandIO, formatInteger, formatTable } from '../output.js';

export interface DescribeOptions {
  dataset: string;
  seed?: number;
  validation?: number;
  test?: number;
  target?: string;
}

export interface PartSummary {
  samples: number;
  classCounts: number[];
}

export interface DatasetDescription {
  name: string;
  source: string;
  location: string;
  license?: string;
  citation?: string;
  features: number;
  featureShape: number[];
  classes: string[];
  featureRange: { min: number; max: number };
  parts: { train: PartSummary; validation: PartSummary; test: PartSummary };
  seed: number;
}

/** Loads a dataset, splits it as a search would (seeded, stratified) and summarises every part. */
export async function runDescribe(options: DescribeOptions): Promise<DatasetDescription> {
  const seed = options.seed ?? 0;
  // A csv: table with categorical or missing cells is described as prepared (fitted on its training rows).
  const splits = await loadDatasetSplits(
    options.dataset,
    { seed, validation: options.validation ?? 0.2, test: options.test ?? 0.2 },
    { target: options.target },
  );
  const base = splits.train;
  const test = splits.test;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const d of [splits.train, splits.validation, test])
    for (const v of d.data) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  const part = (d: Dataset): PartSummary => ({ samples: d.numSamples, classCounts: classCounts(d) });
  return {
    name: base.name.replace(/ \(train\)$/, ''),
    source: base.provenance.source,
    location: base.provenance.location,
    license: base.provenance.license,
    citation: base.provenance.citation,
    features: base.numFeatures,
    featureShape: [...base.featureShape],
    classes: [...base.classNames],
    featureRange: { min, max },
    parts: { train: part(splits.train), validation: part(splits.validation), test: part(test) },
    seed,
  };
}

export function registerDescribeCommand(program: Command, io: CommandIO): void {
  program
    .command('describe')
    .description(
      'load a dataset and summarise it: size, classes, value range and its seeded train/validation/test split',
    )
    .argument('[dataset]', 'digits, fashion-mnist or csv:<path>', 'digits')
    .option('--seed <n>', 'seed of the split', parseIntegerOption('--seed'), 0)
    .option('--validation <fraction>', 'validation fraction', parseFractionOption('--validation'), 0.2)
    .option(
      '--test <fraction>',
      'test fraction (when the dataset has no fixed test part)',
      parseFractionOption('--test'),
      0.2,
    )
    .option('--target <column>', 'target column of a CSV file (name or index)')
    .option('--json', 'print JSON')
    .action(async (dataset: string, options: Omit<DescribeOptions, 'dataset'> & { json?: boolean }) => {
      const d = await runDescribe({ ...options, dataset });
      if (options.json) {
        io.stdout(JSON.stringify(d, null, 2));
        return;
      }
      io.stdout(`${d.name}: ${d.source}`);
      io.stdout(`  loaded from ${d.location}${d.license ? ` (licence ${d.license})` : ''}`);
      io.stdout(
        `  ${d.features} features (shape ${d.featureShape.join('x')}), values ${d.featureRange.min}..${d.featureRange.max}, ${d.classes.length} classes`,
      );
      io.stdout(`  split with seed ${d.seed}, stratified:\n`);
      // One row per class, so class names are shown whole however many there are.
      const parts = ['train', 'validation', 'test'] as const;
      const rows = [
        { label: 'all classes', counts: parts.map((p) => d.parts[p].samples) },
        ...d.classes.map((name, i) => ({ label: name, counts: parts.map((p) => d.parts[p].classCounts[i]) })),
      ];
      io.stdout(
        formatTable(rows, [
          { header: 'class', value: (r) => r.label },
          ...parts.map((p, j) => ({
            header: p,
            value: (r: (typeof rows)[number]) => formatInteger(r.counts[j]),
            align: 'right' as const,
          })),
        ]),
      );
    });
}

function parseIntegerOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n))
      throw new UsageError(`${flag} must be an integer, got "${value}"`);
    return n;
  };
}

function parseFractionOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n >= 0 && n < 1)) throw new UsageError(`${flag} must be a number in [0, 1), got "${value}"`);
    return n;
  };
}
