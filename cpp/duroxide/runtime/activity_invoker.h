// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_ACTIVITY_INVOKER_H_
#define DUROXIDE_RUNTIME_ACTIVITY_INVOKER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace duroxide::runtime {

struct ActivityCall {
  std::string instance;
  int64_t execution_id = 0;
  std::string orchestration_name;
  std::string orchestration_version;
  std::string activity_name;
  int64_t activity_id = 0;
  std::string worker_id;
  std::optional<std::string> session_id;
  std::optional<std::string> tag;
  std::string input;
  std::string trace_context;  // the execution's W3C traceparent ("" = none)
  int64_t attempt = 1;        // this delivery of the work item (1 = first; >1 after a crash)
  // Set when the orchestration no longer needs the result (lost race, cancelled or finished
  // orchestration). Cooperative: user code polls it.
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct ActivityOutcome {
  bool ok = false;
  std::string output;  // ok: JSON text
  std::string error;   // !ok: "Activity '<name>' call failed: <Type>: <message>"
  bool from_cache = false;  // ok: the result came from the task cache (nothing ran)
};

// The seam through which workers call user activities.
class ActivityInvoker {
 public:
  virtual ~ActivityInvoker() = default;
  virtual bool Has(const std::string& name) const = 0;
  // Runs the activity to completion on the calling thread.
  virtual ActivityOutcome Invoke(const ActivityCall& call) = 0;
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_ACTIVITY_INVOKER_H_
