/**
 * Sampler benchmark: Parsimony's samplers against Optuna 3.1's on the shared anchor suite, in one run.
 *
 *   node --import tsx bench/samplers.ts [--quick] [--problems a,b] [--seeds 0-9] [--trials 200]
 *     [--samplers tpe,gp,...] [--gp-seeds 0-4] [--overhead-trials 1000] [--gp-overhead-trials 300]
 *     [--tolerance 0.05] [--gp-usable-ms 1000] [--skip optuna,parallel,overhead]
 *
 * Quality: every (problem, sampler, seed) minimises the functions of `bench/functions.ts` (the port of
 * `../shared/anchors/functions.py` from the repository root) over floats `x0..x{d-1}` with the Python bounds, for the same
 * budget and seeds as `optuna_suite.py`, trial by trial (`optimize` with `nTrials: 1`, as the Python
 * runner does), recording the best-so-far every 10 trials (hypervolume with reference point (11, 11)
 * for zdt1/zdt2), the final value, seconds and ms per trial over the last 50 trials.
 * Single objective: TPE with default options, TPE multivariate, TPE univariate (Optuna's default TPE,
 * for a like-for-like row), GP, CMA-ES, QMC, aging evolution, Random. Two objectives: NSGA-II, TPE (MOTPE), GP
 * (ParEGO), GP with log EHVI, aging evolution, Random.
 * GP runs on `--gp-seeds` (default: the first 5 seeds) because one 200-trial GP run takes 20-30 s
 * here; the budget per run is never reduced. Optuna 3.1 has no GP sampler, so that row has no anchor.
 *
 * Overhead: one seed of rosenbrock-5d (5 floats) for `--overhead-trials` (1000) trials per sampler
 * (TPE, Random, NSGA-II, CMA-ES; GP for `--gp-overhead-trials`, 300), ms per trial over the last 50.
 *
 * Parallel: TPE with `constantLiar: true` and `concurrency: 4` on an async objective against serial
 * TPE (the quality rows), same budget and seeds; "within noise" means a one-sided Mann-Whitney test
 * does not find the parallel results worse at 5% (Bonferroni-corrected over the problems). The first
 * seed of every problem runs a second time, with trials finishing in reverse order, to check that the
 * same seed gives the same trials.
 *
 * Parsimony runs first, then Optuna (`/usr/bin/python3 optuna_suite.py`, one process at a time), so
 * the two never compete for the cores. The report goes to stdout and bench/results/samplers-latest.md,
 * raw results to bench/results/samplers-<date>.json. `--quick` is a smoke test: 2 seeds, 50 trials,
 * 200-trial overhead (100 for GP).
 *
 * A sampler whose module is not written yet shows as "missing"; with CI set, that fails the run.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { hypervolume } from '../src/core/multi-objective.js';
import type { Sampler } from '../src/core/sampler.js';
import type { Objective } from '../src/core/study.js';
import type { Trial } from '../src/core/trial.js';
import { createStudy } from '../src/study/create.js';
import { type BenchProblem, getProblem, SUITE } from './functions.js';
import { BenchArgs, formatRange } from './lib/args.js';
import { loadOptionalExport, missingIsFatal } from './lib/load.js';
import { ANCHORS_DIR, pythonModuleVersion, runPythonJsonLines, SYSTEM_PYTHON } from './lib/python.js';
import { isoDate, writeBenchResults } from './lib/results.js';
import { mannWhitneyGreater, median } from './lib/stats.js';
import { fmt, fmtMs, markdownTable } from './lib/table.js';
import { formatDuration, msPerStepLast, secondsSince } from './lib/timing.js';

// ---------------------------------------------------------------------------------------------
// Configuration

const args = new BenchArgs(
  [
    'problems',
    'seeds',
    'trials',
    'samplers',
    'gp-seeds',
    'overhead-trials',
    'gp-overhead-trials',
    'tolerance',
    'gp-usable-ms',
    'skip',
  ],
  ['quick'],
);
const quick = args.flag('quick');
const problems = args
  .list(
    'problems',
    SUITE.map((p) => p.name),
  )
  .map(getProblem);
const seeds = args.integers('seeds', quick ? [0, 1] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
const nTrials = args.count('trials', quick ? 50 : 200);
const gpSeeds = args.integers('gp-seeds', seeds.slice(0, 5)).filter((s) => seeds.includes(s));
const overheadTrials = args.count('overhead-trials', quick ? 200 : 1000);
const gpOverheadTrials = args.count('gp-overhead-trials', quick ? 100 : 300);
/** Relative difference of regrets within which a verdict is "equal". */
const tolerance = args.number('tolerance', 0.05);
/** GP is "usable" when a trial at `gpOverheadTrials` costs at most this. */
const gpUsableMs = args.number('gp-usable-ms', 1000);
const skip = new Set(args.list('skip', []));
for (const s of skip)
  if (!['optuna', 'parallel', 'overhead'].includes(s))
    throw new Error(`--skip takes optuna, parallel, overhead; got "${s}"`);
