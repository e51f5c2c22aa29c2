// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The seam between the replay engine and user code. A language binding implements
// OrchestrationInvoker; the engine never sees anything but these types.
#ifndef DUROXIDE_REPLAY_INVOKER_H_
#define DUROXIDE_REPLAY_INVOKER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/logging.h"
#include "duroxide/common/status.h"
#include "duroxide/replay/task.h"

namespace duroxide::replay {

// One step of user code: it yielded a task, returned, or raised.
struct Step {
  enum class Kind { kYield, kComplete, kFail };
  Kind kind = Kind::kComplete;
  TaskDescriptor task;  // kYield
  std::string output;   // kComplete: JSON text
  std::string error;    // kFail: error text (e.g. a traceback)
};

struct OrchestrationCall {
  std::string instance;
  int64_t execution_id = 1;
  std::string name;
  std::string version;
  std::string input;
  // Observability (docs/observability.md): the execution's stored W3C traceparent ("" =
  // none), its OrchestrationStarted time, and its parent (sub-orchestrations; "" = none).
  std::string trace_context;
  int64_t started_at_ms = 0;
  std::string parent_instance;
  int64_t parent_execution_id = 0;
};

// Services the engine offers to user code while one of its steps runs (custom status, KV,
// tracing). Calls are only valid during OrchestrationSession::Resume/Start. Errors (limits)
// are recorded and fail the orchestration after the step.
class OrchestrationHost {
 public:
  virtual ~OrchestrationHost() = default;
  virtual bool is_replaying() const = 0;
  virtual void SetCustomStatus(std::optional<std::string> status) = 0;
  virtual std::optional<std::string> GetCustomStatus() const = 0;
  virtual void SetKv(const std::string& key, const std::string& value) = 0;
  virtual std::optional<std::string> GetKv(const std::string& key) const = 0;
  virtual std::map<std::string, std::string> GetKvAll() const = 0;
  virtual void ClearKv(const std::string& key) = 0;
  virtual void ClearAllKv() = 0;
  virtual int64_t PruneKv(int64_t updated_before_ms) = 0;
  virtual void Trace(LogLevel level, const std::string& message) = 0;
  // Messaging (docs/messaging.md). Each call records one event, matched on replay; its side
  // effect is committed with the turn. SendMessage returns the message id, derived from
  // (instance, execution, event id) so a replayed or retried turn produces the same id, or ""
  // when nothing was recorded (the turn is failing). `extra_meta` is a JSON object (or "")
  // merged into the message metadata.
  virtual std::string SendMessage(const std::string& target, const std::string& queue,
                                  const std::string& data, const std::string& extra_meta) = 0;
  virtual void PublishEvent(const std::string& topic, const std::string& data) = 0;
  virtual void SubscribeTopic(const std::string& topic) = 0;
  virtual void UnsubscribeTopic(const std::string& topic) = 0;
};

// A running orchestration function (e.g. a Python generator). Destroying it disposes it.
class OrchestrationSession {
 public:
  virtual ~OrchestrationSession() = default;
  // Sends the value of the last yielded task (or throws its error) into user code and runs it
  // to the next step.
  virtual Step Resume(const TaskValue& value) = 0;
};

class OrchestrationInvoker {
 public:
  virtual ~OrchestrationInvoker() = default;
  // Starts user code and runs it to its first step (written to *first). Returns kNotFound when
  // no function is registered for call.name/version. `host` outlives the session.
  virtual Result<std::unique_ptr<OrchestrationSession>> Start(const OrchestrationCall& call,
                                                              OrchestrationHost* host,
                                                              Step* first) = 0;
};

}  // namespace duroxide::replay

#endif  // DUROXIDE_REPLAY_INVOKER_H_
