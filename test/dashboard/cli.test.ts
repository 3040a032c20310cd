import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { seedSqliteStudy } from '../helpers/seed-study.js';

const CLI = new URL('../fixtures/dashboard/cli.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'parsimony-dashboard-cli-'));

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b;
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ out, err }) };
}

describe('parsimony dashboard (child process)', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves on 127.0.0.1, logs without the storage path, and stops on SIGTERM', async () => {
    const db = join(dir, 'cli.db');
    await seedSqliteStudy(db, 'demo', { trials: 30 });
    const proc = run(['dashboard', '--storage', `sqlite:${db}`, '--port', '0']);
    const url = await new Promise<string>((resolve, reject) => {
      const check = setInterval(() => {
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(proc.output().out);
        if (m) {
          clearInterval(check);
          resolve(m[0]);
        }
      }, 50);
      proc.exited.then((code) => {
        clearInterval(check);
        reject(new Error(`exited with ${code}: ${proc.output().err}`));
      });
    });
    const res = await fetch(new URL('/api/studies', url));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { studies: unknown[] }).studies.length, 1);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, 'a clean stop');
    const { out, err } = proc.output();
    assert.ok(!`${out}${err}`.includes(dir), `the storage path is not logged: ${out}${err}`);
    assert.match(err, /serving SQLite file cli\.db read-only/);
  });

  it('a missing storage file is one line and a non-zero exit', async () => {
    const proc = run(['dashboard', '--storage', `sqlite:${join(dir, 'nope.db')}`, '--port', '0']);
    assert.equal(await proc.exited, 1);
    const { err } = proc.output();
    assert.match(err, /^error: SQLite storage file not found: .*nope\.db\n$/);
  });

  it('--allow-write is said in the log, and neither --storage nor --report is one line', async () => {
    const db = join(dir, 'w.db');
    await seedSqliteStudy(db, 'demo', { trials: 5 });
    const proc = run(['dashboard', '--storage', `sqlite:${db}`, '--port', '0', '--allow-write']);
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (/http:\/\/127\.0\.0\.1:\d+\//.test(proc.output().out)) {
          clearInterval(check);
          resolve();
        }
      }, 50);
      proc.exited.then((code) => {
        clearInterval(check);
        reject(new Error(`exited with ${code}: ${proc.output().err}`));
      });
    });
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
    assert.match(proc.output().err, /serving SQLite file w\.db with writes allowed/);
    const none = run(['dashboard', '--port', '0']);
    assert.equal(await none.exited, 1);
    assert.match(
      none.output().err,
      /^error: the dashboard needs --storage URL or --report DIR \(or both\)\n$/,
    );
  });
});
