// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the worker registry (provider_fleet.h), same semantics as sqlite_fleet.cc.
// Off the hot path: plain parameterised statements, one round trip each except registration.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres {

using internal::NullableText;
using internal::OptText;

namespace {

// Columns 0..19 of a worker row; $1 is now (for sessions_held).
constexpr const char* kWorkerColumns =
    "SELECT w.worker_id, w.name, w.host, w.pid, w.version, w.service_name, w.service_version, "
    "  w.status, w.drain_requested, w.started_at, w.registered_at, w.last_heartbeat, "
    "  w.heartbeat_interval_ms, w.capacity, w.load, w.serves, w.tags, w.capabilities, "
    "  w.session_owners, "
    "  (SELECT COUNT(*) FROM sessions s WHERE s.locked_until > $1 AND s.worker_id IN "
    "     (SELECT jsonb_array_elements_text(w.session_owners::jsonb))) "
    "FROM workers w ";

// The session owners of the workers matching a predicate on w (for releasing sessions).
constexpr const char* kOwnersOf =
    "SELECT jsonb_array_elements_text(w.session_owners::jsonb) FROM workers w WHERE ";

WorkerRecord ReadWorker(const pqxx::row& r) {
  return store::WorkerRecordFrom(internal::PgRow(r));
}

}  // namespace

Result<std::string> PostgresProvider::RegisterWorker(const WorkerRegistration& reg) {
  const char* op = "RegisterWorker";
  const std::string owners = nlohmann::json(reg.session_owners).dump();
  return Run(op, [&](pqxx::connection_base& conn) -> Result<std::string> {
    pqxx::work tx(conn);
    const int64_t now = NowMs();
    pqxx::result r = tx.exec_params(
        "UPDATE workers SET host = $2, pid = $3, version = $4, service_name = $5, "
        "  service_version = $6, started_at = $7, last_heartbeat = $8, "
        "  heartbeat_interval_ms = $9, capacity = $10, load = $11, serves = $12, tags = $13, "
        "  capabilities = $14, session_owners = $15, status = 'active', "
        "  drain_requested = FALSE WHERE worker_id = $1 RETURNING name",
        reg.worker_id, reg.host, reg.pid, reg.version, NullableText(reg.service_name),
        NullableText(reg.service_version), reg.started_at_ms, now, reg.heartbeat_interval_ms,
        reg.capacity_json, reg.load_json, reg.serves_json, reg.tags_json,
        NullableText(reg.capabilities_json), owners);
    if (!r.empty()) {
      std::string name = r[0][0].as<std::string>();
      tx.commit();
      return name;
    }
    for (const std::string& name : reg.candidate_names) {
      // The UNIQUE constraint decides between concurrent registrations.
      pqxx::result ins = tx.exec_params(
          "INSERT INTO workers(worker_id, host, pid, version, service_name, service_version, "
          "  started_at, last_heartbeat, heartbeat_interval_ms, capacity, load, serves, tags, "
          "  capabilities, session_owners, name, status, drain_requested, registered_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
          "  'active', FALSE, $8) ON CONFLICT DO NOTHING RETURNING name",
          reg.worker_id, reg.host, reg.pid, reg.version, NullableText(reg.service_name),
          NullableText(reg.service_version), reg.started_at_ms, now, reg.heartbeat_interval_ms,
          reg.capacity_json, reg.load_json, reg.serves_json, reg.tags_json,
          NullableText(reg.capabilities_json), owners, name);
      if (!ins.empty()) {
        tx.commit();
        return name;
      }
    }
    return Status::AlreadyExists(op, "every candidate worker name is taken");
  });
}

Result<HeartbeatReply> PostgresProvider::HeartbeatWorker(const std::string& worker_id,
                                                         const std::string& load_json) {
  const char* op = "HeartbeatWorker";
  return Run(op, [&](pqxx::connection_base& conn) -> Result<HeartbeatReply> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(
        "UPDATE workers SET last_heartbeat = $2, load = $3 WHERE worker_id = $1 "
        "RETURNING drain_requested, status",
        worker_id, NowMs(), load_json);
    if (r.empty()) return Status::NotFound(op, "worker " + worker_id + " is not registered");
    HeartbeatReply reply;
    reply.drain_requested = r[0][0].as<bool>();
    reply.status = r[0][1].as<std::string>();
    return reply;
  });
}

