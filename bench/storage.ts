/**
 * Storage and execution benchmark (issue: storage and execution).
 *
 *   node --import tsx bench/storage.ts [--trials 400] [--workers 1,4,8]
 *
 * 1. Throughput: trials per second for a trivial objective with 1, 4 and 8 worker processes sharing
 *    one study, on SQLite and on a throwaway PostgreSQL, against Optuna 3.1 with its RDB storage on
 *    the same kind of database, in the same run (bench/optuna_storage.py, /usr/bin/python3).
 *    Parsimony workers are `loadStudy` + `optimize({ maxTotalTrials })` processes with heartbeats on,
 *    i.e. what `parsimony worker` runs. Process start-up is inside both timings.
 * 2. CPU-bound trials: wall time of 16 CPU-heavy trials with 1 and 2 worker threads
 *    (`threadObjective`); speed-up = t1 / t2 (target >= 1.8 on this 2-core machine).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStudy } from '../src/core/study.js';
import { threadObjective } from '../src/run/thread-objective.js';
import { RandomSampler } from '../src/samplers/random.js';
import { createStorage } from '../src/storage/factory.js';
import { startPostgres } from '../test/storage/postgres-server.js';
import { BenchArgs, parseIntegers } from './lib/args.js';
import { REPO_ROOT } from './lib/load.js';
import { SYSTEM_PYTHON } from './lib/python.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(['trials', 'workers']);
const trials = args.number('trials', 400);
const workerCounts = parseIntegers(args.string('workers', '1,4,8'), 'workers');
const dir = mkdtempSync(join(tmpdir(), 'parsimony-bench-storage-'));

const WORKER = join(dir, 'worker.mts');
writeFileSync(
  WORKER,
  `import { loadStudy } from ${JSON.stringify(join(REPO_ROOT, 'src/core/study.ts'))};
import { RandomSampler } from ${JSON.stringify(join(REPO_ROOT, 'src/samplers/random.ts'))};
const [url, max, seed] = process.argv.slice(2);
const study = await loadStudy({ studyName: 'bench', storage: url, sampler: new RandomSampler({ seed: Number(seed) }),
  heartbeat: { intervalMs: 5000, gracePeriodMs: 30000 } });
await study.optimize((t) => t.suggestFloat('x', 0, 1) ** 2, { maxTotalTrials: Number(max) });
await study.storage.close();
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

async function parsimonyRate(url: string, workers: number): Promise<number> {
  const storage = await createStorage(url);
  await createStudy({ studyName: 'bench', storage });
  await storage.close();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, (_, k) =>
      run(process.execPath, ['--import', 'tsx', WORKER, url, String(trials), String(k)]),
    ),
  );
  return trials / ((performance.now() - t0) / 1000);
}

async function optunaRate(url: string, workers: number): Promise<number> {
  const out = await run(SYSTEM_PYTHON, [
    join(REPO_ROOT, 'bench/optuna_storage.py'),
    url,
    String(workers),
    String(trials),
  ]);
  const { seconds } = JSON.parse(out.trim().split('\n').pop()!);
  return trials / seconds;
}

const rows: string[][] = [];
const pg = await startPostgres();
try {
  for (const workers of workerCounts) {
    const sqliteFile = (who: string) => join(dir, `${who}-${workers}.db`);
    const ours = await parsimonyRate(`sqlite:${sqliteFile('parsimony')}`, workers);
    const theirs = await optunaRate(`sqlite:///${sqliteFile('optuna')}`, workers);
    rows.push([
      'SQLite',
      String(workers),
      ours.toFixed(1),
      theirs.toFixed(1),
      `${(ours / theirs).toFixed(1)}x`,
    ]);
    const ourDb = await pg.createDatabase();
    const theirDb = (await pg.createDatabase()).replace(/^postgres(ql)?:/, 'postgresql+psycopg2:');
    const oursPg = await parsimonyRate(ourDb, workers);
    const theirsPg = await optunaRate(theirDb, workers);
    rows.push([
      'PostgreSQL',
      String(workers),
      oursPg.toFixed(1),
      theirsPg.toFixed(1),
      `${(oursPg / theirsPg).toFixed(1)}x`,
    ]);
    console.error(`done: ${workers} workers`);
  }
} finally {
  await pg.stop();
}

console.log(`# Storage benchmark, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(`${trials} trials of a trivial objective shared by N worker processes (start-up included).\n`);
console.log(
  markdownTable(['storage', 'workers', 'Parsimony trials/s', 'Optuna 3.1 trials/s', 'ratio'], rows),
);

// CPU-bound trials on worker threads.
const fixture = new URL('../test/fixtures/threads/cpu-objective.ts', import.meta.url);
async function cpuWall(threads: number): Promise<number> {
  const objective = threadObjective(fixture, { threads });
  try {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    await study.optimize(objective, { nTrials: 2, concurrency: threads }); // warm-up: threads start
    const t0 = performance.now();
    await study.optimize(objective, { nTrials: 16, concurrency: threads });
    return (performance.now() - t0) / 1000;
  } finally {
    await objective.close();
  }
}
const one = await cpuWall(1);
const two = await cpuWall(2);
console.log('\nCPU-bound trials (16 trials, worker threads):\n');
console.log(
  markdownTable(
    ['threads', 'wall s', 'speed-up'],
    [
      ['1', one.toFixed(2), '1.00'],
      ['2', two.toFixed(2), (one / two).toFixed(2)],
    ],
  ),
);
