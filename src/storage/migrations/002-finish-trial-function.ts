/**
 * Migration 2: PostgreSQL finishes a trial in one round trip.
 *
 * `parsimony_finish_trial` locks the trial row (waiting for child writers, which hold it FOR SHARE),
 * then packs its children and sets the final state. In a VOLATILE PL/pgSQL function each statement
 * takes a new snapshot under READ COMMITTED, so the packing statement sees every child row whose
 * writer committed while the lock was awaited; a single SQL statement would not. It returns the
 * finished row, or nothing when the trial is missing or already finished.
 *
 * The children are packed in the "raw" form (`r: 1`): intermediate and attribute values keep their
 * stored JSON text, which the reader decodes (serialization.ts reads both forms). SQLite packs in
 * the storage itself and needs nothing here.
 */
import type { Migration } from './index.js';

export const finishTrialFunction: Migration = {
  version: 2,
  description: 'PostgreSQL function finishing a trial in one round trip',
  sqlite: 'SELECT 1',
  postgres: `
    CREATE FUNCTION parsimony_finish_trial(
      p_trial_id integer, p_state text, p_keep_values boolean, p_values_json text)
    RETURNS TABLE (
      out_trial_id integer, out_number integer, out_state text, out_values_json text,
      out_datetime_start timestamptz, out_datetime_complete timestamptz, out_packed_json text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      current_state text;
    BEGIN
      SELECT t.state INTO current_state FROM trials t WHERE t.trial_id = p_trial_id FOR UPDATE;
      IF NOT FOUND OR current_state NOT IN ('RUNNING', 'WAITING') THEN
        RETURN;
      END IF;
      RETURN QUERY
      UPDATE trials t SET
        state = p_state,
        datetime_complete = clock_timestamp(),
        values_json = CASE WHEN p_keep_values THEN t.values_json ELSE p_values_json END,
        packed_json = json_build_object(
          'r', 1,
          'p', COALESCE((SELECT json_agg(json_build_array(p.name, p.value, p.distribution_json) ORDER BY p.param_id)
                         FROM trial_params p WHERE p.trial_id = p_trial_id), '[]'::json),
          'i', COALESCE((SELECT json_agg(json_build_array(v.step, v.value_json) ORDER BY v.step)
                         FROM trial_intermediate_values v WHERE v.trial_id = p_trial_id), '[]'::json),
          'a', COALESCE((SELECT json_agg(json_build_array(a.is_system, a.key, a.value_json) ORDER BY a.attr_id)
                         FROM trial_attrs a WHERE a.trial_id = p_trial_id), '[]'::json)
        )::text
      WHERE t.trial_id = p_trial_id
      RETURNING t.trial_id, t.number, t.state, t.values_json, t.datetime_start, t.datetime_complete,
        t.packed_json;
    END
    $fn$;
  `,
};
