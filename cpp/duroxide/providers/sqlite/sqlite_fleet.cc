// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the worker registry (provider_fleet.h). Off the hot path (a heartbeat every
// few seconds per runtime), so statements are prepared per call; every write runs in
// BEGIN IMMEDIATE on the provider's connection under mu_ like the rest of the provider.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using internal::BindOptional;
using internal::Guarded;
using internal::OptionalText;
using internal::ScopedTransaction;

namespace {

// Columns 0..19 of a worker row as WorkerRecord reads them; ?1 is now (for sessions_held).
constexpr const char* kWorkerColumns =
    "SELECT w.worker_id, w.name, w.host, w.pid, w.version, w.service_name, w.service_version, "
    "  w.status, w.drain_requested, w.started_at, w.registered_at, w.last_heartbeat, "
    "  w.heartbeat_interval_ms, w.capacity, w.load, w.serves, w.tags, w.capabilities, "
    "  w.session_owners, "
    "  (SELECT COUNT(*) FROM sessions s WHERE s.locked_until > ?1 "
    "     AND s.worker_id IN (SELECT value FROM json_each(w.session_owners))) "
    "FROM workers w ";

WorkerRecord ReadWorker(SQLite::Statement& s) {
  return store::WorkerRecordFrom(internal::StatementRow(s));
}

bool IsStoredStatus(const std::string& status) {
  return status == "active" || status == "draining" || status == "stopped";
}

// Binds the registration fields shared by insert and update: ?2.. (see the statements).
void BindRegistration(SQLite::Statement& s, const WorkerRegistration& reg, int64_t now) {
  s.bind(1, reg.worker_id);
  s.bind(2, reg.host);
  s.bind(3, reg.pid);
  s.bind(4, reg.version);
  BindOptional(s, 5, reg.service_name);
  BindOptional(s, 6, reg.service_version);
  s.bind(7, reg.started_at_ms);
  s.bind(8, now);
  s.bind(9, reg.heartbeat_interval_ms);
  s.bind(10, reg.capacity_json);
  s.bind(11, reg.load_json);
  s.bind(12, reg.serves_json);
  s.bind(13, reg.tags_json);
  BindOptional(s, 14, reg.capabilities_json);
  s.bind(15, nlohmann::json(reg.session_owners).dump());
}

}  // namespace

Result<std::string> SqliteProvider::RegisterWorker(const WorkerRegistration& reg) {
  const char* op = "RegisterWorker";
  return Guarded(op, [&]() -> Result<std::string> {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    {
      SQLite::Statement upd(
          *db_,
          "UPDATE workers SET host = ?2, pid = ?3, version = ?4, service_name = ?5, "
          "  service_version = ?6, started_at = ?7, last_heartbeat = ?8, "
          "  heartbeat_interval_ms = ?9, capacity = ?10, load = ?11, serves = ?12, tags = ?13, "
          "  capabilities = ?14, session_owners = ?15, status = 'active', drain_requested = 0 "
          "WHERE worker_id = ?1 RETURNING name");
      BindRegistration(upd, reg, now);
      if (upd.executeStep()) {
        std::string name = upd.getColumn(0).getString();
        upd.reset();
        tx.Commit();
        return name;
      }
    }
    for (const std::string& name : reg.candidate_names) {
      SQLite::Statement ins(
          *db_,
          "INSERT INTO workers(worker_id, host, pid, version, service_name, service_version, "
          "  started_at, last_heartbeat, heartbeat_interval_ms, capacity, load, serves, tags, "
          "  capabilities, session_owners, name, status, drain_requested, registered_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
          "  'active', 0, ?8) ON CONFLICT(name) DO NOTHING");
      BindRegistration(ins, reg, now);
      ins.bind(16, name);
      if (ins.exec() == 1) {
        tx.Commit();
        return name;
      }
    }
    return Status::AlreadyExists(op, "every candidate worker name is taken");
  });
}

Result<HeartbeatReply> SqliteProvider::HeartbeatWorker(const std::string& worker_id,
                                                       const std::string& load_json) {
  const char* op = "HeartbeatWorker";
  return Guarded(op, [&]() -> Result<HeartbeatReply> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    SQLite::Statement s(*db_,
                        "UPDATE workers SET last_heartbeat = ?2, load = ?3 WHERE worker_id = ?1 "
                        "RETURNING drain_requested, status");
    s.bind(1, worker_id);
    s.bind(2, NowMs());
    s.bind(3, load_json);
    if (!s.executeStep()) return Status::NotFound(op, "worker " + worker_id + " is not registered");
    HeartbeatReply reply;
    reply.drain_requested = s.getColumn(0).getInt64() != 0;
    reply.status = s.getColumn(1).getString();
    s.reset();
    tx.Commit();
    return reply;
  });
}

