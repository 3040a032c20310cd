/**
 * SQLite storage: one file that several processes on one machine share (`sqlite:study.db`).
 *
 * - WAL journal: readers never block the writer and a reader sees one consistent snapshot.
 * - `synchronous = NORMAL` in WAL: a committed transaction survives the process being killed
 *   (it is in the WAL, which the OS writes out); a power failure may lose the last few commits but
 *   never corrupts the file.
 * - Every write is one statement or a `BEGIN IMMEDIATE` transaction, so writers queue on SQLite's
 *   lock (retried with sub-millisecond waits for up to `busyTimeoutMs`, 10 s by default) and
 *   decisions such as "next trial number" or "oldest WAITING trial" are taken under the lock,
 *   across processes.
 * - Finished trials are cached in-process (they never change): a refresh reads only new trials and
 *   those that were unfinished, so a 10,000-trial study is read once.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { checkDistributionCompatibility, type Distribution, type ParamValue } from '../core/distributions.js';
import {
  DuplicatedStudyError,
  FileNotFoundError,
  InvalidArgumentError,
  ParsimonyError,
  StorageError,
  StudyNotFoundError,
} from '../core/errors.js';
import {
  type AttrValue,
  type FrozenTrial,
  type IntermediateValue,
  isFinished,
  type StudyDirection,
  type TrialState,
  type TrialTemplate,
} from '../core/frozen-trial.js';
import type { GetTrialsOptions, NextTrialOptions, Storage, StudySummary } from '../core/storage.js';
import { pendingMigrations, SCHEMA_TABLE, SCHEMA_TABLE_SQL, SCHEMA_VERSION } from './migrations/index.js';
import {
  type AttrRow,
  assembleTrials,
  checkStep,
  checkTrialState,
  decodeDirections,
  decodeDistribution,
  decodeJson,
  encodeDirections,
  encodeIntermediate,
  encodeJson,
  encodeNumbers,
  encodeParam,
  filterStates,
  type IntermediateRow,
  type ParamRow,
  type PreparedTemplate,
  packChildren,
  prepareTemplate,
  studyNotFound,
  TrialCache,
  type TrialRow,
  toDate,
  trialFinished,
  trialNotFound,
} from './serialization.js';

export interface SqliteStorageOptions {
  /** How long a write waits for another process's lock before failing, in ms (default 10,000). */
  busyTimeoutMs?: number;
  /** Fail with FILE_NOT_FOUND instead of creating the file (for commands that only read). */
  mustExist?: boolean;
}

const TRIAL_COLUMNS = `trial_id AS trialId, number, state, values_json AS valuesJson,
  datetime_start AS datetimeStart, datetime_complete AS datetimeComplete, packed_json AS packedJson`;
const UNFINISHED = `('RUNNING', 'WAITING')`;

/**
 * Refuses, before anything writes to it (WAL mode, migrations), a file another program made (an
 * Optuna database) or a newer parsimony: the file is only read, through a read-only connection.
 */
