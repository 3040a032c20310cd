import { type Command, CommanderError } from 'commander';
import { describeComponents } from '../../run/registry.js';
import type { TrialSummary, TuneEvent, TuneSummary } from '../../run/tune.js';
import { parseIntegerOption } from '../options.js';
import { type Column, type CommandIO, formatTable, processIO } from '../output.js';

interface TuneCommandOptions {
  trials?: number;
  concurrency?: number;
  storage?: string;
  seed?: number;
  json?: boolean;
  quiet?: boolean;
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function registerTuneCommand(program: Command, io: CommandIO): void {
  program
    .command('tune')
    .description(
      'run the study a YAML/JSON file describes: each trial runs a command with the sampled parameters',
    )
    .argument('<study>', 'study file (YAML or JSON)')
    .option(
      '--trials <n>',
      'total trials the study should reach (overrides `trials`; a resumed study counts its finished trials)',
      parseIntegerOption('--trials', 0),
    )
    .option(
      '--concurrency <n>',
      'trials run at once (overrides `concurrency`)',
      parseIntegerOption('--concurrency', 1),
    )
    .option('--storage <url>', 'memory:, sqlite:<path> or postgres://... (overrides `storage`)')
    .option('--seed <n>', "sampler seed (overrides the file's)", parseIntegerOption('--seed'))
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .addHelpText('after', helpText)
    .action(async (file: string, options: TuneCommandOptions) => {
      await executeTune(
        io,
        {
          file,
          trials: options.trials,
          concurrency: options.concurrency,
          storage: options.storage,
          seed: options.seed,
        },
        options,
      );
    });
}

/**
 * Runs a study with progress output, SIGINT/SIGTERM handling and the closing summary; shared by
 * `tune` and `worker`, which differ only in where the study file comes from.
 */
export async function executeTune(
  io: CommandIO,
  tuneOptions: Omit<import('../../run/tune.js').TuneOptions, 'signal' | 'onEvent'>,
  output: { json?: boolean; quiet?: boolean },
): Promise<void> {
  const { runTune } = await import('../../run/tune.js');
  const progress = output.quiet ? null : new Progress(io);
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      io.stderr('still stopping: waiting for the trial processes to exit');
      return;
    }
    received = signal;
    progress?.pause();
    io.stderr(`${signal}: stopping; running trials are being terminated and marked FAIL (interrupted)`);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: TuneSummary;
  try {
    summary = await runTune({
      ...tuneOptions,
      signal: controller.signal,
      onEvent: progress ? (event) => progress.handle(event) : undefined,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress?.close();
  }
  if (output.json) io.stdout(JSON.stringify(summary, null, 2));
  else io.stdout(formatSummary(summary));
  if (received) throw new CommanderError(SIGNAL_EXIT_CODES[received] ?? 130, 'parsimony.interrupted', '');
}

function helpText(): string {
  const { samplers, pruners } = describeComponents();
  const list = (entries: Record<string, string>) =>
    Object.entries(entries)
      .map(([name, summary]) => `  ${name.padEnd(20)} ${summary}`)
      .join('\n');
  return `
Samplers (\`sampler: tpe\` or \`sampler: { name: tpe, seed: 1 }\`):
${list(samplers)}

Pruners (\`pruner: median\` or \`pruner: { name: median, nWarmupSteps: 2 }\`):
${list(pruners)}

The trial program gets its parameters as {name} placeholders in \`command\` and as JSON in
PARSIMONY_PARAMS, and prints on stdout:
  parsimony:report <step> <value>    an intermediate value (the pruner may stop the trial)
  parsimony:result <value>[,<value>] the final value(s)
  parsimony:attr <key> <json>        a user attribute
python/parsimony_trial.py does this for Python programs. Running the same file again resumes the study.`;
}

/** Progress on stderr: a redrawn bar on a terminal, one line per finished trial otherwise. */
class Progress {
  private readonly io: CommandIO;
  private readonly bar: boolean;
  private toRun = Number.POSITIVE_INFINITY;
  private finished = 0;
  private running = 0;
  private best: TrialSummary[] = [];
  private directions = 1;
  private readonly started = Date.now();
  private ticker: NodeJS.Timeout | null = null;
  private drawn = false;
  private paused = false;

  constructor(io: CommandIO) {
    this.io = io;
    this.bar = io === processIO && process.stderr.isTTY === true;
  }

  handle(event: TuneEvent): void {
    switch (event.type) {
      case 'start': {
        this.toRun = event.toRun;
        const already = event.existing > 0 ? `, resuming after ${event.existing} finished trials` : '';
        const count = Number.isFinite(event.toRun) ? `${event.toRun} trials` : 'trials until the timeout';
        this.line(
          `tuning "${event.studyName}": ${count}${already}, ${event.concurrency} at a time\n  storage ${event.storage}\n  workdir ${event.workdir}\n  logs    ${event.logsDir}`,
        );
        if (this.bar) {
          this.ticker = setInterval(() => this.draw(), 1000);
          this.ticker.unref();
        }
        break;
      }
      case 'trial-start':
        this.running = event.running;
        break;
      case 'trial-end': {
        this.finished = event.finished;
        this.running = event.running;
        this.best = event.best;
        if (event.trial.values) this.directions = event.trial.values.length;
        if (!this.bar || event.trial.state === 'FAIL') this.line(this.trialLine(event.trial));
        break;
      }
      case 'others-running':
        this.line(event.message);
        break;
      case 'stopping':
        this.line(`${event.reason}${event.running > 0 ? ` (terminating ${event.running} running)` : ''}`);
        break;
    }
    this.draw();
  }

  /** Stops redrawing (while a message about a signal is printed). */
  pause(): void {
    this.clear();
    this.paused = true;
  }

  close(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.clear();
  }

  private trialLine(t: TrialSummary): string {
    const total = Number.isFinite(this.toRun) ? `/${this.toRun}` : '';
    const width = Number.isFinite(this.toRun) ? String(this.toRun).length : 1;
    let what: string;
    if (t.state === 'COMPLETE') what = `${formatValues(t.values)}  ${formatParams(t.params)}`;
    else if (t.state === 'PRUNED')
      what = `at step ${t.prunedAtStep ?? '?'}${t.values ? ` (${formatValues(t.values)})` : ''}  ${formatParams(t.params)}`;
    else what = `${t.reason ?? ''}${t.log ? `  (log: ${t.log})` : ''}`;
    return `[${String(this.finished).padStart(width)}${total}] trial ${t.number} ${t.state} ${what}${this.bestText()}`;
  }

  private bestText(): string {
    if (this.best.length === 0) return '';
    if (this.directions > 1 || (this.best[0].values?.length ?? 1) > 1)
      return `  (Pareto front: ${this.best.length})`;
    return `  (best ${formatValues(this.best[0].values)} #${this.best[0].number})`;
  }

  private line(text: string): void {
    if (this.bar) {
      this.clear();
      process.stderr.write(`${text}\n`);
    } else this.io.stderr(text);
  }

  private draw(): void {
    if (!this.bar || this.paused || this.ticker === null) return;
    const seconds = Math.round((Date.now() - this.started) / 1000);
    let head: string;
    if (Number.isFinite(this.toRun)) {
      const width = 24;
      const filled = this.toRun === 0 ? width : Math.round((this.finished / this.toRun) * width);
      head = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.finished}/${this.toRun}`;
    } else head = `${this.finished} trials`;
    const text = `${head}  ${this.running} running  ${seconds}s${this.bestText()}`;
    const columns = (process.stderr.columns ?? 0) > 20 ? process.stderr.columns : 100;
    process.stderr.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.bar && this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export function formatSummary(s: TuneSummary): string {
  const out: string[] = [];
  const total = s.counts.COMPLETE + s.counts.PRUNED + s.counts.FAIL + s.counts.RUNNING;
  const more = [
    s.counts.RUNNING > 0 ? `, ${s.counts.RUNNING} running` : '',
    s.counts.WAITING > 0 ? `; ${s.counts.WAITING} queued` : '',
  ].join('');
  const states = `${s.counts.COMPLETE} complete, ${s.counts.PRUNED} pruned, ${s.counts.FAIL} failed${more}`;
  out.push(
    `study "${s.studyName}": ${s.ran} trials in this run${s.interrupted ? ' (interrupted)' : ''}, ${total} in the study (${states}), ${(s.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (s.best.length === 0) out.push('', 'no trial has completed yet');
  else {
    const multi = s.directions.length > 1;
    out.push(
      '',
      multi
        ? `Pareto front (${s.directions.join(', ')}): ${s.best.length} trial${s.best.length === 1 ? '' : 's'}`
        : `best trial (${s.directions[0]}):`,
    );
    const params = [...new Set(s.best.flatMap((t) => Object.keys(t.params)))];
    const columns: Column<TrialSummary>[] = [
      { header: 'trial', value: (t) => t.number, align: 'right' },
      ...s.directions.map((_, i) => ({
        header: multi ? `value ${i}` : 'value',
        value: (t: TrialSummary) => formatNumber(t.values?.[i] ?? Number.NaN),
        align: 'right' as const,
      })),
      ...params.map((p) => ({
        header: p,
        value: (t: TrialSummary) => (p in t.params ? formatParam(t.params[p]) : ''),
      })),
    ];
    out.push(formatTable(s.best, columns));
  }
  const failed = s.trials.filter((t) => t.state === 'FAIL' && t.reason !== 'interrupted');
  if (failed.length > 0) {
    const last = failed[failed.length - 1];
    out.push(
      '',
      `${failed.length} trial${failed.length === 1 ? '' : 's'} failed; the last: trial ${last.number}: ${last.reason ?? 'unknown reason'}`,
    );
  }
  out.push('', `stored in ${s.storage} (study "${s.studyName}"); trial logs in ${s.logsDir}`);
  return out.join('\n');
}

function formatValues(values: readonly number[] | null): string {
  return values ? values.map(formatNumber).join(', ') : '-';
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return '-';
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

function formatParam(v: unknown): string {
  return typeof v === 'number' ? formatNumber(v) : String(v);
}

function formatParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${formatParam(v)}`)
    .join(' ');
}