Status SqliteProvider::SetWorkerStatus(const std::string& worker_id, const std::string& status,
                                       bool release_sessions) {
  const char* op = "SetWorkerStatus";
  if (!IsStoredStatus(status)) return Status::InvalidArgument(op, "unknown status '" + status + "'");
  return Guarded(op, [&]() -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    SQLite::Statement s(*db_, "UPDATE workers SET status = ?2 WHERE worker_id = ?1");
    s.bind(1, worker_id);
    s.bind(2, status);
    if (s.exec() == 0) return Status::NotFound(op, "worker " + worker_id + " is not registered");
    if (release_sessions) {
      SQLite::Statement rel(*db_,
                            "UPDATE sessions SET locked_until = ?2 WHERE locked_until > ?2 AND "
                            "worker_id IN (SELECT j.value FROM workers w, json_each(w.session_owners) j "
                            "  WHERE w.worker_id = ?1)");
      rel.bind(1, worker_id);
      rel.bind(2, now);
      rel.exec();
    }
    tx.Commit();
    return Status::Ok();
  });
}

Result<std::string> SqliteProvider::RequestWorkerDrain(const std::string& name_or_id) {
  const char* op = "RequestWorkerDrain";
  return Guarded(op, [&]() -> Result<std::string> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    std::string id, status;
    {
      SQLite::Statement q(*db_,
                          "SELECT worker_id, status FROM workers WHERE worker_id = ?1 OR name = ?1 "
                          "ORDER BY worker_id = ?1 DESC LIMIT 1");
      q.bind(1, name_or_id);
      if (!q.executeStep()) return Status::NotFound(op, "no worker named " + name_or_id);
      id = q.getColumn(0).getString();
      status = q.getColumn(1).getString();
    }
    if (status == "stopped") {
      return Status::FailedPrecondition(op, "worker " + name_or_id + " is stopped");
    }
    SQLite::Statement s(*db_, "UPDATE workers SET drain_requested = 1 WHERE worker_id = ?1");
    s.bind(1, id);
    s.exec();
    tx.Commit();
    return id;
  });
}

Result<std::vector<WorkerRecord>> SqliteProvider::ListWorkers() {
  return Guarded("ListWorkers", [&]() -> Result<std::vector<WorkerRecord>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_, std::string(kWorkerColumns) + "ORDER BY w.name");
    s.bind(1, NowMs());
    std::vector<WorkerRecord> out;
    while (s.executeStep()) out.push_back(ReadWorker(s));
    return out;
  });
}

Result<int64_t> SqliteProvider::PruneWorkers(int64_t gone_before_ms) {
  return Guarded("PruneWorkers", [&]() -> Result<int64_t> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    SQLite::Statement s(*db_, "DELETE FROM workers WHERE last_heartbeat < ?1");
    s.bind(1, gone_before_ms);
    const int64_t n = s.exec();
    tx.Commit();
    return n;
  });
}

Result<int64_t> SqliteProvider::ReleaseSessionsOfGoneWorkers() {
  return Guarded("ReleaseSessionsOfGoneWorkers", [&]() -> Result<int64_t> {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    SQLite::Statement s(
        *db_,
        "UPDATE sessions SET locked_until = ?1 WHERE locked_until > ?1 AND worker_id IN ("
        "  SELECT j.value FROM workers w, json_each(w.session_owners) j "
        "  WHERE w.status <> 'stopped' AND w.last_heartbeat < ?1 - ?2 * w.heartbeat_interval_ms)");
    s.bind(1, now);
    s.bind(2, kUnreachableAfterIntervals);
    const int64_t n = s.exec();
    tx.Commit();
    return n;
  });
}

Result<std::vector<QueuedWork>> SqliteProvider::ListQueuedWork(int64_t limit) {
  return Guarded("ListQueuedWork", [&]() -> Result<std::vector<QueuedWork>> {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    SQLite::Statement s(
        *db_,
        "SELECT 0, q.instance_id, q.work_item, i.orchestration_name, i.orchestration_version, "
        "  q.created_at, q.visible_at FROM orchestrator_queue q "
        "  LEFT JOIN instances i ON i.instance_id = q.instance_id "
        "  WHERE (q.visible_at <= ?1 OR q.attempt_count > 0) AND NOT EXISTS (SELECT 1 FROM instance_locks l "
        "    WHERE l.instance_id = q.instance_id AND l.locked_until > ?1) "
        "UNION ALL "
        "SELECT 1, w.instance_id, w.work_item, NULL, NULL, w.created_at, w.visible_at "
        "  FROM worker_queue w "
        "  WHERE (w.visible_at <= ?1 OR w.attempt_count > 0) AND (w.lock_token IS NULL OR w.locked_until <= ?1) "
        "ORDER BY 7 LIMIT ?2");
    s.bind(1, now);
    s.bind(2, limit);
    std::vector<QueuedWork> out;
    while (s.executeStep()) {
      QueuedWork w;
      w.queue = s.getColumn(0).getInt64() == 0 ? QueuedWork::Queue::kOrchestrator
                                               : QueuedWork::Queue::kWorker;
      w.instance = s.getColumn(1).getString();
      w.work_item_json = s.getColumn(2).getString();
      w.instance_name = OptionalText(s.getColumn(3));
      w.instance_version = OptionalText(s.getColumn(4));
      w.created_at_ms = s.getColumn(5).getInt64();
      w.visible_at_ms = s.getColumn(6).getInt64();
      out.push_back(std::move(w));
    }
    return out;
  });
}

}  // namespace duroxide::providers::sqlite
