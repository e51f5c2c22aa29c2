// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// dx_ack_orchestration, the PostgreSQL turn commit: one turn's history, state, KV, messaging
// and queue writes in one call, after the lock check. Written once, here. Migration 2 created
// it and migration 7 replaced it (worker rows inserted already leased); each migration's text
// is generated from this one body, byte for byte what that release shipped, so a database
// migrated by either build holds the same function. A later change is a new release here and
// one more migration that calls AckOrchestrationSql with it.
#include "duroxide/providers/postgres/postgres_schema.h"

#include <string>

namespace duroxide::providers::postgres::internal {

namespace {

// Everything up to the worker-row insert, which is what the releases differ in.
constexpr const char* kAckHead = R"sql(dx_ack_orchestration(
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
)sql";

// Release 2: worker rows inserted unlocked.
constexpr const char* kAckWorkersV2 = R"sql(    INSERT INTO worker_queue(work_item, visible_at, attempt_count, created_at, instance_id,
      execution_id, activity_id, session_id, tag)
    SELECT x.work_item, p_now, 0, p_now, x.instance_id, x.execution_id, x.activity_id,
      x.session_id, x.tag
    FROM json_to_recordset(p_workers) AS x(ord BIGINT, work_item TEXT, instance_id TEXT,
      execution_id BIGINT, activity_id BIGINT, session_id TEXT, tag TEXT)
)sql";

// Release 7: a row may arrive leased by the acknowledging process (TurnCommit::
// worker_lease_until_ms); same signature, so a process of the previous build keeps working.
constexpr const char* kAckWorkersV7 = R"sql(    -- A row with a lock_token is inserted leased (same-process hand-off): locked until
    -- locked_until, attempt_count 1, exactly as if a fetch had just taken it.
    INSERT INTO worker_queue(work_item, visible_at, lock_token, locked_until, attempt_count,
      created_at, instance_id, execution_id, activity_id, session_id, tag)
    SELECT x.work_item, p_now, x.lock_token, x.locked_until,
      CASE WHEN x.lock_token IS NULL THEN 0 ELSE 1 END, p_now, x.instance_id, x.execution_id,
      x.activity_id, x.session_id, x.tag
    FROM json_to_recordset(p_workers) AS x(ord BIGINT, work_item TEXT, instance_id TEXT,
      execution_id BIGINT, activity_id BIGINT, session_id TEXT, tag TEXT, lock_token TEXT,
      locked_until BIGINT)
)sql";

constexpr const char* kAckTail = R"sql(    ORDER BY x.ord;
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
)sql";

}  // namespace

std::string AckOrchestrationSql(AckRelease release) {
  const bool replace = release != AckRelease::kV2;
  return std::string(replace ? "CREATE OR REPLACE FUNCTION " : "CREATE FUNCTION ") + kAckHead +
         (release == AckRelease::kV2 ? kAckWorkersV2 : kAckWorkersV7) + kAckTail;
}

}  // namespace duroxide::providers::postgres::internal
