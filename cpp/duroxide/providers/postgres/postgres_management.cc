// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the ProviderAdmin capability (listing, inspection, deletion, pruning),
// with the semantics of sqlite_management.cc. Nothing here is on a hot path, so statements
// are sent unprepared (exec_params).
//
// Deletion and concurrently created children. DeleteInstancesAtomic receives the set of ids
// the caller computed (a tree); a sub-orchestration can come into existence after that. As in
// SQLite, the orphan check runs inside the delete transaction, and pending starts of children
// are deleted with their parent together with the child's instance lock. SQLite gets the
// isolation from its single writer; here the delete transaction holds an exclusive advisory
// lock (DeleteLockKey) that every ack creating a child instance takes in shared mode, so a
// child's first turn either committed before the check (and is seen by it) or runs after the
// delete (and fails its ack because its lock row is gone). Instance rows of the set are locked
// FOR UPDATE first, so in-flight turns of deleted instances are serialised with the delete
// as well.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/admin_common.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres {

using internal::OptText;
using internal::PgTextArray;

namespace {

std::vector<std::string> Column0Strings(const pqxx::result& r) {
  std::vector<std::string> out;
  out.reserve(r.size());
  for (const pqxx::row& row : r) out.push_back(row[0].as<std::string>());
  return out;
}

const char* NullableCutoff(const std::optional<int64_t>& v, std::string* storage) {
  if (!v) return nullptr;
  *storage = std::to_string(*v);
  return storage->c_str();
}

}  // namespace

Result<std::vector<std::string>> PostgresProvider::ListInstances() {
  return Run("ListInstances", [&](pqxx::connection_base& conn) -> Result<std::vector<std::string>> {
    pqxx::nontransaction tx(conn);
    return Column0Strings(
        tx.exec("SELECT instance_id FROM instances ORDER BY created_at DESC, seq DESC"));
  });
}

Result<std::vector<std::string>> PostgresProvider::ListInstancesByStatus(
    const std::string& status) {
  return Run("ListInstancesByStatus",
             [&](pqxx::connection_base& conn) -> Result<std::vector<std::string>> {
               pqxx::nontransaction tx(conn);
               return Column0Strings(tx.exec_params(
                   "SELECT i.instance_id FROM instances i JOIN executions e "
                   "  ON e.instance_id = i.instance_id "
                   "  AND e.execution_id = i.current_execution_id "
                   "WHERE e.status = $1 ORDER BY i.created_at DESC, i.seq DESC",
                   status));
             });
}

Result<InstanceInfo> PostgresProvider::GetInstanceInfo(const std::string& instance) {
  const char* op = "GetInstanceInfo";
  return Run(op, [&](pqxx::connection_base& conn) -> Result<InstanceInfo> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(store::kInstanceInfoSelect, instance);
    if (r.empty()) return store::InstanceNotFound(op, instance);
    return store::InstanceInfoFrom(instance, internal::PgRow(r[0]));
  });
}

Result<ExecutionInfo> PostgresProvider::GetExecutionInfo(const std::string& instance,
                                                         int64_t execution_id) {
  const char* op = "GetExecutionInfo";
  return Run(op, [&](pqxx::connection_base& conn) -> Result<ExecutionInfo> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(store::kExecutionInfoSelect, instance, execution_id);
    if (r.empty()) return store::ExecutionNotFound(op, instance, execution_id);
    return store::ExecutionInfoFrom(execution_id, internal::PgRow(r[0]));
  });
}

Result<std::vector<int64_t>> PostgresProvider::ListExecutions(const std::string& instance) {
  return Run("ListExecutions", [&](pqxx::connection_base& conn) -> Result<std::vector<int64_t>> {
    pqxx::nontransaction tx(conn);
    std::vector<int64_t> out;
    for (const pqxx::row& row : tx.exec_params("SELECT execution_id FROM executions "
                                               "WHERE instance_id = $1 ORDER BY execution_id",
                                               instance)) {
      out.push_back(row[0].as<int64_t>());
    }
    return out;
  });
}

