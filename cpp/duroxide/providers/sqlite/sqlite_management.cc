// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the ProviderAdmin capability (listing, inspection, deletion, pruning).
// Nothing here is on a hot path, so statements are prepared per call instead of being cached
// on the object; every call still runs on the provider's one connection under mu_, and every
// write runs in BEGIN IMMEDIATE like the rest of the provider (see sqlite_provider.cc).
//
// Deletion and concurrently created children. DeleteInstancesAtomic receives the set of ids
// the caller computed (a tree); a sub-orchestration can come into existence after that:
//   - its first turn was committed meanwhile: the instance row exists, points at a parent in
//     the set, and is not in the set. The orphan check inside the transaction sees it and the
//     whole delete is refused (kFailedPrecondition), so the caller can recompute the tree;
//   - its StartOrchestration is still queued (or being processed): there is no instance row
//     yet, only the parent's SubOrchestrationScheduled event naming it. Those pending starts
//     are deleted with the tree, together with the child's instance lock, so a first turn
//     that is in flight fails its ack instead of creating an instance whose parent is gone.
// Deleting the instance locks of the set likewise makes in-flight turns of deleted instances
// fail their ack, so nothing recreates a deleted instance.
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
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

namespace {

std::vector<std::string> Column0Strings(SQLite::Statement& s) {
  std::vector<std::string> out;
  while (s.executeStep()) out.push_back(s.getColumn(0).getString());
  return out;
}

}  // namespace

Result<std::vector<std::string>> SqliteProvider::ListInstances() {
  return Guarded("ListInstances", [&]() -> Result<std::vector<std::string>> {
    std::lock_guard<std::mutex> lock(mu_);
    // rowid breaks created_at ties in insertion order (an upsert keeps the rowid).
    SQLite::Statement s(*db_,
                        "SELECT instance_id FROM instances ORDER BY created_at DESC, rowid DESC");
    return Column0Strings(s);
  });
}

Result<std::vector<std::string>> SqliteProvider::ListInstancesByStatus(const std::string& status) {
  return Guarded("ListInstancesByStatus", [&]() -> Result<std::vector<std::string>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(
        *db_,
        "SELECT i.instance_id FROM instances i JOIN executions e "
        "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
        "WHERE e.status = ?1 ORDER BY i.created_at DESC, i.rowid DESC");
    s.bind(1, status);
    return Column0Strings(s);
  });
}

Result<InstanceInfo> SqliteProvider::GetInstanceInfo(const std::string& instance) {
  const char* op = "GetInstanceInfo";
  return Guarded(op, [&]() -> Result<InstanceInfo> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_, store::kInstanceInfoSelect);
    s.bind(1, instance);
    if (!s.executeStep()) return store::InstanceNotFound(op, instance);
    return store::InstanceInfoFrom(instance, internal::StatementRow(s));
  });
}

Result<ExecutionInfo> SqliteProvider::GetExecutionInfo(const std::string& instance,
                                                       int64_t execution_id) {
  const char* op = "GetExecutionInfo";
  return Guarded(op, [&]() -> Result<ExecutionInfo> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_, store::kExecutionInfoSelect);
    s.bind(1, instance);
    s.bind(2, execution_id);
    if (!s.executeStep()) return store::ExecutionNotFound(op, instance, execution_id);
    return store::ExecutionInfoFrom(execution_id, internal::StatementRow(s));
  });
}

Result<std::vector<int64_t>> SqliteProvider::ListExecutions(const std::string& instance) {
  return Guarded("ListExecutions", [&]() -> Result<std::vector<int64_t>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(
        *db_, "SELECT execution_id FROM executions WHERE instance_id = ?1 ORDER BY execution_id");
    s.bind(1, instance);
    std::vector<int64_t> out;
    while (s.executeStep()) out.push_back(s.getColumn(0).getInt64());
    return out;
  });
}

