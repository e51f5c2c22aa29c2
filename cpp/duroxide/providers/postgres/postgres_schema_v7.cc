// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgreSQL migration 7 (performance round 2), kept apart from postgres_schema.cc so that
// file stays readable; registered in its kMigrations.
#include "duroxide/providers/postgres/postgres_schema.h"

#include <string>

#include "duroxide/providers/store_schema.h"

namespace duroxide::providers::postgres::internal {

namespace {

// See FetchLockedInstanceSql; {instance}, {token}, {first_columns} and {lock_lost} are its
// FetchLockNames.
constexpr const char* kFetchLockedInstance = R"sql(    -- Take the lock unless a live one appeared since the candidate was read.
    INSERT INTO instance_locks AS il (instance_id, lock_token, locked_until, locked_at)
    VALUES ({instance}, {token}, p_until, p_now)
    ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token,
      locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
    WHERE il.locked_until <= p_now;
{lock_lost}    UPDATE orchestrator_queue SET lock_token = {token}, attempt_count = attempt_count + 1
    WHERE instance_id = {instance} AND visible_at <= p_now;
    IF NOT FOUND THEN
      DELETE FROM instance_locks WHERE lock_token = {token};  -- consumed meanwhile
      CONTINUE;
    END IF;
    RETURN QUERY
    SELECT {first_columns},
      (SELECT json_agg(json_build_array(q.id, q.work_item, q.attempt_count) ORDER BY q.id)
         FROM orchestrator_queue q WHERE q.lock_token = {token}),
      i.instance_id IS NOT NULL, i.orchestration_name, i.orchestration_version,
      i.current_execution_id, e.status, e.output, e.error, i.custom_status,
      i.custom_status_version, i.parent_instance_id, i.created_at, i.updated_at,
      (SELECT MAX(h.event_id) FROM history h WHERE h.instance_id = {instance}
         AND h.execution_id = i.current_execution_id),
      (SELECT json_agg(json_build_array(k.key, k.value, k.last_updated_at_ms))
         FROM kv_store k WHERE k.instance_id = {instance} AND i.instance_id IS NOT NULL)
    FROM (SELECT 1) one
    LEFT JOIN instances i ON i.instance_id = {instance}
    LEFT JOIN executions e
      ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id;
)sql";

// dx_fetch_orchestrations around its shared part.
constexpr const char* kFetchOrchestrationsHead = R"sql(
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
)sql";
constexpr const char* kFetchOrchestrationsTail = R"sql(    v_got := v_got + 1;
    EXIT WHEN v_got >= v_wanted;
  END LOOP;
END;
$$;
)sql";

}  // namespace

std::string FetchLockedInstanceSql(const FetchLockNames& n) {
  return store::ExpandSql(kFetchLockedInstance, {{"instance", n.instance},
                                                 {"token", n.token},
                                                 {"first_columns", n.first_columns},
                                                 {"lock_lost", n.lock_lost}});
}

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
  static const std::string sql =
      "\n" + AckOrchestrationSql(AckRelease::kV7) + kFetchOrchestrationsHead +
      FetchLockedInstanceSql({"v_candidate", "v_token", "v_token, v_candidate",
                              "    CONTINUE WHEN NOT FOUND;\n"}) +
      kFetchOrchestrationsTail;
  return sql.c_str();
}

}  // namespace duroxide::providers::postgres::internal
