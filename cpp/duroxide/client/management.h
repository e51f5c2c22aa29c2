// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Management: the operator's view of a store (api.md 1.4 management methods, engine.md 3.11).
// Thin pass-throughs to the provider's ProviderAdmin capability plus the composite operations
// that every provider shares: the instance tree, cascading and bulk deletion, bulk pruning and
// the admin view of history events.
//
// Errors carry the exact texts of api.md 1.4 (with an empty operation, so Status::ToString()
// is the text itself):
//   kNotFound            "Instance <id> not found"
//   kFailedPrecondition  "Instance <id> is still running. Use force=true or cancel first."
//   kFailedPrecondition  "Cannot delete sub-orchestration <id> directly. Delete the root
//                         orchestration instead."
//   kFailedPrecondition  "Management features not available - provider doesn't implement
//                         ProviderAdmin"
//   kInvalidArgument     "Invalid input: ..."
// Provider failures are passed through unchanged.
//
// Thread-safety: thread-safe (no state besides the provider, which is thread-safe).
#ifndef DUROXIDE_CLIENT_MANAGEMENT_H_
#define DUROXIDE_CLIENT_MANAGEMENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/provider.h"

namespace duroxide::client {

// One history event as the admin API shows it (api.md 1.11 `Event`).
struct AdminEvent {
  int64_t event_id = 0;
  std::string kind;  // EventKindName, e.g. "ActivityScheduled"
  std::optional<int64_t> source_event_id;
  int64_t timestamp_ms = 0;          // epoch ms
  std::optional<std::string> data;   // history::EventAdminData
  std::string raw;                   // the whole event, history::EncodeEvent (for replay tools)
};

// A root instance and all its descendants.
struct InstanceTree {
  std::string root_id;
  std::vector<std::string> all_ids;  // breadth-first, root first
  int64_t size() const { return static_cast<int64_t>(all_ids.size()); }
};

class Management {
 public:
  // `provider` must not be null; it is shared, not owned exclusively.
  explicit Management(std::shared_ptr<providers::Provider> provider);

  // Newest first.
  Result<std::vector<std::string>> ListAllInstances();
  // `status`: "Running", "Completed", "Failed" or "ContinuedAsNew" (anything else matches
  // nothing). Newest first.
  Result<std::vector<std::string>> ListInstancesByStatus(const std::string& status);
  Result<providers::InstanceInfo> GetInstanceInfo(const std::string& instance);
  // kNotFound for an unknown instance or execution.
  Result<providers::ExecutionInfo> GetExecutionInfo(const std::string& instance,
                                                    int64_t execution_id);
  // Ascending, from 1; empty for an unknown instance.
  Result<std::vector<int64_t>> ListExecutions(const std::string& instance);
  // Events of one execution (1-based id), ordered by event_id. kNotFound for an unknown
  // instance or execution, kInvalidArgument for execution_id < 1.
  Result<std::vector<AdminEvent>> ReadExecutionHistory(const std::string& instance,
                                                       int64_t execution_id);
  // The instance and its descendants, breadth-first. kNotFound for an unknown instance.
  Result<InstanceTree> GetInstanceTree(const std::string& instance);

  // Deletes a root instance with its whole tree, atomically. Refuses a sub-orchestration
  // (unless its parent no longer exists) and, without `force`, a tree with a running member.
  // A child created while the delete runs makes the provider refuse the attempt; the tree is
  // then recomputed and the delete retried, so the result never leaves orphans.
  Result<providers::DeleteInstanceResult> DeleteInstance(const std::string& instance, bool force);
  // Deletes the trees of root instances in a terminal status matching `filter` (limit default
  // 1000), each with force; running roots are skipped. Returns the summed counts.
  Result<providers::DeleteInstanceResult> DeleteInstanceBulk(
      const providers::InstanceFilter& filter);
  // Deletes old executions of one instance: never the current one or a running one. keep_last
  // None/0/1 keep only the current execution. kNotFound for an unknown instance.
  Result<providers::PruneResult> PruneExecutions(const std::string& instance,
                                                 const providers::PruneOptions& options);
  // PruneExecutions over every instance matching `filter` (any status, Running included: an
  // eternal orchestration is exactly what needs pruning). filter.instance_ids restricts the
  // instances; filter.completed_before, like options.completed_before, restricts the pruned
  // executions (the earlier cutoff wins); limit (default 1000) caps the instances processed.
  Result<providers::PruneResult> PruneExecutionsBulk(const providers::InstanceFilter& filter,
                                                     const providers::PruneOptions& options);

  Result<providers::SystemMetrics> GetSystemMetrics();
  Result<providers::QueueDepths> GetQueueDepths();
  // nullopt for an unknown instance.
  Result<std::optional<providers::InstanceStats>> GetOrchestrationStats(
      const std::string& instance);
  // The live KV view of an instance (empty for an unknown one).
  Result<providers::KvMap> GetKvAll(const std::string& instance);

 private:
  // The admin capability, or the "Management features not available" status.
  Result<providers::ProviderAdmin*> Admin();

  std::shared_ptr<providers::Provider> provider_;
};

}  // namespace duroxide::client

#endif  // DUROXIDE_CLIENT_MANAGEMENT_H_
