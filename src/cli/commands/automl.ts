/**
 * `parsimony automl <data.csv | dataset> --target COL [--budget 10m] ...`: feature preparation,
 * architecture and hyperparameters searched within a wall-clock budget; the Pareto front's models
 * and the best one saved with their pipelines. `parsimony predict <model dir> <data.csv>` applies
 * a saved model to new rows.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, CommanderError } from 'commander';
import type { AutomlPlan, AutomlProgress, AutomlResult } from '../../automl/automl.js';
import { AUTOML_FILES } from '../../automl/files.js';
import { UsageError } from '../../core/errors.js';
import { parseIntegerOption } from '../options.js';
import { type CommandIO, formatInteger, formatTable, processIO } from '../output.js';

interface AutomlCommandOptions {
  target?: string;
  budget: string;
  maxParams?: number;
  maxMacs?: number;
  seed: number;
  out?: string;
  imageShape?: string;
  threads?: number;
  epochs?: number;
  finalShare?: number;
  searchSamples?: number;
  folds?: number;
  json?: boolean;
  quiet?: boolean;
}

function parseShare(value: string): number {
  const share = Number(value);
  if (value.trim() === '' || !(share >= 0 && share < 1))
    throw new UsageError(`--final-share must be a number in [0, 1), got "${value}"`);
  return share;
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function registerAutomlCommand(program: Command, io: CommandIO): void {
  program
    .command('automl')
    .description(
      'search feature preparation, network and training within a time budget; save the Pareto front models, the best one and a report',
    )
    .argument('<data>', 'a CSV file (data.csv or csv:data.csv) or a built-in dataset (digits, fashion-mnist)')
    .option('--target <column>', "the CSV's target column: its name or 0-based index")
    .option(
      '--budget <duration>',
      'wall-clock budget of the whole command, from its start: seconds, or 30s, 10m, 1h (the search stops hard at its share; the final training is planned from measured epoch times)',
      '10m',
    )
    .option(
      '--max-params <n>',
      'reject networks above this many parameters before training',
      parseIntegerOption('--max-params', 1),
    )
    .option(
      '--max-macs <n>',
      'reject networks above this many MACs per sample before training (images default: the largest MACs for which, at the step time measured at the start, 10 epochs over the training split fit the final training and 10 trials of 3 epochs fit the search; printed in the header)',
      parseIntegerOption('--max-macs', 1),
    )
    .option(
      '--seed <n>',
      'seed of the split, the sampler and every trial',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option(
      '--out <dir>',
      'output directory; an earlier run there is continued (default parsimony-results/automl-<data>)',
    )
    .option('--image-shape <HxWxC>', "read each CSV row's features as an image, such as 28x28x1")
    .option(
      '--threads <n>',
      'trials at once, one per worker thread (default: one per core)',
      parseIntegerOption('--threads', 1),
    )
    .option(
      '--epochs <n>',
      'most epochs per trial, per fold under cross-validation (default 60 for tables, 20 for images)',
      parseIntegerOption('--epochs', 1),
    )
    .option(
      '--final-share <x>',
      'share of the budget kept for training the best configuration on the whole training split (default 0.4 for images, 0 for tables)',
      parseShare,
    )
    .option(
      '--search-samples <n>',
      'training samples each search trial sees (default all; a fifth, at least 10000, of image training splits above 20000)',
      parseIntegerOption('--search-samples', 1),
    )
    .option(
      '--folds <k>',
      'tables: score trials by stratified k-fold cross-validation on train + validation, then refit on both; 0 for one validation split (default 5 up to 5,000 rows, else 0)',
      parseIntegerOption('--folds', 0),
    )
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .action(async (data: string, options: AutomlCommandOptions) => {
      const { parseDuration } = await import('../../run/study-config.js');
      let budgetSeconds: number;
      try {
        budgetSeconds = parseDuration(options.budget) / 1000;
      } catch (error) {
        throw new UsageError(`--budget: ${(error as Error).message}`);
      }
      if (!(budgetSeconds > 0)) throw new UsageError(`--budget must be positive, got "${options.budget}"`);
      const { parseImageShape } = await import('../../automl/data.js');
      const imageShape = options.imageShape === undefined ? undefined : parseImageShape(options.imageShape);
      const { runAutoml } = await import('../../automl/automl.js');
      const progress = options.quiet ? null : new AutomlProgressBar(io, budgetSeconds);
      const controller = new AbortController();
      let received: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals) => {
        if (received) return;
        received = signal;
        progress?.close();
        io.stderr(`${signal}: stopping; running trials are stopped and marked FAIL (interrupted)`);
        controller.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let result: AutomlResult;
      try {
        progress?.start();
        result = await runAutoml({
          data,
          target: options.target,
          imageShape,
          budgetSeconds,
          maxParams: options.maxParams,
          maxMacs: options.maxMacs,
          seed: options.seed,
          out: options.out,
          threads: options.threads,
          maxEpochs: options.epochs,
          finalShare: options.finalShare,
          searchSamples: options.searchSamples,
          folds: options.folds,
          onProgress: progress ? (event) => progress.update(event) : undefined,
          onStart: options.quiet ? undefined : (plan) => io.stderr(formatAutomlPlan(data, plan)),
          signal: controller.signal,
          // The budget counts from this process's start.
          startedAt: performance.timeOrigin,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        progress?.close();
      }
      io.stdout(options.json ? JSON.stringify(result, null, 2) : formatAutomlResult(result));
      if (received) throw new CommanderError(SIGNAL_EXIT_CODES[received] ?? 130, 'parsimony.interrupted', '');
    });

  program
    .command('predict')
    .description('apply a saved model directory (pipeline and model) to the rows of a CSV file')
    .argument(
      '<model>',
      'a model directory written by automl or search (with pipeline.json), an ensemble directory, or an automl output directory (its chosen model)',
    )
    .argument('<data>', 'a CSV file; the target column may be absent')
    .option('--out <file>', 'write the predictions here instead of printing them')
    .option('--proba', 'add one probability column per class')
    .action(async (modelDir: string, data: string, options: { out?: string; proba?: boolean }) => {
      const { predictCsv, predictionsCsv } = await import('../../automl/predict.js');
      const predictions = await predictCsv(modelDir, data.replace(/^csv:/i, ''));
      const text = predictionsCsv(predictions, options.proba === true);
      if (!options.out) {
        io.stdout(text);
        return;
      }
      // Written under a temporary name, so a failure leaves no half file.
      const temporary = path.join(
        path.dirname(options.out),
        `.${path.basename(options.out)}.tmp-${process.pid}`,
      );
      try {
        await writeFile(temporary, text);
        await rename(temporary, options.out);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      io.stderr(`${predictions.labels.length} predictions written to ${options.out}`);
    });
}

function percent(x: number | null): string {
  return x === null || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`;
}

/** A trial's choices in a few words: preparation, then the network. */
function describeChoices(p: Record<string, string | number | boolean | null>): string {
  const parts = [String(p.scaler)];
  if (p.reduction === 'pca')
    parts.push(
      p.pca_mode === 'variance' ? `pca ${Number(p.pca_variance).toFixed(2)} var` : `pca ${p.pca_components}`,
    );
  else if (p.reduction === 'rfe') parts.push(`rfe-${p.rfe_method} ${Number(p.rfe_keep).toFixed(2)}`);
  if (p.layers === 0) parts.push('softmax regression');
  else if (p.layers !== undefined)
    parts.push(
      `dense ${Array.from({ length: Number(p.layers) }, (_, i) => `${p[`l${i}_units`]}${p[`l${i}_norm`] === 'none' ? '' : `+${p[`l${i}_norm`]}`}${p[`l${i}_skip`] === true ? '+skip' : ''} ${p[`l${i}_activation`]}`).join(', ')}`,
    );
  else if (p.stages !== undefined)
    parts.push(
      `${p.stages} stage${Number(p.stages) === 1 ? '' : 's'} ${Array.from({ length: Number(p.stages) }, (_, i) => `${p[`s${i}_block`]}x${p[`s${i}_blocks`]}/${p[`s${i}_filters`]}`).join(' ')} ${p.head}`,
    );
  return parts.join(', ');
}

