/**
 * `parsimony automl` against its anchors, each part measured in one run:
 *
 *   node --import tsx bench/automl.ts [--part tabular|hypervolume|fashion|all] [--seed 0]
 *     [--tabular-budget 120] [--seeds 0,1] [--folds 5|0] [--hv-budget 300] [--fashion-budget 3600]
 *     [--fashion-max-macs 2000000] [--hv-search-samples N] [--hv-epochs N] [--hv-max-macs N]
 *     [--hv-subset N --hv-image-side S] [--threads 2]
 *
 * - tabular: wine and breast cancer (`../shared/data`), per seed of --seeds (default --seed) one
 *   seeded 60/20/20 split; AutoML within --tabular-budget seconds (trials scored by 5-fold CV on
 *   train + validation, or --folds), the model the run chose (the ensemble when it beats the
 *   best single trial out of fold, else `best/`; loaded back from disk through `predict` on the
 *   output directory) scored on the test rows, with the best single trial and the ensemble beside it, beside scikit-learn's HistGradientBoostingClassifier and
 *   MLPClassifier with default settings fitted on the same train + validation rows (Debian
 *   /usr/bin/python3, same run, random_state the seed).
 * - hypervolume: the (test accuracy, parameters) front of AutoML's TPE against random search over
 *   the same space, with the same budget, on digits (and Fashion-MNIST with --part all); reference
 *   point (accuracy 0, the parameter budget). --hv-search-samples, --hv-epochs and --hv-max-macs (the
 *   same for both arms) make each trial cheaper, so each arm completes enough trials to compare;
 *   --hv-subset N --hv-image-side S searches Fashion-MNIST as a CSV of N seeded training images
 *   average-pooled to SxS (split 60/20/20 by AutoML like any CSV), a cheaper stand-in.
 * - fashion: Fashion-MNIST within --fashion-budget seconds (60 minutes) and at most 100,000
 *   parameters: the best model's test accuracy, measured on the model as stored.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { type AutomlResult, runAutoml } from '../src/automl/automl.js';
import { predictCsv, savedModelAccuracy } from '../src/automl/predict.js';
import { hypervolume } from '../src/core/multi-objective.js';
import { Random } from '../src/core/random.js';
import { loadCsvTable } from '../src/data/csv.js';
import { loadDataset } from '../src/data/registry.js';
import { prepareTableSplits } from '../src/data/table-preparation.js';
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
  'seeds',
  'folds',
  'hv-budget',
  'hv-datasets',
  'fashion-budget',
  'fashion-max-macs',
  'hv-search-samples',
  'hv-epochs',
  'hv-max-macs',
  'hv-image-side',
  'hv-subset',
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
  const loadBefore = loadavg();
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
  const loadAfter = loadavg();
  const load = `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after`;
  report.fashion = { budget, maxMacs, result, storedTestAccuracy: stored, loadBefore, loadAfter };
  const final = result.final;
  markdown.push(
    '## Fashion-MNIST (at most 100,000 parameters)',
    '',
    `Elapsed ${result.elapsedSeconds} s of ${budget} s; search ${result.searchSeconds} s on ${result.searchSamples} training samples per trial; ${load}.`,
    '',
    markdownTable(
      [
        'budget',
        'trials',
        'best',
        'final training',
        'params',
        'val acc',
        'test acc (stored model)',
        'target',
      ],
      [
        [
          `${budget} s`,
          `${result.counts.COMPLETE} complete, ${result.counts.PRUNED} pruned`,
          result.best.model === final?.model
            ? `trial ${result.best.trial} retrained`
            : `trial ${result.best.trial}`,
          final
            ? `${final.epochs}/${final.plannedEpochs} epochs on ${final.trainSamples}, ${final.threads} thread(s), ${final.seconds} s, test ${pct(final.testAccuracy)}`
            : 'none',
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
    `fashion: best trial ${result.best.trial} (${result.best.model}), ${result.best.params} params, test ${pct(stored)} (stored model); ${load}`,
  );
}

/** A `../shared/data` file (first line: rows, features, class names) as a CSV with a header and class names. */
function sharedTable(file: string): { csv: string; header: string[]; rows: string[][] } {
  const lines = readFileSync(path.join(REPO_ROOT, '..', 'shared', 'data', file), 'utf8')
    .trim()
    .split('\n');
  const first = lines[0].split(',');
  const features = Number(first[1]);
  const classes = first.slice(2);
  const header = [...Array.from({ length: features }, (_, j) => `f${j}`), 'class'];
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(',');
    return [...cells.slice(0, features), classes[Number(cells[features])]];
  });
  return { csv: [header, ...rows].map((r) => r.join(',')).join('\n'), header, rows };
}

