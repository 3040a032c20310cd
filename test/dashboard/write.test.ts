import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDashboard, WRITE_TOKEN_HEADER } from '../../src/dashboard/server.js';
import { exportTrials } from '../../src/storage/export.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { openStudyReader } from '../../src/storage/study-reader.js';
import { seedSqliteStudy } from '../helpers/seed-study.js';

const dir = mkdtempSync(join(tmpdir(), 'parsimony-dashboard-write-'));
const dbPath = join(dir, 'write.db');

/** A raw HTTP request, so the test can set Host and Origin as a hostile page or rebound name would. */
function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// JSON.parse gives `any`, which these checks of response shapes want.
const getJson = async (path: string, base: string) =>
  JSON.parse(await (await fetch(new URL(path, base))).text());

async function userAttrs(study: string): Promise<Record<string, unknown>> {
  const reader = await openStudyReader(`sqlite:${dbPath}`);
  try {
    return (await reader.study(study)).userAttrs;
  } finally {
    await reader.close();
  }
}

describe('dashboard --allow-write (real SQLite storage, real HTTP)', () => {
  let url = '';
  let host = '';
  let token = '';
  let close: () => Promise<void> = async () => {};
  const logs: string[] = [];

  before(async () => {
    await seedSqliteStudy(dbPath, 'keep', { trials: 40, seed: 1 });
    await seedSqliteStudy(dbPath, 'doomed', { trials: 10, seed: 2 });
    const d = await startDashboard({
      storage: `sqlite:${dbPath}`,
      port: 0,
      refreshMs: 50,
      allowWrite: true,
      log: (l) => logs.push(l),
    });
    url = d.url;
    host = new URL(url).host;
    close = d.close;
    const storage = await getJson('/api/storage', url);
    assert.equal(storage.readOnly, false);
    assert.match(storage.writeToken, /^[0-9a-f]{48}$/, 'a random token for the page');
    token = storage.writeToken;
  });
  after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const good = () => ({
    Host: host,
    Origin: `http://${host}`,
    'Content-Type': 'application/json',
    [WRITE_TOKEN_HEADER]: token,
  });

  it('sets a trial note and tags as study user attributes, visible in the API and the storage', async () => {
    const res = await send(
      url,
      'POST',
      '/api/studies/keep/annotations',
      good(),
      JSON.stringify({ trial: 3, note: 'looks overfit', tags: ['check', 'lr:high', 'check'] }),
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, { trial: 3, note: 'looks overfit', tags: ['check', 'lr:high'] });
    const attrs = await userAttrs('keep');
    assert.equal(attrs['dashboard:trial:3:note'], 'looks overfit');
    assert.deepEqual(attrs['dashboard:trial:3:tags'], ['check', 'lr:high']);
    const trial = await getJson('/api/studies/keep/trials/3', url);
    assert.deepEqual(trial.annotations, { note: 'looks overfit', tags: ['check', 'lr:high'] });
    const other = await getJson('/api/studies/keep/trials/4', url);
    assert.deepEqual(other.annotations, { note: '', tags: [] }, 'other trials are untouched');
    assert.ok(
      logs.some((l) => /note and tags set on trial 3 of "keep"/.test(l)),
      `the write is logged: ${logs.join(' | ')}`,
    );
  });

  it('sets the study note, and a new note changes the study version (live pages refresh)', async () => {
    const before = await getJson('/api/studies/keep', url);
    const res = await send(
      url,
      'POST',
      '/api/studies/keep/annotations',
      good(),
      JSON.stringify({ note: 'baseline' }),
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const afterWrite = await getJson('/api/studies/keep', url);
    assert.equal(afterWrite.annotations.note, 'baseline');
    assert.notEqual(afterWrite.version, before.version, 'version changes with the note');
    assert.equal((await userAttrs('keep'))['dashboard:note'], 'baseline');
  });

  it('refuses a write without the token, with a wrong token, from another origin or host', async () => {
    const body = JSON.stringify({ note: 'evil' });
    const cases: [string, Record<string, string>][] = [
      ['no token', { ...good(), [WRITE_TOKEN_HEADER]: '' }],
      ['wrong token', { ...good(), [WRITE_TOKEN_HEADER]: 'f'.repeat(48) }],
      ['other origin', { ...good(), Origin: 'http://evil.example' }],
      ['no origin', (({ Origin: _, ...rest }) => rest)(good())],
      ['cross-site fetch', { ...good(), 'Sec-Fetch-Site': 'cross-site' }],
      [
        'rebound host name',
        {
          ...good(),
          Host: `evil.example:${new URL(url).port}`,
          Origin: `http://evil.example:${new URL(url).port}`,
        },
      ],
    ];
    for (const [what, headers] of cases) {
      const res = await send(url, 'POST', '/api/studies/keep/annotations', headers, body);
      assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.json)}`);
    }
    const form = await send(
      url,
      'POST',
      '/api/studies/keep/annotations',
      {
        ...good(),
        'Content-Type': 'text/plain',
      },
      body,
    );
    assert.equal(form.status, 415, 'a form-like body is refused');
    // A page on a rebound name is not handed the token either.
    const storage = await send(url, 'GET', '/api/storage', { Host: `evil.example:${new URL(url).port}` });
    assert.equal(storage.json.writeToken, undefined);
    assert.notEqual((await userAttrs('keep'))['dashboard:note'], 'evil', 'nothing was written');
  });

  it('rejects bad bodies with a message naming the field, and unknown trials with 404', async () => {
    const post = (body: unknown) =>
      send(url, 'POST', '/api/studies/keep/annotations', good(), JSON.stringify(body));
    const badTag = await post({ trial: 1, tags: ['has space'] });
    assert.equal(badTag.status, 400);
    assert.match(String(badTag.json.error), /tags\[0\]/);
    const badField = await post({ trial: 1, colour: 'red' });
    assert.match(String(badField.json.error), /unknown field "colour"/);
    assert.equal((await post({ trial: 9999, note: 'x' })).status, 404);
    assert.equal((await post({ note: 'x'.repeat(10_001) })).status, 400);
    assert.equal(
      (await send(url, 'POST', '/api/studies/nope/annotations', good(), '{"note":"x"}')).status,
      404,
    );
  });

  it('deletes one trial with DELETE, and only with the token', async () => {
    const { [WRITE_TOKEN_HEADER]: _t, ...noToken } = good();
    assert.equal((await send(url, 'DELETE', '/api/studies/keep/trials/5', noToken)).status, 403);
    const res = await send(url, 'DELETE', '/api/studies/keep/trials/5', good());
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, { deleted: 5, study: 'keep' });
    assert.equal((await fetch(new URL('/api/studies/keep/trials/5', url))).status, 404);
    assert.equal((await send(url, 'DELETE', '/api/studies/keep/trials/5', good())).status, 404);
    assert.equal((await send(url, 'DELETE', '/api/studies/keep/trials/x', good())).status, 404);
    const { nTrials } = await getJson('/api/studies/keep', url);
    assert.equal(nTrials, 39);
    assert.ok(
      logs.some((l) => /deleted trial 5 \(\w+\) of study "keep"/.test(l)),
      'the deletion is logged',
    );
  });

  it('deletes a study with DELETE, and only with the token', async () => {
    const { Origin: _o, ...noOrigin } = good();
    assert.equal((await send(url, 'DELETE', '/api/studies/doomed', noOrigin)).status, 403);
    const res = await send(url, 'DELETE', '/api/studies/doomed', good());
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, { deleted: 'doomed' });
    const { studies } = await getJson('/api/studies', url);
    assert.deepEqual(
      studies.map((s: { name: string }) => s.name),
      ['keep'],
    );
    assert.equal((await fetch(new URL('/api/studies/doomed', url))).status, 404);
    assert.ok(
      logs.some((l) => /deleted study "doomed" \(10 trials\)/.test(l)),
      'the deletion is logged',
    );
  });

  it('keeps an export file read-only even with --allow-write', async () => {
    const exportPath = join(dir, 'keep.json');
    const storage = new SqliteStorage(dbPath);
    const id = await storage.getStudyIdFromName('keep');
    writeFileSync(exportPath, exportTrials(await storage.getAllTrials(id), 'json'));
    await storage.close();
    const d = await startDashboard({ storage: exportPath, port: 0, allowWrite: true, log: () => {} });
    try {
      const info = await getJson('/api/storage', d.url);
      assert.equal(info.readOnly, true);
      const h = new URL(d.url).host;
      const res = await send(d.url, 'DELETE', '/api/studies/keep', { Host: h, Origin: `http://${h}` });
      assert.equal(res.status, 403);
      assert.match(String(res.json.error), /cannot be written/);
    } finally {
      await d.close();
    }
  });
});
