/** Builds a storage from a URL, so the CLI, YAML files and the API name storages the same way. */
import { InvalidArgumentError } from '../core/errors.js';
import type { Storage } from '../core/storage.js';
import { InMemoryStorage } from './memory.js';

export type StorageInput = Storage | string | undefined;

export interface CreateStorageOptions {
  /** For file storages: fail with FILE_NOT_FOUND instead of creating a missing file. */
  mustExist?: boolean;
}

/**
 * Opens the storage a URL names:
 * - `memory:` — in this process only;
 * - `sqlite:path/to/file.db` (relative to the working directory, or absolute; `sqlite:///file.db`
 *   and `sqlite:////abs/file.db` as in SQLAlchemy; `sqlite::memory:` for a private in-memory database);
 * - `postgres://user:password@host:5432/db` or `postgresql://...` (`?max=N` pool size,
 *   `?connect_timeout=S` seconds).
 * The database drivers are loaded only when a URL needs them.
 */
export async function createStorage(url: string, options: CreateStorageOptions = {}): Promise<Storage> {
  const trimmed = url.trim();
  if (trimmed === 'memory:' || trimmed === 'memory') return new InMemoryStorage();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const { SqliteStorage } = await import('./sqlite.js');
    return new SqliteStorage(sqlitePath(trimmed), { mustExist: options.mustExist });
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const { PostgresStorage } = await import('./postgres.js');
    return PostgresStorage.connect(trimmed);
  }
  throw new InvalidArgumentError(
    scheme
      ? `unsupported storage URL scheme "${scheme}:" in ${JSON.stringify(redact(url))} (supported: memory:, sqlite:, postgres://)`
      : `not a storage URL: ${JSON.stringify(redact(url))} (expected e.g. sqlite:study.db, postgres://host/db or memory:)`,
  );
}

/** The file path of a `sqlite:` URL. */
export function sqlitePath(url: string): string {
  const rest = url.trim().slice('sqlite:'.length);
  let path: string;
  if (rest.startsWith('///')) path = rest.slice(3);
  else if (rest.startsWith('//'))
    throw new InvalidArgumentError(
      `SQLite storage URL ${JSON.stringify(url)} names a host; use sqlite:path/to/file.db or sqlite:///path`,
    );
  else path = rest;
  if (path === '')
    throw new InvalidArgumentError(`SQLite storage URL ${JSON.stringify(url)} has no file path`);
  return path;
}

/** Hides a password in `scheme://user:password@host` forms. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*):[^@/]*@/i, '$1:***@');
}

export async function resolveStorage(input: StorageInput): Promise<Storage> {
  if (input === undefined) return new InMemoryStorage();
  if (typeof input === 'string') return createStorage(input);
  return input;
}
