// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "duroxide/bindings/py_invoker.h"
#include "duroxide/runtime/runtime.h"

namespace duroxide::bindings {

namespace {

// Applies a filter like "info" or "warn,duroxide::orchestration=debug" (RUST_LOG syntax).
bool ApplyFilter(const std::string& filter, const std::string& format) {
  std::stringstream ss(filter);
  std::string part;
  LogLevel global = LogLevel::kWarn;
  std::vector<std::pair<std::string, LogLevel>> targets;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    LogLevel level;
    if (eq == std::string::npos) {
      if (!ParseLogLevel(part, &level)) return false;
      global = level;
    } else {
      if (!ParseLogLevel(part.substr(eq + 1), &level)) return false;
      targets.emplace_back(part.substr(0, eq), level);
    }
  }
  ConfigureLogging(global, format);
  for (const auto& [target, level] : targets) SetTargetLevel(target, level);
  return true;
}

// DUROXIDE_LOG, else RUST_LOG, else nullptr.
const char* EnvFilter() {
  const char* env = std::getenv("DUROXIDE_LOG");
  if (env && *env) return env;
  env = std::getenv("RUST_LOG");
  return (env && *env) ? env : nullptr;
}

std::string UserFilter(const std::string& level) {
  return "warn,duroxide::orchestration=" + level + ",duroxide::activity=" + level;
}

bool g_tracing_initialized = false;

void InitTracingShim(const std::string& path, std::optional<std::string> level,
                     std::optional<std::string> format) {
  // The log file is checked before anything else (api.md 1.10): a bad path reports the path
  // even when a subscriber is already installed.
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    Raise("TracingError", "Failed to open log file '" + path + "': " + std::strerror(errno));
  }
  if (g_tracing_initialized) {
    std::fclose(file);
    Raise("TracingError", "Failed to init tracing: a global subscriber is already installed");
  }
  LogLevel parsed;
  const std::string lvl = level.value_or("info");
  if (!ParseLogLevel(lvl, &parsed)) {
    std::fclose(file);
    Raise("TracingError", "Failed to init tracing: unknown log level '" + lvl + "'");
  }
  const char* env = EnvFilter();
  const std::string fmt = format.value_or("compact");
  if (!(env && ApplyFilter(env, fmt))) ApplyFilter(UserFilter(lvl), fmt);
  SetLogFile(file);
  g_tracing_initialized = true;
}

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
  if (auto v = Opt<bool>(d, "time_skipping")) o.time_skipping = *v;  // test-only
  if (auto mode = Opt<std::string>(d, "tag_mode")) {
    using M = providers::TagFilter::Mode;
    if (*mode == "default_only") o.worker_tag_filter.mode = M::kDefaultOnly;
    else if (*mode == "any") o.worker_tag_filter.mode = M::kAny;
    else if (*mode == "none") o.worker_tag_filter.mode = M::kNone;
    else if (*mode == "tags") o.worker_tag_filter.mode = M::kTags;
    else if (*mode == "default_and") o.worker_tag_filter.mode = M::kDefaultAnd;
    else throw py::value_error("unknown tag filter mode '" + *mode + "'");
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
  LogFields service;
  if (auto v = Opt<std::string>(d, "service_name")) service.emplace_back("service_name", *v);
  if (auto v = Opt<std::string>(d, "service_version")) service.emplace_back("service_version", *v);
  if (!service.empty()) SetGlobalFields(std::move(service));
  auto level = Opt<std::string>(d, "log_level");
  auto format = Opt<std::string>(d, "log_format");
  if (!g_tracing_initialized && (level || format)) {
    const char* env = EnvFilter();
    const std::string fmt = format.value_or("compact");
    if (!(env && ApplyFilter(env, fmt))) {
      if (!ApplyFilter(UserFilter(level.value_or("info")), fmt)) {
        throw py::value_error("unknown log_level '" + level.value_or("") + "'");
      }
    }
  }
  return o;
}

// Python's view of a runtime. Owns the registries and invokers the core calls into.
class RuntimeShim {
 public:
  RuntimeShim(const ProviderHandle& provider, const py::dict& options, py::object registry,
              py::object client_factory)
      : registry_(std::make_shared<runtime::OrchestrationRegistry>()),
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
    if (!st.ok()) throw py::value_error(st.message());
  }

  void Start() {
    Status st;
    {
      py::gil_scoped_release release;
      st = runtime_->Start();
    }
    if (!st.ok()) Raise("RuntimeStateError", st.message());
  }

  void Shutdown(int64_t timeout_ms) {
    py::gil_scoped_release release;
    runtime_->Shutdown(timeout_ms);
  }

  std::map<std::string, int64_t> Metrics() const { return runtime_->MetricsSnapshot(); }
  // Time skipping (test-only, duroxide.testing): see runtime::Runtime.
  int64_t SkipTimeIfIdle() {
    py::gil_scoped_release release;
    return runtime_->SkipTimeIfIdle();
  }
  void AdvanceClock(int64_t ms) {
    if (ms < 0) throw py::value_error("advance_clock: ms must be >= 0, got " + std::to_string(ms));
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
  std::shared_ptr<runtime::OrchestrationRegistry> registry_;
  std::shared_ptr<PyOrchestrationInvoker> orchestrations_;
  std::shared_ptr<PyActivityInvoker> activities_;
  std::unique_ptr<runtime::Runtime> runtime_;
};

}  // namespace

void RegisterRuntime(py::module_& m) {
  RegisterHandles(m);
  py::class_<RuntimeShim>(m, "Runtime")
      .def(py::init<const ProviderHandle&, const py::dict&, py::object, py::object>(),
           py::arg("provider"), py::arg("options"), py::arg("registry"), py::arg("client_factory"))
      .def("register_activity", &RuntimeShim::RegisterActivity)
      .def("register_orchestration", &RuntimeShim::RegisterOrchestration)
      .def("start", &RuntimeShim::Start)
      .def("shutdown", &RuntimeShim::Shutdown, py::arg("timeout_ms"))
      .def("metrics_snapshot", &RuntimeShim::Metrics)
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
  m.def("init_tracing", &InitTracingShim, py::arg("log_file"), py::arg("log_level") = py::none(),
        py::arg("log_format") = py::none());
  m.def("configure_logging", [](const std::string& filter, const std::string& format) {
    if (!ApplyFilter(filter, format)) throw py::value_error("invalid log filter '" + filter + "'");
  });
  // Default: warnings and errors of the runtime on stderr; RUST_LOG / DUROXIDE_LOG override.
  const char* env = EnvFilter();
  if (!(env && ApplyFilter(env, "compact"))) ConfigureLogging(LogLevel::kWarn, "compact");
}

}  // namespace duroxide::bindings
