/**
 * `parsimony plot <kind>` and `parsimony report`: option parsing only; the work is in plot-run.ts,
 * imported when a command runs so `parsimony --help` does not load the plotting code.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { IMPORTANCE_METHODS, type ImportanceMethod } from '../../visualization/importance.js';
import { PLOT_KINDS } from '../../visualization/kinds.js';
import type { CommandIO } from '../output.js';

const STORAGE_HELP =
  'storage: sqlite:FILE, postgres://user@host/db, or a JSON export (json:FILE or FILE.json)';

function parseIntOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${value}"`);
  return n;
}

function parseImportanceMethod(value: string): ImportanceMethod {
  if (!(IMPORTANCE_METHODS as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `--importance-method must be one of ${IMPORTANCE_METHODS.join(', ')}, got "${value}"`,
    );
  return value as ImportanceMethod;
}

export function registerPlotCommands(program: Command, io: CommandIO): void {
  program
    .command('plot')
    .description(
      `write a figure of a study as SVG or self-contained HTML (kinds: ${PLOT_KINDS.join(', ')}), or of a compression report (compression --report DIR/report.json)`,
    )
    .argument('<kind>', `${PLOT_KINDS.join(' | ')} | compression`)
    .option('--storage <url>', `${STORAGE_HELP} (required for study figures)`)
    .option('--study <name>', 'study name (required for study figures)')
    .option('--report <file>', 'compression: the report.json `parsimony compress` wrote (or its directory)')
    .requiredOption('--out <file>', 'output file: .svg, .png (drawn by headless Chromium) or .html')
    .option('--objective <index>', 'objective to plot (default 0)')
    .option('--x <axis>', 'pareto: x axis, objective:N or an attribute (params, macs, storedBytes)')
    .option('--y <axis>', 'pareto: y axis (default: objective 0 or 1)')
    .option(
      '--params <names>',
      'comma-separated parameters (slice, parallel-coordinate, importance; contour takes two)',
    )
    .option(
      '--trial <number>',
      'layers: the trial whose stored model spec is analysed (default: the best with one)',
    )
    .option('--seed <n>', 'importance: random forest seed', '0')
    .option(
      '--importance-method <method>',
      'importance: mdi (mean decrease in impurity), fanova or ped-anova',
      'mdi',
    )
    .action(
      async (
        kind: string,
        opts: {
          storage?: string;
          study?: string;
          report?: string;
          out: string;
          objective?: string;
          x?: string;
          y?: string;
          params?: string;
          trial?: string;
          seed: string;
          importanceMethod: string;
        },
      ) => {
        const { runPlot, runCompressionPlot } = await import('./plot-run.js');
        if (kind === 'compression') {
          if (!opts.report) throw new InvalidArgumentError('plot compression needs --report DIR/report.json');
          await runCompressionPlot({ report: opts.report, out: opts.out });
          io.stderr(`wrote ${opts.out}`);
          return;
        }
        if (!opts.storage || !opts.study)
          throw new InvalidArgumentError(`plot ${kind} needs --storage URL and --study NAME`);
        await runPlot({
          kind,
          storage: opts.storage,
          study: opts.study,
          out: opts.out,
          objective: parseIntOption('--objective', opts.objective),
          x: opts.x,
          y: opts.y,
          params: opts.params?.split(',').map((s) => s.trim()),
          trial: parseIntOption('--trial', opts.trial),
          seed: parseIntOption('--seed', opts.seed),
          importanceMethod: parseImportanceMethod(opts.importanceMethod),
        });
        io.stderr(`wrote ${opts.out}`);
      },
    );

  program
    .command('report')
    .description('write one self-contained HTML file with every figure of a study')
    .requiredOption('--storage <url>', STORAGE_HELP)
    .requiredOption('--study <name>', 'study name')
    .requiredOption('--out <file>', 'output .html file')
    .action(async (opts: { storage: string; study: string; out: string }) => {
      const { runReport } = await import('./plot-run.js');
      await runReport(opts);
      io.stderr(`wrote ${opts.out}`);
    });
}
