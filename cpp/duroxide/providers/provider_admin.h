// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Management capability of a provider: listing, inspection, deletion and pruning. Separate from
// Provider because the hot path never needs it. Value shapes follow api.md 1.11; every
// timestamp is epoch milliseconds.
// Thread-safety: as Provider.
#ifndef DUROXIDE_PROVIDERS_PROVIDER_ADMIN_H_
#define DUROXIDE_PROVIDERS_PROVIDER_ADMIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"

namespace duroxide::providers {

struct InstanceInfo {
  std::string instance_id;
  std::string orchestration_name;
  std::string orchestration_version;
  int64_t current_execution_id = 1;
  std::string status;  // of the current execution: Running|Completed|Failed|ContinuedAsNew
  std::optional<std::string> output;  // raw JSON (Completed) or error text (Failed)
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<std::string> parent_instance_id;
};

struct ExecutionInfo {
  int64_t execution_id = 1;
  std::string status;
  std::optional<std::string> output;
  int64_t started_at = 0;
  std::optional<int64_t> completed_at;
  int64_t event_count = 0;
};

struct SystemMetrics {
  int64_t total_instances = 0;
  int64_t total_executions = 0;
  int64_t running_instances = 0;
  int64_t completed_instances = 0;
  int64_t failed_instances = 0;
  int64_t total_events = 0;
};

struct QueueDepths {
  int64_t orchestrator_queue = 0;
  int64_t worker_queue = 0;
  int64_t timer_queue = 0;  // delayed orchestrator messages not yet visible
};

struct InstanceStats {
  int64_t history_event_count = 0;
  int64_t history_size_bytes = 0;
  int64_t queue_pending_count = 0;
  int64_t kv_user_key_count = 0;
  int64_t kv_total_value_bytes = 0;
};

struct InstanceFilter {
  std::optional<std::vector<std::string>> instance_ids;
  std::optional<int64_t> completed_before;  // epoch ms
  std::optional<int64_t> limit;             // default 1000
};

struct PruneOptions {
  std::optional<int64_t> keep_last;         // None, 0 and 1 are equivalent
  std::optional<int64_t> completed_before;  // epoch ms
};

struct DeleteInstanceResult {
  int64_t instances_deleted = 0;
  int64_t executions_deleted = 0;
  int64_t events_deleted = 0;
  int64_t queue_messages_deleted = 0;
};

struct PruneResult {
  int64_t instances_processed = 0;
  int64_t executions_deleted = 0;
  int64_t events_deleted = 0;
};

class ProviderAdmin {
 public:
  virtual ~ProviderAdmin() = default;
  // Instance ids, newest first (by created_at, then id).
  virtual Result<std::vector<std::string>> ListInstances() = 0;
  virtual Result<std::vector<std::string>> ListInstancesByStatus(const std::string& status) = 0;
  // kNotFound for an unknown instance.
  virtual Result<InstanceInfo> GetInstanceInfo(const std::string& instance) = 0;
  virtual Result<ExecutionInfo> GetExecutionInfo(const std::string& instance,
                                                 int64_t execution_id) = 0;
  // Ascending execution ids.
  virtual Result<std::vector<int64_t>> ListExecutions(const std::string& instance) = 0;
  virtual Result<std::vector<std::string>> ListChildren(const std::string& instance) = 0;
  virtual Result<SystemMetrics> GetSystemMetrics() = 0;
  virtual Result<QueueDepths> GetQueueDepths() = 0;
  // nullopt for an unknown instance.
  virtual Result<std::optional<InstanceStats>> GetInstanceStats(const std::string& instance) = 0;
  // Deletes every listed instance with all its rows (history, executions, queues, locks, KV),
  // atomically. Without `force` a Running instance is kFailedPrecondition. If some instance not
  // in `instances` has a parent among them (e.g. a child created concurrently), nothing is
  // deleted and kFailedPrecondition is returned.
  virtual Result<DeleteInstanceResult> DeleteInstancesAtomic(
      const std::vector<std::string>& instances, bool force) = 0;
  // Root instances (no parent) in a terminal status matching the filter, newest first.
  virtual Result<std::vector<std::string>> ListTerminalRoots(const InstanceFilter& filter) = 0;
  // Deletes old executions of one instance; never the current one or a running one.
  virtual Result<PruneResult> PruneExecutions(const std::string& instance,
                                              const PruneOptions& options) = 0;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_PROVIDER_ADMIN_H_