async function tabular(): Promise<void> {
  const budget = args.number('tabular-budget', 120);
  const seeds = args.integers('seeds', [seed]);
  const folds = args.has('folds') ? args.number('folds', 5) : undefined;
  const rows: string[][] = [];
  const raw: unknown[] = [];
  const points = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  for (const [name, file] of [
    ['wine', 'wine_data.csv'],
    ['breast cancer', 'breast_cancer.csv'],
  ] as const) {
    const table = sharedTable(file);
    const csvPath = path.join(scratch, file);
    writeFileSync(csvPath, `${table.csv}\n`);
    const perSeed: { automl: number; hgb: number; mlp: number }[] = [];
    for (const runSeed of seeds) {
      // The split AutoML makes (same seed, same function): sklearn fits on its train + validation rows.
      const split = prepareTableSplits(loadCsvTable(csvPath, { target: 'class' }), {
        seed: runSeed,
        validation: 0.2,
        test: 0.2,
      });
      const pick = (indices: Int32Array, withTarget: boolean) =>
        `${[
          withTarget ? table.header : table.header.slice(0, -1),
          ...Array.from(indices, (i) => (withTarget ? table.rows[i] : table.rows[i].slice(0, -1))),
        ]
          .map((r) => r.join(','))
          .join('\n')}\n`;
      const fitRows = Int32Array.from([...split.indices.train, ...split.indices.validation]);
      const trainFile = path.join(scratch, `${file}.${runSeed}.train.csv`);
      const testFile = path.join(scratch, `${file}.${runSeed}.test.csv`);
      const testFeatures = path.join(scratch, `${file}.${runSeed}.test-features.csv`);
      writeFileSync(trainFile, pick(fitRows, true));
      writeFileSync(testFile, pick(split.indices.test, true));
      writeFileSync(testFeatures, pick(split.indices.test, false));
      log(`tabular: ${name}, seed ${runSeed}: automl, budget ${budget} s`);
      const out = path.join(scratch, `tabular-${file}-${runSeed}`);
      const result = await runAutoml({
        data: csvPath,
        target: 'class',
        budgetSeconds: budget,
        seed: runSeed,
        out,
        threads,
        ...(folds !== undefined ? { folds } : {}),
      });
      // The run's chosen model (the ensemble when it won out of fold, else best/) as stored,
      // through `predict` on the output directory and the test rows without their class.
      const truth = Array.from(split.indices.test, (i) => table.rows[i].at(-1));
      const testAccuracy = async (dir: string) => {
        const p = await predictCsv(dir, testFeatures);
        return p.labels.filter((label, k) => label === truth[k]).length / truth.length;
      };
      const accuracy = await testAccuracy(out);
      const bestAccuracy = await testAccuracy(path.join(out, 'best'));
      // Kept or not, the ensemble's test accuracy as runAutoml measured it on the stored members.
      const ensembleAccuracy = result.chosen.ensembleTestAccuracy;
      const anchor = spawnSync(
        SYSTEM_PYTHON,
        [path.join(REPO_ROOT, 'bench', 'automl_anchor.py'), trainFile, testFile, String(runSeed)],
        { encoding: 'utf8' },
      );
      if (anchor.status !== 0) throw new Error(`bench/automl_anchor.py failed: ${anchor.stderr}`);
      const sk = JSON.parse(anchor.stdout.trim().split('\n').at(-1) ?? '{}') as {
        hgb: number;
        mlp: number;
        sklearn: string;
      };
      perSeed.push({ automl: accuracy, hgb: sk.hgb, mlp: sk.mlp });
      raw.push({
        dataset: name,
        seed: runSeed,
        budget,
        automl: accuracy,
        chosen: result.chosen,
        bestAccuracy,
        selection: result.selection,
        ensemble: result.ensemble,
        ensembleAccuracy,
        best: result.best,
        counts: result.counts,
        sklearn: sk,
      });
      const selection =
        result.selection.method === 'cross-validation' ? `${result.selection.folds}-fold CV` : 'holdout';
      rows.push([
        name,
        String(runSeed),
        `${truth.length}`,
        pct(accuracy),
        result.chosen.model,
        pct(bestAccuracy),
        `${result.best.params}`,
        describeBest(result.best.params_),
        ensembleAccuracy === null
          ? 'none'
          : `${pct(ensembleAccuracy)}${result.ensemble ? ` (${result.ensemble.members.length} members)` : ' (not kept)'}`,
        `${pct(result.chosen.ensembleOutOfFoldAccuracy)} / ${pct(result.chosen.bestOutOfFoldAccuracy)}`,
        `${selection}, ${result.counts.COMPLETE} / ${result.counts.PRUNED}`,
        pct(sk.hgb),
        pct(sk.mlp),
        points(accuracy - sk.hgb),
        points(accuracy - sk.mlp),
      ]);
      log(
        `tabular: ${name}, seed ${runSeed}: automl ${pct(accuracy)}, HGB ${pct(sk.hgb)}, MLP ${pct(sk.mlp)}`,
      );
    }
    if (seeds.length > 1) {
      const mean = (key: 'automl' | 'hgb' | 'mlp') =>
        perSeed.reduce((a, r) => a + r[key], 0) / perSeed.length;
      rows.push([
        name,
        'mean',
        '',
        pct(mean('automl')),
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        pct(mean('hgb')),
        pct(mean('mlp')),
        points(mean('automl') - mean('hgb')),
        points(mean('automl') - mean('mlp')),
      ]);
    }
  }
  report.tabular = raw;
  markdown.push(
    `## Tabular (AutoML ${budget} s per dataset and seed; scikit-learn defaults on the same train + validation rows)`,
    '',
    markdownTable(
      [
        'dataset',
        'seed',
        'test rows',
        'automl (chosen, stored)',
        'chosen',
        'best single trial (stored)',
        'its params',
        'its network',
        'ensemble (stored)',
        'ensemble / best out of fold',
        'selection, complete / pruned',
        'HistGradientBoosting',
        'MLPClassifier',
        'points vs HGB',
        'points vs MLP',
      ],
      rows,
    ),
    '',
  );
}