if (nTrials < 10) throw new Error('--trials must be >= 10 (the anchors record the best every 10 trials)');
if (seeds.length === 0) throw new Error('--seeds is empty');
const seedRange = formatRange(seeds);
if (seedRange === null) throw new Error('--seeds must be consecutive (optuna_suite.py takes a range A-B)');

const OVERHEAD_PROBLEM = getProblem('rosenbrock-5d');
const PARALLEL_CONCURRENCY = 4;
const HV_REFERENCE = [11, 11];
/** Hypervolume of the true Pareto fronts w.r.t. (11, 11): 110 + integral of (10 + f2-gap) over f1 in [0, 1]. */
const PARETO_HYPERVOLUME: Record<string, number> = {
  'zdt1-10d': 110 + 10 + 2 / 3, // f2 = 1 - sqrt(f1)
  'zdt2-10d': 110 + 10 + 1 / 3, // f2 = 1 - f1^2
};

// ---------------------------------------------------------------------------------------------
// Samplers

type SamplerClass = new (options: Record<string, unknown>) => Sampler;

interface SamplerSpec {
  /** Row name. */
  key: string;
  module: string;
  exportName: string;
  options: Record<string, unknown>;
  /** The optuna_suite.py sampler this row is compared with, or null when Optuna 3.1 has none. */
  optuna: string | null;
}

const TPE = { module: 'src/samplers/tpe/tpe-sampler.js', exportName: 'TPESampler' };
const GP = { module: 'src/samplers/gp/gp-sampler.js', exportName: 'GPSampler' };
const CMAES = { module: 'src/samplers/cmaes/cmaes-sampler.js', exportName: 'CmaEsSampler' };
const QMC = { module: 'src/samplers/qmc/qmc-sampler.js', exportName: 'QMCSampler' };
const RANDOM = { module: 'src/samplers/random.js', exportName: 'RandomSampler' };
const NSGA2 = { module: 'src/samplers/nsga2/nsga2-sampler.js', exportName: 'NSGAIISampler' };
const AGING = { module: 'src/samplers/aging-evolution.js', exportName: 'AgingEvolutionSampler' };

const SINGLE_SAMPLERS: SamplerSpec[] = [
  { key: 'tpe', ...TPE, options: {}, optuna: 'tpe' },
  { key: 'tpe-mv', ...TPE, options: { multivariate: true }, optuna: 'tpe-mv' },
  { key: 'tpe-uni', ...TPE, options: { multivariate: false }, optuna: 'tpe' },
  { key: 'gp', ...GP, options: {}, optuna: null },
  { key: 'cmaes', ...CMAES, options: {}, optuna: 'cmaes' },
  { key: 'qmc', ...QMC, options: {}, optuna: 'qmc' },
  { key: 'aging', ...AGING, options: {}, optuna: null },
  { key: 'random', ...RANDOM, options: {}, optuna: 'random' },
];
const MULTI_SAMPLERS: SamplerSpec[] = [
  { key: 'nsga2', ...NSGA2, options: {}, optuna: 'nsga2' },
  { key: 'tpe', ...TPE, options: {}, optuna: 'tpe' },
  { key: 'gp', ...GP, options: {}, optuna: null },
  { key: 'gp-ehvi', ...GP, options: { multiObjective: 'ehvi' }, optuna: null },
  { key: 'aging', ...AGING, options: {}, optuna: null },
  { key: 'random', ...RANDOM, options: {}, optuna: 'random' },
];
const OVERHEAD_SAMPLERS: (SamplerSpec & { trials: number })[] = [
  { key: 'tpe', ...TPE, options: {}, optuna: 'tpe', trials: overheadTrials },
  { key: 'random', ...RANDOM, options: {}, optuna: 'random', trials: overheadTrials },
  { key: 'nsga2', ...NSGA2, options: {}, optuna: 'nsga2', trials: overheadTrials },
  { key: 'cmaes', ...CMAES, options: {}, optuna: 'cmaes', trials: overheadTrials },
  { key: 'gp', ...GP, options: {}, optuna: null, trials: gpOverheadTrials },
];
const PARALLEL_SPEC: SamplerSpec = { key: 'tpe', ...TPE, options: { constantLiar: true }, optuna: null };

