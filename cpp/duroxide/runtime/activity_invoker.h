// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_ACTIVITY_INVOKER_H_
#define DUROXIDE_RUNTIME_ACTIVITY_INVOKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "duroxide/history/work_item.h"

namespace duroxide::runtime {

// One delivery of an ActivityExecute work item to a user activity. The work item travels
// whole (task.name is the activity, task.id its id, task.input its JSON input; also instance,
// execution_id, orchestration_name/_version, session_id, tag and trace_context), so what the
// activity sees is read from the one record the store delivered, not a copy of its fields.
struct ActivityCall {
  history::WorkItem task;
  std::string worker_id;
  int64_t attempt = 1;  // this delivery of the work item (1 = first; >1 after a crash)
  // Set when the orchestration no longer needs the result (lost race, cancelled or finished
  // orchestration). Cooperative: user code polls it.
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct ActivityOutcome {
  bool ok = false;
  std::string output;  // ok: JSON text
  std::string error;   // !ok: "Activity '<name>' call failed: <Type>: <message>"
  std::string traceback;  // !ok: where it failed, root cause first ("" = not known)
  bool from_cache = false;  // ok: the result came from the task cache (nothing ran)
  // Hand the item back for redelivery instead of acknowledging it (an asynchronous activity
  // cancelled because its runtime is shutting down: the work itself did not finish).
  bool abandon = false;
};

// Receives the outcome of an activity handed to an asynchronous executor. Called exactly
// once, from any thread; must not block (it queues the outcome for the runtime's completion
// thread, which acknowledges it to the store).
using ActivityDone = std::function<void(ActivityOutcome)>;

// The seam through which workers call user activities.
class ActivityInvoker {
 public:
  virtual ~ActivityInvoker() = default;
  virtual bool Has(const std::string& name) const = 0;
  // Runs the activity to completion on the calling thread.
  virtual ActivityOutcome Invoke(const ActivityCall& call) = 0;
  // Runs the activity, or hands it to an asynchronous executor (Python `async def`
  // activities run on the runtime's event loop). Returns the outcome when the activity
  // finished on the calling thread; std::nullopt when it was handed off, in which case `done`
  // receives the outcome later and the calling worker slot is free at once.
  virtual std::optional<ActivityOutcome> Start(const ActivityCall& call, ActivityDone done) {
    (void)done;
    return Invoke(call);
  }
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_ACTIVITY_INVOKER_H_
