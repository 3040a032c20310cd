import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDashboard } from '../../src/dashboard/server.js';
import { exportTrials } from '../../src/storage/export.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { openStudyReader } from '../../src/storage/study-reader.js';
import { getParetoData } from '../../src/visualization/index.js';
import { seedSqliteStudy } from '../helpers/seed-study.js';

const dir = mkdtempSync(join(tmpdir(), 'parsimony-dashboard-'));
const dbPath = join(dir, 'secret-name-study.db');

describe('dashboard server (real SQLite storage, real HTTP)', () => {
  let url = '';
  let close: () => Promise<void> = async () => {};
  const logs: string[] = [];

  before(async () => {
    await seedSqliteStudy(dbPath, 'demo', { trials: 300, seed: 5 });
    const d = await startDashboard({
      storage: `sqlite:${dbPath}`,
      port: 0,
      refreshMs: 100,
      log: (l) => logs.push(l),
    });
    url = d.url;
    close = d.close;
  });
  after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(new URL(path, url), init);
    return { status: res.status, text: await res.text() };
  };

  it('binds 127.0.0.1 by default and never shows the storage path', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, url);
    const pages = await Promise.all(
      ['/', '/api/storage', '/api/studies', '/api/studies/demo', '/api/studies/nope'].map((p) => get(p)),
    );
    for (const page of [...pages.map((p) => p.text), ...logs])
      assert.ok(!page.includes(dir), `the storage's directory leaked: ${page.slice(0, 200)}`);
    assert.match(pages[1].text, /SQLite file secret-name-study\.db/);
  });

  it('lists studies with counts by state and the best value', async () => {
    const { studies } = JSON.parse((await get('/api/studies')).text);
    assert.equal(studies.length, 1);
    const s = studies[0];
    assert.equal(s.nTrials, 300);
    const total = Object.values(s.counts as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(total, 300, 'counts by state add up');
    assert.equal(s.counts.RUNNING, 1);
    const reader = await openStudyReader(`sqlite:${dbPath}`);
    const trials = await reader.trials((await reader.study('demo')).studyId);
    await reader.close();
    const best = trials
      .filter((t) => t.state === 'COMPLETE')
      .reduce((a, b) => ((b.values?.[0] ?? 0) > (a.values?.[0] ?? 0) ? b : a));
    assert.equal(s.best.number, best.number, 'best trial of a maximised study');
  });

  it('serves the Pareto front the plot data computes', async () => {
    const body = JSON.parse((await get('/api/studies/demo/plots/pareto')).text);
    const front = body.charts[0].series.find((x: { id: string }) => x.id === 'front');
    const reader = await openStudyReader(`sqlite:${dbPath}`);
    const trials = await reader.trials(0 + (await reader.study('demo')).studyId);
    await reader.close();
    const expected = getParetoData(trials, ['maximize']).front.map((p) => p.number);
    assert.deepEqual(
      front.data.map((d: { number: number }) => d.number),
      expected,
    );
  });

  it('pages, sorts and filters the trial table', async () => {
    const page = JSON.parse((await get('/api/studies/demo/trials?offset=10&limit=5&sort=number')).text);
    assert.equal(page.total, 300);
    assert.deepEqual(
      page.rows.map((r: { number: number }) => r.number),
      [10, 11, 12, 13, 14],
    );
    const pruned = JSON.parse((await get('/api/studies/demo/trials?state=PRUNED&limit=1000')).text);
    assert.ok(
      pruned.total > 0 && pruned.rows.every((r: { state: string }) => r.state === 'PRUNED'),
      'state filter',
    );
    const small = JSON.parse(
      (await get('/api/studies/demo/trials?filter=units<20,optimizer=adam&limit=1000')).text,
    );
    assert.ok(
      small.rows.every(
        (r: { params: { units: number; optimizer: string } }) =>
          r.params.units < 20 && r.params.optimizer === 'adam',
      ),
      'parameter filter',
    );
    const bad = await get('/api/studies/demo/trials?limit=100000');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /limit must be an integer in 0\.\.1000/);
  });

  it('returns a trial record with its layer complexity when it stored a spec', async () => {
    const withSpec = JSON.parse((await get('/api/studies/demo/trials/0')).text);
    assert.equal(withSpec.trial.number, 0);
    assert.ok(withSpec.layers === null || withSpec.layers.charts.length === 2, 'layers: params and MACs');
    const missing = await get('/api/studies/demo/trials/99999');
    assert.equal(missing.status, 404);
  });

  it('refuses writes, unknown assets and path traversal', async () => {
    // Without --allow-write every write is 403 and the page gets no token.
    assert.equal((await get('/api/studies/demo', { method: 'DELETE' })).status, 403);
    assert.equal((await get('/api/studies/demo/trials', { method: 'POST', body: '{}' })).status, 403);
    assert.equal((await get('/api/studies/demo', { method: 'PUT', body: '{}' })).status, 405);
    const storage = JSON.parse((await get('/api/storage')).text);
    assert.equal(storage.readOnly, true);
    assert.equal(storage.writeToken, undefined, 'no token when read-only');
    for (const p of [
      '/assets/..%2F..%2Fpackage.json',
      '/assets/../../package.json',
      '/assets/%2e%2e/package.json',
      '/../package.json',
    ])
      assert.notEqual((await get(p)).status, 200, p);
    assert.equal((await get('/assets/echarts.min.js')).status, 200, 'ECharts is served from the package');
  });

  it('says clearly when a study does not exist', async () => {
    const r = await get('/api/studies/nope/plots/history');
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.text).error, /no study named "nope"/);
  });
});

describe('dashboard storage errors', () => {
  it('fails with a one-line message for a missing file or a bad URL, without the password', async () => {
    await assert.rejects(
      startDashboard({ storage: 'sqlite:/nonexistent/x.db', port: 0 }),
      /SQLite storage file not found/,
    );
    await assert.rejects(startDashboard({ storage: 'mysql://u:hunter2@h/db', port: 0 }), (error: Error) => {
      assert.match(error.message, /unsupported storage URL scheme "mysql:"/);
      assert.ok(!error.message.includes('hunter2'), error.message);
      return true;
    });
  });

  it('reads a JSON export file', async () => {
    const d = mkdtempSync(join(tmpdir(), 'parsimony-json-'));
    try {
      const storage = new SqliteStorage(join(d, 's.db'));
      const id = await storage.createStudy(['minimize'], 'x');
      for (let i = 0; i < 3; i++) {
        const t = await storage.createTrial(id);
        await storage.setTrialState(t.trialId, 'COMPLETE', [3 - i]);
      }
      writeFileSync(join(d, 'x.json'), exportTrials(await storage.getAllTrials(id), 'json'));
      await storage.close();
      const dash = await startDashboard({ storage: join(d, 'x.json'), port: 0, log: () => {} });
      try {
        const { studies } = (await (await fetch(new URL('/api/studies', dash.url))).json()) as {
          studies: { name: string; best: { number: number } }[];
        };
        assert.equal(studies[0].name, 'x');
        assert.equal(studies[0].best.number, 2);
      } finally {
        await dash.close();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
