// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgreSQL migration 7 (performance round 2), kept apart from postgres_schema.cc so that
// file stays readable; registered in its kMigrations.
#include "duroxide/providers/postgres/postgres_schema.h"

namespace duroxide::providers::postgres::internal {

// Version 7 (performance round 2, docs/performance.md):
//  - dx_ack_orchestration inserts worker rows that carry a lock_token already leased (the
//    same-process activity hand-off of TurnCommit::worker_lease_until_ms); same signature, so
//    a process of the previous build keeps working (its rows have no lock_token).
//  - dx_fetch_orchestrations: up to array_length(p_tokens) instances in one call, one token
//    each, locked as by dx_fetch_orchestration but from one candidate scan, and without ever
//    sleeping: an instance whose advisory lock is taken is skipped (dx_fetch_orchestration
//    slept up to 36 ms when every candidate was taken, which inside a group commit holds
//    every dispatcher of the process). p_lock_only turns synchronous_commit off for the
//    calling transaction: see "Lock-only groups" in pg_group_commit.h for why a fetch that
//    commits on its own may do that.
const char* Migration7Sql() {
  return R"sql(
CREATE OR REPLACE FUNCTION dx_ack_orchestration(
    p_token TEXT, p_now BIGINT, p_delete_lock_key BIGINT, p_new_execution BOOLEAN,
    p_execution_id BIGINT, p_name TEXT, p_version TEXT, p_parent TEXT, p_created_at BIGINT,
    p_events JSON, p_status TEXT, p_output TEXT, p_error TEXT, p_cs_changed BOOLEAN,
    p_cs TEXT, p_kv JSON, p_workers JSON, p_cancelled JSON, p_items JSON, p_channel TEXT,
    p_payload TEXT)
RETURNS TABLE(o_instance TEXT, o_more BOOLEAN)
LANGUAGE plpgsql AS $$
DECLARE
  v_instance TEXT;
  v_more BOOLEAN;
  m JSON;
BEGIN
  IF p_delete_lock_key IS NOT NULL THEN
    -- A child's first turn: serialised with deletions of its parent.
    PERFORM pg_advisory_xact_lock_shared(p_delete_lock_key);
  END IF;
  -- Validates and releases the lock in one statement; any later error rolls it back.
  DELETE FROM instance_locks WHERE lock_token = p_token AND locked_until > p_now
  RETURNING instance_id INTO v_instance;
  IF v_instance IS NULL THEN
    RETURN;
  END IF;
  DELETE FROM orchestrator_queue WHERE lock_token = p_token;
  IF p_new_execution THEN
    INSERT INTO instances AS i (instance_id, orchestration_name, orchestration_version,
      current_execution_id, parent_instance_id, created_at, updated_at)
    VALUES (v_instance, p_name, p_version, p_execution_id, p_parent, p_created_at, p_now)
    ON CONFLICT (instance_id) DO UPDATE SET orchestration_name = EXCLUDED.orchestration_name,
      orchestration_version = EXCLUDED.orchestration_version,
      current_execution_id = GREATEST(i.current_execution_id, EXCLUDED.current_execution_id),
      updated_at = EXCLUDED.updated_at;
    INSERT INTO executions(instance_id, execution_id, status, started_at)
    VALUES (v_instance, p_execution_id, 'Running', p_now) ON CONFLICT DO NOTHING;
  END IF;
  IF p_events IS NOT NULL THEN
    INSERT INTO history(instance_id, execution_id, event_id, event_type, event_data, created_at)
    SELECT v_instance, p_execution_id, x.event_id, x.event_type, x.event_data, p_now
    FROM json_to_recordset(p_events) AS x(event_id BIGINT, event_type TEXT, event_data TEXT);
  END IF;
  IF p_status IS NOT NULL THEN
    UPDATE executions SET status = p_status, output = p_output, error = p_error,
      completed_at = p_now
    WHERE instance_id = v_instance AND execution_id = p_execution_id;
  END IF;
  IF NOT p_new_execution OR p_cs_changed THEN
    UPDATE instances SET updated_at = p_now,
      custom_status = CASE WHEN p_cs_changed THEN p_cs ELSE custom_status END,
      custom_status_version = custom_status_version + CASE WHEN p_cs_changed THEN 1 ELSE 0 END
    WHERE instance_id = v_instance;
  END IF;
  IF p_kv IS NOT NULL THEN
    -- In order: a clear-all tombstones every delta and baseline key, so merged reads see
    -- nothing; set/clear upsert one delta row (NULL value = tombstone).
    FOR m IN SELECT value FROM json_array_elements(p_kv) LOOP
      IF m->>'op' = 'clear_all' THEN
        UPDATE kv_delta SET value = NULL, last_updated_at_ms = (m->>'t')::BIGINT
        WHERE instance_id = v_instance;
        INSERT INTO kv_delta(instance_id, key, value, last_updated_at_ms)
        SELECT instance_id, key, NULL, (m->>'t')::BIGINT FROM kv_store
        WHERE instance_id = v_instance ON CONFLICT DO NOTHING;
      ELSE
        INSERT INTO kv_delta(instance_id, key, value, last_updated_at_ms)
        VALUES (v_instance, m->>'key', CASE WHEN m->>'op' = 'set' THEN m->>'value' END,
                (m->>'t')::BIGINT)
        ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value,
          last_updated_at_ms = EXCLUDED.last_updated_at_ms;
      END IF;
    END LOOP;
  END IF;
  IF p_status IS NOT NULL AND p_status <> 'Running' THEN
    -- The execution ended: merge its delta into the baseline.
    DELETE FROM kv_store WHERE instance_id = v_instance AND key IN
      (SELECT key FROM kv_delta WHERE instance_id = v_instance AND value IS NULL);
    INSERT INTO kv_store(instance_id, key, value, last_updated_at_ms)
    SELECT instance_id, key, value, last_updated_at_ms FROM kv_delta
    WHERE instance_id = v_instance AND value IS NOT NULL
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value,
      last_updated_at_ms = EXCLUDED.last_updated_at_ms;
    DELETE FROM kv_delta WHERE instance_id = v_instance;
  END IF;
  IF p_workers IS NOT NULL THEN
    -- A row with a lock_token is inserted leased (same-process hand-off): locked until
    -- locked_until, attempt_count 1, exactly as if a fetch had just taken it.
    INSERT INTO worker_queue(work_item, visible_at, lock_token, locked_until, attempt_count,
      created_at, instance_id, execution_id, activity_id, session_id, tag)
    SELECT x.work_item, p_now, x.lock_token, x.locked_until,
      CASE WHEN x.lock_token IS NULL THEN 0 ELSE 1 END, p_now, x.instance_id, x.execution_id,
      x.activity_id, x.session_id, x.tag
    FROM json_to_recordset(p_workers) AS x(ord BIGINT, work_item TEXT, instance_id TEXT,
      execution_id BIGINT, activity_id BIGINT, session_id TEXT, tag TEXT, lock_token TEXT,
      locked_until BIGINT)
    ORDER BY x.ord;
  END IF;
  -- After the inserts, so an activity scheduled and cancelled in one turn disappears.
  IF p_cancelled IS NOT NULL THEN
    DELETE FROM worker_queue w USING json_to_recordset(p_cancelled)
      AS x(instance_id TEXT, execution_id BIGINT, activity_id BIGINT)
    WHERE w.instance_id = x.instance_id AND w.execution_id = x.execution_id
      AND w.activity_id = x.activity_id;
  END IF;
  IF p_items IS NOT NULL THEN
    INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count,
      created_at)
    SELECT x.instance_id, x.kind, x.work_item, x.visible_at, 0, p_now
    FROM json_to_recordset(p_items) AS x(ord BIGINT, instance_id TEXT, kind TEXT,
      work_item TEXT, visible_at BIGINT)
    ORDER BY x.ord;
  END IF;
  -- Messages that arrived during the lock are fetchable now: wake dispatchers for them.
  v_more := EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = v_instance);
  PERFORM pg_notify(p_channel, p_payload || CASE WHEN v_more THEN 'o' ELSE '' END);
  RETURN QUERY SELECT v_instance, v_more;
