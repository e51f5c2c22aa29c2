// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/client/management.h"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

#include "duroxide/history/codec.h"

namespace duroxide::client {

using providers::DeleteInstanceResult;
using providers::InstanceFilter;
using providers::InstanceInfo;
using providers::ProviderAdmin;
using providers::PruneOptions;
using providers::PruneResult;

namespace {

constexpr int64_t kDefaultBulkLimit = 1000;
// How often a delete is retried when children appeared while it ran. Each retry needs a new
// child to be created in the window between computing the tree and deleting it, so more than a
// few in a row means something keeps spawning children: give up and report it.
constexpr int kMaxDeleteAttempts = 5;

Status InstanceNotFound(const std::string& instance) {
  return Status::NotFound("", "Instance " + instance + " not found");
}

Status StillRunning(const std::string& instance) {
  return Status::FailedPrecondition(
      "", "Instance " + instance + " is still running. Use force=true or cancel first.");
}

Status InvalidInput(const std::string& what) {
  return Status::InvalidArgument("", "Invalid input: " + what);
}

bool IsRunning(const std::string& status) {
  return status == "Running" || status == "ContinuedAsNew";
}

// Rewrites the provider's kNotFound for an instance into the API text.
template <typename T>
Result<T> WithInstanceText(Result<T> r, const std::string& instance) {
  if (!r.ok() && r.status().code() == StatusCode::kNotFound) return InstanceNotFound(instance);
  return r;
}

void Add(DeleteInstanceResult* total, const DeleteInstanceResult& r) {
  total->instances_deleted += r.instances_deleted;
  total->executions_deleted += r.executions_deleted;
  total->events_deleted += r.events_deleted;
  total->queue_messages_deleted += r.queue_messages_deleted;
}

void Add(PruneResult* total, const PruneResult& r) {
  total->instances_processed += r.instances_processed;
  total->executions_deleted += r.executions_deleted;
  total->events_deleted += r.events_deleted;
}

}  // namespace

Management::Management(std::shared_ptr<providers::Provider> provider)
    : provider_(std::move(provider)) {}

Result<ProviderAdmin*> Management::Admin() {
  ProviderAdmin* admin = provider_ ? provider_->admin() : nullptr;
  if (admin == nullptr) {
    return Status::FailedPrecondition(
        "", "Management features not available - provider doesn't implement ProviderAdmin");
  }
  return admin;
}

Result<std::vector<std::string>> Management::ListAllInstances() {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return (*admin)->ListInstances();
}

Result<std::vector<std::string>> Management::ListInstancesByStatus(const std::string& status) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return (*admin)->ListInstancesByStatus(status);
}

Result<InstanceInfo> Management::GetInstanceInfo(const std::string& instance) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return WithInstanceText((*admin)->GetInstanceInfo(instance), instance);
}

Result<providers::ExecutionInfo> Management::GetExecutionInfo(const std::string& instance,
                                                              int64_t execution_id) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  auto info = GetInstanceInfo(instance);
  if (!info.ok()) return info.status();
  auto exec = (*admin)->GetExecutionInfo(instance, execution_id);
  if (!exec.ok() && exec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("", "Execution " + std::to_string(execution_id) + " of instance " +
                                    instance + " not found");
  }
  return exec;
}

Result<std::vector<int64_t>> Management::ListExecutions(const std::string& instance) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return (*admin)->ListExecutions(instance);
}

Result<std::vector<AdminEvent>> Management::ReadExecutionHistory(const std::string& instance,
                                                                 int64_t execution_id) {
  if (execution_id < 1) return InvalidInput("execution_id must be >= 1");
  // Also checks that the instance exists and the provider has the admin capability.
  auto exec = GetExecutionInfo(instance, execution_id);
  if (!exec.ok()) return exec.status();
  auto events = provider_->ReadHistory(instance, execution_id);
  if (!events.ok()) return events.status();
  std::vector<AdminEvent> out;
  out.reserve(events->size());
  for (const history::Event& e : *events) {
    AdminEvent a;
    a.event_id = e.event_id;
    a.kind = history::EventKindName(e.kind);
    a.source_event_id = e.source_event_id;
    a.timestamp_ms = e.timestamp_ms;
    a.data = history::EventAdminData(e);
    a.raw = history::EncodeEvent(e);
    out.push_back(std::move(a));
  }
  return out;
}

Result<InstanceTree> Management::GetInstanceTree(const std::string& instance) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  auto info = GetInstanceInfo(instance);
  if (!info.ok()) return info.status();
  InstanceTree tree;
  tree.root_id = instance;
  std::set<std::string> seen{instance};
  std::deque<std::string> frontier{instance};
  while (!frontier.empty()) {
    std::string id = std::move(frontier.front());
    frontier.pop_front();
    auto children = (*admin)->ListChildren(id);
    if (!children.ok()) return children.status();
    tree.all_ids.push_back(std::move(id));
    for (std::string& child : *children) {
      // A corrupt parent chain must not loop forever.
      if (seen.insert(child).second) frontier.push_back(std::move(child));
    }
  }
  return tree;
}

