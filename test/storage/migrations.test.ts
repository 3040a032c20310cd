import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  MIGRATIONS,
  pendingMigrations,
  SCHEMA_VERSION,
  validateMigrations,
} from '../../src/storage/migrations/index.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sourceUrl, startChild, writeScript } from './processes.js';

const dir = tempDir('migrations');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('schema migrations', () => {
  it('are numbered 1..n, migration 1 being the initial schema', () => {
    validateMigrations();
    assert.equal(MIGRATIONS[0].version, 1);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.throws(() => validateMigrations([MIGRATIONS[0], { ...MIGRATIONS[0], version: 3 }]), /expected 2/);
    assert.equal(pendingMigrations(0, 'db').length, MIGRATIONS.length);
    assert.deepEqual(pendingMigrations(SCHEMA_VERSION, 'db'), []);
  });

  it('refuses a SQLite file written by a newer parsimony', async () => {
    const path = join(dir, 'future.db');
    await new SqliteStorage(path).close();
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO parsimony_schema (version, description, applied_at) VALUES (?, ?, ?)')
      .run(SCHEMA_VERSION + 1, 'from the future', Date.now());
    raw.close();
    assert.throws(
      () => new SqliteStorage(path),
      (e: Error & { code?: string }) =>
        e.code === 'STORAGE' &&
        e.message.includes(`schema version ${SCHEMA_VERSION + 1}, newer than this parsimony understands`) &&
        e.message.includes('upgrade parsimony'),
    );
  });

  it('leaves a database of another program (an Optuna file) untouched', () => {
    const path = join(dir, 'optuna.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)');
    raw.close();
    assert.throws(() => new SqliteStorage(path), /no parsimony schema version/);
    const check = new Database(path);
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    check.close();
    assert.deepEqual(tables, ['studies']);
  });

  it('migrates a new SQLite file once when 8 processes open it together', async () => {
    const path = join(dir, 'together.db');
    const script = writeScript(`
      import { SqliteStorage } from ${JSON.stringify(sourceUrl('src/storage/sqlite.ts'))};
      process.stdout.write('ready\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      const storage = new SqliteStorage(process.argv[2]);
      await storage.createStudy(['minimize'], 'p' + process.pid);
      process.stdout.write(storage.schemaVersion() + '\\n');
      await storage.close();
      process.stdin.destroy();
    `);
    const children = Array.from({ length: 8 }, () => startChild(script, [path]));
    await Promise.all(children.map((c) => c.waitForLines(1)));
    assert.ok(!existsSync(path));
    for (const c of children) c.write('go\n');
    const outputs = await Promise.all(children.map((c) => c.done));
    assert.deepEqual(
      outputs.map((lines) => Number(lines[1])),
      children.map(() => SCHEMA_VERSION),
    );
    const raw = new Database(path);
    assert.deepEqual(
      raw.prepare('SELECT version FROM parsimony_schema ORDER BY version').pluck().all(),
      MIGRATIONS.map((m) => m.version),
    );
    assert.equal(raw.prepare('SELECT COUNT(*) FROM studies').pluck().get(), 8);
    raw.close();
  });
});
