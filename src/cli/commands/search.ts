/**
 * `parsimony search`: the size search (accuracy against parameters) on a dataset, with a progress
 * bar showing the best trade-offs so far and the Pareto front as a table at the end.
 */
import path from 'node:path';
import { type Command, CommanderError } from 'commander';
import { InvalidArgumentError, NoCompletedTrialError, UsageError } from '../../core/errors.js';
import { SIZE_SEARCH_SAMPLERS, SIZE_SEARCH_TRIALS } from '../../search/defaults.js';
import type { SizeSearchProgress, SizeSearchResult, SizeSearchRow } from '../../search/size-search.js';
import { parseIntegerOption, parsePositiveNumberOption } from '../options.js';
import { type CommandIO, formatInteger, formatTable, processIO } from '../output.js';

interface SearchCommandOptions {
  dataset: string;
  seed: number;
  trials?: number;
  sampler: string;
  threads?: number;
  epochs?: number;
  maxParams?: number;
  timeout?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  teacher?: string;
  temperature?: number;
  alpha?: number;
  searchDistillation?: boolean;
}

export function registerSearchCommand(program: Command, io: CommandIO): void {
  program
    .command('search')
    .description(
      'find the accuracy/size trade-offs of a network on a dataset: a multi-objective search over depth, widths, activation, learning rate, L2, dropout and batch size',
    )
    .option('--dataset <name>', 'a built-in dataset or csv:<path> (see `parsimony datasets`)', 'digits')
    .option(
      '--seed <n>',
      'seed of the sampler, the split and every trial',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option(
      '--trials <n>',
      `trials to run (default ${SIZE_SEARCH_TRIALS.small}; ${SIZE_SEARCH_TRIALS.large} for datasets over 20,000 samples)`,
      parseIntegerOption('--trials', 1),
    )
    .option(
      '--sampler <name>',
      'tpe (multi-objective TPE), nsga2, random, aging-evolution (regularized evolution) or reinforce (policy-gradient controller)',
      'tpe',
    )
    .option(
      '--threads <n>',
      'trials at once, one per worker thread (default: one per core)',
      parseIntegerOption('--threads', 1),
    )
    .option(
      '--epochs <n>',
      'most epochs per trial (default 30; 5 for datasets over 20,000 samples)',
      parseIntegerOption('--epochs', 1),
    )
    .option(
      '--max-params <n>',
      'reject configurations above this many parameters before training',
      parseIntegerOption('--max-params', 1),
    )
    .option(
      '--timeout <seconds>',
      'start no new trial after this many seconds',
      parsePositiveNumberOption('--timeout'),
    )
    .option(
      '--teacher <dir>',
      'teacher-guided search: train every network with the distillation loss from this saved model (it reads the standardised features)',
    )
    .option(
      '--temperature <t>',
      'with --teacher: softmax temperature T (default 4)',
      parsePositiveNumberOption('--temperature'),
    )
    .option(
      '--alpha <a>',
      'with --teacher: weight of the label cross-entropy, the teacher term gets 1 - alpha (default 0.5)',
      parseUnitInterval('--alpha'),
    )
    .option(
      '--search-distillation',
      'with --teacher: temperature (log scale, 1..10) and alpha (0..1) become trial parameters',
    )
    .option('--out <file>', 'SQLite file of the study', 'parsimony-results/search.db')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .action(async (options: SearchCommandOptions) => {
      if (!(SIZE_SEARCH_SAMPLERS as readonly string[]).includes(options.sampler))
        throw new UsageError(
          `--sampler must be one of ${SIZE_SEARCH_SAMPLERS.join(', ')}; got "${options.sampler}"`,
        );
      if (!options.teacher)
        for (const [flag, given] of [
          ['--temperature', options.temperature !== undefined],
          ['--alpha', options.alpha !== undefined],
          ['--search-distillation', options.searchDistillation === true],
        ] as const)
          if (given) throw new UsageError(`${flag} needs --teacher <dir>`);
      if (options.searchDistillation && (options.temperature !== undefined || options.alpha !== undefined))
        throw new UsageError('--search-distillation searches --temperature and --alpha: give neither');
      const { runSizeSearch } = await import('../../search/size-search.js');
      const progress = options.quiet ? null : new SearchProgress(io);
      // As in `tune`: a signal stops the search, fails the running trials as "interrupted", prints
      // the front so far and exits 130 (SIGINT) or 143 (SIGTERM).
      const controller = new AbortController();
      let received: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals) => {
        if (received) {
          io.stderr('still stopping: waiting for the running trials to be recorded');
          return;
        }
        received = signal;
        progress?.close();
        io.stderr(`${signal}: stopping; running trials are being stopped and marked FAIL (interrupted)`);
        controller.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let result: SizeSearchResult;
      try {
        result = await runSizeSearch({
          dataset: options.dataset,
          seed: options.seed,
          trials: options.trials,
          sampler: options.sampler as (typeof SIZE_SEARCH_SAMPLERS)[number],
          threads: options.threads,
          maxEpochs: options.epochs,
          maxParams: options.maxParams,
          timeoutSeconds: options.timeout,
          studyFile: options.out,
          ...(options.teacher
            ? {
                teacher: {
                  dir: options.teacher,
                  temperature: options.temperature,
                  alpha: options.alpha,
                  searchSettings: options.searchDistillation === true,
                },
              }
            : {}),
          onTrial: progress && !received ? (event) => progress.update(event) : undefined,
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        progress?.close();
      }
      io.stdout(options.json ? JSON.stringify(result, null, 2) : formatSearchResult(result));
      if (received) throw new CommanderError(SIGNAL_EXIT_CODES[received] ?? 130, 'parsimony.interrupted', '');
      if (result.front.length === 0) throw new NoCompletedTrialError(whyNoTrialCompleted(result, options));
    });
}

function parseUnitInterval(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(value.trim() !== '' && n >= 0 && n <= 1))
      throw new InvalidArgumentError(`${flag} must be in [0, 1], got "${value}"`);
    return n;
  };
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** One line on why a search has no front: the budget, failures, or pruning. */
export function whyNoTrialCompleted(r: SizeSearchResult, options: { maxParams?: number } = {}): string {
  const total = r.counts.COMPLETE + r.counts.PRUNED + r.counts.FAIL;
  const parts: string[] = [];
  if (r.overBudget > 0)
    parts.push(
      `${r.overBudget} broke the parameter budget${options.maxParams === undefined ? '' : ` (--max-params ${options.maxParams})`}`,
    );
  const pruned = r.counts.PRUNED - r.overBudget;
  if (pruned > 0) parts.push(`${pruned} were pruned`);
  if (r.counts.FAIL > 0)
    parts.push(`${r.counts.FAIL} failed (the last: ${r.lastFailure ?? 'unknown reason'})`);
  if (total === 0) return 'no trial completed: no trial ran (is --timeout too short?)';
  return `no trial completed: of ${total} trial${total === 1 ? '' : 's'}, ${parts.join(', ')}`;
}

function percent(x: number | null): string {
  return x === null || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`;
}

function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return formatInteger(n);
}

/** "97.2% @ 14.0k" for each front member, fewest parameters first. */
function tradeOffs(front: readonly SizeSearchRow[], limit: number): string {
  const shown = front.slice(-limit);
  return shown.map((r) => `${percent(r.validationAccuracy)}@${compact(r.params)}`).join(' ');
}

/** A path under the current directory relative to it (as the user would type it); others whole. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function formatSearchResult(r: SizeSearchResult): string {
  const lines = [
    `search "${r.studyName}" on ${r.dataset} (seed ${r.seed}, ${r.sampler}, ${r.threads} threads)${r.interrupted ? ` interrupted by ${r.interrupted}` : ''}: ${r.counts.COMPLETE} complete, ${r.counts.PRUNED} pruned, ${r.counts.FAIL} failed in ${r.elapsedSeconds.toFixed(1)} s`,
    '',
    `Pareto front (maximise validation accuracy, minimise parameters): ${r.front.length} trial${r.front.length === 1 ? '' : 's'}`,
  ];
  if (r.front.length === 0)
    lines.push(r.interrupted ? 'no trial completed before the interruption' : 'no trial completed');
  else
    lines.push(
      formatTable(r.front, [
        { header: 'trial', value: (x) => x.trial, align: 'right' },
        { header: 'params', value: (x) => formatInteger(x.params), align: 'right' },
        { header: 'connections', value: (x) => formatInteger(x.connections), align: 'right' },
        { header: 'MACs', value: (x) => formatInteger(x.macs), align: 'right' },
        { header: 'val acc', value: (x) => percent(x.validationAccuracy), align: 'right' },
        { header: 'test acc', value: (x) => percent(x.testAccuracy), align: 'right' },
        { header: 'hidden', value: (x) => x.hiddenUnits.join('-') },
        { header: 'act', value: (x) => x.activation },
        { header: 'lr', value: (x) => x.learningRate.toPrecision(2), align: 'right' },
        { header: 'l2', value: (x) => x.l2.toPrecision(2), align: 'right' },
        { header: 'dropout', value: (x) => x.dropout.toFixed(2), align: 'right' },
        { header: 'batch', value: (x) => x.batchSize, align: 'right' },
      ]),
    );
  lines.push(
    '',
    'MACs are multiply-accumulates per sample (FLOPs = 2 x MACs).',
    `study file: ${shownPath(r.studyFile)} (study "${r.studyName}"; \`parsimony studies list --storage sqlite:${shownPath(r.studyFile)}\`)`,
    ...(r.modelsDir
      ? [
          `front models: ${shownPath(r.modelsDir)}/trial-<n> (spec, weights, pipeline.json; \`parsimony predict ${shownPath(r.modelsDir)}/trial-${r.front[r.front.length - 1]?.trial} data.csv\`)`,
        ]
      : []),
  );
  return lines.join('\n');
}

/** Progress on stderr: a redrawn bar on a terminal, one line per finished trial otherwise. */
class SearchProgress {
  private readonly io: CommandIO;
  private readonly bar: boolean;
  private readonly started = Date.now();
  private drawn = false;

  constructor(io: CommandIO) {
    this.io = io;
    this.bar = io === processIO && process.stderr.isTTY === true;
  }

  update(event: SizeSearchProgress): void {
    const seconds = Math.round((Date.now() - this.started) / 1000);
    const best = event.front.length > 0 ? `  best trade-offs: ${tradeOffs(event.front, 4)}` : '';
    if (!this.bar) {
      this.io.stderr(
        `[${event.finished}/${event.total}] trial ${event.trial.number} ${event.trial.state} ${seconds}s${best}`,
      );
      return;
    }
    const width = 20;
    const filled = Math.round((event.finished / event.total) * width);
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${event.finished}/${event.total} ${seconds}s${best}`;
    const columns = (process.stderr.columns ?? 0) > 20 ? process.stderr.columns : 100;
    process.stderr.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
    this.drawn = true;
  }

  close(): void {
    if (this.bar && this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}
