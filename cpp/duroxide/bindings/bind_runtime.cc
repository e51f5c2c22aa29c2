// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include "duroxide/bindings/py_invoker.h"
#include "duroxide/runtime/interpreter_lock.h"
#include "duroxide/runtime/runtime.h"

namespace duroxide::bindings {

namespace {

// The GIL for the runtime core's batches (runtime/interpreter_lock.h), through pybind11's own
// scoped objects so that the nested gil_scoped_acquire of each user-code call finds this
// thread's state current (and keeps it, instead of creating and deleting one per call).
class PyInterpreterLock : public runtime::InterpreterLock {
 public:
  bool Acquire() override {
    if (!PythonAlive()) return false;
    held_ = new py::gil_scoped_acquire();
    return true;
  }
  void Release() override {
    delete held_;
    held_ = nullptr;
  }
  void* Suspend() override { return new py::gil_scoped_release(); }
  void Resume(void* token) override { delete static_cast<py::gil_scoped_release*>(token); }

 private:
  static thread_local py::gil_scoped_acquire* held_;
};
thread_local py::gil_scoped_acquire* PyInterpreterLock::held_ = nullptr;

template <typename T>
std::optional<T> Opt(const py::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none()) return std::nullopt;
  return d[key].cast<T>();
}

// Wraps a Python callable (schema JSON text -> bool) for worker threads: takes the GIL per
// call; the reference is dropped safely from any thread.
std::function<bool(const std::string&)> CapabilityMatcher(py::object fn) {
  auto holder = std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* p) {
    DropReference(*p);
    delete p;
  });
  return [holder](const std::string& schema) -> bool {
    py::gil_scoped_acquire gil;
    try {
      return (*holder)(schema).cast<bool>();
    } catch (py::error_already_set& e) {
      throw std::runtime_error(e.what());
    }
  };
}

runtime::RuntimeOptions OptionsFromDict(const py::dict& d) {
  runtime::RuntimeOptions o;
  if (auto v = Opt<int>(d, "orchestration_concurrency")) o.orchestration_concurrency = *v;
  if (auto v = Opt<int>(d, "worker_concurrency")) o.worker_concurrency = *v;
  if (auto v = Opt<int64_t>(d, "dispatcher_poll_interval_ms")) o.dispatcher_poll_interval_ms = *v;
  if (auto v = Opt<int64_t>(d, "worker_lock_timeout_ms")) o.worker_lock_timeout_ms = *v;
  if (auto v = Opt<int64_t>(d, "orchestrator_lock_timeout_ms")) o.orchestrator_lock_timeout_ms = *v;
  if (auto v = Opt<int64_t>(d, "max_attempts")) o.max_attempts = *v;
  if (auto v = Opt<int>(d, "max_sessions_per_runtime")) o.max_sessions_per_runtime = *v;
  if (auto v = Opt<int64_t>(d, "session_idle_timeout_ms")) o.session_idle_timeout_ms = *v;
  if (auto v = Opt<std::string>(d, "worker_node_id")) o.worker_node_id = *v;
  if (auto v = Opt<int64_t>(d, "warm_cache_capacity")) o.warm_cache_capacity = static_cast<size_t>(*v);
  if (auto v = Opt<int64_t>(d, "max_payload_bytes")) o.max_payload_bytes = *v;
  if (auto v = Opt<int64_t>(d, "max_history_events")) o.max_history_events = *v;
  if (auto v = Opt<bool>(d, "activity_handoff")) o.activity_handoff = *v;
  if (auto v = Opt<bool>(d, "gil_batching")) o.gil_batching = *v;
  if (auto v = Opt<bool>(d, "time_skipping")) o.time_skipping = *v;  // test-only
  if (auto v = Opt<bool>(d, "schedules_enabled")) o.schedules_enabled = *v;
  if (auto mode = Opt<std::string>(d, "tag_mode")) {
    using M = providers::TagFilter::Mode;
    if (*mode == "default_only") o.worker_tag_filter.mode = M::kDefaultOnly;
    else if (*mode == "any") o.worker_tag_filter.mode = M::kAny;
    else if (*mode == "none") o.worker_tag_filter.mode = M::kNone;
    else if (*mode == "tags") o.worker_tag_filter.mode = M::kTags;
    else if (*mode == "default_and") o.worker_tag_filter.mode = M::kDefaultAnd;
    else Raise(errc::kInvalidArgument, "unknown tag filter mode '" + *mode + "'");
  }
  if (auto tags = Opt<std::vector<std::string>>(d, "tags")) o.worker_tag_filter.tags = *tags;
  if (d.contains("capability_matcher") && !d["capability_matcher"].is_none()) {
    o.capability_matcher = CapabilityMatcher(d["capability_matcher"]);
  }
  // Worker registry (runtime/fleet.h).
  if (auto v = Opt<int64_t>(d, "heartbeat_interval_ms")) o.heartbeat_interval_ms = *v;
  if (auto v = Opt<std::string>(d, "worker_name_hint")) o.worker_name_hint = *v;
  if (auto v = Opt<std::string>(d, "capabilities_json")) o.capabilities_json = *v;
  if (auto v = Opt<int64_t>(d, "worker_retention_ms")) o.worker_retention_ms = *v;
  if (auto v = Opt<int64_t>(d, "drain_grace_ms")) o.drain_grace_ms = *v;
  if (auto v = Opt<bool>(d, "session_placement")) o.session_placement = *v;
  if (auto v = Opt<std::string>(d, "duroxide_version")) o.duroxide_version = *v;
  o.service_name = Opt<std::string>(d, "service_name");
  o.service_version = Opt<std::string>(d, "service_version");
  // Logging options (log_level, log_format, service fields on records) are process-wide:
  // LogOptionsFromDict keeps them for Start().
  return o;
}