END;
$$;

CREATE FUNCTION dx_fetch_orchestrations(p_tokens TEXT[], p_now BIGINT, p_until BIGINT,
                                        p_space INT, p_lock_only BOOLEAN)
RETURNS TABLE(o_token TEXT, o_instance TEXT, o_messages JSON, o_has_record BOOLEAN,
              o_name TEXT, o_version TEXT, o_execution_id BIGINT, o_status TEXT,
              o_output TEXT, o_error TEXT, o_custom_status TEXT,
              o_custom_status_version BIGINT, o_parent TEXT, o_created_at BIGINT,
              o_updated_at BIGINT, o_last_event_id BIGINT, o_kv JSON)
LANGUAGE plpgsql AS $$
DECLARE
  v_wanted INT := COALESCE(array_length(p_tokens, 1), 0);
  v_got INT := 0;
  v_candidate TEXT;
  v_token TEXT;
BEGIN
  IF p_lock_only THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  IF v_wanted = 0 THEN
    RETURN;
  END IF;
  -- Instances with a visible message and no live lock, oldest message first. An instance whose
  -- advisory lock another transaction holds is being fetched (or was fetched by a transaction
  -- that has not committed yet): skip it, never wait or sleep for it. Its work is in hand.
  FOR v_candidate IN
    SELECT q.instance_id FROM orchestrator_queue q
    WHERE q.visible_at <= p_now AND NOT EXISTS (SELECT 1 FROM instance_locks l
      WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
    GROUP BY q.instance_id ORDER BY MIN(q.id) LIMIT 4 * v_wanted + 16
  LOOP
    CONTINUE WHEN NOT pg_try_advisory_xact_lock(p_space, hashtext(v_candidate));
    v_token := p_tokens[v_got + 1];
    -- Take the lock unless a live one appeared since the candidate was read.
    INSERT INTO instance_locks AS il (instance_id, lock_token, locked_until, locked_at)
    VALUES (v_candidate, v_token, p_until, p_now)
    ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token,
      locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
    WHERE il.locked_until <= p_now;
    CONTINUE WHEN NOT FOUND;
    UPDATE orchestrator_queue SET lock_token = v_token, attempt_count = attempt_count + 1
    WHERE instance_id = v_candidate AND visible_at <= p_now;
    IF NOT FOUND THEN
      DELETE FROM instance_locks WHERE lock_token = v_token;  -- consumed meanwhile
      CONTINUE;
    END IF;
    RETURN QUERY
    SELECT v_token, v_candidate,
      (SELECT json_agg(json_build_array(q.id, q.work_item, q.attempt_count) ORDER BY q.id)
         FROM orchestrator_queue q WHERE q.lock_token = v_token),
      i.instance_id IS NOT NULL, i.orchestration_name, i.orchestration_version,
      i.current_execution_id, e.status, e.output, e.error, i.custom_status,
      i.custom_status_version, i.parent_instance_id, i.created_at, i.updated_at,
      (SELECT MAX(h.event_id) FROM history h WHERE h.instance_id = v_candidate
         AND h.execution_id = i.current_execution_id),
      (SELECT json_agg(json_build_array(k.key, k.value, k.last_updated_at_ms))
         FROM kv_store k WHERE k.instance_id = v_candidate AND i.instance_id IS NOT NULL)
    FROM (SELECT 1) one
    LEFT JOIN instances i ON i.instance_id = v_candidate
    LEFT JOIN executions e
      ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id;
    v_got := v_got + 1;
    EXIT WHEN v_got >= v_wanted;
  END LOOP;
END;
$$;
)sql";
}

}  // namespace duroxide::providers::postgres::internal
