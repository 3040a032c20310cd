import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import { createStorage } from '../../src/storage/factory.js';
import { SCHEMA_VERSION } from '../../src/storage/migrations/index.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { createStudy, loadStudy } from '../../src/study/create.js';
import { tempDir } from '../helpers/temp-dir.js';
import { raceWorkers, sourceUrl, startChild, writeScript } from './processes.js';
import { storageContract } from './storage-contract.js';

const dir = tempDir('sqlite');
let files = 0;
const freshPath = () => join(dir, `s${files++}.db`);
after(() => rmSync(dir, { recursive: true, force: true }));

storageContract('sqlite', async () => new SqliteStorage(freshPath()));

describe('SQLite storage', () => {
  it('a trial deleted through one handle disappears from another that had cached it', async () => {
    const path = freshPath();
    const a = new SqliteStorage(path);
    const b = new SqliteStorage(path);
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

  it('keeps everything across reopening, including non-finite numbers and insertion order', async () => {
    const path = freshPath();
    const a = new SqliteStorage(path);
    const id = await a.createStudy(['minimize', 'maximize'], 'kept');
    await a.setStudyUserAttr(id, 'owner', { name: 'ada', tags: ['x'] });
    const t = await a.createTrial(id);
    await a.setTrialParam(t.trialId, 'width', 64, new IntDistribution(8, 512, { log: true }));
    await a.setTrialParam(t.trialId, 'act', 'tanh', new CategoricalDistribution(['relu', 'tanh', null]));
    await a.setTrialParam(t.trialId, 'lr', 0.1 + 0.2, new FloatDistribution(0, 1));
    await a.setTrialIntermediateValue(t.trialId, 3, Number.NaN);
    await a.setTrialIntermediateValue(t.trialId, 1, [0.5, Number.POSITIVE_INFINITY]);
    await a.setTrialSystemAttr(t.trialId, 'constraints', [Number.NEGATIVE_INFINITY, 2]);
    await a.setTrialState(t.trialId, 'COMPLETE', [Number.POSITIVE_INFINITY, -1e-300]);
    await a.close();

    const b = new SqliteStorage(path);
    const [trial] = await b.getAllTrials(await b.getStudyIdFromName('kept'));
    assert.deepEqual(Object.keys(trial.params), ['width', 'act', 'lr']);
    assert.deepEqual(trial.params, { width: 64, act: 'tanh', lr: 0.1 + 0.2 });
    assert.deepEqual(trial.distributions.width.getConfig(), { type: 'int', low: 8, high: 512, log: true });
    assert.deepEqual(trial.values, [Number.POSITIVE_INFINITY, -1e-300]);
    assert.ok(Number.isNaN(trial.intermediateValues[3] as number));
    assert.deepEqual(trial.intermediateValues[1], [0.5, Number.POSITIVE_INFINITY]);
    assert.deepEqual(trial.systemAttrs.constraints, [Number.NEGATIVE_INFINITY, 2]);
    assert.deepEqual(await b.getStudyUserAttrs(id), { owner: { name: 'ada', tags: ['x'] } });
    assert.deepEqual(await b.getStudyDirections(id), ['minimize', 'maximize']);
    assert.equal(trial.datetimeStart?.getTime(), t.datetimeStart?.getTime());
    await b.close();
  });

  it('serves finished trials from its cache and sees other connections’ writes', async () => {
    const path = freshPath();
    const reader = new SqliteStorage(path);
    const writer = new SqliteStorage(path);
    const id = await writer.createStudy(['minimize'], 'shared');
    const done = await writer.createTrial(id, { state: 'COMPLETE', values: [1] });
    const running = await writer.createTrial(id);
    const first = await reader.getAllTrials(id);
    assert.deepEqual(
      first.map((t) => t.state),
      ['COMPLETE', 'RUNNING'],
    );
    await writer.setTrialState(running.trialId, 'PRUNED', [0.5]);
    await writer.createTrial(id, { state: 'WAITING' });
    const second = await reader.getAllTrials(id);
    assert.deepEqual(
      second.map((t) => t.state),
      ['COMPLETE', 'PRUNED', 'WAITING'],
    );
    // The finished trial was not read again: the very same frozen object comes back.
    assert.equal(second[0], first[0]);
    assert.equal(await reader.getTrial(done.trialId), first[0]);
    const third = await reader.getAllTrials(id, { states: ['PRUNED'] });
    assert.equal(third[0], second[1]);
    await reader.close();
    await writer.close();
  });

  it('uses WAL and creates the schema at the newest version', async () => {
    const path = freshPath();
    const s = new SqliteStorage(path);
    assert.equal(s.schemaVersion(), SCHEMA_VERSION);
    const raw = new Database(path);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();
    await s.close();
  });

  it('gives one-line STORAGE or FILE_NOT_FOUND errors for unusable files', async () => {
    const notDb = join(dir, 'notes.db');
    writeFileSync(
      notDb,
      'this is not a database, just text that is long enough to have a header\n'.repeat(20),
    );
    assert.throws(
      () => new SqliteStorage(notDb),
      (e: Error & { code?: string }) =>
        e.code === 'STORAGE' && /notes\.db/.test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(() => new SqliteStorage(join(dir, 'no', 'such', 'dir.db')), { code: 'STORAGE' });
    assert.throws(() => new SqliteStorage(join(dir, 'missing.db'), { mustExist: true }), {
      code: 'FILE_NOT_FOUND',
    });
    await assert.rejects(createStorage(`sqlite:${join(dir, 'missing2.db')}`, { mustExist: true }), {
      code: 'FILE_NOT_FOUND',
    });
  });

  it('opens sqlite: URLs, relative or absolute, and rejects malformed ones', async () => {
    const absolute = freshPath();
    const s1 = await createStorage(`sqlite:${absolute}`);
    assert.ok(s1 instanceof SqliteStorage && s1.path === absolute);
    await s1.close();
    const rel = relative(process.cwd(), freshPath());
    const s2 = await createStorage(`sqlite:${rel}`);
    assert.ok(s2 instanceof SqliteStorage && s2.path === join(process.cwd(), rel));
    await s2.close();
    const s3 = await createStorage(`sqlite:///${rel}`);
    assert.ok(s3 instanceof SqliteStorage && s3.path === join(process.cwd(), rel));
    await s3.close();
    const s4 = await createStorage(`sqlite:///${absolute}`);
    assert.ok(s4 instanceof SqliteStorage && s4.path === absolute);
    await s4.close();
    const mem = await createStorage('sqlite::memory:');
    await mem.createStudy(['minimize'], 'm');
    await mem.close();
    await assert.rejects(createStorage('sqlite:'), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(createStorage('sqlite://host/x.db'), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(createStorage('mysql://u:secret@h/db'), (e: Error) => !e.message.includes('secret'));
  });

  it('backs createStudy/loadStudy by URL and finds the best trials', async () => {
    const path = freshPath();
    const study = await createStudy({ storage: `sqlite:${path}`, studyName: 'quad', direction: 'minimize' });
    await study.optimize((t) => (t.suggestFloat('x', -5, 5) - 1) ** 2, { nTrials: 20 });
    const best = study.bestTrial;
    await study.storage.close();
    const again = await loadStudy({ storage: `sqlite:${path}`, studyName: 'quad' });
    assert.equal(again.trials.length, 20);
    assert.equal(again.bestTrial.number, best.number);
    assert.deepEqual(again.bestTrial.params, best.params);
    await again.storage.close();
  });

  it('numbers trials densely and hands out each WAITING trial once across 8 processes', async () => {
    const path = freshPath();
    const setup = new SqliteStorage(path);
    const id = await setup.createStudy(['minimize'], 'race');
    const waiting: number[] = [];
    for (let i = 0; i < 40; i++) waiting.push((await setup.createTrial(id, { state: 'WAITING' })).trialId);
    await setup.close();
    const results = await raceWorkers(`sqlite:${path}`, 'race', 8, 15);
    const created = results.flatMap((r) => r.created).sort((a, b) => a - b);
    assert.deepEqual(
      created,
      Array.from({ length: 120 }, (_, i) => 40 + i),
    );
    const claimed = results.flatMap((r) => r.claimed).sort((a, b) => a - b);
    assert.deepEqual(claimed, waiting);
    const check = new SqliteStorage(path);
    const all = await check.getAllTrials(id);
    assert.deepEqual(
      all.map((t) => t.number),
      Array.from({ length: 160 }, (_, i) => i),
    );
    assert.equal(all.filter((t) => t.state === 'WAITING').length, 0);
    await check.close();
  });

  it('survives SIGKILL during writes: the file is intact and every committed trial is there', async () => {
    const path = freshPath();
    const script = writeScript(`
      import { SqliteStorage } from ${JSON.stringify(sourceUrl('src/storage/sqlite.ts'))};
      import { FloatDistribution } from ${JSON.stringify(sourceUrl('src/core/distributions.ts'))};
      const storage = new SqliteStorage(process.argv[2]);
      const studyId = await storage.createStudy(['minimize'], 'killed');
      const dist = new FloatDistribution(0, 1e9);
      for (let i = 0; ; i++) {
        // A multi-row transaction (a batch of finished trials) and a sequence of single writes.
        const batch = Array.from({ length: 25 }, (_, k) => ({
          state: 'COMPLETE', values: [i * 100 + k], params: { x: i * 100 + k }, distributions: { x: dist },
          userAttrs: { batch: i, pad: 'p'.repeat(500) },
        }));
        const trials = await storage.createTrials(studyId, batch);
        const t = await storage.createTrial(studyId);
        await storage.setTrialParam(t.trialId, 'x', i, dist);
        await storage.setTrialIntermediateValue(t.trialId, 0, i);
        await storage.setTrialUserAttr(t.trialId, 'pad', 'q'.repeat(2000));
        await storage.setTrialState(t.trialId, 'COMPLETE', [i]);
        process.stdout.write(JSON.stringify({ batch: trials.map((b) => b.number), single: t.number, i }) + '\\n');
      }
    `);
    const child = startChild(script, [path]);
    await child.waitForLines(40);
    child.kill('SIGKILL');
    const lines = await child.done;
    const committed = lines.map((l) => JSON.parse(l) as { batch: number[]; single: number; i: number });
    assert.ok(committed.length >= 40);

    const raw = new Database(path);
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(raw.pragma('foreign_key_check'), []);
    raw.close();

    const s = new SqliteStorage(path);
    const trials = await s.getAllTrials(await s.getStudyIdFromName('killed'));
    const byNumber = new Map(trials.map((t) => [t.number, t]));
    for (const c of committed) {
      for (const [k, n] of c.batch.entries()) {
        const t = byNumber.get(n)!;
        assert.equal(t.state, 'COMPLETE');
        assert.deepEqual(t.values, [c.i * 100 + k]);
        assert.deepEqual(t.params, { x: c.i * 100 + k });
      }
      const single = byNumber.get(c.single)!;
      assert.deepEqual(
        [single.state, single.values, single.params, single.intermediateValues[0]],
        ['COMPLETE', [c.i], { x: c.i }, c.i],
      );
      assert.equal((single.userAttrs.pad as string).length, 2000);
    }
    // Batches are all-or-nothing, and numbers stay dense after the crash.
    const batchSizes = new Map<number, number>();
    for (const t of trials)
      if (t.userAttrs.batch !== undefined)
        batchSizes.set(t.userAttrs.batch as number, (batchSizes.get(t.userAttrs.batch as number) ?? 0) + 1);
    for (const size of batchSizes.values()) assert.equal(size, 25);
    assert.deepEqual(
      trials.map((t) => t.number),
      trials.map((_, i) => i),
    );
    const id = await s.getStudyIdFromName('killed');
    assert.equal((await s.createTrial(id)).number, trials.length);
    await s.close();
  });
});
