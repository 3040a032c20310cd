/**
 * `parsimony datasets [--json]`: the built-in datasets, their sizes, where they load from and
 * whether they are available on this machine. The data comes from `runDatasets`; this file only
 * parses options and prints.
 */
import type { Command } from 'commander';
import type { DatasetInfo } from '../../data/registry.js';
import { type CommandIO, formatInteger, formatTable } from '../output.js';

export interface DatasetsOptions {
  /** Directory to look for Fashion-MNIST in before the system and cache directories. */
  fashionMnistDir?: string;
}

/** The rows `parsimony datasets` prints, one per built-in dataset. */
export async function runDatasets(options: DatasetsOptions = {}): Promise<DatasetInfo[]> {
  // Imported here so `parsimony --help` does not load the data module.
  const { listDatasets } = await import('../../data/registry.js');
  return listDatasets({ fashionMnist: { dir: options.fashionMnistDir } });
}

/** "1,797" for one pool, "60,000 + 10,000" for a dataset with a fixed test part. */
export function formatSamples(info: Pick<DatasetInfo, 'samples' | 'train' | 'test'>): string {
  return info.test > 0
    ? `${formatInteger(info.train)} + ${formatInteger(info.test)}`
    : formatInteger(info.samples);
}

export function registerDatasetsCommand(program: Command, io: CommandIO): void {
  program
    .command('datasets')
    .description('list the built-in datasets: size, features, classes, where they load from, availability')
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: { json?: boolean }) => {
      const datasets = await runDatasets();
      if (options.json) {
        io.stdout(JSON.stringify(datasets, null, 2));
        return;
      }
      io.stdout(
        formatTable(datasets, [
          { header: 'name', value: (d) => d.name },
          { header: 'samples', value: formatSamples, align: 'right' },
          { header: 'features', value: (d) => `${d.features} (${d.featureShape.join('x')})`, align: 'right' },
          { header: 'classes', value: (d) => d.classes, align: 'right' },
          { header: 'available', value: (d) => (d.available ? 'yes' : 'no') },
          { header: 'location', value: (d) => d.location },
        ]),
      );
      for (const d of datasets)
        if (!d.available && d.hint) io.stdout(`\n${d.name} is not available: ${d.hint}.`);
      io.stdout('\nAny CSV file is a dataset too: csv:<path> (target column: the last, unless given).');
    });
}
