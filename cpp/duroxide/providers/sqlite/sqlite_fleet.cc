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

namespace {

// Columns 0..19 of a worker row as WorkerRecord reads them; ?1 is now (for sessions_held).
constexpr const char* kWorkerColumns =
    DUROXIDE_WORKER_COLUMNS
    "  (SELECT COUNT(*) FROM sessions s WHERE s.locked_until > ?1 "
    "     AND s.worker_id IN (SELECT value FROM json_each(w.session_owners))) "
    "FROM workers w ";

WorkerRecord ReadWorker(SQLite::Statement& s) {
  return store::WorkerRecordFrom(internal::StatementRow(s));
}

bool IsStoredStatus(const std::string& status) {
  return status == "active" || status == "draining" || status == "stopped";
}

// Binds the registration fields shared by insert and update: parameters 1..15.
void BindRegistration(SQLite::Statement& s, const WorkerRegistration& reg, int64_t now) {
  BindAll(s, reg.worker_id, reg.host, reg.pid, reg.version, reg.service_name,
          reg.service_version, reg.started_at_ms, now, reg.heartbeat_interval_ms,
          reg.capacity_json, reg.load_json, reg.serves_json, reg.tags_json,
          reg.capabilities_json, nlohmann::json(reg.session_owners).dump());
}

}  // namespace

Result<std::string> SqliteProvider::RegisterWorker(const WorkerRegistration& reg) {
  const char* op = "RegisterWorker";
  return WriteTx(op, [&]() -> Result<std::string> {
    const int64_t now = NowMs();
    {
      SQLite::Statement upd(*db_, NumberedPlaceholders(store::kReRegisterWorkerUpdate));
      BindRegistration(upd, reg, now);
      if (upd.executeStep()) {
        std::string name = upd.getColumn(0).getString();
        upd.reset();
        return name;
      }
    }
    for (const std::string& name : reg.candidate_names) {
      SQLite::Statement ins(*db_, DUROXIDE_REGISTER_WORKER_INSERT "ON CONFLICT(name) DO NOTHING");
      BindRegistration(ins, reg, now);
      ins.bind(16, name);
      if (ins.exec() == 1) {
        return name;
      }
    }
    return Status::AlreadyExists(op, "every candidate worker name is taken");
  });
}

Result<HeartbeatReply> SqliteProvider::HeartbeatWorker(const std::string& worker_id,
                                                       const std::string& load_json) {
  const char* op = "HeartbeatWorker";
  return WriteTx(op, [&]() -> Result<HeartbeatReply> {
    SQLite::Statement s(*db_, NumberedPlaceholders(store::kHeartbeatWorkerUpdate));
    s.bind(1, worker_id);
    s.bind(2, NowMs());
    s.bind(3, load_json);
    if (!s.executeStep()) return Status::NotFound(op, "worker " + worker_id + " is not registered");
    HeartbeatReply reply;
    reply.drain_requested = s.getColumn(0).getInt64() != 0;
    reply.status = s.getColumn(1).getString();
    s.reset();
    return reply;
  });
}

Status SqliteProvider::SetWorkerStatus(const std::string& worker_id, const std::string& status,
                                       bool release_sessions) {
  const char* op = "SetWorkerStatus";
  if (!IsStoredStatus(status)) return Status::InvalidArgument(op, "unknown status '" + status + "'");
  return WriteTx(op, [&]() -> Status {
    const int64_t now = NowMs();
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
    return Status::Ok();
  });
}

Result<std::string> SqliteProvider::RequestWorkerDrain(const std::string& name_or_id) {
  const char* op = "RequestWorkerDrain";
  return WriteTx(op, [&]() -> Result<std::string> {
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
  return WriteTx("PruneWorkers", [&]() -> Result<int64_t> {
    SQLite::Statement s(*db_, "DELETE FROM workers WHERE last_heartbeat < ?1");
    s.bind(1, gone_before_ms);
    const int64_t n = s.exec();
    return n;
  });
}

Result<int64_t> SqliteProvider::ReleaseSessionsOfGoneWorkers() {
  return WriteTx("ReleaseSessionsOfGoneWorkers", [&]() -> Result<int64_t> {
    const int64_t now = NowMs();
    SQLite::Statement s(
        *db_,
        "UPDATE sessions SET locked_until = ?1 WHERE locked_until > ?1 AND worker_id IN ("
        "  SELECT j.value FROM workers w, json_each(w.session_owners) j "
        "  WHERE w.status <> 'stopped' AND w.last_heartbeat < ?1 - ?2 * w.heartbeat_interval_ms)");
    s.bind(1, now);
    s.bind(2, kUnreachableAfterIntervals);
    const int64_t n = s.exec();
    return n;
  });
}

Result<std::vector<QueuedWork>> SqliteProvider::ListQueuedWork(int64_t limit) {
  return Guarded("ListQueuedWork", [&]() -> Result<std::vector<QueuedWork>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_, store::kQueuedWorkSelect);
    s.bind(1, NowMs());
    s.bind(2, limit);
    std::vector<QueuedWork> out;
    while (s.executeStep()) out.push_back(store::QueuedWorkFrom(internal::StatementRow(s)));
    return out;
  });
}

}  // namespace duroxide::providers::sqlite
