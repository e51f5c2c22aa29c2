// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgreSQL migration 9 (priorities, docs/flow-control.md; 8 is left to the schedules table
// of issue 24, built at the same time), kept apart from
// postgres_schema.cc like migration 7; registered in its kMigrations.
#include <string>

#include "duroxide/providers/postgres/postgres_schema.h"
#include "duroxide/providers/queue_order.h"

namespace duroxide::providers::postgres::internal {

namespace {

// Columns, the trigger that fills them and the rank indexes. The turn commit and start
// functions stay as they are: like the routing columns of migration 5, `priority` is copied
// by a trigger from the work item's own "priority" field (history/codec.cc writes it only
// when non-zero, so the trigger fires only for rows that have one). The index expression is
// DUROXIDE_QUEUE_RANK (providers/queue_order.h), with id for FIFO within a rank.
constexpr const char* kColumns = R"sql(
ALTER TABLE orchestrator_queue ADD COLUMN priority SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE worker_queue ADD COLUMN priority SMALLINT NOT NULL DEFAULT 0;

CREATE FUNCTION dx_queue_priority() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- A work item is {"<Kind>": {...}}: the body is the object's only value.
  NEW.priority := LEAST(9, GREATEST(0, COALESCE(
    (SELECT (b.value->>'priority')::INT FROM jsonb_each(NEW.work_item::jsonb) b LIMIT 1), 0)));
  RETURN NEW;
END;
$$;
CREATE TRIGGER dx_orchestrator_priority BEFORE INSERT ON orchestrator_queue
  FOR EACH ROW WHEN (strpos(NEW.work_item, '"priority"') > 0)
  EXECUTE FUNCTION dx_queue_priority();
CREATE TRIGGER dx_worker_priority BEFORE INSERT ON worker_queue
  FOR EACH ROW WHEN (strpos(NEW.work_item, '"priority"') > 0)
  EXECUTE FUNCTION dx_queue_priority();

CREATE INDEX idx_orch_rank ON orchestrator_queue((created_at - priority * 5000), id);
CREATE INDEX idx_worker_rank ON worker_queue((created_at - priority * 5000), id);
)sql";

// dx_fetch_orchestrations of migration 7 with its candidate order changed from the oldest
// message id to the claim rank. Derived from migration 7's text (which, like every released
// migration, never changes) rather than copied, so the two cannot drift apart.
std::string FetchInRankOrder() {
  const char* m = "migration 9";
  const std::string head = "CREATE FUNCTION dx_fetch_orchestrations(";
  std::string fn = SqlFrom(m, Migration7Sql(), head);
  ReplaceOnce(m, &fn, head, "CREATE OR REPLACE FUNCTION dx_fetch_orchestrations(");
  ReplaceOnce(m, &fn, "GROUP BY q.instance_id ORDER BY MIN(q.id)",
              "GROUP BY q.instance_id ORDER BY MIN" DUROXIDE_QUEUE_RANK_Q ", MIN(q.id)");
  return fn;
}

}  // namespace

const char* Migration9Sql() {
  static const std::string sql = std::string(kColumns) + FetchInRankOrder();
  return sql.c_str();
}

}  // namespace duroxide::providers::postgres::internal
