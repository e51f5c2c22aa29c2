// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The invokers through which the core calls Python. All GIL acquisition for user code lives
// here: each generator step and each activity call takes the GIL for its duration only, and no
// core mutex is held while it is taken.
#ifndef DUROXIDE_BINDINGS_PY_INVOKER_H_
#define DUROXIDE_BINDINGS_PY_INVOKER_H_

#include "duroxide/bindings/pybind.h"

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "duroxide/replay/invoker.h"
#include "duroxide/runtime/activity_invoker.h"

namespace duroxide::bindings {

// What OrchestrationContext calls for custom status, KV and tracing. Valid only while a step of
// its orchestration runs; outside of one every call is a no-op.
struct HostHandle {
  replay::OrchestrationHost* host = nullptr;
  bool active = false;
};

// What ActivityContext calls for cancellation and tracing.
struct ActivityHandle {
  std::shared_ptr<std::atomic<bool>> cancelled;
  LogFields fields;
};

class PyOrchestrationInvoker : public replay::OrchestrationInvoker {
 public:
  // REQUIRES: GIL held. `registry` is the Python dict of the runtime's functions.
  explicit PyOrchestrationInvoker(py::object registry);
  ~PyOrchestrationInvoker() override;

  Result<std::unique_ptr<replay::OrchestrationSession>> Start(const replay::OrchestrationCall& call,
                                                             replay::OrchestrationHost* host,
                                                             replay::Step* first) override;

 private:
  py::object registry_;
  py::object resolve_;
  py::object start_;
  py::object step_;
  py::object context_class_;
};

class PyActivityInvoker : public runtime::ActivityInvoker {
 public:
  // REQUIRES: GIL held. `client_factory()` returns a Client for ActivityContext.get_client().
  explicit PyActivityInvoker(py::object client_factory);
  ~PyActivityInvoker() override;

  // REQUIRES: GIL held.
  void Register(const std::string& name, py::object fn);
  bool Has(const std::string& name) const override;
  runtime::ActivityOutcome Invoke(const runtime::ActivityCall& call) override;
  // An `async def` activity is handed to the runtime's event loop (duroxide.worker.driver
  // returns None): std::nullopt, and `done` receives the outcome from the loop thread.
  std::optional<runtime::ActivityOutcome> Start(const runtime::ActivityCall& call,
                                                runtime::ActivityDone done) override;

 private:
  // REQUIRES: GIL held. `completion` is None (run to the end here) or an ActivityCompletion.
  std::optional<runtime::ActivityOutcome> Call(const runtime::ActivityCall& call,
                                               py::object completion);

  mutable std::mutex mu_;  // guards names_ (fns_ is only touched with the GIL held)
  std::set<std::string> names_;
  std::map<std::string, py::object> fns_;
  py::object client_factory_;
  py::object run_activity_;
};

// What duroxide.worker.driver.run_activity receives to report an asynchronous activity's
// outcome later (Python: _ActivityCompletion.complete / .abandon). The first report wins;
// destroyed unreported (the coroutine was lost), it hands the item back for redelivery.
class ActivityCompletion {
 public:
  explicit ActivityCompletion(runtime::ActivityDone done) : done_(std::move(done)) {}
  ~ActivityCompletion();
  // Never blocks: the outcome is queued for the runtime's completion thread.
  void Report(runtime::ActivityOutcome outcome);
  // The activity finished synchronously: nothing is to be reported.
  void Disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = nullptr;
  }

 private:
  std::mutex mu_;
  runtime::ActivityDone done_;
};

// Converts a yielded Python object into a task descriptor. Returns false with *error set when
// the object is not a valid task.
bool ParseTask(py::handle obj, replay::TaskDescriptor* out, std::string* error);

void RegisterHandles(py::module_& m);

}  // namespace duroxide::bindings

#endif  // DUROXIDE_BINDINGS_PY_INVOKER_H_