Result<DeleteInstanceResult> Management::DeleteInstance(const std::string& instance, bool force) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  auto info = GetInstanceInfo(instance);
  if (!info.ok()) return info.status();
  if (info->parent_instance_id) {
    // A child whose parent is already gone has no root left to delete it through.
    auto parent = (*admin)->GetInstanceInfo(*info->parent_instance_id);
    if (parent.ok()) {
      return Status::FailedPrecondition("", "Cannot delete sub-orchestration " + instance +
                                                " directly. Delete the root orchestration "
                                                "instead.");
    }
    if (parent.status().code() != StatusCode::kNotFound) return parent.status();
  }
  if (!force && IsRunning(info->status)) return StillRunning(instance);

  std::vector<std::string> previous;
  for (int attempt = 1;; ++attempt) {
    auto tree = GetInstanceTree(instance);
    if (!tree.ok()) return tree.status();
    if (!force) {
      for (size_t i = 1; i < tree->all_ids.size(); ++i) {
        auto member = (*admin)->GetInstanceInfo(tree->all_ids[i]);
        if (!member.ok()) {
          if (member.status().code() == StatusCode::kNotFound) continue;
          return member.status();
        }
        if (IsRunning(member->status)) return StillRunning(tree->all_ids[i]);
      }
    }
    auto deleted = (*admin)->DeleteInstancesAtomic(tree->all_ids, force);
    if (deleted.ok() || deleted.status().code() != StatusCode::kFailedPrecondition ||
        attempt >= kMaxDeleteAttempts) {
      return deleted;
    }
    // Refused: retry only if the tree changed meanwhile (a child was created concurrently).
    auto now = GetInstanceTree(instance);
    if (!now.ok()) return now.status();
    std::vector<std::string> before = tree->all_ids;
    std::vector<std::string> after = now->all_ids;
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    if (before == after) return deleted;
  }
}

Result<DeleteInstanceResult> Management::DeleteInstanceBulk(const InstanceFilter& filter) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  if (filter.limit && *filter.limit < 0) return InvalidInput("limit must be >= 0");
  InstanceFilter bounded = filter;
  if (!bounded.limit) bounded.limit = kDefaultBulkLimit;
  auto roots = (*admin)->ListTerminalRoots(bounded);
  if (!roots.ok()) return roots.status();
  DeleteInstanceResult total;
  for (const std::string& root : *roots) {
    auto r = DeleteInstance(root, /*force=*/true);
    if (!r.ok()) {
      // Deleted by someone else since it was listed: nothing left to do for it.
      if (r.status().code() == StatusCode::kNotFound) continue;
      return r.status();
    }
    Add(&total, *r);
  }
  return total;
}

Result<PruneResult> Management::PruneExecutions(const std::string& instance,
                                                const PruneOptions& options) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  if (options.keep_last && *options.keep_last < 0) return InvalidInput("keep_last must be >= 0");
  return WithInstanceText((*admin)->PruneExecutions(instance, options), instance);
}

Result<PruneResult> Management::PruneExecutionsBulk(const InstanceFilter& filter,
                                                    const PruneOptions& options) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  if (filter.limit && *filter.limit < 0) return InvalidInput("limit must be >= 0");
  if (options.keep_last && *options.keep_last < 0) return InvalidInput("keep_last must be >= 0");
  const int64_t limit = filter.limit.value_or(kDefaultBulkLimit);
  PruneOptions effective = options;
  if (filter.completed_before) {
    effective.completed_before =
        std::min(*filter.completed_before,
                 options.completed_before.value_or(*filter.completed_before));
  }
  std::vector<std::string> ids;
  if (filter.instance_ids) {
    std::set<std::string> seen;
    for (const std::string& id : *filter.instance_ids) {
      if (seen.insert(id).second) ids.push_back(id);
    }
  } else {
    auto all = (*admin)->ListInstances();
    if (!all.ok()) return all.status();
    ids = std::move(all).value();
  }
  PruneResult total;
  for (const std::string& id : ids) {
    if (total.instances_processed >= limit) break;
    auto r = (*admin)->PruneExecutions(id, effective);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kNotFound) continue;
      return r.status();
    }
    Add(&total, *r);
  }
  return total;
}

Result<providers::SystemMetrics> Management::GetSystemMetrics() {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return (*admin)->GetSystemMetrics();
}

Result<providers::QueueDepths> Management::GetQueueDepths() {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return (*admin)->GetQueueDepths();
}

Result<std::optional<providers::InstanceStats>> Management::GetOrchestrationStats(
    const std::string& instance) {
  auto admin = Admin();
  if (!admin.ok()) return admin.status();
  return (*admin)->GetInstanceStats(instance);
}

Result<providers::KvMap> Management::GetKvAll(const std::string& instance) {
  return provider_->GetKvAll(instance);
}

}  // namespace duroxide::client
