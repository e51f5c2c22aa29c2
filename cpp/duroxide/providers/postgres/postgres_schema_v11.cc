// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgreSQL migration 11: named limits (limit_store.h, docs/flow-control.md). The tables and
// worker_queue columns are the shared DDL SQLite's migration 9 runs; the columns are filled
// by a trigger from the work item's own "limit" / "limit_key" fields, as migration 9 fills
// `priority`, so the turn-commit functions stay as they are.
#include <string>

#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/postgres/postgres_schema.h"

namespace duroxide::providers::postgres::internal {

namespace {

constexpr const char* kTrigger = R"sql(
CREATE FUNCTION dx_worker_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  body jsonb;
BEGIN
  -- A work item is {"<Kind>": {...}}: the body is the object's only value.
  SELECT b.value INTO body FROM jsonb_each(NEW.work_item::jsonb) b LIMIT 1;
  NEW.limit_name := NULLIF(body->>'limit', '');
  NEW.limit_key := COALESCE(body->>'limit_key', '');
  RETURN NEW;
END;
$$;
CREATE TRIGGER dx_worker_limit BEFORE INSERT ON worker_queue
  FOR EACH ROW WHEN (strpos(NEW.work_item, '"limit"') > 0)
  EXECUTE FUNCTION dx_worker_limit();
)sql";

}  // namespace

const char* Migration11Sql() {
  static const std::string sql = std::string(LimitsTableSql()) + kTrigger;
  return sql.c_str();
}

}  // namespace duroxide::providers::postgres::internal