/** The best trial's network in a few words. */
function describeBest(p: Record<string, string | number | boolean | null>): string {
  const layers = Number(p.layers ?? 0);
  const network =
    layers === 0
      ? 'softmax regression'
      : Array.from({ length: layers }, (_, i) => `${p[`l${i}_units`]} ${p[`l${i}_activation`]}`).join(', ');
  return `${p.scaler}${p.reduction && p.reduction !== 'none' ? ` + ${p.reduction}` : ''}; ${network}`;
}

/** Hypervolume of a front of (test accuracy, parameters), reference (accuracy 0, the parameter budget). */
function frontHypervolume(result: AutomlResult, maxParams: number): number {
  const points = result.front
    .filter((r) => r.testAccuracy !== null && r.params <= maxParams)
    .map((r) => [-(r.testAccuracy as number), r.params]);
  return points.length === 0 ? 0 : hypervolume(points, [0, maxParams]) / maxParams;
}

/**
 * `count` seeded training images of `name`, each average-pooled to side x side, as a CSV with a
 * header and the class names: a smaller stand-in that buys more trials in the same budget.
 */
async function pooledImagesCsv(
  name: string,
  count: number,
  side: number,
): Promise<{ csv: string; shape: [number, number, number]; description: string }> {
  const train = (await loadDataset(name)).train;
  const [h, w, c] = train.featureShape;
  if (c !== 1 || h % side !== 0 || w % side !== 0)
    throw new Error(`--hv-image-side ${side} must divide ${h}x${w} (one channel)`);
  const fy = h / side;
  const fx = w / side;
  const order = new Random(seed).permutation(train.numSamples).subarray(0, Math.min(count, train.numSamples));
  const lines = [[...Array.from({ length: side * side }, (_, j) => `p${j}`), 'class'].join(',')];
  for (const i of order) {
    const row = train.features[i];
    const cells: string[] = [];
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        let sum = 0;
        for (let dy = 0; dy < fy; dy++)
          for (let dx = 0; dx < fx; dx++) sum += row[(y * fy + dy) * w + x * fx + dx];
        cells.push((sum / (fy * fx)).toFixed(3));
      }
    cells.push(train.classNames[train.labels[i]].replace(/[,\s]+/g, '-'));
    lines.push(cells.join(','));
  }
  const csv = path.join(scratch, `${name}-${order.length}-${side}x${side}.csv`);
  writeFileSync(csv, `${lines.join('\n')}\n`);
  return {
    csv,
    shape: [side, side, 1],
    description: `${order.length} training images pooled to ${side}x${side}`,
  };
}