function checkOwnFile(path: string): void {
  let probe: Database.Database;
  try {
    probe = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StorageError(`cannot open sqlite:${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const hasTable = (name: string) =>
      probe.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
    // One read transaction, so every probe sees one snapshot: between two separate reads another
    // process may commit the first migration, and "no version table, but a studies table" would
    // then look like another program's database.
    probe.transaction(() => {
      const known = hasTable(SCHEMA_TABLE);
      const current = known
        ? ((probe.prepare(`SELECT MAX(version) AS v FROM ${SCHEMA_TABLE}`).get() as { v: number | null }).v ??
          0)
        : 0;
      pendingMigrations(current, `sqlite:${path}`, { hasForeignTables: !known && hasTable('studies') });
    })();
  } catch (error) {
    if (error instanceof ParsimonyError) throw error;
    throw new StorageError(`sqlite:${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    probe.close();
  }
}

export class SqliteStorage implements Storage {
  /** Absolute path of the database file (or `:memory:`). */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly busyTimeoutMs: number;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly cache = new TrialCache();
  private readonly directions = new Map<number, StudyDirection[]>();

  constructor(path: string, options: SqliteStorageOptions = {}) {
    this.path = path === ':memory:' ? path : resolve(path);
    const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    if (!(Number.isInteger(busyTimeoutMs) && busyTimeoutMs >= 0))
      throw new InvalidArgumentError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
    if (options.mustExist && this.path !== ':memory:' && !existsSync(this.path))
      throw new FileNotFoundError(this.path, 'SQLite storage file');
    if (this.path !== ':memory:' && existsSync(this.path)) checkOwnFile(this.path);
    try {
      // SQLite's own busy handler sleeps 1, 2, 5, ... up to 100 ms between tries, which idles a
      // contended writer for far longer than the lock is held (tens of microseconds); `guard` retries
      // with sub-millisecond, jittered waits instead.
      this.db = new Database(this.path, { timeout: 0 });
      this.busyTimeoutMs = busyTimeoutMs;
    } catch (error) {
      throw new StorageError(`cannot open sqlite:${this.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      // Switching to WAL and migrating take locks that a process opening the same file at the same
      // moment may hold; SQLite answers BUSY at once here, without its handler, so retry.
      this.retryBusy(() => {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('foreign_keys = ON');
        this.migrate();
      });
    } catch (error) {
      this.db.close();
      throw this.wrap(error);
    }
  }

  /** Schema version of the open file (after migrations: the newest this code knows). */
  schemaVersion(): number {
    return this.guard(
      () => (this.stmt(`SELECT MAX(version) AS v FROM ${SCHEMA_TABLE}`).get() as { v: number | null }).v ?? 0,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Studies

  async createStudy(directions: readonly StudyDirection[], studyName?: string): Promise<number> {
    const name = studyName ?? `no-name-${randomUUID()}`;
    return this.guard(() => {
      try {
        const info = this.stmt(
          'INSERT INTO studies (study_name, directions_json, created_at) VALUES (?, ?, ?)',
        ).run(name, encodeDirections(directions), Date.now());
        return Number(info.lastInsertRowid);
      } catch (error) {
        if (sqliteCode(error) === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new DuplicatedStudyError(`a study named "${name}" already exists`);
        throw error;
      }
    });
  }

  async deleteStudy(studyId: number): Promise<void> {
    this.guard(() => {
      const info = this.stmt('DELETE FROM studies WHERE study_id = ?').run(studyId);
      if (info.changes === 0) throw studyNotFound(studyId);
    });
    this.cache.dropStudy(studyId);
    this.directions.delete(studyId);
  }

  async renameStudy(studyId: number, newName: string): Promise<void> {
    this.guard(() => {
      try {
        const info = this.stmt('UPDATE studies SET study_name = ? WHERE study_id = ?').run(newName, studyId);
        if (info.changes === 0) throw studyNotFound(studyId);
      } catch (error) {
        if (sqliteCode(error) === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new DuplicatedStudyError(`a study named "${newName}" already exists`);
        throw error;
      }
    });
  }

  async getStudyIdFromName(studyName: string): Promise<number> {
    return this.guard(() => {
      const row = this.stmt('SELECT study_id AS id FROM studies WHERE study_name = ?').get(studyName) as
        | { id: number }
        | undefined;
      if (!row) throw new StudyNotFoundError(`no study named "${studyName}"`);
      return row.id;
    });
  }

  async getStudyName(studyId: number): Promise<string> {
    return this.guard(() => {
      const row = this.stmt('SELECT study_name AS name FROM studies WHERE study_id = ?').get(studyId) as
        | { name: string }
        | undefined;
      if (!row) throw studyNotFound(studyId);
      return row.name;
    });
  }

  async getStudyDirections(studyId: number): Promise<readonly StudyDirection[]> {
    const known = this.directions.get(studyId);
    if (known) return [...known];
    return this.guard(() => {
      const row = this.stmt('SELECT directions_json AS d FROM studies WHERE study_id = ?').get(studyId) as
        | { d: string }
        | undefined;
      if (!row) throw studyNotFound(studyId);
      const directions = decodeDirections(row.d);
      this.directions.set(studyId, directions);
      return [...directions];
    });
  }

  async getStudyUserAttrs(studyId: number): Promise<Record<string, AttrValue>> {
    return this.studyAttrs(studyId, false);
  }

  async getStudySystemAttrs(studyId: number): Promise<Record<string, AttrValue>> {
    return this.studyAttrs(studyId, true);
  }

  async setStudyUserAttr(studyId: number, key: string, value: AttrValue): Promise<void> {
    this.setStudyAttr(studyId, false, key, value, true);
  }

  async setStudySystemAttr(studyId: number, key: string, value: AttrValue): Promise<void> {
    this.setStudyAttr(studyId, true, key, value, true);
  }

  async setStudySystemAttrIfAbsent(studyId: number, key: string, value: AttrValue): Promise<boolean> {
    return this.setStudyAttr(studyId, true, key, value, false);
  }

  async getAllStudies(): Promise<StudySummary[]> {
    return this.guard(() =>
      this.db.transaction(() => {
        const studies = this.stmt(
          `SELECT s.study_id AS studyId, s.study_name AS studyName, s.directions_json AS directionsJson,
             (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id) AS nTrials,
             (SELECT t.datetime_start FROM trials t WHERE t.study_id = s.study_id ORDER BY t.number LIMIT 1)
               AS datetimeStart
           FROM studies s ORDER BY s.study_id`,
        ).all() as {
          studyId: number;
          studyName: string;
          directionsJson: string;
          nTrials: number;
          datetimeStart: number | null;
        }[];
        const attrs = this.stmt(
          `SELECT study_id AS studyId, is_system AS isSystem, key, value_json AS valueJson
           FROM study_attrs ORDER BY attr_id`,
        ).all() as { studyId: number; isSystem: number; key: string; valueJson: string }[];
        const byStudy = new Map<
          number,
          { user: Record<string, AttrValue>; system: Record<string, AttrValue> }
        >();
        for (const s of studies) byStudy.set(s.studyId, { user: {}, system: {} });
        for (const a of attrs) {
          const entry = byStudy.get(a.studyId);
          if (entry) (a.isSystem ? entry.system : entry.user)[a.key] = decodeJson(a.valueJson);
        }
        return studies.map((s) => ({
          studyId: s.studyId,
          studyName: s.studyName,
          directions: decodeDirections(s.directionsJson),
          userAttrs: byStudy.get(s.studyId)!.user,
          systemAttrs: byStudy.get(s.studyId)!.system,
          nTrials: s.nTrials,
          datetimeStart: toDate(s.datetimeStart),
        }));
      })(),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Trials

  async createTrial(studyId: number, template: TrialTemplate = {}): Promise<FrozenTrial> {
    return (await this.createTrials(studyId, [template]))[0];
  }

  /**
   * Creates several trials in one transaction (numbers consecutive); used to copy studies fast.
   * Not part of the Storage contract.
   */
  async createTrials(studyId: number, templates: readonly TrialTemplate[]): Promise<FrozenTrial[]> {
    const prepared = templates.map(prepareTemplate);
    const ids = this.guard(() =>
      this.db
        .transaction(() => {
          const out: number[] = [];
          for (const t of prepared) out.push(this.insertTrial(studyId, t));
          return out;
        })
        .immediate(),
    );
    // Read back what was written, so the caller sees exactly what other processes will see.
    const trials = this.guard(() => this.readTrials(ids));
    for (const t of trials) this.cache.remember(t);
    return trials;
  }

  async createTrialIfBelow(studyId: number, maxTrials: number): Promise<FrozenTrial | null> {
    const id = this.guard(() => this.db.transaction(() => this.createIn(studyId, maxTrials)).immediate());
    return id === null ? null : this.readNew(id);
  }

  async claimWaitingTrial(studyId: number): Promise<FrozenTrial | null> {
    const trialId = this.guard(() => this.db.transaction(() => this.claimIn(studyId)).immediate());
    return trialId === null ? null : this.getTrial(trialId);
  }

  /** Claim, or create, and first heartbeat under one write lock instead of three. */
  async nextTrial(studyId: number, options: NextTrialOptions = {}): Promise<FrozenTrial | null> {
    const trialId = this.guard(() =>
      this.db
        .transaction(() => {
          const id = this.claimIn(studyId) ?? this.createIn(studyId, options.maxTrials);
          if (id !== null && options.heartbeat) this.beatIn(id);
          return id;
        })
        .immediate(),
    );
    return trialId === null ? null : this.readNew(trialId);
  }

  /** Inserts a RUNNING trial unless the study holds `maxTrials`; call inside an IMMEDIATE transaction. */
  private createIn(studyId: number, maxTrials?: number): number | null {
    const row = this.stmt('SELECT next_trial_number AS next FROM studies WHERE study_id = ?').get(studyId) as
      | { next: number }
      | undefined;
    if (!row) throw studyNotFound(studyId);
    if (maxTrials !== undefined && row.next >= maxTrials) return null;
    return this.insertTrial(studyId, prepareTemplate({}));
  }

  /** Reads a trial this storage just claimed or created, and caches it. */
  private readNew(trialId: number): FrozenTrial {
    const [trial] = this.guard(() => this.readTrials([trialId]));
    this.cache.remember(trial);
    return trial;
  }

  /** Moves the oldest WAITING trial to RUNNING; call inside an IMMEDIATE transaction. */
  private claimIn(studyId: number): number | null {
    const row = this.stmt(
      `SELECT trial_id AS id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY number LIMIT 1`,
    ).get(studyId) as { id: number } | undefined;
    if (!row) {
      this.requireStudy(studyId);
      return null;
    }
    this.stmt(`UPDATE trials SET state = 'RUNNING', datetime_start = ? WHERE trial_id = ?`).run(
      Date.now(),
      row.id,
    );
    return row.id;
  }

  async setTrialParam(
    trialId: number,
    name: string,
    value: ParamValue,
    distribution: Distribution,
  ): Promise<void> {
    const internal = encodeParam(name, value, distribution);
    const config = encodeJson(distribution.getConfig(), 'distribution');
    // A name keeps its kind in a study (DISTRIBUTION_MISMATCH otherwise); any earlier row will do,
    // since every row was checked against the ones before it.
    const earlier = this.guard(
      () =>
        this.stmt(
          `SELECT p.distribution_json AS config FROM trial_params p
           JOIN trials t ON t.trial_id = p.trial_id
           WHERE p.name = ? AND t.study_id = (SELECT study_id FROM trials WHERE trial_id = ?) LIMIT 1`,
        ).get(name, trialId) as { config: string } | undefined,
    );
    if (earlier) checkDistributionCompatibility(name, decodeDistribution(earlier.config), distribution);
    this.writeToUnfinished(
      trialId,
      `INSERT INTO trial_params (trial_id, name, value, distribution_json)
       SELECT trial_id, ?, ?, ? FROM trials WHERE trial_id = ? AND state IN ${UNFINISHED}
       ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value,
         distribution_json = excluded.distribution_json`,
      [name, internal, config, trialId],
    );
  }

  async setTrialIntermediateValue(trialId: number, step: number, value: IntermediateValue): Promise<void> {
    checkStep(step);
    this.writeToUnfinished(
      trialId,
      `INSERT INTO trial_intermediate_values (trial_id, step, value_json)
       SELECT trial_id, ?, ? FROM trials WHERE trial_id = ? AND state IN ${UNFINISHED}
       ON CONFLICT (trial_id, step) DO UPDATE SET value_json = excluded.value_json`,
      [step, encodeIntermediate(value), trialId],
    );
  }

  async setTrialUserAttr(trialId: number, key: string, value: AttrValue): Promise<void> {
    this.setTrialAttr(trialId, false, key, value);
  }

  async setTrialSystemAttr(trialId: number, key: string, value: AttrValue): Promise<void> {
    this.setTrialAttr(trialId, true, key, value);
  }

  async setTrialState(
    trialId: number,
    state: TrialState,
    values?: readonly number[] | null,
  ): Promise<boolean> {
    checkTrialState(state);
    const keepValues = values === undefined ? 1 : 0;
    const valuesJson = values ? encodeNumbers(values) : null;
    const now = Date.now();
    const update = () => {
      const info =
        state === 'RUNNING'
          ? this.stmt(
              `UPDATE trials SET state = 'RUNNING', datetime_start = ?,
                 values_json = CASE WHEN ? THEN values_json ELSE ? END
               WHERE trial_id = ? AND state = 'WAITING'`,
            ).run(now, keepValues, valuesJson, trialId)
          : this.stmt(
              `UPDATE trials SET state = ?, datetime_complete = CASE WHEN ? THEN ? ELSE datetime_complete END,
                 values_json = CASE WHEN ? THEN values_json ELSE ? END
               WHERE trial_id = ? AND state IN ${UNFINISHED}`,
            ).run(state, isFinished(state) ? 1 : 0, now, keepValues, valuesJson, trialId);
      if (info.changes === 1) {
        if (isFinished(state)) this.pack(trialId);
        return true;
      }
      this.requireTrial(trialId);
      return false;
    };
    return this.guard(() => (isFinished(state) ? this.db.transaction(update).immediate() : update()));
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    const cached = this.cache.finished(trialId);
    if (cached) return cached;
    const [trial] = this.guard(() => this.readTrials([trialId]));
    if (!trial) throw trialNotFound(trialId);
    this.cache.remember(trial);
    return trial;
  }

  async recordHeartbeat(trialId: number): Promise<void> {
    this.guard(() => {
      if (!this.beatIn(trialId)) this.requireTrial(trialId);
    });
  }

  /** Records a heartbeat for a RUNNING trial; false when the trial is missing or not RUNNING. */
  private beatIn(trialId: number): boolean {
    const info = this.stmt(
      `INSERT INTO trial_heartbeats (trial_id, heartbeat)
       SELECT trial_id, ? FROM trials WHERE trial_id = ? AND state = 'RUNNING'
       ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat`,
    ).run(Date.now(), trialId);
    return info.changes > 0;
  }

  async getStaleTrials(studyId: number, graceMs: number): Promise<FrozenTrial[]> {
    const cutoff = Date.now() - graceMs;
    return this.guard(() =>
      this.db.transaction(() => {
        this.requireStudy(studyId);
        const ids = this.stmt(
          `SELECT t.trial_id AS id FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id
           WHERE t.study_id = ? AND t.state = 'RUNNING' AND h.heartbeat < ? ORDER BY t.number`,
        )
          .pluck()
          .all(studyId, cutoff) as number[];
        return ids.length === 0 ? [] : this.readTrials(ids);
      })(),
    );
  }

  async getAllTrials(studyId: number, options: GetTrialsOptions = {}): Promise<FrozenTrial[]> {
    const read = () => {
      const delta = this.cache.delta(studyId);
      const { fresh, count } = this.guard(() =>
        this.db.transaction(() => {
          this.requireStudy(studyId);
          const rows = this.stmt(
            `SELECT ${TRIAL_COLUMNS} FROM trials
             WHERE study_id = ? AND number > ?
             UNION ALL
             SELECT ${TRIAL_COLUMNS} FROM trials
             WHERE study_id = ? AND number IN (SELECT value FROM json_each(?))`,
          ).all(studyId, delta.maxNumber, studyId, JSON.stringify(delta.unfinished)) as TrialRow[];
          const count = this.stmt('SELECT COUNT(*) FROM trials WHERE study_id = ?')
            .pluck()
            .get(studyId) as number;
          return { fresh: this.readChildren(rows), count };
        })(),
      );
      return this.cache.mergeCounted(studyId, fresh, count);
    };
    // A second read starts from an empty cache, so it cannot hold more than the storage.
    const all = read() ?? (read() as FrozenTrial[]);
    return filterStates(all, options.states);
  }

  async deleteTrial(trialId: number): Promise<void> {
    this.guard(() => {
      const info = this.stmt('DELETE FROM trials WHERE trial_id = ?').run(trialId);
      if (info.changes === 0) throw trialNotFound(trialId);
    });
    this.cache.dropTrial(trialId);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.statements.clear();
    this.cache.clear();
    this.db.close();
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  private migrate(): void {
    const where = `sqlite:${this.path}`;
    const hasTable = (name: string) =>
      this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !==
      undefined;
    const recorded = () =>
      (this.db.prepare(`SELECT MAX(version) AS v FROM ${SCHEMA_TABLE}`).get() as { v: number | null }).v ?? 0;
    // Fast path without the write lock: already at the newest version.
    if (hasTable(SCHEMA_TABLE) && recorded() === SCHEMA_VERSION) return;
    this.db
      .transaction(() => {
        const known = hasTable(SCHEMA_TABLE);
        const current = known ? recorded() : 0;
        const pending = pendingMigrations(current, where, {
          hasForeignTables: !known && hasTable('studies'),
        });
        if (!known) this.db.exec(SCHEMA_TABLE_SQL.sqlite);
        const record = this.db.prepare(
          `INSERT INTO ${SCHEMA_TABLE} (version, description, applied_at) VALUES (?, ?, ?)`,
        );
        for (const m of pending) {
          this.db.exec(m.sqlite);
          record.run(m.version, m.description, Date.now());
        }
      })
      .immediate();
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs database code, turning driver errors into one-line STORAGE errors. */
  private guard<T>(fn: () => T): T {
    try {
      return this.retryBusy(fn);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /**
   * Runs `fn`, again after a short wait while the database is locked by another connection, for
   * up to the busy timeout. `fn` must only touch the database: a failed attempt is rolled back.
   */
  private retryBusy<T>(fn: () => T): T {
    let deadline = 0;
    let attempt = 0;
    for (;;) {
      try {
        return fn();
      } catch (error) {
        // Inside an outer transaction the caller's transaction must fail and roll back whole.
        if (!isBusy(error) || this.db.inTransaction) throw error;
        const now = performance.now();
        if (deadline === 0) deadline = now + this.busyTimeoutMs;
        if (now >= deadline) throw error;
        attempt++;
        // 50 µs growing to 2 ms, jittered so waiting writers do not wake in step.
        const capMs = Math.min(2, 0.05 * 1.5 ** attempt);
        Atomics.wait(SLEEPER, 0, 0, capMs * (0.5 + Math.random() / 2));
      }
    }
  }

  private wrap(error: unknown): Error {
    if (error instanceof ParsimonyError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StorageError(`sqlite:${this.path}: ${message}`, { cause: error });
  }

  private requireStudy(studyId: number): void {
    if (this.stmt('SELECT 1 FROM studies WHERE study_id = ?').get(studyId) !== undefined) return;
    // Deleted, perhaps by another process: forget what was cached for it.
    this.cache.dropStudy(studyId);
    throw studyNotFound(studyId);
  }

  private requireTrial(trialId: number): void {
    if (this.stmt('SELECT 1 FROM trials WHERE trial_id = ?').get(trialId) === undefined)
      throw trialNotFound(trialId);
  }

  private writeToUnfinished(trialId: number, sql: string, params: unknown[]): void {
    this.guard(() => {
      const info = this.stmt(sql).run(...params);
      if (info.changes > 0) return;
      const row = this.stmt('SELECT number, state FROM trials WHERE trial_id = ?').get(trialId) as
        | { number: number; state: TrialState }
        | undefined;
      if (!row) throw trialNotFound(trialId);
      throw trialFinished(row.number, row.state);
    });
  }

  private setTrialAttr(trialId: number, isSystem: boolean, key: string, value: AttrValue): void {
    this.writeToUnfinished(
      trialId,
      `INSERT INTO trial_attrs (trial_id, is_system, key, value_json)
       SELECT trial_id, ?, ?, ? FROM trials WHERE trial_id = ? AND state IN ${UNFINISHED}
       ON CONFLICT (trial_id, is_system, key) DO UPDATE SET value_json = excluded.value_json`,
      [isSystem ? 1 : 0, key, encodeJson(value, `attribute "${key}"`), trialId],
    );
  }

  private studyAttrs(studyId: number, isSystem: boolean): Record<string, AttrValue> {
    return this.guard(() => {
      const rows = this.stmt(
        `SELECT a.key AS key, a.value_json AS valueJson FROM studies s
         LEFT JOIN study_attrs a ON a.study_id = s.study_id AND a.is_system = ?
         WHERE s.study_id = ? ORDER BY a.attr_id`,
      ).all(isSystem ? 1 : 0, studyId) as { key: string | null; valueJson: string | null }[];
      if (rows.length === 0) throw studyNotFound(studyId);
      const out: Record<string, AttrValue> = {};
      for (const r of rows) if (r.key !== null) out[r.key] = decodeJson(r.valueJson!);
      return out;
    });
  }

  private setStudyAttr(
    studyId: number,
    isSystem: boolean,
    key: string,
    value: AttrValue,
    replace: boolean,
  ): boolean {
    const json = encodeJson(value, `attribute "${key}"`);
    return this.guard(() => {
      try {
        const info = this.stmt(
          `INSERT INTO study_attrs (study_id, is_system, key, value_json) VALUES (?, ?, ?, ?)
           ON CONFLICT (study_id, is_system, key) DO ${replace ? 'UPDATE SET value_json = excluded.value_json' : 'NOTHING'}`,
        ).run(studyId, isSystem ? 1 : 0, key, json);
        return info.changes === 1;
      } catch (error) {
        if (sqliteCode(error) === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw studyNotFound(studyId);
        throw error;
      }
    });
  }

  /** Inserts one trial; must run inside an IMMEDIATE transaction (the number is taken under the lock). */
  private insertTrial(studyId: number, t: PreparedTemplate): number {
    const counter = this.stmt(
      `UPDATE studies SET next_trial_number = next_trial_number + 1 WHERE study_id = ?
       RETURNING next_trial_number - 1 AS number`,
    ).get(studyId) as { number: number } | undefined;
    if (!counter) throw studyNotFound(studyId);
    const now = Date.now();
    const start = t.datetimeStart !== undefined ? t.datetimeStart : t.state === 'WAITING' ? null : now;
    const complete = t.datetimeComplete !== undefined ? t.datetimeComplete : isFinished(t.state) ? now : null;
    const trialId = Number(
      this.stmt(
        `INSERT INTO trials (study_id, number, state, values_json, datetime_start, datetime_complete, packed_json)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(studyId, counter.number, t.state, t.valuesJson, start, complete, t.packedJson).lastInsertRowid,
    );
    const param = this.stmt(
      'INSERT INTO trial_params (trial_id, name, value, distribution_json) VALUES (?, ?, ?, ?)',
    );
    for (const p of t.params) param.run(trialId, p.name, p.value, p.distributionJson);
    const step = this.stmt(
      'INSERT INTO trial_intermediate_values (trial_id, step, value_json) VALUES (?, ?, ?)',
    );
    for (const v of t.intermediates) step.run(trialId, v.step, v.valueJson);
    const attr = this.stmt(
      'INSERT INTO trial_attrs (trial_id, is_system, key, value_json) VALUES (?, ?, ?, ?)',
    );
    for (const a of t.attrs) attr.run(trialId, a.isSystem ? 1 : 0, a.key, a.valueJson);
    return trialId;
  }

  /** Reads whole trials by id, in number order (call inside a transaction for one snapshot). */
  private readTrials(ids: readonly number[]): FrozenTrial[] {
    if (ids.length === 0) return [];
    return this.db.transaction(() => {
      const rows = this.stmt(
        `SELECT ${TRIAL_COLUMNS} FROM trials WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY number`,
      ).all(JSON.stringify(ids)) as TrialRow[];
      return this.readChildren(rows);
    })();
  }

  /** Completes trial rows into trials, reading child rows only for trials not packed yet. */
  private readChildren(rows: TrialRow[]): FrozenTrial[] {
    const open = rows.filter((r) => r.packedJson === null).map((r) => r.trialId);
    if (open.length === 0) return assembleTrials(rows, [], [], []);
    const { params, intermediates, attrs } = this.childRows(open);
    return assembleTrials(rows, params, intermediates, attrs);
  }

  private childRows(trialIds: readonly number[]): {
    params: ParamRow[];
    intermediates: IntermediateRow[];
    attrs: AttrRow[];
  } {
    const ids = JSON.stringify(trialIds);
    const params = this.stmt(
      `SELECT trial_id AS trialId, name, value, distribution_json AS distributionJson FROM trial_params
       WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY param_id`,
    ).all(ids) as ParamRow[];
    const intermediates = this.stmt(
      `SELECT trial_id AS trialId, step, value_json AS valueJson FROM trial_intermediate_values
       WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY trial_id, step`,
    ).all(ids) as IntermediateRow[];
    const attrs = this.stmt(
      `SELECT trial_id AS trialId, is_system AS isSystem, key, value_json AS valueJson FROM trial_attrs
       WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY attr_id`,
    ).all(ids) as AttrRow[];
    return { params, intermediates, attrs };
  }

  /** Copies a trial's children into its row as it finishes (inside the finishing transaction). */
  private pack(trialId: number): void {
    const { params, intermediates, attrs } = this.childRows([trialId]);
    this.stmt('UPDATE trials SET packed_json = ? WHERE trial_id = ?').run(
      packChildren(params, intermediates, attrs),
      trialId,
    );
  }
}

function sqliteCode(error: unknown): string | undefined {
  return (error as { code?: unknown })?.code as string | undefined;
}

/** Blocks the thread for a sub-millisecond wait (nothing ever notifies it). */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}