// Logging options are process-wide: applied when the runtime starts, never when options or
// the runtime are merely created.
struct LogOptions {
  std::optional<std::string> level;
  std::optional<std::string> format;
  LogFields service;
};

LogOptions LogOptionsFromDict(const py::dict& d) {
  LogOptions l;
  if (auto v = Opt<std::string>(d, "service_name")) l.service.emplace_back("service_name", *v);
  if (auto v = Opt<std::string>(d, "service_version")) {
    l.service.emplace_back("service_version", *v);
  }
  l.level = Opt<std::string>(d, "log_level");
  l.format = Opt<std::string>(d, "log_format");
  return l;
}

// Python's view of a runtime. Owns the registries and invokers the core calls into.
class RuntimeShim {
 public:
  RuntimeShim(const ProviderHandle& provider, const py::dict& options, py::object registry,
              py::object client_factory)
      : log_options_(LogOptionsFromDict(options)),
        registry_(std::make_shared<runtime::OrchestrationRegistry>()),
        orchestrations_(std::make_shared<PyOrchestrationInvoker>(std::move(registry))),
        activities_(std::make_shared<PyActivityInvoker>(std::move(client_factory))) {
    runtime_ = std::make_unique<runtime::Runtime>(provider.provider, OptionsFromDict(options),
                                                  orchestrations_, activities_, registry_);
  }

  ~RuntimeShim() {
    // Dispatcher threads may need the GIL to finish a step: never wait for them holding it.
    py::gil_scoped_release release;
    runtime_.reset();
    orchestrations_.reset();
    activities_.reset();
  }

  void RegisterActivity(const std::string& name, py::object fn) {
    activities_->Register(name, std::move(fn));
  }

  void RegisterOrchestration(const std::string& name, const std::string& version) {
    Status st = registry_->Register(name, version);
    if (!st.ok()) Raise(errc::kInvalidArgument, st.message());
  }

  void Start() {
    if (!log_options_.service.empty()) SetGlobalFields(log_options_.service);
    ApplyLogOptions(log_options_.level, log_options_.format);
    Status st;
    {
      py::gil_scoped_release release;
      st = runtime_->Start();
    }
    if (!st.ok()) Raise(errc::kRuntimeState, st.message());
  }

  void Shutdown(int64_t timeout_ms) {
    py::gil_scoped_release release;
    runtime_->Shutdown(timeout_ms);
  }