const samplerFilter = args.has('samplers') ? new Set(args.list('samplers', [])) : null;
const keep = (s: SamplerSpec) => samplerFilter === null || samplerFilter.has(s.key);
const singleSamplers = SINGLE_SAMPLERS.filter(keep);
const multiSamplers = MULTI_SAMPLERS.filter(keep);

const classes = new Map<string, SamplerClass | null>();
async function samplerClass(spec: { module: string; exportName: string }): Promise<SamplerClass | null> {
  const id = `${spec.module}#${spec.exportName}`;
  if (!classes.has(id)) {
    const loaded = await loadOptionalExport<SamplerClass>(spec.module, spec.exportName);
    classes.set(id, loaded.status === 'ok' ? loaded.value : null);
  }
  return classes.get(id)!;
}

// ---------------------------------------------------------------------------------------------
// Running Parsimony

interface RunRecord {
  side: 'parsimony' | 'optuna';
  problem: string;
  sampler: string;
  seed: number;
  trials: number;
  concurrency: number;
  /** Best value (one objective) or hypervolume (two). */
  value: number;
  /** The same every 10 trials. */
  trace: number[];
  seconds: number;
  msPerTrialLast50: number;
}

function decode(problem: BenchProblem, trial: Trial): number[] {
  const x: number[] = [];
  for (let i = 0; i < problem.dims; i++)
    x.push(trial.suggestFloat(`x${i}`, problem.lower[i], problem.upper[i]));
  return x;
}

function objectiveOf(problem: BenchProblem): Objective {
  return (trial) => problem.fn(decode(problem, trial));
}

/**
 * The same objective, yielding to the event loop before returning so concurrent trials interleave.
 * With `reverse`, trials started together finish in reverse order (a few ms of delay each), so a
 * second run sees a different completion order: what the reproducibility check needs.
 */
function asyncObjectiveOf(problem: BenchProblem, concurrency: number, reverse = false): Objective {
  let calls = 0;
  return async (trial) => {
    const slot = calls++ % concurrency;
    const x = decode(problem, trial);
    await new Promise((resolve) => setImmediate(resolve));
    if (reverse) await new Promise((resolve) => setTimeout(resolve, 2 * (concurrency - 1 - slot)));
    return problem.fn(x);
  };
}

/** Best value or hypervolume of the first `upTo` trials (by number). */
function scoreOf(problem: BenchProblem, values: (readonly number[] | null)[], upTo: number): number {
  const done = values.slice(0, upTo).filter((v): v is readonly number[] => v !== null);
  if (problem.nObjectives === 2) return hypervolume(done, HV_REFERENCE);
  let best = Number.POSITIVE_INFINITY;
  for (const v of done) if (v[0] < best) best = v[0];
  return best;
}

interface StudyOutcome {
  record: RunRecord;
  /** number, params and values of every trial, to compare runs. */
  fingerprint: string;
}

