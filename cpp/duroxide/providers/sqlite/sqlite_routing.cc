// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: capability routing (worker-row requirement columns, the schemas table, the
// waiting-work view) and the task result cache (docs/task-graphs.md). The claim filter itself
// is part of the worker fetch statement (sqlite_worker_queue.cc).
#include <string>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using history::WorkItem;
using internal::Batched;

int64_t SqliteProvider::InsertWorkerItem(const WorkItem& w, const std::string& encoded,
                                         int64_t now, std::string* last_schema_hash,
                                         const std::string* lease_token, int64_t lease_until_ms) {
  const history::ActivityRouting* r = w.routing ? &*w.routing : nullptr;
  const bool has_schema = r && !r->schema_hash.empty();
  // A fan-out schedules many rows with one schema: store it once per commit.
  if (has_schema && *last_schema_hash != r->schema_hash) {
    *last_schema_hash = r->schema_hash;
    ScopedStatement s(*insert_schema_);
    s->bind(1, r->schema_hash);
    s->bind(2, r->schema);
    s->bind(3, now);
    s->exec();
  }
  ScopedStatement s(*insert_worker_);
  s->bind(1, encoded);
  s->bind(2, now);
  s->bind(3, w.instance);
  s->bind(4, w.execution_id);
  s->bind(5, w.id);
  internal::BindOptional(s.get(), 6, w.session_id);
  internal::BindOptional(s.get(), 7, w.tag);
  if (has_schema) s->bind(8, r->schema_hash); else s->bind(8);
  if (has_schema && r->deadline_ms > 0) s->bind(9, r->deadline_ms); else s->bind(9);
  if (r && !r->avoid.empty()) {
    s->bind(10, AvoidColumn(r->avoid));
    s->bind(11, r->avoid_until_ms);
  } else {
    s->bind(10);
    s->bind(11);
  }
  if (lease_token != nullptr) {
    s->bind(12, 1);
    s->bind(13, *lease_token);
    s->bind(14, lease_until_ms);
  } else {
    s->bind(12, 0);
    s->bind(13);
    s->bind(14);
  }
  s->bind(15, w.priority);
  if (w.limit.empty()) s->bind(16); else s->bind(16, w.limit);
  s->bind(17, w.limit_key);
  s->exec();
  return db_->getLastInsertRowid();
}

Result<std::vector<CapabilitySchema>> SqliteProvider::ReadCapabilitySchemas() {
  using Out = std::vector<CapabilitySchema>;
  return Guarded("ReadCapabilitySchemas", [&]() -> Result<Out> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_, "SELECT hash, json FROM schemas ORDER BY created_at, hash");
    Out out;
    while (s.executeStep()) out.push_back({s.getColumn(0).getString(), s.getColumn(1).getString()});
    return out;
  });
}

Result<std::vector<WaitingActivity>> SqliteProvider::ListWaitingActivities(int64_t min_wait_ms,
                                                                           int64_t limit) {
  using Out = std::vector<WaitingActivity>;
  return Guarded("ListWaitingActivities", [&]() -> Result<Out> {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    SQLite::Statement s(
        *db_,
        "SELECT q.instance_id, q.execution_id, q.activity_id, "
        "  json_extract(q.work_item, '$.ActivityExecute.name'), q.schema_hash, "
        "  COALESCE(sc.json, ''), q.visible_at, COALESCE(q.requires_deadline, 0) "
        "FROM worker_queue q LEFT JOIN schemas sc ON sc.hash = q.schema_hash "
        "WHERE q.schema_hash IS NOT NULL AND q.visible_at <= ?1 "
        "  AND (q.lock_token IS NULL OR q.locked_until <= ?2) "
        "ORDER BY q.id LIMIT ?3");
    s.bind(1, now - min_wait_ms);
    s.bind(2, now);
    s.bind(3, limit);
    Out out;
    while (s.executeStep()) {
      WaitingActivity w;
      w.instance = s.getColumn(0).getString();
      w.execution_id = s.getColumn(1).getInt64();
      w.activity_id = s.getColumn(2).getInt64();
      w.name = s.getColumn(3).getString();
      w.schema_hash = s.getColumn(4).getString();
      w.schema = s.getColumn(5).getString();
      w.waiting_since_ms = s.getColumn(6).getInt64();
      w.deadline_ms = s.getColumn(7).getInt64();
      out.push_back(std::move(w));
    }
    return out;
  });
}

Result<std::optional<std::string>> SqliteProvider::GetTaskCache(const std::string& key) {
  using Out = std::optional<std::string>;
  return Guarded("GetTaskCache", [&]() -> Result<Out> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_,
                        "SELECT result FROM task_cache WHERE key = ?1 "
                        "AND (expires_at = 0 OR expires_at > ?2)");
    s.bind(1, key);
    s.bind(2, NowMs());
    if (!s.executeStep()) return Out();
    return Out(s.getColumn(0).getString());
  });
}

Status SqliteProvider::PutTaskCache(const std::string& key, const std::string& task,
                                    const std::string& result, int64_t expires_at_ms) {
  return Batched(*group_, "PutTaskCache", [&]() -> Status {
    SQLite::Statement s(*db_,
                        "INSERT INTO task_cache(key, task, result, expires_at, created_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET "
                        "task = excluded.task, result = excluded.result, "
                        "expires_at = excluded.expires_at, created_at = excluded.created_at");
    BindAll(s, key, task, result, expires_at_ms, NowMs());
    s.exec();
    return Status::Ok();
  });
}

Result<int64_t> SqliteProvider::ClearTaskCache(const std::optional<std::string>& task) {
  return Batched(*group_, "ClearTaskCache", [&]() -> Result<int64_t> {
    SQLite::Statement s(*db_, task ? "DELETE FROM task_cache WHERE task = ?1"
                                   : "DELETE FROM task_cache");
    if (task) s.bind(1, *task);
    return static_cast<int64_t>(s.exec());
  });
}

}  // namespace duroxide::providers::sqlite
