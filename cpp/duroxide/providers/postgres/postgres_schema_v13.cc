// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgreSQL migration 13: orchestration limits (limit_store.h, docs/flow-control.md,
// "Orchestration limits"). SQLite's migration 10 runs the same shared DDL.
#include <string>

#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/postgres/postgres_schema.h"

namespace duroxide::providers::postgres::internal {

namespace {

// - Start rows get their limit columns from the work item, by migration 11's function.
// - A slot is given back by triggers when the instance's execution ends or its row is
//   deleted, so every path that ends or deletes an instance does it in its own transaction.
constexpr const char* kTriggers = R"sql(
CREATE TRIGGER dx_orchestrator_limit BEFORE INSERT ON orchestrator_queue
  FOR EACH ROW WHEN (strpos(NEW.work_item, '"limit"') > 0)
  EXECUTE FUNCTION dx_worker_limit();

CREATE FUNCTION dx_instance_limit_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM instance_limits WHERE instance_id = OLD.instance_id;
  ELSE
    DELETE FROM instance_limits WHERE instance_id = NEW.instance_id;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER dx_instance_limit_end AFTER UPDATE OF status ON executions
  FOR EACH ROW WHEN (NEW.status IN ('Completed', 'Failed'))
  EXECUTE FUNCTION dx_instance_limit_release();
CREATE TRIGGER dx_instance_limit_delete AFTER DELETE ON instances
  FOR EACH ROW EXECUTE FUNCTION dx_instance_limit_release();
)sql";

// The admission of a locked candidate (called by dx_fetch_orchestrations): true unless the
// instance has a visible limited start without a slot that cannot take one now. The slot is
// taken under a transaction advisory lock of the (limit, key) - tried, never waited for: a
// fetch that finds it taken skips the instance, as it skips a locked instance - and by an
// INSERT whose own snapshot sees every committed slot, so two fetches of one limit cannot
// both take its last slot. The lock shares the two-key space of instance locks (p_space);
// a hash collision with an instance id only makes one fetch skip a candidate.
std::string AdmitFunction() {
  return std::string(R"sql(
CREATE FUNCTION dx_admit_instance_limit(p_instance TEXT, p_now BIGINT, p_space INT)
RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
  v_name TEXT;
  v_key TEXT;
  v_per_key INTEGER;
BEGIN
  SELECT s.limit_name, s.limit_key INTO v_name, v_key FROM orchestrator_queue s
  WHERE s.instance_id = p_instance AND s.limit_name IS NOT NULL AND s.visible_at <= p_now
  ORDER BY s.id LIMIT 1;
  IF NOT FOUND OR EXISTS (SELECT 1 FROM instance_limits h WHERE h.instance_id = p_instance) THEN
    RETURN TRUE;
  END IF;
  SELECT l.per_key INTO v_per_key FROM limits l WHERE l.name = v_name;
  IF FOUND AND pg_try_advisory_xact_lock(p_space, hashtext(chr(31) || 'limit' || chr(31) ||
      v_name || chr(31) || CASE WHEN v_per_key = 0 THEN '' ELSE v_key END)) THEN
    )sql") + OrchestrationSlotInsertSql() + R"sql(;
    IF FOUND THEN
      RETURN TRUE;
    END IF;
  END IF;
  -- No slot: only a queued cancel or terminate lets the instance through (its turn ends it).
  RETURN EXISTS (SELECT 1 FROM orchestrator_queue c
                 WHERE c.instance_id = p_instance AND c.kind = 'CancelInstance');
END;
$$;
)sql";
}

// dx_fetch_orchestrations of migration 12 with the limit predicate on both of its candidate
// branches (the rank walk, alias w, and the aggregate, alias q) and the admission after an
// instance is locked. Derived from migration 12's text (never edited).
std::string FetchWithLimits() {
  const char* m = "migration 13";
  std::string fn =
      SqlFrom(m, Migration12Sql(), "CREATE OR REPLACE FUNCTION dx_fetch_orchestrations(");
  ReplaceOnce(m, &fn, "WHERE w.visible_at <= p_now AND NOT EXISTS",
              "WHERE w.visible_at <= p_now AND " + OrchestrationLimitPredicate("w", "p_now") +
                  " AND NOT EXISTS");
  ReplaceOnce(m, &fn, "WHERE q.visible_at <= p_now AND NOT EXISTS",
              "WHERE q.visible_at <= p_now AND " + OrchestrationLimitPredicate("q", "p_now") +
                  " AND NOT EXISTS");
  ReplaceOnce(m, &fn, "    CONTINUE WHEN NOT FOUND;\n    UPDATE orchestrator_queue",
              "    CONTINUE WHEN NOT FOUND;\n"
              "    IF NOT dx_admit_instance_limit(v_candidate, p_now, p_space) THEN\n"
              "      DELETE FROM instance_locks WHERE lock_token = v_token;\n"
              "      CONTINUE;\n"
              "    END IF;\n"
              "    UPDATE orchestrator_queue");
  return fn;
}

}  // namespace

const char* Migration13Sql() {
  static const std::string sql =
      std::string(OrchestrationLimitsTableSql()) + kTriggers + AdmitFunction() + FetchWithLimits();
  return sql.c_str();
}

}  // namespace duroxide::providers::postgres::internal
