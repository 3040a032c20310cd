import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDashboard } from '../../src/dashboard/server.js';
import { copyStudy } from '../../src/storage/copy.js';
import { seedSqliteStudy } from '../helpers/seed-study.js';
import { type PostgresServer, postgresUnavailable, startPostgres } from '../storage/postgres-server.js';

const skip = postgresUnavailable() ?? false;

describe('dashboard over PostgreSQL', { skip }, () => {
  let server: PostgresServer;
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-dashboard-pg-'));
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists and pages a study, and never shows the URL, user or password', async () => {
    const db = join(dir, 'seed.db');
    await seedSqliteStudy(db, 'pg-demo', { trials: 150, seed: 8 });
    const url = new URL(await server.createDatabase());
    url.password = 'hunter2'; // trust authentication ignores it; it must not leak anywhere
    await copyStudy({ from: `sqlite:${db}`, to: url.href, studyName: 'pg-demo' });
    const logs: string[] = [];
    const dash = await startDashboard({ storage: url.href, port: 0, log: (l) => logs.push(l) });
    try {
      const texts: string[] = [...logs];
      for (const path of ['/', '/api/storage', '/api/studies', '/api/studies/pg-demo', '/api/studies/nope']) {
        const res = await fetch(new URL(path, dash.url));
        texts.push(await res.text());
      }
      const studies = JSON.parse(texts[logs.length + 2]).studies;
      assert.equal(studies[0].name, 'pg-demo');
      assert.equal(studies[0].nTrials, 150);
      const page = (await (
        await fetch(new URL('/api/studies/pg-demo/trials?offset=140&limit=50', dash.url))
      ).json()) as {
        total: number;
        rows: { number: number }[];
      };
      assert.equal(page.total, 150);
      assert.deepEqual(
        page.rows.map((r) => r.number),
        Array.from({ length: 10 }, (_, i) => 140 + i),
      );
      for (const text of texts) {
        for (const secret of ['hunter2', url.host, `${url.username}@`])
          assert.ok(!text.includes(secret), `"${secret}" leaked: ${text.slice(0, 200)}`);
      }
      assert.match(texts[logs.length + 1], /PostgreSQL database/);
    } finally {
      await dash.close();
    }
  });
});
