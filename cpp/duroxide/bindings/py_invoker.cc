// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/py_invoker.h"
#include "duroxide/bindings/retry_policy.h"

#include <atomic>

namespace duroxide::bindings {

using replay::Step;
using replay::TaskDescriptor;
using replay::TaskValue;

namespace {

std::atomic<int64_t> g_activity_tokens{0};

LogLevel LevelFromName(const std::string& name) {
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(name, &level);
  return level;
}

// References dropped by threads that do not hold the GIL (a finished orchestration's generator
// and friends), released the next time some thread runs Python anyway. This saves one GIL
// round trip per completed orchestration.
class DeferredRelease {
 public:
  static void Add(py::object& obj) {
    if (!obj) return;
    std::lock_guard<std::mutex> lock(Mu());
    List().push_back(obj.release().ptr());
  }
  // REQUIRES: GIL held.
  static void Drain() {
    std::vector<PyObject*> items;
    {
      std::lock_guard<std::mutex> lock(Mu());
      if (List().empty()) return;
      items.swap(List());
    }
    for (PyObject* p : items) Py_DECREF(p);
  }

 private:
  static std::mutex& Mu() {
    static auto* mu = new std::mutex();
    return *mu;
  }
  static std::vector<PyObject*>& List() {
    static auto* list = new std::vector<PyObject*>();
    return *list;
  }
};

class Codec {
 public:
  // json.loads is looked up once per process (intentionally never released).
  Codec() : loads_(*Loads()) {}
  static py::object* Loads() {
    static auto* loads = new py::object(py::module_::import("json").attr("loads"));
    return loads;
  }
  py::object Decode(const std::string& text) const {
    py::object fast;
    if (DecodeScalar(text, &fast)) return fast;
    try {
      return loads_(text);
    } catch (py::error_already_set&) {
      return py::str(text);
    }
  }
  // The texts json.loads would turn into an int (up to 18 digits), None, True or False,
  // decoded without entering json.loads: most activity results of a replay are such
  // scalars, and the Python call costs several microseconds each. Same values, same types.
  static bool DecodeScalar(const std::string& text, py::object* out) {
    if (text == "null") { *out = py::none(); return true; }
    if (text == "true") { *out = py::bool_(true); return true; }
    if (text == "false") { *out = py::bool_(false); return true; }
    const size_t sign = (!text.empty() && text[0] == '-') ? 1 : 0;
    const size_t digits = text.size() - sign;
    if (digits == 0 || digits > 18) return false;
    if (text[sign] == '0' && digits > 1) return false;  // JSON has no leading zeros
    int64_t v = 0;
    for (size_t i = sign; i < text.size(); ++i) {
      const char c = text[i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = py::int_(sign ? -v : v);
    return true;
  }
  py::object ErrorText(const std::string& text) const {
    py::object v = Decode(text);
    if (py::isinstance<py::str>(v)) return v;
    return py::str(text);
  }
  py::object Value(const TaskValue& v) const {
    switch (v.type) {
      case TaskValue::Type::kOk: return Decode(v.payload);
      case TaskValue::Type::kErr: return ErrorText(v.payload);
      case TaskValue::Type::kJoin: {
        py::list items;
        for (const auto& item : v.items) {
          py::dict d;
          if (item.type == TaskValue::Type::kErr) d["err"] = ErrorText(item.payload);
          else d["ok"] = Value(item);
          items.append(d);
        }
        return items;
      }
      case TaskValue::Type::kSelect: {
        py::dict d;
        d["index"] = v.index;
        d["value"] = v.items.empty() ? py::object(py::none()) : Value(v.items[0]);
        return d;
      }
    }
    return py::none();
  }

 private:
  py::object loads_;
};

Step StepFromResult(py::handle result, py::object* last_task) {
  Step step;
  py::tuple t = py::reinterpret_borrow<py::tuple>(result);
  const std::string kind = t[0].cast<std::string>();
  if (kind == "yield") {
    std::string error;
    if (!ParseTask(t[1], &step.task, &error)) {
      step.kind = Step::Kind::kFail;
      step.error = "invalid task: " + error;
      return step;
    }
    step.kind = Step::Kind::kYield;
    *last_task = py::reinterpret_borrow<py::object>(t[1]);
  } else if (kind == "complete") {
    step.kind = Step::Kind::kComplete;
    step.output = t[1].cast<std::string>();
  } else {
    step.kind = Step::Kind::kFail;
    step.error = t[1].cast<std::string>();
  }
  return step;
}

class PySession : public replay::OrchestrationSession {
 public:
  PySession(py::object gen, py::object step, py::object last_task,
            std::shared_ptr<HostHandle> handle)
      : gen_(std::move(gen)), step_(std::move(step)), last_task_(std::move(last_task)),
        handle_(std::move(handle)) {}

  ~PySession() override {
    handle_->active = false;
    handle_->host = nullptr;
    if (finished_ && PythonAlive()) {
      // The generator is exhausted: nothing to close, the references can wait for the GIL.
      DeferredRelease::Add(gen_);
      DeferredRelease::Add(step_);
      DeferredRelease::Add(last_task_);
      return;
    }
    if (!PythonAlive()) {
      gen_.release();
      step_.release();
      last_task_.release();
      return;
    }
    py::gil_scoped_acquire gil;
    try {
      if (gen_ && !gen_.is_none()) gen_.attr("close")();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("closing an orchestration generator");
    }
    gen_ = py::object();
    step_ = py::object();
    last_task_ = py::object();
  }

  void MarkFinished() { finished_ = true; }

  Step Resume(const TaskValue& value) override {
    py::gil_scoped_acquire gil;
    DeferredRelease::Drain();
    handle_->active = true;
    Step step;
    try {
      Codec codec;
      const bool is_error = value.type == TaskValue::Type::kErr;
      py::object arg = is_error ? codec.ErrorText(value.payload) : codec.Value(value);
      py::object details = py::none();
      if (is_error && !value.failure_source.empty()) {
        py::dict d;
        d["source"] = value.failure_source;
        d["category"] = value.error_category;
        d["kind"] = value.error_kind;
        if (!value.traceback.empty()) d["traceback"] = value.traceback;
        details = std::move(d);
      }
      step = StepFromResult(step_(gen_, last_task_, arg, is_error, details), &last_task_);
    } catch (py::error_already_set& e) {
      step.kind = Step::Kind::kFail;
      step.error = std::string("internal driver error: ") + e.what();
    }
    if (step.kind != Step::Kind::kYield) finished_ = true;
    handle_->active = false;
    return step;
  }

 private:
  py::object gen_;
  py::object step_;
  py::object last_task_;
  std::shared_ptr<HostHandle> handle_;
  bool finished_ = false;  // the generator returned or raised: no close() needed
};

}  // namespace

PyOrchestrationInvoker::PyOrchestrationInvoker(py::object registry) : registry_(std::move(registry)) {
  py::module_ driver = py::module_::import("duroxide.worker.driver");
  resolve_ = driver.attr("resolve");
  start_ = driver.attr("start");
  step_ = driver.attr("step");
  context_class_ =
      py::module_::import("duroxide.workflow.context").attr("OrchestrationContext");
}

PyOrchestrationInvoker::~PyOrchestrationInvoker() {
  DropReference(registry_);
  DropReference(resolve_);
  DropReference(start_);
  DropReference(step_);
  DropReference(context_class_);
}

Result<std::unique_ptr<replay::OrchestrationSession>> PyOrchestrationInvoker::Start(
    const replay::OrchestrationCall& call, replay::OrchestrationHost* host, Step* first) {
  py::gil_scoped_acquire gil;
  DeferredRelease::Drain();
  try {
    py::object fn = resolve_(registry_, call.name, call.version);
    if (fn.is_none()) {
      return Status::NotFound("start_orchestration", "Orchestration '" + call.name +
                                                         "' not registered on Python side");
    }
    auto handle = std::make_shared<HostHandle>();
    handle->host = host;
    handle->active = true;
    py::dict info("instanceId"_a = call.instance, "executionId"_a = call.execution_id,
                  "orchestrationName"_a = call.name, "orchestrationVersion"_a = call.version,
                  "traceContext"_a = call.trace_context, "startedAtMs"_a = call.started_at_ms,
                  "parentInstanceId"_a = call.parent_instance,
                  "parentExecutionId"_a = call.parent_execution_id, "_host"_a = py::cast(handle));
    py::object ctx = context_class_(info);
    py::tuple result = start_(fn, ctx, call.input);
    py::object last_task;
    *first = StepFromResult(result, &last_task);
    handle->active = false;
    auto session = std::make_unique<PySession>(py::reinterpret_borrow<py::object>(result[2]),
                                               step_, last_task, handle);
    if (first->kind != Step::Kind::kYield) session->MarkFinished();
    return std::unique_ptr<replay::OrchestrationSession>(std::move(session));
  } catch (py::error_already_set& e) {
    first->kind = Step::Kind::kFail;
    first->error = std::string("internal driver error: ") + e.what();
    return std::unique_ptr<replay::OrchestrationSession>();
  }
}

PyActivityInvoker::PyActivityInvoker(py::object client_factory)
    : client_factory_(std::move(client_factory)),
      run_activity_(py::module_::import("duroxide.worker.driver").attr("run_activity")) {}

PyActivityInvoker::~PyActivityInvoker() {
  if (!PythonAlive()) {
    for (auto& [name, fn] : fns_) fn.release();
    client_factory_.release();
    run_activity_.release();
    return;
  }
  py::gil_scoped_acquire gil;
  fns_.clear();
  client_factory_ = py::object();
  run_activity_ = py::object();
}

void PyActivityInvoker::Register(const std::string& name, py::object fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    names_.insert(name);
  }
  fns_[name] = std::move(fn);
}

bool PyActivityInvoker::Has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_.count(name) > 0;
}

runtime::ActivityOutcome PyActivityInvoker::Invoke(const runtime::ActivityCall& call) {
  py::gil_scoped_acquire gil;
  DeferredRelease::Drain();
  return *Call(call, py::none());
}

std::optional<runtime::ActivityOutcome> PyActivityInvoker::Start(const runtime::ActivityCall& call,
                                                                 runtime::ActivityDone done) {
  py::gil_scoped_acquire gil;
  DeferredRelease::Drain();
  auto completion = std::make_shared<ActivityCompletion>(std::move(done));
  std::optional<runtime::ActivityOutcome> outcome = Call(call, py::cast(completion));
  if (outcome) completion->Disarm();
  return outcome;
}

std::optional<runtime::ActivityOutcome> PyActivityInvoker::Call(const runtime::ActivityCall& call,
                                                                py::object completion) {
  const history::WorkItem& task = call.task;
  runtime::ActivityOutcome outcome;
  auto it = fns_.find(task.name);
  if (it == fns_.end()) {
    outcome.error = "Activity '" + task.name + "' is not registered";
    return outcome;
  }
  try {
    auto handle = std::make_shared<ActivityHandle>();
    handle->cancelled = call.cancelled;
    handle->fields = {{"instance_id", task.instance},
                      {"execution_id", std::to_string(task.execution_id)},
                      {"orchestration_name", task.orchestration_name},
                      {"orchestration_version", task.orchestration_version},
                      {"activity_name", task.name},
                      {"activity_id", std::to_string(task.id)},
                      {"worker_id", call.worker_id}};
    if (task.tag) handle->fields.emplace_back("activity_tag", *task.tag);
    py::dict info("instanceId"_a = task.instance, "executionId"_a = task.execution_id,
                  "orchestrationName"_a = task.orchestration_name,
                  "orchestrationVersion"_a = task.orchestration_version,
                  "activityName"_a = task.name, "activityId"_a = task.id,
                  "workerId"_a = call.worker_id, "sessionId"_a = task.session_id,
                  "tag"_a = task.tag, "traceContext"_a = task.trace_context,
                  "attempt"_a = call.attempt,
                  "_traceToken"_a = "act-" + std::to_string(++g_activity_tokens));
    py::object ret =
        run_activity_(it->second, info, py::cast(handle), client_factory_, task.input, completion);
    if (ret.is_none()) return std::nullopt;  // handed to the event loop: reported later
    py::tuple r = ret.cast<py::tuple>();
    outcome.ok = r[0].cast<bool>();
    (outcome.ok ? outcome.output : outcome.error) = r[1].cast<std::string>();
    // A third item: (True, json, True) is a task-cache hit; (False, error, traceback).
    if (r.size() > 2 && outcome.ok) outcome.from_cache = r[2].cast<bool>();
    if (r.size() > 2 && !outcome.ok) outcome.traceback = r[2].cast<std::string>();
  } catch (py::error_already_set& e) {
    outcome.ok = false;
    outcome.error = "Activity '" + task.name + "' call failed: " + e.what();
  }
  return outcome;
}

ActivityCompletion::~ActivityCompletion() {
  runtime::ActivityOutcome lost;
  lost.abandon = true;
  Report(std::move(lost));
}

void ActivityCompletion::Report(runtime::ActivityOutcome outcome) {
  runtime::ActivityDone done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(done_);
  }
  if (done) done(std::move(outcome));
}

