import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CategoricalDistribution, FloatDistribution } from '../../src/core/distributions.js';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import { copyStudy } from '../../src/storage/copy.js';
import { createStorage } from '../../src/storage/factory.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { SCHEMA_VERSION } from '../../src/storage/migrations/index.js';
import { PostgresStorage, parsePostgresUrl } from '../../src/storage/postgres.js';
import { type PostgresServer, postgresUnavailable, startPostgres } from './postgres-server.js';
import { raceWorkers } from './processes.js';
import { storageContract } from './storage-contract.js';

const skip = postgresUnavailable() ?? false;

describe('PostgreSQL storage', { skip }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  const fresh = async () => PostgresStorage.connect(await server.createDatabase());

  storageContract('postgres', fresh);

  it('a trial deleted through one connection disappears from another that had cached it', async () => {
    const url = await server.createDatabase();
    const a = await PostgresStorage.connect(url);
    const b = await PostgresStorage.connect(url);
    try {
      const id = await a.createStudy(['minimize'], 'shared-delete');
      for (let i = 0; i < 3; i++) await a.createTrial(id, { state: 'COMPLETE', values: [i] });
      assert.equal((await b.getAllTrials(id)).length, 3, 'b caches the finished trials');
      const [, middle] = await a.getAllTrials(id);
      await a.deleteTrial(middle.trialId);
      await a.createTrial(id, { state: 'COMPLETE', values: [9] });
      assert.deepEqual(
        (await b.getAllTrials(id)).map((t) => t.number),
        [0, 2, 3],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps trials across connections and serves finished ones from its cache', async () => {
    const url = await server.createDatabase();
    const writer = await PostgresStorage.connect(url);
    const reader = await PostgresStorage.connect(`${url}?max=2`);
    const id = await writer.createStudy(['minimize', 'maximize'], 'shared');
    const t = await writer.createTrial(id);
    await writer.setTrialParam(t.trialId, 'lr', 0.1 + 0.2, new FloatDistribution(0, 1));
    await writer.setTrialParam(t.trialId, 'a', 1, new FloatDistribution(0, 2));
    await writer.setTrialIntermediateValue(t.trialId, 2, [Number.NaN, 1]);
    await writer.setTrialIntermediateValue(t.trialId, 0, Number.NaN);
    await writer.setTrialUserAttr(t.trialId, 'inf', Number.NEGATIVE_INFINITY);
    await writer.setTrialSystemAttr(t.trialId, 'config', { layers: [64, 32], note: 'é "quoted"' });
    const running = await reader.getAllTrials(id);
    assert.equal(running[0].state, 'RUNNING');
    assert.deepEqual(Object.keys(running[0].params), ['lr', 'a']);
    await writer.setTrialState(t.trialId, 'COMPLETE', [Number.POSITIVE_INFINITY, 2]);
    await writer.createTrial(id, { state: 'WAITING' });
    const [done, waiting] = await reader.getAllTrials(id);
    assert.deepEqual(
      [done.state, done.values, done.params, waiting.state],
      ['COMPLETE', [Number.POSITIVE_INFINITY, 2], { lr: 0.1 + 0.2, a: 1 }, 'WAITING'],
    );
    assert.deepEqual(done.intermediateValues, { 0: Number.NaN, 2: [Number.NaN, 1] });
    assert.equal(done.userAttrs.inf, Number.NEGATIVE_INFINITY);
    assert.deepEqual(done.systemAttrs.config, { layers: [64, 32], note: 'é "quoted"' });
    // The writer serves the finished trial from what the server packed, identical to a fresh read.
    assert.deepEqual(await writer.getTrial(t.trialId), done);
    assert.ok(done.datetimeComplete! >= done.datetimeStart!);
    assert.equal((await reader.getAllTrials(id))[0], done);
    await writer.close();
    await reader.close();
  });

  it('migrates once when 8 storages open a new database together', async () => {
    const url = await server.createDatabase();
    const storages = await Promise.all(Array.from({ length: 8 }, () => PostgresStorage.connect(url)));
    assert.deepEqual(
      await Promise.all(storages.map((s) => s.schemaVersion())),
      storages.map(() => SCHEMA_VERSION),
    );
    const client = new pg.Client(url);
    await client.connect();
    const { rows } = await client.query('SELECT version FROM parsimony_schema ORDER BY version');
    assert.deepEqual(
      rows.map((r) => r.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    // A database from a newer parsimony is refused with a clear message.
    await client.query('INSERT INTO parsimony_schema (version, description) VALUES ($1, $2)', [
      SCHEMA_VERSION + 1,
      'future',
    ]);
    await client.end();
    await assert.rejects(PostgresStorage.connect(url), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'STORAGE');
      assert.match(e.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than`));
      return true;
    });
    await Promise.all(storages.map((s) => s.close()));
  });

  it('refuses a database whose "studies" table belongs to another program', async () => {
    const url = await server.createDatabase();
    const client = new pg.Client(url);
    await client.connect();
    await client.query('CREATE TABLE studies (study_id integer PRIMARY KEY, study_name text)');
    await client.end();
    await assert.rejects(PostgresStorage.connect(url), /no parsimony schema version/);
  });

  it('numbers trials densely and hands out each WAITING trial once across 8 processes', async () => {
    const url = await server.createDatabase();
    const setup = await PostgresStorage.connect(url);
    const id = await setup.createStudy(['minimize'], 'race');
    const waiting: number[] = [];
    for (let i = 0; i < 40; i++) waiting.push((await setup.createTrial(id, { state: 'WAITING' })).trialId);
    const results = await raceWorkers(`${url}?max=2`, 'race', 8, 15);
    assert.deepEqual(
      results.flatMap((r) => r.created).sort((a, b) => a - b),
      Array.from({ length: 120 }, (_, i) => 40 + i),
    );
    assert.deepEqual(
      results.flatMap((r) => r.claimed).sort((a, b) => a - b),
      waiting,
    );
    const all = await setup.getAllTrials(id);
    assert.deepEqual(
      all.map((t) => t.number),
      Array.from({ length: 160 }, (_, i) => i),
    );
    await setup.close();
  });

  it('takes heartbeat times from the server clock', async () => {
    const s = await fresh();
    const id = await s.createStudy(['minimize'], 'clock');
    const t = await s.createTrial(id);
    await s.recordHeartbeat(t.trialId);
    // Stale as soon as the server's clock moves past the grace period, whatever ours says.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      (await s.getStaleTrials(id, 10)).map((x) => x.number),
      [0],
    );
    assert.deepEqual(await s.getStaleTrials(id, 60_000), []);
    await s.close();
  });

  it('receives a copied study of 1,200 trials intact', async () => {
    const memory = new InMemoryStorage();
    const id = await memory.createStudy(['maximize'], 'big');
    await memory.setStudySystemAttr(id, 'seed', 7);
    const x = new FloatDistribution(0, 1);
    const c = new CategoricalDistribution(['a', 'b']);
    for (let i = 0; i < 1200; i++)
      await memory.createTrial(id, {
        state: i % 7 === 0 ? 'PRUNED' : i === 1199 ? 'RUNNING' : 'COMPLETE',
        values: i === 1199 ? null : [i / 10],
        params: i % 2 ? { x: i / 1200, c: 'b' } : { c: 'a', x: 0 },
        distributions: { x, c },
        intermediateValues: { 0: i, 1: i + 1 },
        userAttrs: { i },
        systemAttrs: i % 7 === 0 ? { pruned: true } : {},
        datetimeStart: new Date(1_700_000_000_000 + i * 1000),
        datetimeComplete: i === 1199 ? null : new Date(1_700_000_000_500 + i * 1000),
      });
    const url = await server.createDatabase();
    const result = await copyStudy({ from: memory, to: url, studyName: 'big' });
    assert.equal(result.nTrials, 1200);
    const pgStorage = await PostgresStorage.connect(url);
    const copyId = await pgStorage.getStudyIdFromName('big');
    const strip = (t: FrozenTrial) => ({
      ...t,
      trialId: 0,
      distributions: Object.keys(t.distributions).sort(),
      datetimeStart: t.datetimeStart?.getTime(),
      datetimeComplete: t.datetimeComplete?.getTime(),
    });
    assert.deepEqual(
      (await pgStorage.getAllTrials(copyId)).map(strip),
      (await memory.getAllTrials(id)).map(strip),
    );
    assert.deepEqual(await pgStorage.getStudySystemAttrs(copyId), { seed: 7 });
    await pgStorage.close();
  });

  it('fails to connect with one line that names the server but not the password', async () => {
    const url = new URL(server.url);
    url.password = 's3cret-pw';
    url.port = String(Number(url.port) + 1 === 65536 ? 1 : Number(url.port) + 1);
    await assert.rejects(createStorage(url.toString()), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'STORAGE');
      assert.match(
        e.message,
        new RegExp(`^cannot connect to postgres://parsimony@127\\.0\\.0\\.1:${url.port}/`),
      );
      assert.doesNotMatch(e.message, /s3cret/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });
});

describe('PostgreSQL URLs', () => {
  it('reads pool options and hides the password', () => {
    const parsed = parsePostgresUrl(
      'postgresql://ann:pw@db.example:6543/opt?max=8&connect_timeout=3&sslmode=require',
    );
    assert.equal(parsed.max, 8);
    assert.equal(parsed.connectTimeoutMs, 3000);
    assert.equal(parsed.display, 'postgresql://ann@db.example:6543/opt');
    assert.match(parsed.connectionString, /sslmode=require/);
    assert.doesNotMatch(parsed.connectionString, /max=/);
    assert.equal(parsePostgresUrl('postgres://h/db').display, 'postgres://h:5432/db');
    assert.throws(() => parsePostgresUrl('postgres://h/db?max=0'), { code: 'INVALID_ARGUMENT' });
    assert.throws(
      () => parsePostgresUrl('postgres://u:p@[bad'),
      (e: Error) => !e.message.includes('u:p'),
    );
  });
});
