// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Work items: the messages that travel through the provider's two queues.
// Orchestrator queue: everything but ActivityExecute, routed by `instance` (for sub-orchestration
// completions `instance` is the parent). Worker queue: ActivityExecute only.
#ifndef DUROXIDE_HISTORY_WORK_ITEM_H_
#define DUROXIDE_HISTORY_WORK_ITEM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/history/error_details.h"

namespace duroxide::history {

enum class WorkItemKind {
  kStartOrchestration,  // instance, name, version?, input, parent_* (sub-orchestration)
  kContinueAsNew,       // instance, execution_id (new), name, version?, input, parent_*,
                        // carry_forward, custom_status
  kActivityExecute,     // instance, execution_id, id, name, input, session_id, tag,
                        // orchestration_name, orchestration_version
  kActivityCompleted,   // instance, execution_id, id, data
  kActivityFailed,      // instance, execution_id, id, error
  kTimerFired,          // instance, execution_id, id, fire_at_ms
  kExternalRaised,      // instance, name, data
  kQueueMessage,        // instance, name, data, meta (messaging metadata JSON, "" = none)
  kSubOrchCompleted,    // instance (= parent), execution_id (= parent's), id, data
  kSubOrchFailed,       // instance (= parent), execution_id (= parent's), id, error
  kCancelInstance,      // instance, reason; with terminate: also data (output JSON, "" = none)
                        // and recursive (client.terminate_instance)
};

const char* WorkItemKindName(WorkItemKind kind);
bool WorkItemKindFromName(const std::string& name, WorkItemKind* out);

// Where an ActivityExecute may run (capability routing, docs/task-graphs.md). The runtime fills
// it; providers copy schema_hash, deadline_ms, avoid and avoid_until_ms into worker-queue
// columns and the schema into their schemas table, and never interpret the schema.
struct ActivityRouting {
  std::string schema;       // canonical JSON Schema text ("" = no requirement)
  std::string schema_hash;  // stable hash of `schema` ("" = no requirement)
  int64_t deadline_ms = 0;  // not claimed by a capable worker by then: any worker fails it
  std::vector<std::string> avoid;  // runtime ids that should not take it (retry elsewhere)
  int64_t avoid_until_ms = 0;      // after this, avoided runtimes may take it too
};

struct WorkItem {
  WorkItemKind kind = WorkItemKind::kStartOrchestration;
  std::string instance;
  int64_t execution_id = 0;
  int64_t id = 0;
  std::string name;
  std::optional<std::string> version;
  std::string input;
  std::string data;
  ErrorDetails error;
  std::optional<std::string> session_id;
  std::optional<std::string> tag;
  int64_t fire_at_ms = 0;
  std::string reason;
  std::string orchestration_name;
  std::string orchestration_version;
  std::optional<std::string> parent_instance;
  int64_t parent_execution_id = 0;
  int64_t parent_id = 0;
  std::vector<std::pair<std::string, std::string>> carry_forward;
  std::vector<std::string> carry_forward_meta;  // parallel to carry_forward, or empty
  std::string meta;  // QueueMessage: messaging metadata JSON ("" = none)
  std::optional<std::string> custom_status;
  bool has_custom_status = false;
  std::optional<ActivityRouting> routing;  // ActivityExecute
  std::string worker;          // ActivityCompleted/Failed: the worker (slot) that ran it
  std::string worker_runtime;  // ActivityCompleted/Failed: that worker's runtime id
  bool from_cache = false;     // ActivityCompleted: the result came from the task cache
  // CancelInstance: end the instance at once (status Terminated) instead of cooperatively;
  // recursive: terminate its running sub-orchestrations too.
  bool terminate = false;
  bool recursive = true;
  // StartOrchestration, ContinueAsNew (a client restart), ActivityExecute: 0-9, higher is
  // claimed first (providers/queue_order.h). Encoded only when non-zero.
  int64_t priority = 0;
  // StartOrchestration, ContinueAsNew, ActivityExecute: the W3C traceparent of the trace the
  // work belongs to ("" = none). Opaque to the core; optional in the encoding.
  std::string trace_context;
  // ActivityExecute, StartOrchestration, ContinueAsNew (a restart): the named limit the claim
  // must respect (docs/flow-control.md, "Named limits", "Orchestration limits") and the key it
  // is counted under when the limit is per key ("" = none). Encoded only when set; the stores
  // copy them into queue columns.
  std::string limit;
  std::string limit_key;
};

}  // namespace duroxide::history

#endif  // DUROXIDE_HISTORY_WORK_ITEM_H_
