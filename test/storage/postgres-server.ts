/**
 * Starts a throwaway PostgreSQL server for tests: `initdb` into a temporary directory, `pg_ctl start`
 * on a free loopback port with trust authentication, the socket in the same directory. As root the
 * server runs as the `postgres` system user (PostgreSQL refuses to run as root).
 *
 * `postgresUnavailable()` says why tests cannot run (no binaries); under CI that is a failure, not a
 * skip, because CI installs PostgreSQL (the Debian package `postgresql` provides initdb, pg_ctl and
 * postgres under /usr/lib/postgresql/<version>/bin, and the `postgres` user).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** URL of a database created for this server (`parsimony_test`). */
  readonly url: string;
  /** Creates another empty database and returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Directory holding initdb, pg_ctl and postgres, or null. */
export function findPostgresBin(): string | null {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian))
    for (const version of readdirSync(debian).sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(debian, version, 'bin'));
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) candidates.push(join(which.stdout.trim(), '..'));
  for (const dir of candidates)
    if (
      existsSync(join(dir, 'initdb')) &&
      existsSync(join(dir, 'pg_ctl')) &&
      existsSync(join(dir, 'postgres'))
    )
      return dir;
  return null;
}

/**
 * Why PostgreSQL tests cannot run here, or null when they can. Throws under CI (`CI` set), where
 * a missing server must fail the run rather than silently skip.
 */
export function postgresUnavailable(): string | null {
  const bin = findPostgresBin();
  let reason: string | null = null;
  if (!bin)
    reason =
      'PostgreSQL binaries (initdb, pg_ctl, postgres) not found; install the Debian package postgresql';
  else if (isRoot() && runAsUser() === null)
    reason = 'running as root and no "postgres" system user to run the server as';
  if (reason && process.env.CI) throw new Error(`PostgreSQL tests cannot run under CI: ${reason}`);
  return reason;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function runAsUser(): { uid: number; gid: number } | null {
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL binaries not found');
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asUser = isRoot() ? runAsUser() : null;
  if (isRoot() && !asUser) throw new Error('running as root without a "postgres" user');
  if (asUser) chownSync(dir, asUser.uid, asUser.gid);
  const run = (tool: string, args: string[]) => {
    const command = asUser ? 'runuser' : join(bin, tool);
    const argv = asUser ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    try {
      execFileSync(command, argv, { stdio: 'pipe', encoding: 'utf8' });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '';
      throw new Error(`${tool} failed: ${e.stderr || e.message}\n${serverLog}`);
    }
  };
  run('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'parsimony',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  const port = await freePort();
  const serverOptions = [
    '-c listen_addresses=127.0.0.1',
    `-p ${port}`,
    `-k ${dir}`,
    // Throwaway data: skip the disk flushes that make tests slow.
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ');
  run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', serverOptions, 'start']);
  const base = `postgres://parsimony@127.0.0.1:${port}`;
  let counter = 0;
  const createDatabase = async () => {
    const name = `parsimony_test_${counter++}`;
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return `${base}/${name}`;
  };
  let url: string;
  try {
    url = await createDatabase();
  } catch (error) {
    run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    url,
    createDatabase,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