Result<std::vector<std::string>> SqliteProvider::ListChildren(const std::string& instance) {
  return Guarded("ListChildren", [&]() -> Result<std::vector<std::string>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_,
                        "SELECT instance_id FROM instances WHERE parent_instance_id = ?1 "
                        "ORDER BY created_at, rowid");
    s.bind(1, instance);
    return Column0Strings(s);
  });
}

namespace {

// The SQLite statements of the shared delete algorithm (store::DeleteInstances), on the
// provider's connection inside its delete transaction; one id per statement.
class SqliteDeleteStore : public store::DeleteStore {
 public:
  explicit SqliteDeleteStore(SQLite::Database& db) : db_(db) {}

  std::map<std::string, std::string> CurrentStatuses(const std::set<std::string>& ids) override {
    SQLite::Statement q(db_,
                        "SELECT e.status FROM instances i JOIN executions e "
                        "  ON e.instance_id = i.instance_id "
                        "  AND e.execution_id = i.current_execution_id "
                        "WHERE i.instance_id = ?1");
    std::map<std::string, std::string> out;
    for (const std::string& id : ids) {
      q.reset();
      q.bind(1, id);
      if (q.executeStep()) out[id] = q.getColumn(0).getString();
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> Children(
      const std::set<std::string>& ids) override {
    return PerId(ids, "SELECT instance_id, ?1 FROM instances WHERE parent_instance_id = ?1");
  }
  std::vector<std::pair<std::string, std::string>> ScheduledChildren(
      const std::set<std::string>& ids) override {
    return PerId(ids,
                 "SELECT ?1, event_data FROM history "
                 "WHERE instance_id = ?1 AND event_type = 'SubOrchestrationScheduled'");
  }
  std::vector<std::string> PendingStarts(const std::string& instance) override {
    SQLite::Statement q(db_,
                        "SELECT work_item FROM orchestrator_queue WHERE instance_id = ?1 "
                        "  AND kind = 'StartOrchestration' "
                        "  AND NOT EXISTS (SELECT 1 FROM instances WHERE instance_id = ?1)");
    q.bind(1, instance);
    return Column0Strings(q);
  }
  int64_t DeleteRowsOf(const char* table, const std::set<std::string>& ids) override {
    SQLite::Statement s(db_, std::string("DELETE FROM ") + table + " WHERE instance_id = ?1");
    int64_t n = 0;
    for (const std::string& id : ids) {
      s.reset();
      s.bind(1, id);
      n += s.exec();
    }
    return n;
  }

 private:
  // Two text columns of `sql` (one parameter: the id) for every id of `ids`.
  std::vector<std::pair<std::string, std::string>> PerId(const std::set<std::string>& ids,
                                                         const char* sql) {
    SQLite::Statement q(db_, sql);
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& id : ids) {
      q.reset();
      q.bind(1, id);
      while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
    }
    return out;
  }

  SQLite::Database& db_;
};

// The SQLite statements of the shared pruning algorithm (store::PruneInstance).
class SqlitePruneStore : public store::PruneStore {
 public:
  explicit SqlitePruneStore(SQLite::Database& db)
      : db_(db),
        del_history_(db, "DELETE FROM history WHERE instance_id = ?1 AND execution_id = ?2"),
        del_execution_(db, "DELETE FROM executions WHERE instance_id = ?1 AND execution_id = ?2") {}

  std::optional<int64_t> CurrentExecution(const std::string& instance) override {
    SQLite::Statement s(db_, "SELECT current_execution_id FROM instances WHERE instance_id = ?1");
    s.bind(1, instance);
    if (!s.executeStep()) return std::nullopt;
    return s.getColumn(0).getInt64();
  }
  std::vector<int64_t> Victims(const std::string& instance, int64_t current, int64_t keep,
                               const std::optional<int64_t>& completed_before) override {
    SQLite::Statement s(
        db_,
        "SELECT execution_id FROM executions WHERE instance_id = ?1 AND execution_id <> ?2 "
        "  AND status <> 'Running' "
        "  AND execution_id NOT IN (SELECT execution_id FROM executions WHERE instance_id = ?1 "
        "                           ORDER BY execution_id DESC LIMIT ?3) "
        "  AND (?4 IS NULL OR (completed_at IS NOT NULL AND completed_at < ?4)) "
        "ORDER BY execution_id");
    BindAll(s, instance, current, keep, completed_before);
    std::vector<int64_t> out;
    while (s.executeStep()) out.push_back(s.getColumn(0).getInt64());
    return out;
  }
  std::pair<int64_t, int64_t> DeleteExecution(const std::string& instance,
                                              int64_t execution_id) override {
    return {Exec(del_history_, instance, execution_id), Exec(del_execution_, instance, execution_id)};
  }

