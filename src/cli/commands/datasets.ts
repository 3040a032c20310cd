import type { Command } from 'commander';
import { type DatasetInfo, listDatasets } from '../../data/registry.js';
import { type CommandIO, formatInteger, formatTable } from '../output.js';

export function runDatasets(): DatasetInfo[] {
  return listDatasets();
}

export function registerDatasetsCommand(program: Command, io: CommandIO): void {
  program
    .command('datasets')
    .description('list the built-in datasets, their sizes and where they load from')
    .option('--json', 'print JSON instead of a table')
    .action((options: { json?: boolean }) => {
      const datasets = runDatasets();
      if (options.json) {
        io.stdout(JSON.stringify(datasets, null, 2));
        return;
      }
      io.stdout(
        formatTable(datasets, [
          { header: 'name', value: (d) => d.name },
          {
            header: 'samples',
            value: (d) =>
              d.test > 0 ? `${formatInteger(d.train)} + ${formatInteger(d.test)}` : formatInteger(d.samples),
            align: 'right',
          },
          { header: 'features', value: (d) => d.features, align: 'right' },
          { header: 'classes', value: (d) => d.classes, align: 'right' },
          { header: 'available', value: (d) => (d.available ? 'yes' : 'no') },
          { header: 'location', value: (d) => d.location },
        ]),
      );
      io.stdout('\nAlso: csv:<path> loads any CSV file (target column: last, or --target).');
    });
}