namespace {

void RegisterActivityCompletion(py::module_& m) {
  py::class_<ActivityCompletion, std::shared_ptr<ActivityCompletion>>(m, "_ActivityCompletion")
      .def(
          "complete",
          [](ActivityCompletion& c, bool ok, std::string text, bool from_cache,
             std::string traceback) {
            runtime::ActivityOutcome o;
            o.ok = ok;
            (ok ? o.output : o.error) = std::move(text);
            o.from_cache = ok && from_cache;
            if (!ok) o.traceback = std::move(traceback);
            py::gil_scoped_release release;
            c.Report(std::move(o));
          },
          py::arg("ok"), py::arg("text"), py::arg("from_cache") = false,
          py::arg("traceback") = "")
      .def("abandon", [](ActivityCompletion& c) {
        runtime::ActivityOutcome o;
        o.abandon = true;
        py::gil_scoped_release release;
        c.Report(std::move(o));
      });
}

// What OrchestrationContext calls: every mutation is a no-op outside an active step.
void RegisterHostHandle(py::module_& m) {
  py::class_<HostHandle, std::shared_ptr<HostHandle>>(m, "_OrchestrationHost")
      .def("set_custom_status",
           [](HostHandle& h, std::string s) {
             if (h.active) h.host->SetCustomStatus(std::move(s));
           })
      .def("reset_custom_status",
           [](HostHandle& h) {
             if (h.active) h.host->SetCustomStatus(std::nullopt);
           })
      .def("get_custom_status",
           [](HostHandle& h) -> std::optional<std::string> {
             return h.host ? h.host->GetCustomStatus() : std::nullopt;
           })
      .def("set_kv",
           [](HostHandle& h, const std::string& k, const std::string& v) {
             if (h.active) h.host->SetKv(k, v);
           })
      .def("get_kv",
           [](HostHandle& h, const std::string& k) -> std::optional<std::string> {
             return h.host ? h.host->GetKv(k) : std::nullopt;
           })
      .def("get_kv_all",
           [](HostHandle& h) {
             return h.host ? h.host->GetKvAll() : std::map<std::string, std::string>();
           })
      .def("clear_kv",
           [](HostHandle& h, const std::string& k) {
             if (h.active) h.host->ClearKv(k);
           })
      .def("clear_all_kv",
           [](HostHandle& h) {
             if (h.active) h.host->ClearAllKv();
           })
      .def("prune_kv",
           [](HostHandle& h, int64_t cutoff) -> int64_t {
             return h.active ? h.host->PruneKv(cutoff) : 0;
           })
      .def("send_message",
           [](HostHandle& h, const std::string& target, const std::string& queue,
              const std::string& data, const std::string& meta) -> std::string {
             return h.active ? h.host->SendMessage(target, queue, data, meta) : std::string();
           })
      .def("publish_event",
           [](HostHandle& h, const std::string& topic, const std::string& data) {
             if (h.active) h.host->PublishEvent(topic, data);
           })
      .def("subscribe",
           [](HostHandle& h, const std::string& topic) {
             if (h.active) h.host->SubscribeTopic(topic);
           })
      .def("unsubscribe",
           [](HostHandle& h, const std::string& topic) {
             if (h.active) h.host->UnsubscribeTopic(topic);
           })
      .def("is_replaying", [](HostHandle& h) { return h.host && h.host->is_replaying(); })
      .def("trace", [](HostHandle& h, const std::string& level, const std::string& msg) {
        if (h.active) h.host->Trace(LevelFromName(level), msg);
      });
}

}  // namespace

void RegisterHandles(py::module_& m) {
  RegisterActivityCompletion(m);
  // The one retry-policy validator (retry_policy.h), called at the call site.
  m.def("_normalize_retry_policy", &NormalizeRetryPolicy, py::arg("policy"),
        py::arg("what") = "retry policy");
  RegisterHostHandle(m);
  py::class_<ActivityHandle, std::shared_ptr<ActivityHandle>>(m, "_ActivityHandle")
      .def("is_cancelled", [](ActivityHandle& h) { return h.cancelled && h.cancelled->load(); })
      .def("trace", [](ActivityHandle& h, const std::string& level, const std::string& msg) {
        Log(LevelFromName(level), "duroxide::activity", msg, h.fields);
      });
}

}  // namespace duroxide::bindings