/** The run's header: how the budget is split and the limits each network must keep to. */
export function formatAutomlPlan(data: string, plan: AutomlPlan): string {
  const phases = [`search ${plan.searchSeconds} s`];
  if (plan.finalSeconds > 0) phases.push(`final training ${plan.finalSeconds} s`);
  phases.push(`wrap-up ${plan.wrapUpSeconds} s`);
  const macs =
    plan.maxMacs === null
      ? 'no MAC cap'
      : `max MACs ${formatInteger(plan.maxMacs)} (${plan.maxMacsSource === 'option' ? '--max-macs' : `default from the budget: ${plan.maxMacsRule}; --max-macs overrides`})`;
  return `automl ${data}: budget ${plan.budgetSeconds} s (${phases.join(', ')}); ${macs}; ${plan.maxParams === null ? 'no parameter cap' : `max params ${formatInteger(plan.maxParams)}`}; ${formatInteger(plan.searchSamples)} training samples per search trial; ${plan.threads} thread(s)`;
}

export function formatAutomlResult(r: AutomlResult): string {
  const cv = r.selection?.method === 'cross-validation' ? r.selection.folds : 0;
  const scored = cv ? `${cv}-fold CV accuracy` : 'validation accuracy';
  const lines = [
    `automl on ${r.data} (${r.kind}, seed ${r.seed}, ${r.threads} threads, budget ${r.budgetSeconds} s${r.plan?.maxMacs ? `, max MACs ${formatInteger(r.plan.maxMacs)}${r.plan.maxMacsSource === 'budget' ? ' from the budget' : ''}` : ''})${r.resumed ? ' continued' : ''}${r.interrupted ? ` interrupted by ${r.interrupted}` : ''}: ${r.newTrials} new trials; wall time ${r.elapsedSeconds.toFixed(1)} s of the ${r.budgetSeconds} s budget; study: ${r.counts.COMPLETE} complete, ${r.counts.PRUNED} pruned, ${r.counts.FAIL} failed`,
    '',
    `Pareto front (maximise ${scored}, minimise parameters): ${r.front.length} model${r.front.length === 1 ? '' : 's'}${cv ? '; each refitted on train + validation, as saved and tested' : ''}`,
    formatTable(r.front, [
      { header: 'trial', value: (x) => x.trial, align: 'right' },
      { header: 'params', value: (x) => formatInteger(x.params), align: 'right' },
      { header: cv ? 'cv acc' : 'val acc', value: (x) => percent(x.validationAccuracy), align: 'right' },
      { header: 'test acc', value: (x) => percent(x.testAccuracy), align: 'right' },
      { header: 'epochs', value: (x) => x.epochs ?? '-', align: 'right' },
      { header: 'choices', value: (x) => describeChoices(x.params_) },
      { header: 'model', value: (x) => x.model },
    ]),
    '',
    ...(r.final
      ? [
          `final training: trial ${r.final.trial}'s configuration on ${formatInteger(r.final.trainSamples)} samples, ${r.final.epochs}/${r.final.plannedEpochs} epochs (cosine), ${r.final.threads} thread(s): ${percent(r.final.validationAccuracy)} validation, ${percent(r.final.testAccuracy)} test as stored`,
        ]
      : []),
    `best: trial ${r.best.trial}${r.best.model === r.final?.model ? ' retrained' : ''} (${percent(r.best.validationAccuracy)} ${cv ? `${cv}-fold CV` : 'validation'}, ${percent(r.best.testAccuracy)} test, ${formatInteger(r.best.params)} parameters), copied to ${path.join(r.out, 'best')}`,
    ...(r.ensemble
      ? [
          `ensemble: ${r.ensemble.members.length} trials (${r.ensemble.members.map((m) => `${m.trial}×${m.weight.toFixed(2)}`).join(', ')}), ${percent(r.ensemble.outOfFoldAccuracy)} out of fold vs ${percent(r.ensemble.singleOutOfFoldAccuracy)} for the best single trial, ${percent(r.ensemble.testAccuracy)} test, saved in ${path.join(r.out, r.ensemble.model)}`,
        ]
      : r.chosen.ensembleOutOfFoldAccuracy !== null
        ? [
            `ensemble: not kept (${percent(r.chosen.ensembleOutOfFoldAccuracy)} out of fold, no better than the best single trial's ${percent(r.chosen.bestOutOfFoldAccuracy)})`,
          ]
        : []),
    `result: ${r.chosen.model === 'ensemble' ? `the ensemble (${percent(r.chosen.testAccuracy)} test; best single trial ${percent(r.chosen.bestTestAccuracy)} test), chosen out of fold` : `the best trial (${percent(r.best.testAccuracy)} test)`}, in ${path.join(r.out, r.chosen.model)}`,
    `report: ${path.join(r.out, AUTOML_FILES.report)}; predict with the result: \`parsimony predict ${r.out} data.csv\``,
  ];
  return lines.join('\n');
}

