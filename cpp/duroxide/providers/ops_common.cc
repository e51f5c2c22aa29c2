// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/ops_common.h"

#include <string>
#include <utility>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"

namespace duroxide::providers::ops {

namespace {

constexpr const char* kTokenPrefix = "suspended:";

using Params = std::vector<OpsTx::Param>;

int64_t Int(const std::optional<std::string>& v) { return v ? std::stoll(*v) : 0; }

// What operations need to know of an instance inside their transaction.
struct State {
  bool exists = false;          // an instance row or a queued start
  std::string status;           // of the current execution ("" while only the start is queued)
  std::optional<std::string> lock_token;
};

State ReadState(OpsTx& tx, const std::string& instance) {
  State s;
  auto rows = tx.Query(
      "SELECT COALESCE(e.status, 'Running') FROM instances i LEFT JOIN executions e "
      "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
      "WHERE i.instance_id = $1",
      {instance});
  if (!rows.empty()) {
    s.exists = true;
    s.status = rows[0][0].value_or("Running");
  } else {
    s.exists = !tx.Query("SELECT 1 FROM orchestrator_queue WHERE instance_id = $1 "
                         "AND kind = 'StartOrchestration'",
                         {instance})
                    .empty();
  }
  auto lock = tx.Query("SELECT lock_token FROM instance_locks WHERE instance_id = $1", {instance});
  if (!lock.empty()) s.lock_token = lock[0][0];
  return s;
}

bool Ended(const State& s) { return s.status == "Completed" || s.status == "Failed"; }

std::string Shown(const State& s, const std::string& instance, const std::string& error) {
  // The state as get_status shows it (terminated instances are stored Failed).
  const bool terminated = s.status == "Failed" && error.rfind("terminated: ", 0) == 0;
  return terminated ? "Terminated"
                    : (s.lock_token && SuspendReason(instance, *s.lock_token) ? "Suspended"
                                                                              : s.status);
}

std::string ErrorText(OpsTx& tx, const std::string& instance) {
  auto rows = tx.Query(
      "SELECT e.error FROM instances i JOIN executions e ON e.instance_id = i.instance_id "
      "AND e.execution_id = i.current_execution_id WHERE i.instance_id = $1",
      {instance});
  return rows.empty() ? std::string() : rows[0][0].value_or("");
}

Status Refuse(const char* op, OpsTx& tx, const State& s, const std::string& instance,
              const std::string& what) {
  if (!s.exists) return Status::NotFound(op, "Instance " + instance + " not found");
  return Status::FailedPrecondition(
      op, "instance " + instance + " is " + Shown(s, instance, ErrorText(tx, instance)) + ": " +
              what);
}

void Unpark(OpsTx& tx, const std::string& instance) {
  tx.Query("UPDATE worker_queue SET visible_at = visible_at - $2 "
           "WHERE instance_id = $1 AND visible_at >= $2",
           {instance, kParkOffsetMs});
}

}  // namespace

std::string SuspendToken(const std::string& instance, const std::string& reason) {
  return kTokenPrefix + instance + "\n" + reason;
}

std::optional<std::string> SuspendReason(const std::string& instance, const std::string& token) {
  const std::string head = kTokenPrefix + instance + "\n";
  if (token.compare(0, head.size(), head) != 0) return std::nullopt;
  return token.substr(head.size());
}

Status Suspend(Provider& p, const std::string& instance, const std::string& reason_in) {
  const char* op = "suspend_instance";
  std::string reason = reason_in.substr(0, kMaxReasonBytes);
  return p.RunOps(op, true, [&](OpsTx& tx, OpsWake* wake) -> Status {
    const State s = ReadState(tx, instance);
    if (!s.exists || Ended(s)) return Refuse(op, tx, s, instance, "only a running instance can be suspended");
    const int64_t now = NowMs();
    // Replaces any lock: a turn in flight loses it and its ack fails (nothing is written).
    tx.Query("INSERT INTO instance_locks(instance_id, lock_token, locked_until, locked_at) "
             "VALUES ($1, $2, $3, $4) ON CONFLICT (instance_id) DO UPDATE SET "
             "lock_token = excluded.lock_token, locked_until = excluded.locked_until, "
             "locked_at = excluded.locked_at",
             {instance, SuspendToken(instance, reason), kSuspendedUntilMs, now});
    // Every activity row of the instance is parked, running ones too: a running activity
    // finishes and acknowledges by its lock (visible_at does not matter), but if its lock
    // expires (its worker died) the row stays invisible until resume instead of being run
    // again while the instance is suspended.
    tx.Query("UPDATE worker_queue SET visible_at = visible_at + $2 "
             "WHERE instance_id = $1 AND visible_at < $2",
             {instance, kParkOffsetMs});
    wake->instance = instance;
    return Status::Ok();
  });
}

Status Resume(Provider& p, const std::string& instance) {
  const char* op = "resume_instance";
  return p.RunOps(op, true, [&](OpsTx& tx, OpsWake* wake) -> Status {
    const State s = ReadState(tx, instance);
    if (!s.lock_token || !SuspendReason(instance, *s.lock_token)) {
      return Refuse(op, tx, s, instance, "only a suspended instance can be resumed");
    }
    tx.Query("DELETE FROM instance_locks WHERE instance_id = $1 AND lock_token = $2",
             {instance, *s.lock_token});
    Unpark(tx, instance);
    wake->orchestrator = wake->worker = true;
    wake->instance = instance;
    return Status::Ok();
  });
}

Status Terminate(Provider& p, const history::WorkItem& terminate) {
  const char* op = "terminate_instance";
  const std::string& instance = terminate.instance;
  const std::string json = history::EncodeWorkItem(terminate);
  return p.RunOps(op, true, [&](OpsTx& tx, OpsWake* wake) -> Status {
    const State s = ReadState(tx, instance);
    if (!s.exists || Ended(s)) return Refuse(op, tx, s, instance, "it cannot be terminated");
    if (s.lock_token && SuspendReason(instance, *s.lock_token)) {
      tx.Query("DELETE FROM instance_locks WHERE instance_id = $1 AND lock_token = $2",
               {instance, *s.lock_token});
      Unpark(tx, instance);
    }
    const int64_t now = NowMs();
    tx.Query("INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, "
             "attempt_count, created_at) VALUES ($1, 'CancelInstance', $2, $3, 0, $3)",
             {instance, json, now});
    wake->orchestrator = true;
    wake->instance = instance;
    return Status::Ok();
  });
}

Result<std::optional<std::string>> Suspension(Provider& p, const std::string& instance) {
  std::optional<std::string> out;
  Status st = p.RunOps("get_status", false, [&](OpsTx& tx, OpsWake*) -> Status {
    auto rows = tx.Query("SELECT lock_token FROM instance_locks WHERE instance_id = $1", {instance});
    if (!rows.empty() && rows[0][0]) out = SuspendReason(instance, *rows[0][0]);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<bool> StartWaitsForLimit(Provider& p, const std::string& instance) {
  bool waits = false;
  Status st = p.RunOps("get_status", false, [&](OpsTx& tx, OpsWake*) -> Status {
    waits = !tx.Query("SELECT 1 FROM orchestrator_queue s WHERE s.instance_id = $1 "
                      "AND s.limit_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                      "instance_limits h WHERE h.instance_id = $1) LIMIT 1",
                      {instance}).empty();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return waits;
}

Result<std::vector<std::string>> ListSuspended(Provider& p) {
  std::vector<std::string> out;
  Status st = p.RunOps("list_instances_by_status", false, [&](OpsTx& tx, OpsWake*) -> Status {
    for (const auto& row : tx.Query("SELECT instance_id, lock_token FROM instance_locks "
                                    "WHERE locked_until = $1 ORDER BY locked_at DESC",
                                    {kSuspendedUntilMs})) {
      if (row[0] && row[1] && SuspendReason(*row[0], *row[1])) out.push_back(*row[0]);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<QueueRow>> QueueRows(Provider& p, const std::string& instance) {
  std::vector<QueueRow> out;
  Status st = p.RunOps("get_pending", false, [&](OpsTx& tx, OpsWake*) -> Status {
    const int64_t now = NowMs();
    for (const auto& r : tx.Query("SELECT kind, work_item, visible_at, attempt_count, created_at "
                                  "FROM orchestrator_queue WHERE instance_id = $1 ORDER BY id",
                                  {instance})) {
      QueueRow q;
      q.queue = "orchestrator";
      q.kind = r[0].value_or("");
      q.work_item = r[1].value_or("");
      q.visible_at = Int(r[2]);
      q.attempt_count = Int(r[3]);
      q.created_at = Int(r[4]);
      out.push_back(std::move(q));
    }
    for (const auto& r : tx.Query(
             "SELECT work_item, visible_at, attempt_count, created_at, "
             "CASE WHEN lock_token IS NOT NULL AND locked_until > $2 THEN 1 ELSE 0 END "
             "FROM worker_queue WHERE instance_id = $1 ORDER BY id",
             {instance, now})) {
      QueueRow q;
      q.queue = "worker";
      q.kind = "ActivityExecute";
      q.work_item = r[0].value_or("");
      q.visible_at = Int(r[1]);
      q.parked = q.visible_at >= kParkOffsetMs;
      if (q.parked) q.visible_at -= kParkOffsetMs;
      q.attempt_count = Int(r[2]);
      q.created_at = Int(r[3]);
      q.locked = Int(r[4]) != 0;
      out.push_back(std::move(q));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Status WakeAfterOps(Provider& p, const Status& committed, const OpsWake& wake) {
  if (!committed.ok()) return committed;
  if (wake.orchestrator) p.orchestrator_signal().Notify();
  if (wake.worker) p.worker_signal().Notify();
  if (!wake.instance.empty()) p.status_signal().Notify(wake.instance);
  return committed;
}

}  // namespace duroxide::providers::ops