Result<std::vector<std::string>> PostgresProvider::ListChildren(const std::string& instance) {
  return Run("ListChildren", [&](pqxx::connection_base& conn) -> Result<std::vector<std::string>> {
    pqxx::nontransaction tx(conn);
    return Column0Strings(tx.exec_params(
        "SELECT instance_id FROM instances WHERE parent_instance_id = $1 ORDER BY created_at, seq",
        instance));
  });
}

namespace {

// The PostgreSQL statements of the shared delete algorithm (store::DeleteInstances), inside the
// delete transaction; each takes the whole set as one text[] parameter.
class PgDeleteStore : public store::DeleteStore {
 public:
  explicit PgDeleteStore(pqxx::transaction_base& tx) : tx_(tx) {}

  std::map<std::string, std::string> CurrentStatuses(const std::set<std::string>& ids) override {
    std::map<std::string, std::string> out;
    for (const pqxx::row& row : tx_.exec_params(
             "SELECT i.instance_id, e.status FROM instances i JOIN executions e "
             "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
             "WHERE i.instance_id = ANY($1::text[])",
             Array(ids))) {
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> Children(
      const std::set<std::string>& ids) override {
    return Pairs("SELECT instance_id, parent_instance_id FROM instances "
                 "WHERE parent_instance_id = ANY($1::text[]) ORDER BY instance_id",
                 ids);
  }
  std::vector<std::pair<std::string, std::string>> ScheduledChildren(
      const std::set<std::string>& ids) override {
    return Pairs("SELECT instance_id, event_data FROM history WHERE instance_id = ANY($1::text[]) "
                 "  AND event_type = 'SubOrchestrationScheduled'",
                 ids);
  }
  std::vector<std::string> PendingStarts(const std::string& instance) override {
    return Column0Strings(tx_.exec_params(
        "SELECT work_item FROM orchestrator_queue WHERE instance_id = $1 "
        "  AND kind = 'StartOrchestration' "
        "  AND NOT EXISTS (SELECT 1 FROM instances WHERE instance_id = $1)",
        instance));
  }
  int64_t DeleteRowsOf(const char* table, const std::set<std::string>& ids) override {
    const std::string sql =
        std::string("DELETE FROM ") + table + " WHERE instance_id = ANY($1::text[])";
    return static_cast<int64_t>(tx_.exec_params(sql, Array(ids)).affected_rows());
  }

 private:
  static std::string Array(const std::set<std::string>& ids) {
    return PgTextArray(std::vector<std::string>(ids.begin(), ids.end()));
  }
  std::vector<std::pair<std::string, std::string>> Pairs(const char* sql,
                                                         const std::set<std::string>& ids) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const pqxx::row& row : tx_.exec_params(sql, Array(ids))) {
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    }
    return out;
  }

  pqxx::transaction_base& tx_;
};

// The PostgreSQL statements of the shared pruning algorithm (store::PruneInstance).
class PgPruneStore : public store::PruneStore {
 public:
  explicit PgPruneStore(pqxx::transaction_base& tx) : tx_(tx) {}

  std::optional<int64_t> CurrentExecution(const std::string& instance) override {
    pqxx::result cur = tx_.exec_params(
        "SELECT current_execution_id FROM instances WHERE instance_id = $1 FOR UPDATE", instance);
    if (cur.empty()) return std::nullopt;
    return cur[0][0].as<int64_t>();
  }
  std::vector<int64_t> Victims(const std::string& instance, int64_t current, int64_t keep,
                               const std::optional<int64_t>& completed_before) override {
    std::string cutoff_storage;
    const char* cutoff = NullableCutoff(completed_before, &cutoff_storage);
    std::vector<int64_t> out;
    for (const pqxx::row& row : tx_.exec_params(
             "SELECT execution_id FROM executions WHERE instance_id = $1 AND execution_id <> $2 "
             "  AND status <> 'Running' "
             "  AND execution_id NOT IN (SELECT execution_id FROM executions "
             "    WHERE instance_id = $1 ORDER BY execution_id DESC LIMIT $3) "
             "  AND ($4::bigint IS NULL OR (completed_at IS NOT NULL AND completed_at < $4)) "
             "ORDER BY execution_id",
             instance, current, keep, cutoff)) {
      out.push_back(row[0].as<int64_t>());
    }
    return out;
  }
  std::pair<int64_t, int64_t> DeleteExecution(const std::string& instance,
                                              int64_t execution_id) override {
    auto count = [&](const char* sql) {
      return static_cast<int64_t>(tx_.exec_params(sql, instance, execution_id).affected_rows());
    };
    const int64_t events =
        count("DELETE FROM history WHERE instance_id = $1 AND execution_id = $2");
    return {events, count("DELETE FROM executions WHERE instance_id = $1 AND execution_id = $2")};
  }