 private:
  static int64_t Exec(SQLite::Statement& s, const std::string& instance, int64_t execution_id) {
    s.reset();
    s.bind(1, instance);
    s.bind(2, execution_id);
    const int64_t n = s.exec();
    s.reset();
    return n;
  }

  SQLite::Database& db_;
  SQLite::Statement del_history_;
  SQLite::Statement del_execution_;
};

}  // namespace

Result<DeleteInstanceResult> SqliteProvider::DeleteInstancesAtomic(
    const std::vector<std::string>& instances, bool force) {
  const char* op = "DeleteInstancesAtomic";
  DeleteInstanceResult result;
  Status st = WriteTx(op, [&]() -> Status {
    SqliteDeleteStore store(*db_);
    return store::DeleteInstances(op, instances, force, store, &result);
  });
  if (!st.ok()) return st;
  if (result.instances_deleted > 0) status_signal().Notify();
  return result;
}

Result<std::vector<std::string>> SqliteProvider::ListTerminalRoots(const InstanceFilter& filter) {
  const char* op = "ListTerminalRoots";
  Result<int64_t> checked = store::BulkLimit(op, filter);
  if (!checked.ok()) return checked.status();
  const int64_t limit = *checked;
  return Guarded(op, [&]() -> Result<std::vector<std::string>> {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string base =
        "SELECT i.instance_id, i.created_at, i.rowid FROM instances i JOIN executions e "
        "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
        "WHERE i.parent_instance_id IS NULL AND e.status IN ('Completed', 'Failed') "
        "  AND (?1 IS NULL OR (e.completed_at IS NOT NULL AND e.completed_at < ?1)) ";
    auto bind_cutoff = [&](SQLite::Statement& s) {
      if (filter.completed_before) {
        s.bind(1, *filter.completed_before);
      } else {
        s.bind(1);
      }
    };
    std::vector<std::string> out;
    if (!filter.instance_ids) {
      SQLite::Statement s(*db_, base + "ORDER BY i.created_at DESC, i.rowid DESC LIMIT ?2");
      bind_cutoff(s);
      s.bind(2, limit);
      return Column0Strings(s);
    }
    std::vector<std::tuple<int64_t, int64_t, std::string>> rows;  // created_at, rowid, id
    SQLite::Statement s(*db_, base + "AND i.instance_id = ?2");
    const std::set<std::string> wanted(filter.instance_ids->begin(), filter.instance_ids->end());
    for (const std::string& id : wanted) {
      s.reset();
      bind_cutoff(s);
      s.bind(2, id);
      if (s.executeStep()) {
        rows.emplace_back(s.getColumn(1).getInt64(), s.getColumn(2).getInt64(), id);
      }
    }
    std::sort(rows.rbegin(), rows.rend());  // newest first
    for (const auto& row : rows) {
      if (static_cast<int64_t>(out.size()) >= limit) break;
      out.push_back(std::get<2>(row));
    }
    return out;
  });
}

Result<PruneResult> SqliteProvider::PruneExecutions(const std::string& instance,
                                                    const PruneOptions& options) {
  const char* op = "PruneExecutions";
  Result<int64_t> keep = store::KeepLast(op, options);
  if (!keep.ok()) return keep.status();
  return WriteTx(op, [&]() -> Result<PruneResult> {
    SqlitePruneStore store(*db_);
    return store::PruneInstance(op, instance, *keep, options, store);
  });
}

}  // namespace duroxide::providers::sqlite
