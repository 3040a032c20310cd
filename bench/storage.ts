/**
 * Storage and execution benchmark (issue: storage and execution).
 *
 *   node --import tsx bench/storage.ts [--trials 2000] [--workers 1,4,8] [--iterations 6000000]
 *
 * 1. Throughput: trials per second for a trivial objective with 1, 4 and 8 worker processes sharing
 *    one study, on SQLite and on a throwaway PostgreSQL, against Optuna 3.1 with its RDB storage on
 *    the same kind of database, in the same run (bench/optuna_storage.py, /usr/bin/python3).
 *    Parsimony workers are `loadStudy` + `optimize({ maxTotalTrials })` processes with heartbeats on,
 *    i.e. what `parsimony worker` runs. Both sides start their processes and load the study first,
 *    then wait at a barrier; the clock runs from the barrier until the last worker has exited, so
 *    interpreter start-up (Python imports, Node module loading) is outside both timings and printed apart.
 * 2. CPU-bound trials: wall time of 16 trials of ~0.25 s arithmetic with 1 and 2 worker threads
 *    (`threadObjective`); speed-up = t1 / t2 (target >= 1.8 on this 2-core machine).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadObjective } from '../src/run/thread-objective.js';
import { RandomSampler } from '../src/samplers/random.js';
import { createStorage } from '../src/storage/factory.js';
import { createStudy } from '../src/study/create.js';
import { startPostgres } from '../test/storage/postgres-server.js';
import { BenchArgs, parseIntegers } from './lib/args.js';
import { REPO_ROOT } from './lib/load.js';
import { SYSTEM_PYTHON } from './lib/python.js';
import { writeBenchResults } from './lib/results.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(['trials', 'workers', 'iterations']);
// 2,000 trials: with 8 workers, 400 would leave each process 50 trials, mostly V8 warming up its
// compiler; Optuna's workers fork after importing, so theirs are timed warm. Both sides get the same count.
const trials = args.number('trials', 2000);
const workerCounts = parseIntegers(args.string('workers', '1,4,8'), 'workers');
const dir = mkdtempSync(join(tmpdir(), 'parsimony-bench-storage-'));

// Workers run the compiled package, as users' processes do (built here so it is current).
execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' });
const WORKER = join(dir, 'worker.mjs');
writeFileSync(
  WORKER,
  `import { loadStudy } from ${JSON.stringify(join(REPO_ROOT, 'dist/study/create.js'))};
import { RandomSampler } from ${JSON.stringify(join(REPO_ROOT, 'dist/samplers/random.js'))};
const [url, max, seed] = process.argv.slice(2);
const study = await loadStudy({ studyName: 'bench', storage: url, sampler: new RandomSampler({ seed: Number(seed) }),
  heartbeat: { intervalMs: 5000, gracePeriodMs: 30000 } });
process.stdout.write('ready\\n');
await new Promise((go) => process.stdin.once('data', go));
await study.optimize((t) => t.suggestFloat('x', 0, 1) ** 2, { maxTotalTrials: Number(max) });
await study.storage.close();
process.exit(0);
`,
);

function run(command: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} failed: ${err}`))));
  });
}

interface Rate {
  perSecond: number;
  startupSeconds: number;
}

/** Starts the workers, waits until each has loaded the study, then releases them together. */
async function parsimonyRate(url: string, workers: number): Promise<Rate> {
  const storage = await createStorage(url);
  await createStudy({ studyName: 'bench', storage });
  await storage.close();
  const t0 = performance.now();
  const children = Array.from({ length: workers }, (_, k) =>
    spawn(process.execPath, [WORKER, url, String(trials), String(k)], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const exited = children.map(
    (child) =>
      new Promise<void>((resolve, reject) =>
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`)),
        ),
      ),
  );
  await Promise.all(
    children.map((child) => new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))),
  );
  const t1 = performance.now();
  for (const child of children) child.stdin.write('go\n');
  await Promise.all(exited);
  return { perSecond: trials / ((performance.now() - t1) / 1000), startupSeconds: (t1 - t0) / 1000 };
}

async function optunaRate(url: string, workers: number): Promise<Rate> {
  const out = await run(SYSTEM_PYTHON, [
    join(REPO_ROOT, 'bench/optuna_storage.py'),
    url,
    String(workers),
    String(trials),
  ]);
  const { seconds, startup_seconds } = JSON.parse(out.trim().split('\n').pop()!);
  return { perSecond: trials / seconds, startupSeconds: startup_seconds };
}

const rows: string[][] = [];
const ratioAt8: number[] = [];
function addRow(storage: string, workers: number, ours: Rate, theirs: Rate): void {
  const ratio = ours.perSecond / theirs.perSecond;
  if (workers === 8) ratioAt8.push(ratio);
  rows.push([
    storage,
    String(workers),
    ours.perSecond.toFixed(1),
    theirs.perSecond.toFixed(1),
    `${ratio.toFixed(1)}x`,
    `${ours.startupSeconds.toFixed(2)} / ${theirs.startupSeconds.toFixed(2)}`,
  ]);
}

const pg = await startPostgres();
try {
  for (const workers of workerCounts) {
    const sqliteFile = (who: string) => join(dir, `${who}-${workers}.db`);
    addRow(
      'SQLite',
      workers,
      await parsimonyRate(`sqlite:${sqliteFile('parsimony')}`, workers),
      await optunaRate(`sqlite:///${sqliteFile('optuna')}`, workers),
    );
    const ourDb = await pg.createDatabase();
    const theirDb = (await pg.createDatabase()).replace(/^postgres(ql)?:/, 'postgresql+psycopg2:');
    addRow('PostgreSQL', workers, await parsimonyRate(ourDb, workers), await optunaRate(theirDb, workers));
    console.error(`done: ${workers} workers`);
  }
} finally {
  await pg.stop();
}

const report: string[] = [];
const out = (text: string) => {
  console.log(text);
  report.push(text);
};
out(`# Storage benchmark, ${new Date().toISOString().slice(0, 10)}\n`);
out(
  `${trials} trials of a trivial objective shared by N worker processes; timed from a start barrier ` +
    'after every worker has loaded the study until the last one exits (start-up s shown apart).\n',
);
out(
  markdownTable(
    [
      'storage',
      'workers',
      'Parsimony trials/s',
      'Optuna 3.1 trials/s',
      'ratio',
      'start-up s (ours / Optuna)',
    ],
    rows,
  ),
);
if (ratioAt8.length > 0) {
  const pass = ratioAt8.every((r) => r >= 5);
  out(`\nTarget at 8 workers, >= 5x Optuna on both storages: ${pass ? 'PASS' : 'FAIL'}`);
}

// CPU-bound trials on worker threads.
const fixture = new URL('./fixtures/cpu-trial.ts', import.meta.url);
// ~0.25 s of arithmetic per trial on this machine's cores.
const iterations = args.number('iterations', 6_000_000);
async function cpuWall(threads: number): Promise<number> {
  const objective = threadObjective(fixture, { threads, context: { iterations } });
  try {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    await study.optimize(objective, { nTrials: threads, concurrency: threads }); // warm-up: threads start
    const t0 = performance.now();
    await study.optimize(objective, { nTrials: 16, concurrency: threads });
    return (performance.now() - t0) / 1000;
  } finally {
    await objective.close();
  }
}
const one = await cpuWall(1);
const two = await cpuWall(2);
out(`\nCPU-bound trials (16 trials of ${iterations.toLocaleString('en-US')} iterations, worker threads):\n`);
out(
  markdownTable(
    ['threads', 'wall s', 'speed-up'],
    [
      ['1', one.toFixed(2), '1.00'],
      ['2', two.toFixed(2), (one / two).toFixed(2)],
    ],
  ),
);
out(`\nTarget, speed-up >= 1.8 with 2 threads: ${one / two >= 1.8 ? 'PASS' : 'FAIL'}`);

const { markdown } = writeBenchResults(
  'storage',
  { trials, workerCounts, rows, cpu: { one, two, iterations } },
  report.join('\n'),
);
console.error(`report: ${markdown}`);
