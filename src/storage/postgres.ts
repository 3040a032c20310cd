/**
 * PostgreSQL storage, for studies shared by processes on several machines
 * (`postgres://user:password@host:5432/db?max=4`).
 *
 * - A connection pool per storage (`?max=N` connections, default 4; `?connect_timeout=S` seconds,
 *   default 10).
 * - Migrations run in one transaction under an advisory lock, so workers starting together migrate
 *   once and the others wait, then find the schema current.
 * - Times come from the server's clock (`clock_timestamp()`): heartbeats and stale-trial checks
 *   agree even when the workers' clocks do not.
 * - Trial numbers come from a per-study counter row updated in the inserting transaction: the row
 *   lock orders creators, so numbers are dense and commit in order. Claims use
 *   `FOR UPDATE SKIP LOCKED`; writes to a trial lock its row `FOR SHARE` while checking that it is
 *   unfinished, so finishing a trial waits for them and finished trials never change afterwards.
 * - Finished trials are cached in-process, as in the SQLite storage.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { checkDistributionCompatibility, type Distribution, type ParamValue } from '../core/distributions.js';
import {
  DistributionMismatchError,
  DuplicatedStudyError,
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
import { composeNextTrial } from './next-trial.js';
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
  prepareTemplate,
  studyNotFound,
  TrialCache,
  type TrialRow,
  trialFinished,
  trialNotFound,
} from './serialization.js';

export interface PostgresStorageOptions {
  /** Pool size; overrides `?max=` in the URL (default 4). */
  max?: number;
  /** How long to wait for a connection, in ms; overrides `?connect_timeout=` (default 10,000). */
  connectTimeoutMs?: number;
}

/**
 * Trial columns of `t` plus, for trials not packed yet, their children as JSON arrays, so one
 * statement (one snapshot, one round trip) reads whole trials. Param values travel as text, which
 * PostgreSQL prints shortest-exact, so they round-trip bit for bit.
 */
const TRIAL_WITH_CHILDREN = `t.trial_id AS "trialId", t.number, t.state, t.values_json AS "valuesJson",
  t.datetime_start AS "datetimeStart", t.datetime_complete AS "datetimeComplete", t.packed_json AS "packedJson",
  CASE WHEN t.packed_json IS NULL THEN (SELECT json_agg(json_build_array(p.name, p.value::text, p.distribution_json)
    ORDER BY p.param_id) FROM trial_params p WHERE p.trial_id = t.trial_id) END AS "paramsJson",
  CASE WHEN t.packed_json IS NULL THEN (SELECT json_agg(json_build_array(v.step, v.value_json) ORDER BY v.step)
    FROM trial_intermediate_values v WHERE v.trial_id = t.trial_id) END AS "stepsJson",
  CASE WHEN t.packed_json IS NULL THEN (SELECT json_agg(json_build_array(a.is_system, a.key, a.value_json)
    ORDER BY a.attr_id) FROM trial_attrs a WHERE a.trial_id = t.trial_id) END AS "attrsJson"`;
const UNFINISHED = `('RUNNING', 'WAITING')`;
/** Arbitrary constant naming the migration lock (pg_advisory_lock takes a bigint). */
const MIGRATION_LOCK = 7_305_792_181_637;
/** serialization_failure, deadlock_detected: the transaction is safe to run again. */
const RETRYABLE = new Set(['40001', '40P01']);

type Queryable = pg.Pool | pg.PoolClient;