async function runParsimony(
  problem: BenchProblem,
  spec: SamplerSpec,
  Cls: SamplerClass,
  seed: number,
  trials: number,
  concurrency = 1,
  reverse = false,
): Promise<StudyOutcome> {
  const study = await createStudy({
    directions: new Array(problem.nObjectives).fill('minimize'),
    sampler: new Cls({ seed, ...spec.options }),
  });
  const stamps: number[] = [];
  const start = performance.now();
  if (concurrency === 1) {
    // Trial by trial, like optuna_suite.py, so per-trial times include the same study overhead.
    const objective = objectiveOf(problem);
    for (let i = 0; i < trials; i++) {
      await study.optimize(objective, { nTrials: 1 });
      stamps.push(performance.now());
    }
  } else {
    await study.optimize(asyncObjectiveOf(problem, concurrency, reverse), {
      nTrials: trials,
      concurrency,
      callbacks: [() => void stamps.push(performance.now())],
    });
  }
  const seconds = secondsSince(start);
  const all = [...study.trials].sort((a, b) => a.number - b.number);
  const failed = all.filter((t) => t.state !== 'COMPLETE');
  if (failed.length > 0)
    throw new Error(
      `${problem.name}/${spec.key}/seed ${seed}: trial ${failed[0].number} is ${failed[0].state}`,
    );
  const values = all.map((t) => t.values);
  const trace: number[] = [];
  for (let k = 10; k <= trials; k += 10) trace.push(scoreOf(problem, values, k));
  return {
    record: {
      side: 'parsimony',
      problem: problem.name,
      sampler: spec.key,
      seed,
      trials,
      concurrency,
      value: scoreOf(problem, values, trials),
      trace,
      seconds,
      msPerTrialLast50: msPerStepLast(stamps, 50),
    },
    fingerprint: JSON.stringify(all.map((t) => [t.number, t.params, t.values])),
  };
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Running Optuna

function optunaRecord(raw: Record<string, unknown>): RunRecord {
  const problem = getProblem(String(raw.problem));
  const value = problem.nObjectives === 2 ? raw.hypervolume : raw.best;
  return {
    side: 'optuna',
    problem: problem.name,
    sampler: String(raw.sampler),
    seed: Number(raw.seed),
    trials: Number(raw.trials),
    concurrency: 1,
    value: Number(value),
    trace: (raw.trace as number[]).map(Number),
    seconds: Number(raw.seconds),
    msPerTrialLast50: Number(raw.ms_per_trial_last50),
  };
}

async function runOptuna(samplers: string[], problemNames: string[], trials: number, seedArg: string) {
  const cliArgs = [
    '--samplers',
    samplers.join(','),
    '--problems',
    problemNames.join(','),
    '--trials',
    String(trials),
    '--seeds',
    seedArg,
  ];
  progress(`[optuna] optuna_suite.py ${cliArgs.join(' ')}`);
  const raw = await runPythonJsonLines(join(ANCHORS_DIR, 'optuna_suite.py'), cliArgs, {
    onRecord: (r) => {
      const v = r.best ?? r.hypervolume;
      progress(`[optuna] ${r.problem} ${r.sampler} seed ${r.seed}: ${fmt(Number(v))} (${r.seconds} s)`);
    },
  });
  return raw.map(optunaRecord);
}

// ---------------------------------------------------------------------------------------------
// Main

const benchStart = performance.now();
const missing = new Set<string>();
const runs: RunRecord[] = [];
const singleProblems = problems.filter((p) => p.nObjectives === 1);
const multiProblems = problems.filter((p) => p.nObjectives === 2);

const optunaVersion = skip.has('optuna') ? null : pythonModuleVersion('optuna');
if (!skip.has('optuna') && optunaVersion === null) {
  const why = `${SYSTEM_PYTHON} cannot import optuna (apt-get install -y python3-optuna)`;
  if (missingIsFatal()) throw new Error(why);
  progress(`[optuna] ${why}; the Optuna side is skipped`);
}

// Quality runs.
for (const [list, specs] of [
  [singleProblems, singleSamplers],
  [multiProblems, multiSamplers],
] as const) {
  for (const problem of list) {
    for (const spec of specs) {
      const Cls = await samplerClass(spec);
      if (!Cls) {
        missing.add(spec.module);
        progress(`[parsimony] ${problem.name} ${spec.key}: missing (${spec.module})`);
        continue;
      }
      for (const seed of spec.key.startsWith('gp') ? gpSeeds : seeds) {
        const { record } = await runParsimony(problem, spec, Cls, seed, nTrials);
        runs.push(record);
        progress(
          `[parsimony] ${problem.name} ${spec.key} seed ${seed}: ${fmt(record.value)} (${record.seconds.toFixed(1)} s)`,
        );
      }
    }
  }
}

// Parallel runs: concurrency 4 with the constant liar; the first seed twice for reproducibility.
interface ParallelRow {
  problem: string;
  serial: number[];
  parallel: number[];
  pWorse: number;
  reproducible: boolean | null;
  serialSeconds: number;
  parallelSeconds: number;
}
const parallelRows: ParallelRow[] = [];
if (!skip.has('parallel') && singleProblems.length > 0) {
  const Cls = await samplerClass(PARALLEL_SPEC);
  if (!Cls) missing.add(PARALLEL_SPEC.module);
  else {
    for (const problem of singleProblems) {
      const records: RunRecord[] = [];
      let reproducible: boolean | null = null;
      for (const seed of seeds) {
        const first = await runParsimony(problem, PARALLEL_SPEC, Cls, seed, nTrials, PARALLEL_CONCURRENCY);
        records.push(first.record);
        runs.push({ ...first.record, sampler: 'tpe-liar' });
        if (seed === seeds[0]) {
          // Same seed, trials finishing in another order: the same trials are expected.
          const again = await runParsimony(
            problem,
            PARALLEL_SPEC,
            Cls,
            seed,
            nTrials,
            PARALLEL_CONCURRENCY,
            true,
          );
          reproducible = again.fingerprint === first.fingerprint;
        }
        progress(
          `[parsimony] ${problem.name} tpe concurrency ${PARALLEL_CONCURRENCY} seed ${seed}: ${fmt(first.record.value)}`,
        );
      }
      // The serial reference is the quality runs' default TPE; run it here when --samplers left it out.
      const serial = runs.filter(
        (r) => r.side === 'parsimony' && r.problem === problem.name && r.sampler === 'tpe',
      );
      if (serial.length === 0) {
        const serialSpec = SINGLE_SAMPLERS.find((s) => s.key === 'tpe')!;
        for (const seed of seeds)
          serial.push((await runParsimony(problem, serialSpec, Cls, seed, nTrials)).record);
        runs.push(...serial);
      }
      parallelRows.push({
        problem: problem.name,
        serial: serial.map((r) => r.value),
        parallel: records.map((r) => r.value),
        pWorse: mannWhitneyGreater(
          records.map((r) => r.value),
          serial.map((r) => r.value),
        ),
        reproducible,
        serialSeconds: median(serial.map((r) => r.seconds)),
        parallelSeconds: median(records.map((r) => r.seconds)),
      });
    }
  }
}

// Overhead runs.
interface OverheadRow {
  sampler: string;
  trials: number;
  parsimonyMs: number | null;
  optunaMs: number | null;
  missing: boolean;
}
const overheadRows: OverheadRow[] = [];
if (!skip.has('overhead')) {
  for (const spec of OVERHEAD_SAMPLERS) {
    const Cls = await samplerClass(spec);
    if (!Cls) {
      missing.add(spec.module);
      overheadRows.push({
        sampler: spec.key,
        trials: spec.trials,
        parsimonyMs: null,
        optunaMs: null,
        missing: true,
      });
      continue;
    }
    const { record } = await runParsimony(OVERHEAD_PROBLEM, spec, Cls, seeds[0], spec.trials);
    runs.push({ ...record, sampler: `${spec.key}@overhead` });
    overheadRows.push({
      sampler: spec.key,
      trials: spec.trials,
      parsimonyMs: record.msPerTrialLast50,
      optunaMs: null,
      missing: false,
    });
    progress(
      `[parsimony] overhead ${spec.key} ${spec.trials} trials: ${fmtMs(record.msPerTrialLast50)} ms/trial (${record.seconds.toFixed(1)} s)`,
    );
  }
}
const parsimonySeconds = secondsSince(benchStart);

// Optuna, after Parsimony so the two never share the cores.
const optunaStart = performance.now();
if (optunaVersion !== null) {
  const singleOptuna = [...new Set(singleSamplers.map((s) => s.optuna).filter((s) => s !== null))];
  const multiOptuna = [...new Set(multiSamplers.map((s) => s.optuna).filter((s) => s !== null))];
  if (singleProblems.length > 0 && singleOptuna.length > 0)
    runs.push(
      ...(await runOptuna(
        singleOptuna,
        singleProblems.map((p) => p.name),
        nTrials,
        seedRange,
      )),
    );
  if (multiProblems.length > 0 && multiOptuna.length > 0)
    runs.push(
      ...(await runOptuna(
        multiOptuna,
        multiProblems.map((p) => p.name),
        nTrials,
        seedRange,
      )),
    );
  if (!skip.has('overhead')) {
    const withAnchor = OVERHEAD_SAMPLERS.filter((s) => s.optuna !== null && s.trials === overheadTrials);
    const seed = String(seeds[0]);
    const records = await runOptuna(
      withAnchor.map((s) => s.optuna!),
      [OVERHEAD_PROBLEM.name],
      overheadTrials,
      `${seed}-${seed}`,
    );
    for (const r of records) {
      runs.push({ ...r, sampler: `${r.sampler}@overhead` });
      const row = overheadRows.find((o) => o.sampler === r.sampler && o.trials === r.trials);
      if (row) row.optunaMs = r.msPerTrialLast50;
    }
  }
}
const optunaSeconds = secondsSince(optunaStart);

// ---------------------------------------------------------------------------------------------
// Report

type Verdict = 'better' | 'equal' | 'worse';

/** How far a median is from the best possible: best - optimum, or Pareto hypervolume - hypervolume. */
function regret(problem: BenchProblem, value: number): number {
  return problem.nObjectives === 1 ? value - problem.optimum : PARETO_HYPERVOLUME[problem.name] - value;
}

function verdict(problem: BenchProblem, parsimony: number, optuna: number): Verdict {
  const rp = regret(problem, parsimony);
  const ro = regret(problem, optuna);
  if (Math.abs(rp - ro) <= tolerance * Math.max(Math.abs(rp), Math.abs(ro), 1e-12)) return 'equal';
  return rp < ro ? 'better' : 'worse';
}

/** "No worse" as the targets define it: median <= Optuna's (minimisation), hypervolume >=. */
function noWorse(problem: BenchProblem, parsimony: number, optuna: number): boolean {
  return problem.nObjectives === 1 ? parsimony <= optuna : parsimony >= optuna;
}

function select(side: RunRecord['side'], problem: string, sampler: string): RunRecord[] {
  return runs.filter((r) => r.side === side && r.problem === problem && r.sampler === sampler);
}

interface QualityRow {
  problem: BenchProblem;
  spec: SamplerSpec;
  parsimony: number;
  optuna: number;
  parsimonyMs: number;
  optunaMs: number;
  seeds: number;
  missing: boolean;
}
const qualityRows: QualityRow[] = [];
for (const [list, specs] of [
  [singleProblems, singleSamplers],
  [multiProblems, multiSamplers],
] as const) {
  for (const problem of list) {
    for (const spec of specs) {
      const mine = select('parsimony', problem.name, spec.key);
      const theirs = spec.optuna === null ? [] : select('optuna', problem.name, spec.optuna);
      qualityRows.push({
        problem,
        spec,
        parsimony: median(mine.map((r) => r.value)),
        optuna: median(theirs.map((r) => r.value)),
        parsimonyMs: median(mine.map((r) => r.msPerTrialLast50)),
        optunaMs: median(theirs.map((r) => r.msPerTrialLast50)),
        seeds: mine.length,
        missing: missing.has(spec.module),
      });
    }
  }
}

const lines: string[] = [];
const out = (s = '') => lines.push(s);
out(`# Sampler benchmark, ${isoDate()}`);
out();
out(
  `${nTrials} trials, seeds ${seedRange} (GP: ${formatRange(gpSeeds) ?? gpSeeds.join(',')}), medians over seeds; ` +
    `Optuna ${optunaVersion ?? 'not run'}; Node ${process.version}, ${cpus().length} cores` +
    `${quick ? '; QUICK smoke-test configuration' : ''}.`,
);
out(
  `Single objective: median final best (lower is better). zdt: median hypervolume w.r.t. (11, 11) ` +
    `(higher is better; Pareto front: zdt1 ${fmt(PARETO_HYPERVOLUME['zdt1-10d'], 6)}, zdt2 ${fmt(PARETO_HYPERVOLUME['zdt2-10d'], 6)}). ` +
    `Verdict: "equal" when the regrets (distance to the optimum or to the Pareto hypervolume) differ by at most ` +
    `${tolerance * 100}%. ms/trial: median over seeds of the mean over the last 50 trials.`,
);
out();
out(
  markdownTable(
    [
      'problem',
      'sampler',
      'Parsimony median',
      'Optuna median',
      'verdict',
      'Parsimony ms/trial',
      'Optuna ms/trial',
    ],
    qualityRows.map((r) => {
      if (r.missing) return [r.problem.name, r.spec.key, 'missing', '—', '—', '—', '—'];
      const anchor = r.spec.optuna === null ? 'n/a' : Number.isNaN(r.optuna) ? 'not run' : fmt(r.optuna, 6);
      const label =
        r.spec.optuna !== null && r.spec.optuna !== r.spec.key
          ? `${r.spec.key} (vs ${r.spec.optuna})`
          : r.spec.key;
      return [
        r.problem.name,
        label,
        fmt(r.parsimony, 6),
        anchor,
        Number.isNaN(r.optuna) ? '—' : verdict(r.problem, r.parsimony, r.optuna),
        fmtMs(r.parsimonyMs),
        fmtMs(r.optunaMs),
      ];
    }),
    ['left', 'left', 'right', 'right', 'left', 'right', 'right'],
  ),
);
out();
out(
  'Rows: tpe = TPESampler defaults (multivariate), tpe-mv = multivariate: true, tpe-uni = multivariate: false ' +
    "(Optuna's default TPE); zdt tpe = MOTPE. gp and aging (AgingEvolutionSampler defaults) have no Optuna 3.1 counterpart.",
);

if (overheadRows.length > 0) {
  out();
  out(
    `## Overhead on ${OVERHEAD_PROBLEM.name} (5 floats), seed ${seeds[0]}, ms per trial over the last 50 trials`,
  );
  out();
  out(
    markdownTable(
      ['sampler', 'trials', 'Parsimony ms/trial', 'Optuna ms/trial', 'Optuna / Parsimony'],
      overheadRows.map((r) => [
        r.sampler,
        String(r.trials),
        r.missing ? 'missing' : fmtMs(r.parsimonyMs),
        r.optunaMs === null ? (r.sampler === 'gp' ? 'n/a' : '—') : fmtMs(r.optunaMs),
        r.optunaMs !== null && r.parsimonyMs !== null ? `${fmt(r.optunaMs / r.parsimonyMs, 3)}x` : '—',
      ]),
    ),
  );
}

const alpha = 0.05 / Math.max(1, parallelRows.length);
if (parallelRows.length > 0) {
  out();
  out(
    `## Parallel: TPE constantLiar + concurrency ${PARALLEL_CONCURRENCY} (async objective) vs serial TPE, ${nTrials} trials`,
  );
  out();
  out(
    markdownTable(
      [
        'problem',
        'serial median',
        `concurrency ${PARALLEL_CONCURRENCY} median`,
        'p (parallel worse)',
        'within noise',
        `reproducible (seed ${seeds[0]}, 2 runs)`,
        'serial s',
        'parallel s',
      ],
      parallelRows.map((r) => [
        r.problem,
        fmt(median(r.serial), 6),
        fmt(median(r.parallel), 6),
        fmt(r.pWorse, 3),
        r.pWorse >= alpha ? 'yes' : 'no',
        r.reproducible === null ? '—' : r.reproducible ? 'yes' : 'no',
        fmt(r.serialSeconds, 3),
        fmt(r.parallelSeconds, 3),
      ]),
    ),
  );
  out();
  out(
    `One-sided Mann-Whitney U over the seeds; "within noise" when p >= ${fmt(alpha, 3)} (5% Bonferroni-corrected over ${parallelRows.length} problems).`,
  );
}

// Targets.
interface Target {
  name: string;
  pass: boolean | null;
  detail: string;
}
const targets: Target[] = [];
{
  const rows = qualityRows.filter((r) => r.problem.nObjectives === 1 && r.spec.key === 'tpe' && !r.missing);
  const compared = rows.filter((r) => !Number.isNaN(r.optuna));
  const ok = compared.filter((r) => noWorse(r.problem, r.parsimony, r.optuna));
  const need = Math.ceil((5 * compared.length) / 6);
  const misses = compared
    .filter((r) => !noWorse(r.problem, r.parsimony, r.optuna))
    .map(
      (r) =>
        `${r.problem.name}: ${fmt(r.parsimony, 6)} vs ${fmt(r.optuna, 6)} (regret ${fmt(regret(r.problem, r.parsimony), 3)} vs ${fmt(regret(r.problem, r.optuna), 3)})`,
    );
  const within = compared.filter((r) => verdict(r.problem, r.parsimony, r.optuna) !== 'worse').length;
  targets.push({
    name: '(1) TPE no worse than Optuna TPE on >= 5 of 6 single-objective problems',
    pass: compared.length === 0 ? null : ok.length >= need,
    detail:
      `${ok.length} of ${compared.length} no worse (need ${need}); ${within} within the ${tolerance * 100}% tolerance` +
      (misses.length > 0 ? `; worse: ${misses.join('; ')}` : ''),
  });
}
{
  const details: string[] = [];
  let pass: boolean | null = multiProblems.length === 0 ? null : true;
  for (const problem of multiProblems) {
    const anchor = median(select('optuna', problem.name, 'nsga2').map((r) => r.value));
    const candidates = ['tpe', 'nsga2']
      .map((key) => ({ key, hv: median(select('parsimony', problem.name, key).map((r) => r.value)) }))
      .filter((c) => !Number.isNaN(c.hv));
    if (Number.isNaN(anchor) || candidates.length === 0) {
      pass = null;
      details.push(`${problem.name}: not measured`);
      continue;
    }
    const best = candidates.reduce((a, b) => (b.hv > a.hv ? b : a));
    const ok = best.hv >= anchor;
    if (!ok) pass = false;
    details.push(
      `${problem.name}: best ${best.key} ${fmt(best.hv, 6)} vs Optuna NSGA-II ${fmt(anchor, 6)} (${candidates.map((c) => `${c.key} ${fmt(c.hv, 6)}`).join(', ')})`,
    );
  }
  targets.push({
    name: '(2) MOTPE or NSGA-II hypervolume no worse than Optuna NSGA-II on zdt1 and zdt2',
    pass,
    detail: details.join('; '),
  });
}
{
  const row = overheadRows.find((r) => r.sampler === 'tpe');
  const ok = row && row.parsimonyMs !== null && row.optunaMs !== null;
  targets.push({
    name: `(3) TPE ms/trial at ${overheadTrials} trials <= 1/10 of Optuna's`,
    pass: ok ? row.parsimonyMs! * 10 <= row.optunaMs! : null,
    detail: ok
      ? `${fmtMs(row.parsimonyMs)} vs ${fmtMs(row.optunaMs)} ms/trial: ${fmt(row.optunaMs! / row.parsimonyMs!, 3)}x faster`
      : 'not measured',
  });
}
{
  const row = overheadRows.find((r) => r.sampler === 'gp');
  const ok = row && row.parsimonyMs !== null;
  targets.push({
    name: `(4) GP usable at ${gpOverheadTrials} trials (<= ${gpUsableMs} ms/trial)`,
    pass: ok ? row.parsimonyMs! <= gpUsableMs : null,
    detail: ok
      ? `${fmtMs(row.parsimonyMs)} ms/trial over the last ${Math.min(50, gpOverheadTrials - 1)} of ${gpOverheadTrials} trials`
      : 'not measured',
  });
}
{
  const noisy = parallelRows
    .filter((r) => r.pWorse < alpha)
    .map((r) => `${r.problem} (p ${fmt(r.pWorse, 3)})`);
  const unrepro = parallelRows.filter((r) => r.reproducible === false).map((r) => r.problem);
  targets.push({
    name: `(5) concurrency ${PARALLEL_CONCURRENCY} within noise of serial and reproducible`,
    pass: parallelRows.length === 0 ? null : noisy.length === 0 && unrepro.length === 0,
    detail:
      parallelRows.length === 0
        ? 'not measured'
        : `${parallelRows.length - noisy.length} of ${parallelRows.length} problems within noise` +
          (noisy.length > 0 ? ` (worse: ${noisy.join(', ')})` : '') +
          `; reproducible on ${parallelRows.filter((r) => r.reproducible).length} of ${parallelRows.length}` +
          (unrepro.length > 0 ? ` (not: ${unrepro.join(', ')})` : ''),
  });
}
out();
out('## Targets');
out();
for (const t of targets)
  out(`- ${t.pass === null ? 'NOT MEASURED' : t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.detail}`);
if (missing.size > 0) {
  out();
  out(`Missing modules: ${[...missing].join(', ')}`);
}
out();
out(
  `Wall time: Parsimony ${formatDuration(parsimonySeconds)}, Optuna ${formatDuration(optunaSeconds)}.` +
    (quick ? ' Quick configuration: numbers are a smoke test, not a measurement.' : ''),
);

const report = lines.join('\n');
console.log(report);
const written = writeBenchResults(
  'samplers',
  {
    date: new Date().toISOString(),
    config: {
      quick,
      problems: problems.map((p) => p.name),
      seeds,
      gpSeeds,
      trials: nTrials,
      overheadTrials,
      gpOverheadTrials,
      tolerance,
      gpUsableMs,
      skip: [...skip],
      samplers: [...singleSamplers, ...multiSamplers].map((s) => ({
        key: s.key,
        options: s.options,
        optuna: s.optuna,
      })),
    },
    environment: { node: process.version, cores: cpus().length, optuna: optunaVersion },
    missing: [...missing],
    runs,
    overhead: overheadRows,
    parallel: parallelRows,
    targets,
  },
  report,
);
progress(`\nwrote ${written.json} and ${written.markdown}`);
if (missing.size > 0 && missingIsFatal()) {
  progress(`missing sampler modules under CI: ${[...missing].join(', ')}`);
  process.exitCode = 1;
}