/** Time left and the best trade-offs: a redrawn bar on a terminal (ticking each second), lines otherwise. */
class AutomlProgressBar {
  private readonly io: CommandIO;
  private readonly budget: number;
  private readonly bar: boolean;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private finished = 0;

  constructor(io: CommandIO, budgetSeconds: number) {
    this.io = io;
    this.budget = budgetSeconds;
    this.bar = io === processIO && process.stderr.isTTY === true;
  }

  start(): void {
    if (!this.bar) return;
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  update(event: AutomlProgress): void {
    this.finished = event.finished;
    const best = [...event.front]
      .sort((a, b) => b.validationAccuracy - a.validationAccuracy)
      .slice(0, 3)
      .map((r) => `${percent(r.validationAccuracy)}@${formatInteger(r.params)}`)
      .join(' ');
    this.last = best ? `  best: ${best}` : '';
    if (this.bar) this.draw();
    else
      this.io.stderr(
        `[${this.timeLeft()} left] trial ${event.trial.number} ${event.trial.state}${this.last}`,
      );
  }

  private timeLeft(): string {
    const left = Math.max(0, Math.round(this.budget - (Date.now() - this.started) / 1000));
    return left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s` : `${left}s`;
  }

  private draw(): void {
    const width = 20;
    const share = Math.min(1, (Date.now() - this.started) / 1000 / this.budget);
    const filled = Math.round(share * width);
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.timeLeft()} left, ${this.finished} trials${this.last}`;
    const columns = (process.stderr.columns ?? 0) > 20 ? process.stderr.columns : 100;
    process.stderr.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bar) process.stderr.write('\r\x1b[2K');
  }
}