 private:
  pqxx::transaction_base& tx_;
};

}  // namespace

Result<DeleteInstanceResult> PostgresProvider::DeleteInstancesAtomic(
    const std::vector<std::string>& instances, bool force) {
  const char* op = "DeleteInstancesAtomic";
  DeleteInstanceResult result;
  Status st = Run(op, [&](pqxx::connection_base& conn) -> Status {
    const std::set<std::string> ids(instances.begin(), instances.end());
    const std::string id_array = PgTextArray(std::vector<std::string>(ids.begin(), ids.end()));
    pqxx::work tx(conn);
    tx.exec_params("SELECT pg_advisory_xact_lock($1::bigint)", delete_lock_key_);
    // Same lock order as an ack (lock row, then instance row), so the two never deadlock.
    tx.exec_params(
        "SELECT instance_id FROM instance_locks WHERE instance_id = ANY($1::text[]) "
        "ORDER BY instance_id FOR UPDATE",
        id_array);
    tx.exec_params(
        "SELECT instance_id FROM instances WHERE instance_id = ANY($1::text[]) "
        "ORDER BY instance_id FOR UPDATE",
        id_array);
    PgDeleteStore store(tx);
    Status refused = store::DeleteInstances(op, instances, force, store, &result);
    if (!refused.ok()) return refused;
    if (result.instances_deleted > 0) {
      tx.exec_prepared("dx_notify", channel_, NotifyPayload("s"));
    }
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (result.instances_deleted > 0) status_signal().Notify();
  return result;
}

Result<std::vector<std::string>> PostgresProvider::ListTerminalRoots(
    const InstanceFilter& filter) {
  const char* op = "ListTerminalRoots";
  Result<int64_t> checked = store::BulkLimit(op, filter);
  if (!checked.ok()) return checked.status();
  const int64_t limit = *checked;
  return Run(op, [&](pqxx::connection_base& conn) -> Result<std::vector<std::string>> {
    pqxx::nontransaction tx(conn);
    std::string cutoff_storage;
    const char* cutoff = NullableCutoff(filter.completed_before, &cutoff_storage);
    const std::string base =
        "SELECT i.instance_id FROM instances i JOIN executions e "
        "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
        "WHERE i.parent_instance_id IS NULL AND e.status IN ('Completed', 'Failed') "
        "  AND ($1::bigint IS NULL OR (e.completed_at IS NOT NULL AND e.completed_at < $1)) ";
    if (!filter.instance_ids) {
      return Column0Strings(tx.exec_params(
          base + "ORDER BY i.created_at DESC, i.seq DESC LIMIT $2", cutoff, limit));
    }
    const std::set<std::string> wanted(filter.instance_ids->begin(), filter.instance_ids->end());
    return Column0Strings(tx.exec_params(
        base + "AND i.instance_id = ANY($3::text[]) ORDER BY i.created_at DESC, i.seq DESC "
               "LIMIT $2",
        cutoff, limit, PgTextArray(std::vector<std::string>(wanted.begin(), wanted.end()))));
  });
}

Result<PruneResult> PostgresProvider::PruneExecutions(const std::string& instance,
                                                      const PruneOptions& options) {
  const char* op = "PruneExecutions";
  Result<int64_t> keep = store::KeepLast(op, options);
  if (!keep.ok()) return keep.status();
  return Run(op, [&](pqxx::connection_base& conn) -> Result<PruneResult> {
    pqxx::work tx(conn);
    PgPruneStore store(tx);
    Result<PruneResult> result = store::PruneInstance(op, instance, *keep, options, store);
    if (result.ok()) tx.commit();
    return result;
  });
}

}  // namespace duroxide::providers::postgres
