/**
 * Many worker processes on one study: the shared budget, exclusive claims of enqueued points, and
 * recovery from a worker killed with SIGKILL. Real processes, real SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStorage } from '../../src/storage/factory.js';
import { createStudy, loadStudy } from '../../src/study/create.js';
import { tempDir } from '../helpers/temp-dir.js';
import { type PostgresServer, postgresUnavailable, startPostgres } from '../storage/postgres-server.js';
import { startChild } from '../storage/processes.js';

const WORKER = join(import.meta.dirname, '..', 'fixtures', 'workers', 'study-worker.ts');
const pgSkip = postgresUnavailable() ?? false;

async function eightWorkersShareOneBudget(url: string) {
  const storage = await createStorage(url);
  const study = await createStudy({ studyName: 'shared', storage });
  // 40 enqueued points must each run exactly once, then sampled trials fill the budget.
  for (let i = 0; i < 40; i++) await study.enqueueTrial({ x: i / 40, y: i % 10 });
  await storage.close();

  const children = Array.from({ length: 8 }, (_, k) =>
    startChild(WORKER, [url, 'shared', '400', '2', String(k)]),
  );
  await Promise.all(children.map((c) => c.done));

  const check = await createStorage(url);
  const trials = await (await loadStudy({ studyName: 'shared', storage: check })).getTrials();
  await check.close();
  assert.equal(trials.length, 400, 'exactly the budget');
  assert.deepEqual(
    trials.map((t) => t.number),
    Array.from({ length: 400 }, (_, i) => i),
  );
  assert.ok(
    trials.every((t) => t.state === 'COMPLETE'),
    'no lost tell',
  );
  for (const t of trials) assert.equal(t.values![0], (t.params.x as number) + (t.params.y as number));
  const enqueued = trials.filter((t) => t.systemAttrs.fixedParams !== undefined);
  assert.equal(enqueued.length, 40);
  const points = new Set(enqueued.map((t) => JSON.stringify([t.params.x, t.params.y])));
  assert.equal(points.size, 40, 'no enqueued point ran twice');
  const perWorker = children.map((c) => c.lines.filter((l) => l.includes('"done"')).length);
  assert.equal(
    perWorker.reduce((a, b) => a + b, 0),
    400,
  );
  assert.ok(perWorker.filter((n) => n > 0).length >= 4, `work was shared: ${perWorker}`);
}

async function killedWorkerIsRecovered(url: string) {
  const storage = await createStorage(url);
  await createStudy({ studyName: 'killed', storage });
  await storage.close();

  // A slow worker: kill it with SIGKILL once it has finished some trials and started others.
  const victim = startChild(WORKER, [url, 'killed', '12', '400', '1']);
  await victim.waitForLines(1 + 2 + 2 + 2); // ready, 2 started, 2 done, 2 started
  const finishedBefore = victim.lines.filter((l) => l.includes('"done"')).map((l) => JSON.parse(l));
  victim.kill('SIGKILL');
  await victim.done;

  const rescuer = startChild(WORKER, [url, 'killed', '12', '5', '2']);
  await rescuer.done;

  const check = await createStorage(url);
  const trials = await (await loadStudy({ studyName: 'killed', storage: check })).getTrials();
  await check.close();
  for (const { done, values } of finishedBefore) {
    assert.equal(trials[done].state, 'COMPLETE');
    assert.deepEqual(trials[done].values, values, 'trials completed before the kill are intact');
  }
  const stale = trials.filter((t) => t.systemAttrs.failKind === 'stale');
  assert.ok(stale.length >= 1, 'the killed trials were failed as stale');
  for (const lost of stale) {
    assert.match(String(lost.systemAttrs.failReason), /no heartbeat/);
    const retry = trials.find((t) => t.systemAttrs.retriedFrom === lost.number);
    assert.ok(retry, `trial ${lost.number} was retried`);
    assert.equal(retry.state, 'COMPLETE');
    // A trial killed before its first suggest has no parameters to repeat.
    if ('x' in lost.params) assert.equal(retry.params.x, lost.params.x);
  }
  assert.ok(trials.every((t) => t.state === 'COMPLETE' || t.systemAttrs.failKind === 'stale'));
}

describe('worker processes on SQLite', () => {
  const dir = tempDir('workers');
  it('8 workers finish a 400-trial study: exactly 400, unique numbers, each point once', () =>
    eightWorkersShareOneBudget(`sqlite:${join(dir, 'shared.db')}`));
  it('a worker killed with SIGKILL loses nothing: its trials fail as stale and are retried', () =>
    killedWorkerIsRecovered(`sqlite:${join(dir, 'killed.db')}`));
});

describe('worker processes on PostgreSQL', { skip: pgSkip }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  it('8 workers finish a 400-trial study: exactly 400, unique numbers, each point once', async () =>
    eightWorkersShareOneBudget(await server.createDatabase()));
  it('a worker killed with SIGKILL loses nothing: its trials fail as stale and are retried', async () =>
    killedWorkerIsRecovered(await server.createDatabase()));
});