  std::map<std::string, int64_t> Metrics() const { return runtime_->MetricsSnapshot(); }
  // {"bounds": [...], "turn": (buckets, sum_s), "activities": {name: (ok, failed, buckets,
  // sum_s)}}: buckets are per-bucket counts (not cumulative), the last one +Inf.
  py::dict MetricsDetail() const {
    runtime::HistogramData turn;
    std::map<std::string, runtime::ActivityNameStats> acts;
    {
      py::gil_scoped_release release;  // the activity table's lock may be contended
      turn = runtime_->TurnDurations();
      acts = runtime_->ActivityStats();
    }
    auto hist = [](const runtime::HistogramData& h) {
      py::list b;
      for (int64_t c : h.buckets) b.append(c);
      return py::make_tuple(b, static_cast<double>(h.sum_us) / 1e6);
    };
    py::dict out;
    py::list bounds;
    for (double d : runtime::kDurationBuckets) bounds.append(d);
    out["bounds"] = bounds;
    out["turn"] = hist(turn);
    py::dict by_name;
    for (const auto& [name, s] : acts) {
      py::tuple h = hist(s.duration);
      by_name[py::str(name)] = py::make_tuple(s.completed, s.failed, h[0], h[1]);
    }
    out["activities"] = by_name;
    return out;
  }
  // Time skipping (test-only, duroxide.testing): see runtime::Runtime.
  int64_t SkipTimeIfIdle() {
    py::gil_scoped_release release;
    return runtime_->SkipTimeIfIdle();
  }
  void AdvanceClock(int64_t ms) {
    if (ms < 0) {
      Raise(errc::kInvalidArgument, "advance_clock: ms must be >= 0, got " + std::to_string(ms));
    }
    runtime_->AdvanceClock(ms);
  }
  void SetAutoSkip(bool enabled) { runtime_->SetAutoSkip(enabled); }
  std::string RuntimeId() const { return runtime_->runtime_id(); }

  // Fleet (runtime/fleet.h).
  void SetServes(const std::string& serves_json) { runtime_->SetServes(serves_json); }
  void RequestDrain(int64_t grace_ms) { runtime_->RequestDrain(grace_ms); }
  bool WaitDrained(int64_t timeout_ms) {
    py::gil_scoped_release release;
    return runtime_->WaitDrained(timeout_ms);
  }
  bool Drained() const { return runtime_->drained(); }
  bool DrainRequested() const { return runtime_->drain_requested(); }
  std::string WorkerId() const { return runtime_->worker_id(); }
  std::string WorkerName() const { return runtime_->WorkerName(); }

 private:
  LogOptions log_options_;
  std::shared_ptr<runtime::OrchestrationRegistry> registry_;
  std::shared_ptr<PyOrchestrationInvoker> orchestrations_;
  std::shared_ptr<PyActivityInvoker> activities_;
  std::unique_ptr<runtime::Runtime> runtime_;
};

}  // namespace

void RegisterRuntime(py::module_& m) {
  static PyInterpreterLock interpreter_lock;  // lives as long as the process
  runtime::InstallInterpreterLock(&interpreter_lock);
  RegisterHandles(m);
  py::class_<RuntimeShim>(m, "Runtime")
      .def(py::init<const ProviderHandle&, const py::dict&, py::object, py::object>(),
           py::arg("provider"), py::arg("options"), py::arg("registry"), py::arg("client_factory"))
      .def("register_activity", &RuntimeShim::RegisterActivity)
      .def("register_orchestration", &RuntimeShim::RegisterOrchestration)
      .def("start", &RuntimeShim::Start)
      .def("shutdown", &RuntimeShim::Shutdown, py::arg("timeout_ms"))
      .def("metrics_snapshot", &RuntimeShim::Metrics)
      .def("metrics_detail", &RuntimeShim::MetricsDetail)
      .def_property_readonly("runtime_id", &RuntimeShim::RuntimeId)
      .def("set_serves", &RuntimeShim::SetServes)
      .def("request_drain", &RuntimeShim::RequestDrain, py::arg("grace_ms"))
      .def("wait_drained", &RuntimeShim::WaitDrained, py::arg("timeout_ms"))
      .def_property_readonly("drained", &RuntimeShim::Drained)
      .def_property_readonly("drain_requested", &RuntimeShim::DrainRequested)
      .def_property_readonly("worker_id", &RuntimeShim::WorkerId)
      .def_property_readonly("worker_name", &RuntimeShim::WorkerName)
      .def("skip_time_if_idle", &RuntimeShim::SkipTimeIfIdle)
      .def("advance_clock", &RuntimeShim::AdvanceClock, py::arg("ms"))
      .def("set_auto_skip", &RuntimeShim::SetAutoSkip, py::arg("enabled"));
}

}  // namespace duroxide::bindings
