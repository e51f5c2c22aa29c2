// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: capability routing (the schemas table and the waiting-work view; the
// requirement columns are filled by the dx_worker_routing trigger, postgres_schema.cc) and the
// task result cache (docs/task-graphs.md). Same semantics as sqlite_routing.cc.
#include <string>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres {

Result<std::vector<CapabilitySchema>> PostgresProvider::ReadCapabilitySchemas() {
  using Out = std::vector<CapabilitySchema>;
  return Run("ReadCapabilitySchemas", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    Out out;
    for (const pqxx::row& row : tx.exec("SELECT hash, json FROM schemas ORDER BY created_at, hash")) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
    return out;
  });
}

Result<std::vector<WaitingActivity>> PostgresProvider::ListWaitingActivities(int64_t min_wait_ms,
                                                                             int64_t limit) {
  using Out = std::vector<WaitingActivity>;
  return Run("ListWaitingActivities", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    pqxx::result r = tx.exec_params(
        "SELECT q.instance_id, q.execution_id, q.activity_id, "
        "  (q.work_item::jsonb)->'ActivityExecute'->>'name', q.schema_hash, "
        "  COALESCE(sc.json, ''), q.visible_at, COALESCE(q.requires_deadline, 0) "
        "FROM worker_queue q LEFT JOIN schemas sc ON sc.hash = q.schema_hash "
        "WHERE q.schema_hash IS NOT NULL AND q.visible_at <= $1 "
        "  AND (q.lock_token IS NULL OR q.locked_until <= $2) "
        "ORDER BY q.id LIMIT $3",
        now - min_wait_ms, now, limit);
    Out out;
    for (const pqxx::row& row : r) {
      WaitingActivity w;
      w.instance = row[0].as<std::string>();
      w.execution_id = row[1].as<int64_t>();
      w.activity_id = row[2].as<int64_t>();
      w.name = row[3].is_null() ? std::string() : row[3].as<std::string>();
      w.schema_hash = row[4].as<std::string>();
      w.schema = row[5].as<std::string>();
      w.waiting_since_ms = row[6].as<int64_t>();
      w.deadline_ms = row[7].as<int64_t>();
      out.push_back(std::move(w));
    }
    return out;
  });
}

Result<std::optional<std::string>> PostgresProvider::GetTaskCache(const std::string& key) {
  using Out = std::optional<std::string>;
  return Run("GetTaskCache", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(
        "SELECT result FROM task_cache WHERE key = $1 AND (expires_at = 0 OR expires_at > $2)",
        key, NowMs());
    if (r.empty()) return Out();
    return Out(r[0][0].as<std::string>());
  });
}

Status PostgresProvider::PutTaskCache(const std::string& key, const std::string& task,
                                      const std::string& result, int64_t expires_at_ms) {
  return Run("PutTaskCache", [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);  // one statement: atomic on its own
    tx.exec_params(
        "INSERT INTO task_cache(key, task, result, expires_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET task = EXCLUDED.task, "
        "result = EXCLUDED.result, expires_at = EXCLUDED.expires_at, "
        "created_at = EXCLUDED.created_at",
        key, task, result, expires_at_ms, NowMs());
    return Status::Ok();
  });
}

Result<int64_t> PostgresProvider::ClearTaskCache(const std::optional<std::string>& task) {
  return Run("ClearTaskCache", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = task ? tx.exec_params("DELETE FROM task_cache WHERE task = $1", *task)
                          : tx.exec("DELETE FROM task_cache");
    return static_cast<int64_t>(r.affected_rows());
  });
}

}  // namespace duroxide::providers::postgres
