// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Helpers for replay engine tests: orchestrations written as plain C++ functions of the
// results received so far, and builders for hand-made histories.
#ifndef DUROXIDE_REPLAY_TESTING_REPLAY_TEST_UTIL_H_
#define DUROXIDE_REPLAY_TESTING_REPLAY_TEST_UTIL_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "duroxide/replay/replay_engine.h"

namespace duroxide::replay::testing {

// An orchestration: given the values received so far, returns the next step. It is re-run from
// the start on every replay, exactly like user code.
using ScriptFn = std::function<Step(const std::vector<TaskValue>& results, OrchestrationHost* host)>;

class ScriptInvoker : public OrchestrationInvoker {
 public:
  void Add(const std::string& name, ScriptFn fn) { scripts_[name] = std::move(fn); }
  // How many times user code was started (replays included). Atomic: runtime tests share one
  // invoker between dispatcher threads (found by ThreadSanitizer).
  std::atomic<int> starts{0};

  Result<std::unique_ptr<OrchestrationSession>> Start(const OrchestrationCall& call,
                                                     OrchestrationHost* host, Step* first) override {
    auto it = scripts_.find(call.name);
    if (it == scripts_.end()) return Status::NotFound("start", "no orchestration " + call.name);
    ++starts;
    auto session = std::make_unique<Session>(it->second, host);
    *first = session->fn(session->results, host);
    return std::unique_ptr<OrchestrationSession>(std::move(session));
  }

 private:
  struct Session : OrchestrationSession {
    Session(ScriptFn f, OrchestrationHost* h) : fn(std::move(f)), host(h) {}
    Step Resume(const TaskValue& value) override {
      results.push_back(value);
      return fn(results, host);
    }
    ScriptFn fn;
    OrchestrationHost* host;
    std::vector<TaskValue> results;
  };
  std::map<std::string, ScriptFn> scripts_;
};

inline TaskDescriptor Activity(const std::string& name, const std::string& input = "null") {
  TaskDescriptor d;
  d.type = TaskDescriptor::Type::kActivity;
  d.name = name;
  d.input = input;
  return d;
}
inline TaskDescriptor Timer(int64_t ms) {
  TaskDescriptor d;
  d.type = TaskDescriptor::Type::kTimer;
  d.delay_ms = ms;
  return d;
}
inline TaskDescriptor Wait(const std::string& name) {
  TaskDescriptor d;
  d.type = TaskDescriptor::Type::kWaitEvent;
  d.name = name;
  return d;
}
inline TaskDescriptor Dequeue(const std::string& name) {
  TaskDescriptor d;
  d.type = TaskDescriptor::Type::kDequeueEvent;
  d.name = name;
  return d;
}
inline TaskDescriptor SubOrch(const std::string& name, const std::string& input = "null") {
  TaskDescriptor d;
  d.type = TaskDescriptor::Type::kSubOrchestration;
  d.name = name;
  d.input = input;
  return d;
}
inline TaskDescriptor Composite(TaskDescriptor::Type type, std::vector<TaskDescriptor> children) {
  TaskDescriptor d;
  d.type = type;
  d.children = std::move(children);
  return d;
}
inline TaskDescriptor Join(std::vector<TaskDescriptor> c) {
  return Composite(TaskDescriptor::Type::kJoin, std::move(c));
}
inline TaskDescriptor Select(std::vector<TaskDescriptor> c) {
  return Composite(TaskDescriptor::Type::kSelect, std::move(c));
}
inline Step Yield(TaskDescriptor d) {
  Step s;
  s.kind = Step::Kind::kYield;
  s.task = std::move(d);
  return s;
}
inline Step Complete(const std::string& output) {
  Step s;
  s.kind = Step::Kind::kComplete;
  s.output = output;
  return s;
}
inline Step Fail(const std::string& error) {
  Step s;
  s.kind = Step::Kind::kFail;
  s.error = error;
  return s;
}

inline history::Event Started(const std::string& name, const std::string& input = "null") {
  history::Event e;
  e.kind = history::EventKind::kOrchestrationStarted;
  e.name = name;
  e.version = "1.0.0";
  e.input = input;
  return e;
}

inline history::WorkItem ActivityDone(int64_t id, const std::string& result, int64_t exec = 1) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kActivityCompleted;
  w.instance = "i";
  w.execution_id = exec;
  w.id = id;
  w.data = result;
  return w;
}
inline history::WorkItem ActivityFailedMsg(int64_t id, const std::string& msg) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kActivityFailed;
  w.instance = "i";
  w.execution_id = 1;
  w.id = id;
  w.error = history::ErrorDetails::Application("ActivityFailed", msg);
  return w;
}
inline history::WorkItem TimerFired(int64_t id) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kTimerFired;
  w.instance = "i";
  w.execution_id = 1;
  w.id = id;
  return w;
}
inline history::WorkItem Raised(const std::string& name, const std::string& data) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kExternalRaised;
  w.instance = "i";
  w.name = name;
  w.data = data;
  return w;
}
inline history::WorkItem Queued(const std::string& name, const std::string& data) {
  history::WorkItem w = Raised(name, data);
  w.kind = history::WorkItemKind::kQueueMessage;
  return w;
}
inline history::WorkItem CancelMsg(const std::string& reason) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kCancelInstance;
  w.instance = "i";
  w.reason = reason;
  return w;
}

// Drives an instance through turns the way the runtime does, keeping the committed history,
// and can replay it from scratch into a fresh engine to compare.
class Harness {
 public:
  explicit Harness(ScriptInvoker* invoker, std::string name = "orch")
      : invoker_(invoker), name_(std::move(name)) {}

  // Runs a turn; `warm` keeps the engine (and its suspended code) from the previous turn.
  TurnOutput Turn(const std::vector<history::WorkItem>& messages, bool warm = false,
                  int64_t now_ms = 1000) {
    std::optional<history::Event> started;
    if (history_.empty()) started = Started(name_, input);
    if (!warm || !engine_) {
      engine_ = std::make_unique<ReplayEngine>("i", 1, invoker_, EngineOptions{counter_guid()});
      engine_->Load(history_, {});
    }
    TurnOutput out = engine_->RunTurn(started, messages, now_ms);
    for (const auto& e : out.new_events) history_.push_back(e);
    engine_->MarkCommitted();
    return out;
  }
  const std::vector<history::Event>& history() const { return history_; }
  std::vector<history::Event>& mutable_history() { return history_; }
  std::string input = "null";

  static EngineOptions counter_guid() {
    EngineOptions o;
    auto n = std::make_shared<int>(0);
    o.new_guid = [n] {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", ++*n);
      return std::string(buf);
    };
    return o;
  }

 private:
  ScriptInvoker* invoker_;
  std::string name_;
  std::unique_ptr<ReplayEngine> engine_;
  std::vector<history::Event> history_;
};

inline std::vector<std::string> Kinds(const std::vector<history::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(history::EventKindName(e.kind));
  return out;
}

}  // namespace duroxide::replay::testing

#endif  // DUROXIDE_REPLAY_TESTING_REPLAY_TEST_UTIL_H_