async function hypervolumes(): Promise<void> {
  const budget = args.number('hv-budget', 300);
  const datasets = args.string('hv-datasets', 'digits').split(',');
  const rows: string[][] = [];
  const raw: unknown[] = [];
  for (const data of datasets) {
    const maxParams = data === 'digits' ? 20_000 : 100_000;
    const results: Record<string, AutomlResult> = {};
    const smaller =
      data === 'fashion-mnist' && args.has('hv-subset')
        ? await pooledImagesCsv(data, args.count('hv-subset', 1), args.count('hv-image-side', 28))
        : null;
    // The same fidelity and limits for both arms.
    const maxMacs = args.has('hv-max-macs')
      ? args.count('hv-max-macs', 1)
      : data === 'fashion-mnist'
        ? args.count('fashion-max-macs', 2_000_000)
        : undefined;
    const fidelity = {
      ...(maxMacs !== undefined ? { maxMacs } : {}),
      ...(args.has('hv-search-samples') ? { searchSamples: args.count('hv-search-samples', 1) } : {}),
      ...(args.has('hv-epochs') ? { maxEpochs: args.count('hv-epochs', 1) } : {}),
    };
    for (const sampler of ['tpe', 'random'] as const) {
      log(
        `hypervolume: ${data}, ${sampler}, budget ${budget} s, max-params ${maxParams}, ${JSON.stringify(fidelity)}`,
      );
      results[sampler] = await runAutoml({
        ...(smaller ? { data: smaller.csv, target: 'class', imageShape: smaller.shape } : { data }),
        budgetSeconds: budget,
        maxParams,
        ...fidelity,
        seed,
        out: path.join(scratch, `hv-${data}-${sampler}`),
        threads,
        sampler,
        // The fronts compared are the search's trials: the whole budget goes to the search.
        finalShare: 0,
      });
    }
    const hv = {
      tpe: frontHypervolume(results.tpe, maxParams),
      random: frontHypervolume(results.random, maxParams),
    };
    raw.push({
      dataset: data,
      smaller: smaller?.description ?? null,
      budget,
      maxParams,
      fidelity,
      hv,
      results,
    });
    for (const sampler of ['tpe', 'random'] as const) {
      const r = results[sampler];
      rows.push([
        smaller ? `${data} (${smaller.description})` : data,
        sampler,
        `${r.searchSamples} samples, ${fidelity.maxEpochs ?? 'default'} epochs, max MACs ${maxMacs ?? 'none'}; ${r.elapsedSeconds} s`,
        `${r.counts.COMPLETE} / ${r.counts.PRUNED}`,
        `${r.front.length}`,
        r.front.map((f) => `${pct(f.testAccuracy)}@${f.params}`).join(' '),
        hv[sampler].toFixed(4),
      ]);
    }
    log(
      `hypervolume: ${data}: tpe ${hv.tpe.toFixed(4)}, random ${hv.random.toFixed(4)}; load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
  }
  report.hypervolume = raw;
  markdown.push(
    `## Hypervolume of (test accuracy, parameters) fronts, same budget (${budget} s each), reference (0, the parameter budget), divided by the budget`,
    '',
    markdownTable(
      [
        'dataset',
        'sampler',
        'fidelity; elapsed',
        'complete / pruned',
        'front',
        'front (test acc@params)',
        'hypervolume',
      ],
      rows,
    ),
    '',
  );
}

if (part === 'tabular' || part === 'all') await tabular();
if (part === 'hypervolume' || part === 'all') await hypervolumes();
if (part === 'fashion' || part === 'all') await fashion();

// Scratch paths say nothing about the result: stored relative to the scratch directory.
const stored = JSON.parse(JSON.stringify(report).replaceAll(scratch, '<scratch>'));
const written = writeBenchResults(
  `automl-${part}${part === 'hypervolume' ? `-seed${seed}` : ''}${args.has('folds') && args.number('folds', 5) === 0 ? '-holdout' : ''}`,
  stored,
  markdown.join('\n'),
);
process.stdout.write(`${markdown.join('\n')}\nresults: ${written.json}\n`);
void [spawnSync, readFileSync, writeFileSync, predictCsv, hypervolume, REPO_ROOT, SYSTEM_PYTHON];

export type { AutomlResult };
