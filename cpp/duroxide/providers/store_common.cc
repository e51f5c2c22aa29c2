// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/store_common.h"

#include <algorithm>
#include <cstdio>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"

namespace duroxide::providers::store {

using history::WorkItem;
using history::WorkItemKind;

std::string NewLockToken(const char* prefix, std::mt19937_64& rng) {
  char buf[40];
  const auto hi = static_cast<unsigned long long>(rng());  // NOLINT(runtime/int)
  const auto lo = static_cast<unsigned long long>(rng());  // NOLINT(runtime/int)
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", hi, lo);
  return std::string(prefix) + buf;
}

Status ValidateTurnCommit(const char* op, const TurnCommit& commit) {
  for (const history::Event& e : commit.new_events) {
    if (e.event_id <= 0) {
      return Status::InvalidArgument(op, "event_id must be positive, got " +
                                             std::to_string(e.event_id));
    }
  }
  for (const WorkItem& w : commit.worker_items) {
    if (w.kind != WorkItemKind::kActivityExecute) {
      return Status::InvalidArgument(op, std::string("worker item of kind ") +
                                             history::WorkItemKindName(w.kind));
    }
  }
  for (const WorkItem& o : commit.orchestrator_items) {
    if (o.kind == WorkItemKind::kActivityExecute) {
      return Status::InvalidArgument(op, "ActivityExecute in orchestrator_items");
    }
  }
  return Status::Ok();
}

Result<std::vector<history::Event>> DecodeHistory(const char* op, const std::string& instance,
                                                  const std::vector<std::string>& rows) {
  std::vector<history::Event> events;
  events.reserve(rows.size());
  for (const std::string& text : rows) {
    Result<history::Event> decoded = history::DecodeEvent(text);
    if (!decoded.ok()) {
      return Status::DataLoss(op, "history of instance '" + instance +
                                      "': " + decoded.status().message());
    }
    events.push_back(std::move(decoded).value());
  }
  return events;
}

Status WorkLeaseGone(const char* op, const std::string& lock_token) {
  return Status::FailedPrecondition(
      op, "work item lock '" + lock_token + "' is gone (cancelled, expired or acked)");
}

Status InstanceLockUnknown(const char* op, const std::string& lock_token) {
  return Status::FailedPrecondition(op, "lock token '" + lock_token + "' is unknown");
}

Status InstanceLockGone(const char* op, const std::string& lock_token) {
  return Status::FailedPrecondition(op, "lock token '" + lock_token + "' is unknown or expired");
}

Status InstanceExists(const char* op, const std::string& instance) {
  return Status::AlreadyExists(op, "instance '" + instance + "' already exists");
}

Status InstanceNotFound(const char* op, const std::string& instance) {
  return Status::NotFound(op, "Instance " + instance + " not found");
}

Status ExecutionNotFound(const char* op, const std::string& instance, int64_t execution_id) {
  return Status::NotFound(op, "Execution " + std::to_string(execution_id) + " of instance " +
                                  instance + " not found");
}

namespace {

// The not-yet-started children of the set: named by a SubOrchestrationScheduled event of an
// instance of the set, outside the set, with a queued start that names that instance as its
// parent (and no instance row yet).
std::set<std::string> PendingChildren(const std::set<std::string>& ids, DeleteStore& store) {
  std::set<std::string> pending;
  for (const auto& [parent, event_data] : store.ScheduledChildren(ids)) {
    Result<history::Event> e = history::DecodeEvent(event_data);
    if (!e.ok() || e->instance.empty() || ids.count(e->instance) != 0) continue;
    for (const std::string& text : store.PendingStarts(e->instance)) {
      Result<WorkItem> w = history::DecodeWorkItem(text);
      if (w.ok() && w->parent_instance == parent) pending.insert(e->instance);
    }
  }
  return pending;
}

// Every table holding rows of an instance, in delete order, with the figure of
// DeleteInstanceResult its deleted rows count in (nullptr: not reported).
struct InstanceTable {
  const char* name;
  int64_t DeleteInstanceResult::*count;
};
constexpr InstanceTable kInstanceTables[] = {
    {"instances", &DeleteInstanceResult::instances_deleted},
    {"executions", &DeleteInstanceResult::executions_deleted},
    {"history", &DeleteInstanceResult::events_deleted},
    {"orchestrator_queue", &DeleteInstanceResult::queue_messages_deleted},
    {"worker_queue", &DeleteInstanceResult::queue_messages_deleted},
    {"instance_locks", nullptr},
    // A slot taken by a fetched first turn has no instance row for the trigger to go by.
    {"instance_limits", nullptr},
    {"kv_store", nullptr},
    {"kv_delta", nullptr},
};

}  // namespace

Status DeleteInstances(const char* op, const std::vector<std::string>& instances, bool force,
                       DeleteStore& store, DeleteInstanceResult* result) {
  *result = DeleteInstanceResult{};
  const std::set<std::string> ids(instances.begin(), instances.end());
  std::map<std::string, std::string> statuses;
  if (!force) statuses = store.CurrentStatuses(ids);
  std::multimap<std::string, std::string> children;  // parent -> child
  for (auto& [child, parent] : store.Children(ids)) children.emplace(parent, child);
  for (const std::string& id : ids) {
    const auto status = statuses.find(id);
    if (status != statuses.end() && admin::StillRunning(status->second)) {
      return Status::FailedPrecondition(op, admin::RunningMessage(id));
    }
    const auto [first, last] = children.equal_range(id);
    for (auto it = first; it != last; ++it) {
      if (ids.count(it->second) == 0) {
        return Status::FailedPrecondition(
            op, "instance '" + it->second + "' (a sub-orchestration of '" + id +
                    "') is not in the delete set; it was probably created concurrently. "
                    "Nothing was deleted.");
      }
    }
  }
  const std::set<std::string> pending = PendingChildren(ids, store);
  for (const InstanceTable& table : kInstanceTables) {
    const int64_t n = store.DeleteRowsOf(table.name, ids);
    if (table.count != nullptr) result->*table.count += n;
  }
  if (!pending.empty()) {
    result->queue_messages_deleted += store.DeleteRowsOf("orchestrator_queue", pending);
    store.DeleteRowsOf("instance_locks", pending);
  }
  return Status::Ok();
}

Result<int64_t> KeepLast(const char* op, const PruneOptions& options) {
  if (options.keep_last && *options.keep_last < 0) {
    return Status::InvalidArgument(op, "keep_last must be >= 0");
  }
  return std::max<int64_t>(options.keep_last.value_or(1), 1);
}

Result<PruneResult> PruneInstance(const char* op, const std::string& instance, int64_t keep,
                                  const PruneOptions& options, PruneStore& store) {
  const std::optional<int64_t> current = store.CurrentExecution(instance);
  if (!current) return InstanceNotFound(op, instance);
  PruneResult result;
  result.instances_processed = 1;
  for (int64_t execution_id :
       store.Victims(instance, *current, keep, options.completed_before)) {
    const auto [events, executions] = store.DeleteExecution(instance, execution_id);
    result.events_deleted += events;
    result.executions_deleted += executions;
  }
  return result;
}

Result<int64_t> BulkLimit(const char* op, const InstanceFilter& filter) {
  constexpr int64_t kDefaultBulkLimit = 1000;
  const int64_t limit = filter.limit.value_or(kDefaultBulkLimit);
  if (limit < 0) return Status::InvalidArgument(op, "limit must be >= 0");
  return limit;
}

std::vector<Migration> PendingMigrations(const std::vector<Migration>& known,
                                         const std::set<int64_t>& applied,
                                         int64_t target_version) {
  std::vector<Migration> out;
  for (const Migration& m : known) {
    if (m.version > target_version || applied.count(m.version) != 0) continue;
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

int64_t RunMigrations(const std::vector<Migration>& known, int64_t target_version,
                      MigrationStore& store,
                      const std::function<std::string(int64_t, int64_t)>& newer_message) {
  std::set<int64_t> applied = store.AppliedVersions();
  int64_t newest = 0;
  for (const Migration& m : known) newest = std::max(newest, m.version);
  const int64_t recorded = applied.empty() ? 0 : *applied.rbegin();
  if (recorded > newest) throw std::runtime_error(newer_message(recorded, newest));
  for (const Migration& m : PendingMigrations(known, applied, target_version)) {
    store.Apply(m, NowMs());
    applied.insert(m.version);
  }
  return applied.empty() ? 0 : *applied.rbegin();
}

}  // namespace duroxide::providers::store
