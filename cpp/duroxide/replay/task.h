// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// What user code yields (TaskDescriptor) and what it gets back (TaskValue), independent of
// the language binding. Payloads are opaque JSON text; the engine never parses them.
#ifndef DUROXIDE_REPLAY_TASK_H_
#define DUROXIDE_REPLAY_TASK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace duroxide::replay {

struct RetryPolicy {
  enum class Backoff { kNone, kFixed, kLinear, kExponential };
  int64_t max_attempts = 3;      // >= 1
  int64_t timeout_ms = 0;        // per attempt; 0 = none
  int64_t total_timeout_ms = 0;  // across all attempts and backoff delays; 0 = none
  Backoff backoff = Backoff::kExponential;
  int64_t base_ms = 100;
  double multiplier = 2.0;
  int64_t max_delay_ms = 30000;
  int64_t fixed_ms = 1000;
  // Each new attempt avoids the runtimes whose attempts failed, for avoid_window_ms after it
  // is scheduled; after that any capable worker may take it (docs/task-graphs.md).
  bool prefer_different_worker = false;
  int64_t avoid_window_ms = 2000;

  // Delay before retry number `retry` (1 = the first retry).
  int64_t DelayBeforeRetry(int64_t retry) const;
};

struct TaskDescriptor {
  enum class Type {
    kActivity,           // name, input, session_id?, tag?, retry?
    kTimer,              // delay_ms
    kWaitEvent,          // name
    kDequeueEvent,       // name (queue)
    kSubOrchestration,   // name, version?, instance_id?, input
    kStartOrchestration, // detached: name, version?, instance_id, input
    kNewGuid,
    kUtcNow,
    kContinueAsNew,      // input, version?
    kJoin,               // children
    kSelect,             // children (>= 2)
    kGraph,              // children (activities) with deps; see below
  };
  Type type = Type::kActivity;
  std::string name;
  std::optional<std::string> version;
  std::string input;
  std::optional<std::string> instance_id;
  std::optional<std::string> session_id;
  std::optional<std::string> tag;
  std::optional<RetryPolicy> retry;
  int64_t delay_ms = 0;
  std::vector<TaskDescriptor> children;
  // Capability routing (activities): the canonical JSON Schema a worker's capabilities must
  // satisfy, its hash, and how long to wait for a capable worker (0 = forever).
  std::optional<std::string> requires_schema;
  std::string requires_hash;
  int64_t requires_timeout_ms = 0;
  // Activities: 0-9, higher is claimed first (providers/queue_order.h); every retry attempt
  // keeps it.
  int64_t priority = 0;
  // Set by a retry node for its attempts: runtimes to avoid for avoid_window_ms.
  std::vector<std::string> avoid;
  int64_t avoid_window_ms = 0;
  // kGraph children: indices of the children this one depends on. Its input is a template in
  // which {"$dx_ref": i} stands for child i's output; it is scheduled once every dependency
  // completed, with the outputs substituted. A failed dependency fails it without running.
  // The graph resolves (kJoin, one item per child) when every child has.
  std::vector<int64_t> deps;
  // kDequeueEvent: resolve with {"queue","data","meta"} (data and meta as JSON text strings)
  // instead of the bare data, so receive_message can see the sender. A name ending in '*'
  // subscribes to every queue whose name starts with the rest (receive_request()).
  bool envelope = false;
};

// The result of a yielded task. kOk/kErr for a primitive task (payload = JSON text of the value,
// or the error message); kJoin carries one item per child in order; kSelect carries the
// winner's index and value in items[0].
struct TaskValue {
  enum class Type { kOk, kErr, kJoin, kSelect };
  Type type = Type::kOk;
  std::string payload;
  std::vector<TaskValue> items;
  int64_t index = 0;
  // kErr only: what failed ("activity", "sub_orchestration" or "" for usage errors) and the
  // recorded error's category ("Application", ...) and kind ("ActivityFailed", ...), so that
  // bindings can raise a typed exception. `payload` stays the display message.
  std::string failure_source;
  std::string error_category;
  std::string error_kind;
  std::string traceback;  // kErr of a failed activity: its recorded traceback ("" = none)

  static TaskValue Ok(std::string json) {
    TaskValue v;
    v.payload = std::move(json);
    return v;
  }
  static TaskValue Err(std::string msg) {
    TaskValue v;
    v.type = Type::kErr;
    v.payload = std::move(msg);
    return v;
  }
  static TaskValue Failure(std::string source, std::string category, std::string kind,
                           std::string msg) {
    TaskValue v = Err(std::move(msg));
    v.failure_source = std::move(source);
    v.error_category = std::move(category);
    v.error_kind = std::move(kind);
    return v;
  }
};

// Names of the built-in system activities. They are completed inside the orchestration turn
// (no worker round trip) but recorded like activities so that they replay.
inline constexpr const char* kSyscallNewGuid = "__duroxide_syscall:new_guid";
inline constexpr const char* kSyscallUtcNow = "__duroxide_syscall:utc_now_ms";
inline constexpr const char* kSyscallPrefix = "__duroxide_syscall:";

}  // namespace duroxide::replay

#endif  // DUROXIDE_REPLAY_TASK_H_
