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

namespace {

// Columns 0..19 of a worker row; $1 is now (for sessions_held).
constexpr const char* kWorkerColumns =
    DUROXIDE_WORKER_COLUMNS
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
        store::kReRegisterWorkerUpdate, reg.worker_id, reg.host, reg.pid, reg.version,
        NullableText(reg.service_name), NullableText(reg.service_version), reg.started_at_ms,
        now, reg.heartbeat_interval_ms, reg.capacity_json, reg.load_json, reg.serves_json,
        reg.tags_json, NullableText(reg.capabilities_json), owners);
    if (!r.empty()) {
      std::string name = r[0][0].as<std::string>();
      tx.commit();
      return name;
    }
    for (const std::string& name : reg.candidate_names) {
      // The UNIQUE constraint decides between concurrent registrations.
      pqxx::result ins = tx.exec_params(
          DUROXIDE_REGISTER_WORKER_INSERT "ON CONFLICT DO NOTHING RETURNING name",
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
    pqxx::result r =
        tx.exec_params(store::kHeartbeatWorkerUpdate, worker_id, NowMs(), load_json);
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
    pqxx::result r = tx.exec_params(store::kQueuedWorkSelect, NowMs(), limit);
    std::vector<QueuedWork> out;
    for (const pqxx::row& row : r) out.push_back(store::QueuedWorkFrom(internal::PgRow(row)));
    return out;
  });
}

}  // namespace duroxide::providers::postgres