Status PostgresProvider::SetWorkerStatus(const std::string& worker_id,
                                         const std::string& status, bool release_sessions) {
  const char* op = "SetWorkerStatus";
  if (status != "active" && status != "draining" && status != "stopped") {
    return Status::InvalidArgument(op, "unknown status '" + status + "'");
  }
  return Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::work tx(conn);
    const int64_t now = NowMs();
    pqxx::result r = tx.exec_params(
        "UPDATE workers SET status = $2 WHERE worker_id = $1 RETURNING 1", worker_id, status);
    if (r.empty()) return Status::NotFound(op, "worker " + worker_id + " is not registered");
    if (release_sessions) {
      tx.exec_params("UPDATE sessions SET locked_until = $2 WHERE locked_until > $2 AND "
                     "worker_id IN (" + std::string(kOwnersOf) + "w.worker_id = $1)",
                     worker_id, now);
    }
    tx.commit();
    return Status::Ok();
  });
}

Result<std::string> PostgresProvider::RequestWorkerDrain(const std::string& name_or_id) {
  const char* op = "RequestWorkerDrain";
  return Run(op, [&](pqxx::connection_base& conn) -> Result<std::string> {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_params(
        "SELECT worker_id, status FROM workers WHERE worker_id = $1 OR name = $1 "
        "ORDER BY (worker_id = $1) DESC LIMIT 1 FOR UPDATE",
        name_or_id);
    if (r.empty()) return Status::NotFound(op, "no worker named " + name_or_id);
    const std::string id = r[0][0].as<std::string>();
    if (r[0][1].as<std::string>() == "stopped") {
      return Status::FailedPrecondition(op, "worker " + name_or_id + " is stopped");
    }
    tx.exec_params("UPDATE workers SET drain_requested = TRUE WHERE worker_id = $1", id);
    tx.commit();
    return id;
  });
}

Result<std::vector<WorkerRecord>> PostgresProvider::ListWorkers() {
  return Run("ListWorkers", [&](pqxx::connection_base& conn) -> Result<std::vector<WorkerRecord>> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(std::string(kWorkerColumns) + "ORDER BY w.name", NowMs());
    std::vector<WorkerRecord> out;
    out.reserve(r.size());
    for (const pqxx::row& row : r) out.push_back(ReadWorker(row));
    return out;
  });
}

Result<int64_t> PostgresProvider::PruneWorkers(int64_t gone_before_ms) {
  return Run("PruneWorkers", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params("DELETE FROM workers WHERE last_heartbeat < $1", gone_before_ms);
    return static_cast<int64_t>(r.affected_rows());
  });
}

Result<int64_t> PostgresProvider::ReleaseSessionsOfGoneWorkers() {
  return Run("ReleaseSessionsOfGoneWorkers", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(
        "UPDATE sessions SET locked_until = $1 WHERE locked_until > $1 AND worker_id IN (" +
            std::string(kOwnersOf) +
            "w.status <> 'stopped' AND w.last_heartbeat < $1 - $2 * w.heartbeat_interval_ms)",
        NowMs(), kUnreachableAfterIntervals);
    return static_cast<int64_t>(r.affected_rows());
  });
}

Result<std::vector<QueuedWork>> PostgresProvider::ListQueuedWork(int64_t limit) {
  return Run("ListQueuedWork", [&](pqxx::connection_base& conn) -> Result<std::vector<QueuedWork>> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(
        "SELECT 0, q.instance_id, q.work_item, i.orchestration_name, i.orchestration_version, "
        "  q.created_at, q.visible_at FROM orchestrator_queue q "
        "  LEFT JOIN instances i ON i.instance_id = q.instance_id "
        "  WHERE (q.visible_at <= $1 OR q.attempt_count > 0) AND NOT EXISTS (SELECT 1 FROM instance_locks l "
        "    WHERE l.instance_id = q.instance_id AND l.locked_until > $1) "
        "UNION ALL "
        "SELECT 1, w.instance_id, w.work_item, NULL, NULL, w.created_at, w.visible_at "
        "  FROM worker_queue w "
        "  WHERE (w.visible_at <= $1 OR w.attempt_count > 0) AND (w.lock_token IS NULL OR w.locked_until <= $1) "
        "ORDER BY 7 LIMIT $2",
        NowMs(), limit);
    std::vector<QueuedWork> out;
    for (const pqxx::row& row : r) {
      QueuedWork w;
      w.queue = row[0].as<int>() == 0 ? QueuedWork::Queue::kOrchestrator
                                      : QueuedWork::Queue::kWorker;
      w.instance = row[1].as<std::string>();
      w.work_item_json = row[2].as<std::string>();
      w.instance_name = OptText(row[3]);
      w.instance_version = OptText(row[4]);
      w.created_at_ms = row[5].as<int64_t>();
      w.visible_at_ms = row[6].as<int64_t>();
      out.push_back(std::move(w));
    }
    return out;
  });
}

}  // namespace duroxide::providers::postgres