/** Parses a postgres:// URL into what pg needs and a password-free form for messages. */
export function parsePostgresUrl(
  url: string,
  options: PostgresStorageOptions = {},
): { connectionString: string; display: string; max: number; connectTimeoutMs: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: the text may hold a password.
    throw new InvalidArgumentError(
      'invalid PostgreSQL storage URL (expected postgres://user:password@host:port/database)',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new InvalidArgumentError(`not a PostgreSQL URL: scheme "${parsed.protocol}"`);
  const positive = (name: string, text: string | null, fallback: number): number => {
    if (text === null) return fallback;
    const n = Number(text);
    if (!(Number.isFinite(n) && n > 0))
      throw new InvalidArgumentError(
        `PostgreSQL storage URL: ?${name}= must be a positive number, got "${text}"`,
      );
    return n;
  };
  const max = options.max ?? positive('max', parsed.searchParams.get('max'), 4);
  if (!Number.isInteger(max) || max < 1)
    throw new InvalidArgumentError(`PostgreSQL pool size (max) must be a positive integer, got ${max}`);
  const connectTimeoutMs =
    options.connectTimeoutMs ??
    positive('connect_timeout', parsed.searchParams.get('connect_timeout'), 10) * 1000;
  parsed.searchParams.delete('max');
  parsed.searchParams.delete('connect_timeout');
  const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
  const display = `${parsed.protocol}//${user}${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  return { connectionString: parsed.toString(), display, max, connectTimeoutMs };
}

export class PostgresStorage implements Storage {
  /** The URL without its password, as error messages show it. */
  readonly url: string;
  private readonly pool: pg.Pool;
  private readonly cache = new TrialCache();
  private readonly directions = new Map<number, StudyDirection[]>();
  private readonly statementNames = new Map<string, string>();
  private closed = false;

  private constructor(pool: pg.Pool, display: string) {
    this.pool = pool;
    this.url = display;
  }

  /** Connects (failing fast with a one-line STORAGE error) and brings the schema up to date. */
  static async connect(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const config = parsePostgresUrl(url, options);
    const pool = new pg.Pool({
      connectionString: config.connectionString,
      max: config.max,
      connectionTimeoutMillis: config.connectTimeoutMs,
      allowExitOnIdle: true,
    });
    // An idle connection dropped by the server must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => {});
      const reason = describeConnectError(error);
      throw new StorageError(`cannot connect to ${config.display}: ${reason}`, { cause: error });
    }
    const storage = new PostgresStorage(pool, config.display);
    try {
      await storage.migrate(client);
      client.release();
    } catch (error) {
      client.release(true);
      await pool.end().catch(() => {});
      throw storage.wrap(error);
    }
    return storage;
  }

  // ------------------------------------------------------------------------------------------
  // Studies

  async createStudy(directions: readonly StudyDirection[], studyName?: string): Promise<number> {
    const name = studyName ?? `no-name-${randomUUID()}`;
    try {
      const { rows } = await this.query<{ id: number }>(
        'INSERT INTO studies (study_name, directions_json) VALUES ($1, $2) RETURNING study_id AS id',
        [name, encodeDirections(directions)],
      );
      return rows[0].id;
    } catch (error) {
      if (pgCode(error) === '23505') throw new DuplicatedStudyError(`a study named "${name}" already exists`);
      throw error;
    }
  }

  async deleteStudy(studyId: number): Promise<void> {
    const { rowCount } = await this.query('DELETE FROM studies WHERE study_id = $1', [studyId]);
    if (rowCount === 0) throw studyNotFound(studyId);
    this.cache.dropStudy(studyId);
    this.directions.delete(studyId);
  }

  async renameStudy(studyId: number, newName: string): Promise<void> {
    try {
      const { rowCount } = await this.query('UPDATE studies SET study_name = $1 WHERE study_id = $2', [
        newName,
        studyId,
      ]);
      if (rowCount === 0) throw studyNotFound(studyId);
    } catch (error) {
      if (pgCode(error) === '23505')
        throw new DuplicatedStudyError(`a study named "${newName}" already exists`);
      throw error;
    }
  }

  async getStudyIdFromName(studyName: string): Promise<number> {
    const { rows } = await this.query<{ id: number }>(
      'SELECT study_id AS id FROM studies WHERE study_name = $1',
      [studyName],
    );
    if (rows.length === 0) throw new StudyNotFoundError(`no study named "${studyName}"`);
    return rows[0].id;
  }

  async getStudyName(studyId: number): Promise<string> {
    const { rows } = await this.query<{ name: string }>(
      'SELECT study_name AS name FROM studies WHERE study_id = $1',
      [studyId],
    );
    if (rows.length === 0) throw studyNotFound(studyId);
    return rows[0].name;
  }

  async getStudyDirections(studyId: number): Promise<readonly StudyDirection[]> {
    let directions = this.directions.get(studyId);
    if (!directions) {
      const { rows } = await this.query<{ d: string }>(
        'SELECT directions_json AS d FROM studies WHERE study_id = $1',
        [studyId],
      );
      if (rows.length === 0) throw studyNotFound(studyId);
      directions = decodeDirections(rows[0].d);
      this.directions.set(studyId, directions);
    }
    return [...directions];
  }

  async getStudyUserAttrs(studyId: number): Promise<Record<string, AttrValue>> {
    return this.studyAttrs(studyId, false);
  }

  async getStudySystemAttrs(studyId: number): Promise<Record<string, AttrValue>> {
    return this.studyAttrs(studyId, true);
  }

  async setStudyUserAttr(studyId: number, key: string, value: AttrValue): Promise<void> {
    await this.setStudyAttr(studyId, false, key, value, true);
  }

  async setStudySystemAttr(studyId: number, key: string, value: AttrValue): Promise<void> {
    await this.setStudyAttr(studyId, true, key, value, true);
  }

  async setStudySystemAttrIfAbsent(studyId: number, key: string, value: AttrValue): Promise<boolean> {
    return this.setStudyAttr(studyId, true, key, value, false);
  }

  async getAllStudies(): Promise<StudySummary[]> {
    return this.readOnly(async (client) => {
      const { rows: studies } = await this.query<{
        studyId: number;
        studyName: string;
        directionsJson: string;
        nTrials: number;
        datetimeStart: Date | null;
      }>(
        `SELECT s.study_id AS "studyId", s.study_name AS "studyName", s.directions_json AS "directionsJson",
           (SELECT COUNT(*)::int FROM trials t WHERE t.study_id = s.study_id) AS "nTrials",
           (SELECT t.datetime_start FROM trials t WHERE t.study_id = s.study_id ORDER BY t.number LIMIT 1)
             AS "datetimeStart"
         FROM studies s ORDER BY s.study_id`,
        [],
        client,
      );
      const { rows: attrs } = await this.query<{
        studyId: number;
        isSystem: boolean;
        key: string;
        valueJson: string;
      }>(
        `SELECT study_id AS "studyId", is_system AS "isSystem", key, value_json AS "valueJson"
         FROM study_attrs ORDER BY attr_id`,
        [],
        client,
      );
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
        datetimeStart: s.datetimeStart,
      }));
    });
  }

  // ------------------------------------------------------------------------------------------
  // Trials

  async createTrial(studyId: number, template: TrialTemplate = {}): Promise<FrozenTrial> {
    return (await this.createTrials(studyId, [template]))[0];
  }

  async createTrialIfBelow(studyId: number, maxTrials: number): Promise<FrozenTrial | null> {
    return this.acquire(studyId, { claim: false, create: true, maxTrials, heartbeat: false });
  }

  /**
   * Creates several trials in one transaction, with consecutive numbers; used to copy studies fast.
   * Not part of the Storage contract.
   */
  async createTrials(studyId: number, templates: readonly TrialTemplate[]): Promise<FrozenTrial[]> {
    if (templates.length === 0) return [];
    const prepared = templates.map(prepareTemplate);
    const ids = await this.transaction(async (client) => {
      const { rows: counter } = await this.query<{ first: number }>(
        `UPDATE studies SET next_trial_number = next_trial_number + $2
         WHERE study_id = $1 RETURNING next_trial_number - $2 AS first`,
        [studyId, prepared.length],
        client,
      );
      if (counter.length === 0) throw studyNotFound(studyId);
      const first = counter[0].first;
      // Times the template leaves out are taken from the server's clock.
      const given = (v: number | null | undefined) => v ?? null;
      const now = (v: number | null | undefined, applies: boolean) => v === undefined && applies;
      const { rows: inserted } = await this.query<{ trialId: number; number: number }>(
        `INSERT INTO trials (study_id, number, state, values_json, datetime_start, datetime_complete, packed_json)
         SELECT $1, x.number, x.state, x.values_json,
           CASE WHEN x.start_now THEN clock_timestamp() ELSE to_timestamp(x.start_ms / 1000.0) END,
           CASE WHEN x.complete_now THEN clock_timestamp() ELSE to_timestamp(x.complete_ms / 1000.0) END,
           x.packed_json
         FROM unnest($2::int[], $3::text[], $4::text[], $5::float8[], $6::bool[], $7::float8[], $8::bool[], $9::text[])
           AS x(number, state, values_json, start_ms, start_now, complete_ms, complete_now, packed_json)
         ORDER BY x.number
         RETURNING trial_id AS "trialId", number`,
        [
          studyId,
          prepared.map((_, i) => first + i),
          prepared.map((t) => t.state),
          prepared.map((t) => t.valuesJson),
          prepared.map((t) => given(t.datetimeStart)),
          prepared.map((t) => now(t.datetimeStart, t.state !== 'WAITING')),
          prepared.map((t) => given(t.datetimeComplete)),
          prepared.map((t) => now(t.datetimeComplete, isFinished(t.state))),
          prepared.map((t) => t.packedJson),
        ],
        client,
      );
      const idOf = new Map(inserted.map((r) => [r.number, r.trialId]));
      const trialIds = prepared.map((_, i) => idOf.get(first + i)!);
      const params = prepared.flatMap((t, i) => t.params.map((p) => ({ ...p, trialId: trialIds[i] })));
      if (params.length > 0)
        await this.query(
          `INSERT INTO trial_params (trial_id, name, value, distribution_json)
           SELECT x.trial_id, x.name, x.value, x.distribution_json
           FROM unnest($1::int[], $2::text[], $3::float8[], $4::text[]) WITH ORDINALITY
             AS x(trial_id, name, value, distribution_json, n)
           ORDER BY x.n`,
          [
            params.map((p) => p.trialId),
            params.map((p) => p.name),
            params.map((p) => p.value),
            params.map((p) => p.distributionJson),
          ],
          client,
        );
      const steps = prepared.flatMap((t, i) => t.intermediates.map((v) => ({ ...v, trialId: trialIds[i] })));
      if (steps.length > 0)
        await this.query(
          `INSERT INTO trial_intermediate_values (trial_id, step, value_json)
           SELECT * FROM unnest($1::int[], $2::int[], $3::text[])`,
          [steps.map((v) => v.trialId), steps.map((v) => v.step), steps.map((v) => v.valueJson)],
          client,
        );
      const attrs = prepared.flatMap((t, i) => t.attrs.map((a) => ({ ...a, trialId: trialIds[i] })));
      if (attrs.length > 0)
        await this.query(
          `INSERT INTO trial_attrs (trial_id, is_system, key, value_json)
           SELECT x.trial_id, x.is_system, x.key, x.value_json
           FROM unnest($1::int[], $2::bool[], $3::text[], $4::text[]) WITH ORDINALITY
             AS x(trial_id, is_system, key, value_json, n)
           ORDER BY x.n`,
          [
            attrs.map((a) => a.trialId),
            attrs.map((a) => a.isSystem),
            attrs.map((a) => a.key),
            attrs.map((a) => a.valueJson),
          ],
          client,
        );
      return trialIds;
    });
    const trials = await this.readTrials(ids);
    for (const t of trials) this.cache.remember(t);
    return trials;
  }

  async claimWaitingTrial(studyId: number): Promise<FrozenTrial | null> {
    return this.acquire(studyId, { claim: true, create: false, maxTrials: null, heartbeat: false });
  }

  async nextTrial(studyId: number, options: NextTrialOptions = {}): Promise<FrozenTrial | null> {
    const { maxTrials = null, heartbeat = false } = options;
    return this.acquire(studyId, { claim: true, create: true, maxTrials, heartbeat });
  }

  /**
   * Claims the oldest WAITING trial and/or creates a RUNNING one, optionally with its first
   * heartbeat, in one statement. A new trial takes the next number from the study's counter row,
   * whose lock orders creators and is held until the statement commits, so numbers are dense and
   * commit in order; it is made only while the cap allows and, when claiming too, only if no trial
   * is WAITING. A row claimed and committed by another worker between our snapshot and our lock is
   * skipped by the locking clause, which can leave nothing claimed although WAITING trials remain
   * (the flags come from the statement's snapshot): then retry.
   */
  private async acquire(
    studyId: number,
    mode: { claim: boolean; create: boolean; maxTrials: number | null; heartbeat: boolean },
  ): Promise<FrozenTrial | null> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const { rows } = await this.query<{
        claimed: number | null;
        createdId: number | null;
        createdNumber: number | null;
        createdStart: Date | null;
        study: boolean;
        waiting: boolean;
      }>(
        `WITH next AS (
           SELECT trial_id FROM trials WHERE $4 AND study_id = $1 AND state = 'WAITING'
           ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED),
         claimed AS (
           UPDATE trials t SET state = 'RUNNING', datetime_start = clock_timestamp()
           FROM next WHERE t.trial_id = next.trial_id AND t.state = 'WAITING'
           RETURNING t.trial_id),
         counter AS (
           UPDATE studies SET next_trial_number = next_trial_number + 1
           WHERE $5 AND study_id = $1 AND ($2::int IS NULL OR next_trial_number + 1 <= $2)
             AND NOT ($4 AND EXISTS (SELECT 1 FROM trials WHERE study_id = $1 AND state = 'WAITING'))
           RETURNING next_trial_number - 1 AS number),
         created AS (
           INSERT INTO trials (study_id, number, state, datetime_start)
           SELECT $1, number, 'RUNNING', clock_timestamp() FROM counter
           RETURNING trial_id, number, datetime_start),
         beat AS (
           INSERT INTO trial_heartbeats (trial_id, heartbeat)
           SELECT trial_id, clock_timestamp()
           FROM (SELECT trial_id FROM claimed UNION ALL SELECT trial_id FROM created) AS mine
           WHERE $3
           ON CONFLICT (trial_id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat)
         SELECT (SELECT trial_id FROM claimed) AS claimed,
           (SELECT trial_id FROM created) AS "createdId",
           (SELECT number FROM created) AS "createdNumber",
           (SELECT datetime_start FROM created) AS "createdStart",
           EXISTS (SELECT 1 FROM studies WHERE study_id = $1) AS study,
           EXISTS (SELECT 1 FROM trials WHERE study_id = $1 AND state = 'WAITING') AS waiting`,
        [studyId, mode.maxTrials, mode.heartbeat, mode.claim, mode.create],
      );
      const r = rows[0];
      if (!r.study) throw studyNotFound(studyId);
      if (r.claimed !== null) return this.getTrial(r.claimed);
      if (r.createdId !== null) {
        const row: TrialRow = {
          trialId: r.createdId,
          number: r.createdNumber!,
          state: 'RUNNING',
          valuesJson: null,
          datetimeStart: r.createdStart,
          datetimeComplete: null,
          packedJson: null,
        };
        const [trial] = assembleTrials([row], [], [], []);
        this.cache.remember(trial);
        return trial;
      }
      if (!mode.claim || !r.waiting) return null;
    }
    // Still contended after the retries: claim and create separately (each retries on its own).
    return mode.create && mode.claim
      ? composeNextTrial(this, studyId, { maxTrials: mode.maxTrials ?? undefined, heartbeat: mode.heartbeat })
      : null;
  }

  async setTrialParam(
    trialId: number,
    name: string,
    value: ParamValue,
    distribution: Distribution,
  ): Promise<void> {
    const internal = encodeParam(name, value, distribution);
    const config = distribution.getConfig();
    // One round trip: the write happens only when no earlier row of the study gives the name another
    // kind or other choices (DISTRIBUTION_MISMATCH); that row comes back to word the error.
    const { rows } = await this.query<{ clash: string | null; written: number }>(
      `WITH live AS (SELECT trial_id, study_id FROM trials WHERE trial_id = $1 AND state IN ${UNFINISHED} FOR SHARE),
       clash AS (
         SELECT p.distribution_json AS config FROM trials t
         JOIN trial_params p ON p.trial_id = t.trial_id AND p.name = $2
         WHERE t.study_id = (SELECT study_id FROM trials WHERE trial_id = $1)
           AND ((p.distribution_json::jsonb ->> 'type') <> $5
             OR ($5 = 'categorical' AND (p.distribution_json::jsonb -> 'choices') <> $6::jsonb))
         LIMIT 1
       ),
       written AS (
         INSERT INTO trial_params (trial_id, name, value, distribution_json)
         SELECT trial_id, $2, $3, $4 FROM live WHERE NOT EXISTS (SELECT 1 FROM clash)
         ON CONFLICT (trial_id, name) DO UPDATE SET value = EXCLUDED.value,
           distribution_json = EXCLUDED.distribution_json
         RETURNING 1
       )
       SELECT (SELECT config FROM clash) AS clash, (SELECT count(*) FROM written)::int AS written`,
      [
        trialId,
        name,
        internal,
        encodeJson(config, 'distribution'),
        config.type,
        JSON.stringify(config.type === 'categorical' ? config.choices : null),
      ],
    );
    const { clash, written } = rows[0];
    if (clash !== null) {
      checkDistributionCompatibility(name, decodeDistribution(clash), distribution);
      throw new DistributionMismatchError(
        `parameter "${name}" was already suggested as ${clash} in this study`,
      );
    }
    if (written > 0) return;
    const found = await this.query<{ number: number; state: TrialState }>(
      'SELECT number, state FROM trials WHERE trial_id = $1',
      [trialId],
    );
    if (found.rows.length === 0) throw trialNotFound(trialId);
    throw trialFinished(found.rows[0].number, found.rows[0].state);
  }

  async setTrialIntermediateValue(trialId: number, step: number, value: IntermediateValue): Promise<void> {
    checkStep(step);
    await this.writeToUnfinished(
      trialId,
      `INSERT INTO trial_intermediate_values (trial_id, step, value_json)
       SELECT trial_id, $2, $3 FROM live
       ON CONFLICT (trial_id, step) DO UPDATE SET value_json = EXCLUDED.value_json`,
      [step, encodeIntermediate(value)],
    );
  }

  async setTrialUserAttr(trialId: number, key: string, value: AttrValue): Promise<void> {
    await this.setTrialAttr(trialId, false, key, value);
  }

  async setTrialSystemAttr(trialId: number, key: string, value: AttrValue): Promise<void> {
    await this.setTrialAttr(trialId, true, key, value);
  }

  async setTrialState(
    trialId: number,
    state: TrialState,
    values?: readonly number[] | null,
  ): Promise<boolean> {
    checkTrialState(state);
    const keepValues = values === undefined;
    const valuesJson = values ? encodeNumbers(values) : null;
    if (isFinished(state)) {
      // One round trip (migration 2): the function locks the row, so writers holding it FOR SHARE
      // finish first and the children it packs are complete.
      const { rows } = await this.query<TrialRow>(
        `SELECT out_trial_id AS "trialId", out_number AS number, out_state AS state,
           out_values_json AS "valuesJson", out_datetime_start AS "datetimeStart",
           out_datetime_complete AS "datetimeComplete", out_packed_json AS "packedJson"
         FROM parsimony_finish_trial($1, $2, $3, $4)`,
        [trialId, state, keepValues, valuesJson],
      );
      if (rows.length === 0) {
        await this.requireTrial(trialId);
        return false;
      }
      // Finished trials never change: remember it now, so reading it back costs nothing.
      this.cache.remember(assembleTrials(rows, [], [], [])[0]);
      return true;
    }
    const { rowCount } =
      state === 'RUNNING'
        ? await this.query(
            `UPDATE trials SET state = 'RUNNING', datetime_start = clock_timestamp(),
               values_json = CASE WHEN $2 THEN values_json ELSE $3 END
             WHERE trial_id = $1 AND state = 'WAITING'`,
            [trialId, keepValues, valuesJson],
          )
        : await this.query(
            `UPDATE trials SET state = $2, values_json = CASE WHEN $3 THEN values_json ELSE $4 END
             WHERE trial_id = $1 AND state IN ${UNFINISHED}`,
            [trialId, state, keepValues, valuesJson],
          );
    if (rowCount === 1) return true;
    await this.requireTrial(trialId);
    return false;
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    const cached = this.cache.finished(trialId);
    if (cached) return cached;
    const [trial] = await this.readTrials([trialId]);
    if (!trial) throw trialNotFound(trialId);
    this.cache.remember(trial);
    return trial;
  }

  async recordHeartbeat(trialId: number): Promise<void> {
    const { rowCount } = await this.query(
      `INSERT INTO trial_heartbeats (trial_id, heartbeat)
       SELECT trial_id, clock_timestamp() FROM trials WHERE trial_id = $1 AND state = 'RUNNING'
       ON CONFLICT (trial_id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat`,
      [trialId],
    );
    if (rowCount === 0) await this.requireTrial(trialId);
  }

  async getStaleTrials(studyId: number, graceMs: number): Promise<FrozenTrial[]> {
    const { rows } = await this.query<TrialWithChildrenRow & { studyId: number }>(
      `SELECT s.study_id AS "studyId", ${TRIAL_WITH_CHILDREN}
       FROM studies s LEFT JOIN (trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id)
         ON t.study_id = s.study_id AND t.state = 'RUNNING'
           AND h.heartbeat < clock_timestamp() - $2 * interval '1 millisecond'
       WHERE s.study_id = $1 ORDER BY t.number`,
      [studyId, graceMs],
    );
    if (rows.length === 0) {
      this.cache.dropStudy(studyId);
      throw studyNotFound(studyId);
    }
    return toTrials(rows);
  }

  async getAllTrials(studyId: number, options: GetTrialsOptions = {}): Promise<FrozenTrial[]> {
    const read = async () => {
      const delta = this.cache.delta(studyId);
      // One statement: one snapshot, and the study's existence and trial count in the same round trip.
      const { rows } = await this.query<TrialWithChildrenRow & { studyId: number; count: number }>(
        `SELECT s.study_id AS "studyId",
           (SELECT COUNT(*)::int FROM trials c WHERE c.study_id = s.study_id) AS count,
           ${TRIAL_WITH_CHILDREN}
         FROM studies s LEFT JOIN trials t
           ON t.study_id = s.study_id AND (t.number > $2 OR t.number = ANY ($3::int[]))
         WHERE s.study_id = $1`,
        [studyId, delta.maxNumber, delta.unfinished],
      );
      if (rows.length === 0) {
        this.cache.dropStudy(studyId);
        throw studyNotFound(studyId);
      }
      return this.cache.mergeCounted(studyId, toTrials(rows), rows[0].count);
    };
    // A second read starts from an empty cache, so it cannot hold more than the storage.
    const all = (await read()) ?? ((await read()) as FrozenTrial[]);
    return filterStates(all, options.states);
  }

  async deleteTrial(trialId: number): Promise<void> {
    const { rowCount } = await this.query('DELETE FROM trials WHERE trial_id = $1', [trialId]);
    if (rowCount === 0) throw trialNotFound(trialId);
    this.cache.dropTrial(trialId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    await this.pool.end();
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  private async migrate(client: pg.PoolClient): Promise<void> {
    const status = async () => {
      const { rows } = await client.query<{ known: boolean; studies: boolean }>(
        `SELECT to_regclass('${SCHEMA_TABLE}') IS NOT NULL AS known, to_regclass('studies') IS NOT NULL AS studies`,
      );
      const known = rows[0].known;
      const current = known
        ? ((await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${SCHEMA_TABLE}`)).rows[0]
            .v ?? 0)
        : 0;
      return { known, current, foreign: !known && rows[0].studies };
    };
    // Fast path without the lock: already current.
    const before = await status();
    if (before.current === SCHEMA_VERSION) return;
    // A session lock taken before BEGIN: the transaction then starts after the previous migrator
    // committed, with fresh catalog caches (a lock taken inside it would leave them stale).
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('BEGIN');
      try {
        const { known, current, foreign } = await status();
        const pending = pendingMigrations(current, this.url, { hasForeignTables: foreign });
        if (!known) await client.query(SCHEMA_TABLE_SQL.postgres);
        for (const m of pending) {
          await client.query(m.postgres);
          await client.query(`INSERT INTO ${SCHEMA_TABLE} (version, description) VALUES ($1, $2)`, [
            m.version,
            m.description,
          ]);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    }
  }

  /** Schema version of the database. */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.query<{ v: number | null }>(
      `SELECT MAX(version) AS v FROM ${SCHEMA_TABLE}`,
      [],
    );
    return rows[0].v ?? 0;
  }

  /** Runs one statement as a named prepared statement (prepared once per connection). */
  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[],
    on: Queryable = this.pool,
  ): Promise<pg.QueryResult<R>> {
    let name = this.statementNames.get(text);
    if (name === undefined) {
      name = `parsimony_${this.statementNames.size}`;
      this.statementNames.set(text, name);
    }
    try {
      return await on.query<R>({ name, text, values });
    } catch (error) {
      throw this.wrap(error);
    }
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw this.wrap(error);
      }
      let broken = false;
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = pgCode(error);
        if (code !== undefined && RETRYABLE.has(code) && attempt < 5) continue;
        throw this.wrap(error);
      } finally {
        client.release(broken);
      }
    }
  }

  /** A read-only transaction seeing one snapshot. */
  private readOnly<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(fn, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  private wrap(error: unknown): Error {
    if (error instanceof ParsimonyError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StorageError(`${this.url}: ${message}`, { cause: error });
  }

  private async requireTrial(trialId: number): Promise<void> {
    const { rowCount } = await this.query('SELECT 1 FROM trials WHERE trial_id = $1', [trialId]);
    if (rowCount === 0) throw trialNotFound(trialId);
  }

  /**
   * Runs `insert` (which reads the trial from `live`) only while the trial is unfinished, holding a
   * share lock on its row so it cannot finish meanwhile; otherwise explains why nothing was written.
   */
  private async writeToUnfinished(trialId: number, insert: string, values: unknown[]): Promise<void> {
    const { rowCount } = await this.query(
      `WITH live AS (SELECT trial_id FROM trials WHERE trial_id = $1 AND state IN ${UNFINISHED} FOR SHARE)
       ${insert}`,
      [trialId, ...values],
    );
    if (rowCount !== null && rowCount > 0) return;
    const { rows } = await this.query<{ number: number; state: TrialState }>(
      'SELECT number, state FROM trials WHERE trial_id = $1',
      [trialId],
    );
    if (rows.length === 0) throw trialNotFound(trialId);
    throw trialFinished(rows[0].number, rows[0].state);
  }

  private setTrialAttr(trialId: number, isSystem: boolean, key: string, value: AttrValue): Promise<void> {
    return this.writeToUnfinished(
      trialId,
      `INSERT INTO trial_attrs (trial_id, is_system, key, value_json)
       SELECT trial_id, $2, $3, $4 FROM live
       ON CONFLICT (trial_id, is_system, key) DO UPDATE SET value_json = EXCLUDED.value_json`,
      [isSystem, key, encodeJson(value, `attribute "${key}"`)],
    );
  }

  private async studyAttrs(studyId: number, isSystem: boolean): Promise<Record<string, AttrValue>> {
    const { rows } = await this.query<{ key: string | null; valueJson: string | null }>(
      `SELECT a.key AS key, a.value_json AS "valueJson" FROM studies s
       LEFT JOIN study_attrs a ON a.study_id = s.study_id AND a.is_system = $2
       WHERE s.study_id = $1 ORDER BY a.attr_id`,
      [studyId, isSystem],
    );
    if (rows.length === 0) throw studyNotFound(studyId);
    const out: Record<string, AttrValue> = {};
    for (const r of rows) if (r.key !== null) out[r.key] = decodeJson(r.valueJson!);
    return out;
  }

  private async setStudyAttr(
    studyId: number,
    isSystem: boolean,
    key: string,
    value: AttrValue,
    replace: boolean,
  ): Promise<boolean> {
    const json = encodeJson(value, `attribute "${key}"`);
    try {
      const { rowCount } = await this.query(
        `INSERT INTO study_attrs (study_id, is_system, key, value_json) VALUES ($1, $2, $3, $4)
         ON CONFLICT (study_id, is_system, key) DO ${replace ? 'UPDATE SET value_json = EXCLUDED.value_json' : 'NOTHING'}`,
        [studyId, isSystem, key, json],
      );
      return rowCount === 1;
    } catch (error) {
      if (pgCode(error) === '23503') throw studyNotFound(studyId);
      throw error;
    }
  }

  /** Whole trials by id, in number order, from one snapshot. */
  private async readTrials(ids: readonly number[]): Promise<FrozenTrial[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.query<TrialWithChildrenRow>(
      `SELECT ${TRIAL_WITH_CHILDREN} FROM trials t WHERE t.trial_id = ANY ($1::int[]) ORDER BY t.number`,
      [ids],
    );
    return toTrials(rows);
  }
}

/** One line saying why a connection failed (Node reports refused dual-stack connects as an AggregateError). */
function describeConnectError(error: unknown): string {
  const parts =
    error instanceof AggregateError && error.errors.length > 0
      ? error.errors.map((e: Error) => e.message)
      : [
          error instanceof Error
            ? error.message || ((error as { code?: string }).code ?? error.name)
            : String(error),
        ];
  return [...new Set(parts)].join('; ').replace(/\s+/g, ' ').trim();
}

/** The SQLSTATE of a driver error, also when wrapped in a STORAGE error. */
function pgCode(error: unknown): string | undefined {
  const inner = error instanceof ParsimonyError ? error.cause : error;
  const code = (inner as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

interface TrialWithChildrenRow extends Omit<TrialRow, 'trialId' | 'number' | 'state'> {
  /** Null on the outer-join row of a study without matching trials. */
  trialId: number | null;
  number: number;
  state: TrialState;
  paramsJson: [name: string, value: string, distributionJson: string][] | null;
  stepsJson: [step: number, valueJson: string][] | null;
  attrsJson: [isSystem: boolean, key: string, valueJson: string][] | null;
}

function childrenOf(row: TrialWithChildrenRow): {
  params: ParamRow[];
  intermediates: IntermediateRow[];
  attrs: AttrRow[];
} {
  const trialId = row.trialId!;
  return {
    params: (row.paramsJson ?? []).map(([name, value, distributionJson]) => ({
      trialId,
      name,
      value: Number(value),
      distributionJson,
    })),
    intermediates: (row.stepsJson ?? []).map(([step, valueJson]) => ({ trialId, step, valueJson })),
    attrs: (row.attrsJson ?? []).map(([isSystem, key, valueJson]) => ({ trialId, isSystem, key, valueJson })),
  };
}

/** Whole trials from rows read with TRIAL_WITH_CHILDREN (outer-join rows without a trial skipped). */
function toTrials(rows: readonly TrialWithChildrenRow[]): FrozenTrial[] {
  const trials: TrialRow[] = [];
  const params: ParamRow[] = [];
  const intermediates: IntermediateRow[] = [];
  const attrs: AttrRow[] = [];
  for (const row of rows) {
    if (row.trialId === null) continue;
    trials.push({
      trialId: row.trialId,
      number: row.number,
      state: row.state,
      valuesJson: row.valuesJson,
      datetimeStart: row.datetimeStart,
      datetimeComplete: row.datetimeComplete,
      packedJson: row.packedJson,
    });
    const children = childrenOf(row);
    params.push(...children.params);
    intermediates.push(...children.intermediates);
    attrs.push(...children.attrs);
  }
  return assembleTrials(trials, params, intermediates, attrs);
}
