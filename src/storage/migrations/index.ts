/**
 * Versioned schema migrations shared by the SQLite and PostgreSQL storages. Each migration carries
 * its SQL for both dialects, side by side, so the two schemas cannot drift apart. The SQL lives in
 * TypeScript strings rather than .sql files so the compiled package needs no extra assets.
 *
 * Applied versions are recorded in `parsimony_schema` (one row per migration). A storage opens a
 * database by applying, in order and inside one locked transaction, every migration above the
 * recorded version; a database recorded at a version this code does not know is refused, so an
 * older parsimony never writes to a schema it does not understand.
 */
import { StorageError } from '../../core/errors.js';
import { initialSchema } from './001-initial.js';
import { finishTrialFunction } from './002-finish-trial-function.js';

export interface Migration {
  /** 1, 2, 3...: applied in this order, each exactly once. */
  readonly version: number;
  readonly description: string;
  readonly sqlite: string;
  readonly postgres: string;
}

/** Every migration, oldest first. Append new ones; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [initialSchema, finishTrialFunction];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export const SCHEMA_TABLE = 'parsimony_schema';

export const SCHEMA_TABLE_SQL = {
  sqlite: `CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`,
  postgres: `CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
  )`,
} as const;

/**
 * The migrations a database at `current` still needs. Throws when the database is newer than this
 * code, or when it holds parsimony-like tables without a recorded version (not ours to touch).
 */
export function pendingMigrations(
  current: number,
  where: string,
  options: { hasForeignTables?: boolean } = {},
): Migration[] {
  if (current > SCHEMA_VERSION)
    throw new StorageError(
      `${where} has schema version ${current}, newer than this parsimony understands (${SCHEMA_VERSION}); upgrade parsimony to open it`,
    );
  if (current === 0 && options.hasForeignTables)
    throw new StorageError(
      `${where} already has a "studies" table but no parsimony schema version; it belongs to another program (an Optuna database?) and will not be modified`,
    );
  return MIGRATIONS.filter((m) => m.version > current);
}

/** Checks the list itself: versions 1..n in order (a test runs this). */
export function validateMigrations(list: readonly Migration[] = MIGRATIONS): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1)
      // not a user error: checks the migration list of this code (a test runs it)
      throw new Error(`migration at position ${i} has version ${m.version}, expected ${i + 1}`);
  });
}
