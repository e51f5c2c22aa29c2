// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_RUNTIME_OPTIONS_H_
#define DUROXIDE_RUNTIME_RUNTIME_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "duroxide/common/limits.h"
#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

struct RuntimeOptions {
  // Orchestration dispatcher threads; 0 makes a worker-only runtime. Default: 2.
  int orchestration_concurrency = 2;
  // Activity worker threads; 0 makes an orchestration-only runtime. Default: 2.
  int worker_concurrency = 2;
  // Fallback polling interval when idle. Work enqueued through this process wakes the
  // dispatchers at once; polling only matters for work from other processes. Default: 100.
  int64_t dispatcher_poll_interval_ms = 100;
  // Instance lock held during an orchestration turn (renewed while the turn runs). Default: 5000.
  int64_t orchestrator_lock_timeout_ms = 5000;
  // Activity lock (renewed every half of it while the activity runs; a renewal failure is how
  // a worker learns that its activity was cancelled by another process). Default: 30000.
  int64_t worker_lock_timeout_ms = 30000;
  // Deliveries after which a message is poison and fails its instance. Default: 10.
  int64_t max_attempts = 10;
  // Backoff for orchestrations whose function is not registered: base * 2^(attempt-1) capped.
  int64_t unregistered_backoff_base_ms = 100;
  int64_t unregistered_backoff_max_ms = 2000;
  int max_sessions_per_runtime = 10;
  int64_t session_idle_timeout_ms = 300000;
  int64_t session_lock_timeout_ms = 30000;
  // Stable session owner identity; default: one ephemeral identity per worker slot.
  std::optional<std::string> worker_node_id;
  providers::TagFilter worker_tag_filter;
  // Capability routing: true when this runtime's capabilities satisfy a JSON Schema (canonical
  // text). Called once per distinct schema, from a worker thread. Null: only activities
  // without a requirement are claimed.
  std::function<bool(const std::string& schema)> capability_matcher;
  // Warm replay: suspended orchestrations kept in memory between turns (0 disables).
  size_t warm_cache_capacity = 4096;
  // Same-process activity hand-off (runtime/local_work.h): activities a turn schedules that
  // this runtime can run are leased to it in the turn's commit and run without a fetch.
  // Default: on.
  bool activity_handoff = true;
  // Hold the interpreter lock across a dispatcher's batch of turns or activities instead of
  // taking it per user-code call (runtime/interpreter_lock.h). Default: on.
  bool gil_batching = true;

  // ---- worker registry (runtime/fleet.h, docs/deployment.md) ----
  // Heartbeat period; a worker silent for 3 periods is shown unreachable. 0 disables the
  // registry for this runtime (no registration, heartbeats or placement). Default: 5000.
  int64_t heartbeat_interval_ms = 5000;
  // Replaces the adjective-noun part of the generated name ("<hint>-NN").
  std::optional<std::string> worker_name_hint;
  std::optional<std::string> service_name;
  std::optional<std::string> service_version;
  std::optional<std::string> capabilities_json;  // free-form JSON stored with the worker
  // Rows of workers silent (stopped or dead) for longer than this are pruned. Default: 24 h.
  int64_t worker_retention_ms = 86400000;
  // Grace period of a drain requested through the store (client.drain_worker). Default: 30 s.
  int64_t drain_grace_ms = 30000;
  // Least-loaded placement of new sessions across live workers. Default: on.
  bool session_placement = true;
  std::string duroxide_version = "0.1.0";
  // Cap on one payload user code produces (activity output, orchestration output, activity
  // and sub-orchestration input, continue-as-new input); over it the activity or instance
  // fails with a "LimitExceeded" error. <= 0 disables. Default: 4 MiB.
  int64_t max_payload_bytes = limits::kDefaultMaxPayloadBytes;
  // Cap on the events of one execution; reaching it fails the instance with an error that
  // suggests continue-as-new. <= 0 disables. Default: 50000.
  int64_t max_history_events = limits::kDefaultMaxHistoryEvents;
  // TEST-ONLY (duroxide.testing time skipping): when every dispatcher of this runtime is idle
  // and the store holds only future work (timers, delayed retries), move the process's virtual
  // clock (common/clock.h) to the earliest due time. Never set in production. Default: false.
  bool time_skipping = false;
  // This runtime fires durable schedules (docs/schedules.md). The firing loop itself runs in
  // the Python runtime (it computes cron times); the core only needs to know so that time
  // skipping treats a due schedule as pending work and jumps to the next fire time.
  // Default: false here; RuntimeOptions(schedules_enabled=True) is the Python default.
  bool schedules_enabled = false;
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_RUNTIME_OPTIONS_H_
