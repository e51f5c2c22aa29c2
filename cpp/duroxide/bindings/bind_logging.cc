// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Where the core's log records go. Three modes, decided in this order:
//   1. init_tracing(file): the native writer appends to the file (api.md 1.10);
//   2. DUROXIDE_LOG / RUST_LOG set at import, or RuntimeOptions(log_level/log_format) applied
//      by a starting runtime: the native writer on stderr with that filter;
//   3. otherwise (the default): records go to Python's `logging`, logger
//      "duroxide.<target>" ("duroxide::runtime" -> "duroxide.runtime"), with the record's
//      fields as LogRecord attributes (python/duroxide/worker/_log_sink.py).
// GIL discipline for mode 3: the logging mutex is released before the sink runs (logging.cc).
// A thread that already holds the GIL (user code tracing from an orchestration or activity)
// emits directly; any other thread never takes the GIL: it queues the record, and the
// Python pump thread (worker/logging.py) takes the queue with the GIL released while it waits.
#include "duroxide/bindings/pybind.h"

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <sstream>

#include "duroxide/common/logging.h"

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

// Process-wide logging mode (guarded by the GIL: only changed from Python calls).
bool g_tracing_initialized = false;
bool g_python_mode = false;

// Records from threads without the GIL, waiting for the Python pump.
class RecordQueue {
 public:
  static constexpr size_t kMax = 10000;  // beyond this the oldest records are dropped

  void Push(LogRecord&& r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (items_.size() >= kMax) items_.pop_front();
      items_.push_back(std::move(r));
    }
    cv_.notify_one();
  }
  // Waits up to timeout_ms for records (or Stop); returns what is queued.
  std::deque<LogRecord> Take(int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    if (items_.empty() && !stopping_ && timeout_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                   [&] { return !items_.empty() || stopping_; });
    }
    std::deque<LogRecord> out;
    out.swap(items_);
    return out;
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LogRecord> items_;
  bool stopping_ = false;
};

RecordQueue& Queue() {
  static auto* q = new RecordQueue();  // lives for the process: used by exiting threads
  return *q;
}

int PyLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return 5;
    case LogLevel::kDebug: return 10;
    case LogLevel::kInfo: return 20;
    case LogLevel::kWarn: return 30;
    case LogLevel::kError: return 40;
    case LogLevel::kOff: return 50;
  }
  return 20;
}

py::tuple ToPython(const LogRecord& r) {
  py::dict fields;
  for (const auto& [k, v] : r.fields) fields[py::str(k)] = v;
  return py::make_tuple(r.target, PyLevel(r.level), r.message, fields);
}

py::object& EmitFn() {
  static auto* fn = new py::object();  // duroxide.worker._log_sink.emit; leaked at exit on purpose
  return *fn;
}

void PythonSink(LogRecord&& r) {
  if (PythonAlive() && PyGILState_Check()) {
    // This thread runs Python right now (user code tracing): emit in place, in order.
    try {
      py::tuple t = ToPython(r);
      EmitFn()(*t);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("duroxide logging");
    }
    return;
  }
  Queue().Push(std::move(r));
}

void SetPythonMode(bool on) {
  g_python_mode = on;
  SetLogSink(on ? LogSink(&PythonSink) : LogSink());
}

void InitTracingShim(const std::string& path, std::optional<std::string> level,
                     std::optional<std::string> format) {
  // The log file is checked before anything else (api.md 1.10): a bad path reports the path
  // even when a subscriber is already installed.
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    Raise(errc::kTracing, "Failed to open log file '" + path + "': " + std::strerror(errno));
  }
  if (g_tracing_initialized) {
    std::fclose(file);
    Raise(errc::kTracing, "Failed to init tracing: a global subscriber is already installed");
  }
  LogLevel parsed;
  const std::string lvl = level.value_or("info");
  if (!ParseLogLevel(lvl, &parsed)) {
    std::fclose(file);
    Raise(errc::kTracing, "Failed to init tracing: unknown log level '" + lvl + "'");
  }
  const char* env = EnvFilter();
  const std::string fmt = format.value_or("compact");
  if (!(env && ApplyFilter(env, fmt))) ApplyFilter(UserFilter(lvl), fmt);
  SetPythonMode(false);
  SetLogFile(file);
  g_tracing_initialized = true;
}

// Python mode: the runtime target passes the level of Python's "duroxide.runtime" logger
// (so the core does not format debug records nobody wants); user traces always pass, and
// Python's logger levels and handlers decide.
void ConfigurePythonLevels(int runtime_py_level) {
  if (!g_python_mode) return;
  LogLevel runtime = LogLevel::kWarn;
  if (runtime_py_level <= 5) runtime = LogLevel::kTrace;
  else if (runtime_py_level <= 10) runtime = LogLevel::kDebug;
  else if (runtime_py_level <= 20) runtime = LogLevel::kInfo;
  else if (runtime_py_level <= 30) runtime = LogLevel::kWarn;
  else runtime = LogLevel::kError;
  ConfigureLogging(runtime, "compact");
  // Explicitly, not only as the default: a filter applied earlier in this process
  // (`duroxide replay` silences the runtime target) must not outlive it into a runtime.
  SetTargetLevel("duroxide::runtime", runtime);
  SetTargetLevel("duroxide::orchestration", LogLevel::kTrace);
  SetTargetLevel("duroxide::activity", LogLevel::kTrace);
}

}  // namespace

void ApplyLogOptions(const std::optional<std::string>& level,
                     const std::optional<std::string>& format) {
  if (g_tracing_initialized || !(level || format)) return;
  const char* env = EnvFilter();
  const std::string fmt = format.value_or("compact");
  if (!(env && ApplyFilter(env, fmt))) {
    if (!ApplyFilter(UserFilter(level.value_or("info")), fmt)) {
      Raise(errc::kInvalidArgument, "unknown log_level '" + level.value_or("") + "'");
    }
  }
  SetPythonMode(false);  // these options select the native log on stderr
}

void RegisterLogging(py::module_& m) {
  m.def("init_tracing", &InitTracingShim, py::arg("log_file"), py::arg("log_level") = py::none(),
        py::arg("log_format") = py::none());
  m.def("configure_logging", [](const std::string& filter, const std::string& format) {
    if (!ApplyFilter(filter, format)) {
      Raise(errc::kInvalidArgument, "invalid log filter '" + filter + "'");
    }
  });
  m.def("_logging_mode", [] { return g_python_mode ? "python" : "native"; });
  m.def("_configure_python_levels", &ConfigurePythonLevels, py::arg("runtime_level"));
  m.def("_set_python_logging", [](bool on) {
    if (!g_tracing_initialized) SetPythonMode(on);
  });
  m.def("_take_log_records", [](int64_t timeout_ms) {
    std::deque<LogRecord> records;
    {
      py::gil_scoped_release release;
      records = Queue().Take(timeout_ms);
    }
    py::list out;
    for (const LogRecord& r : records) out.append(ToPython(r));
    return out;
  }, py::arg("timeout_ms"));
  m.def("_stop_log_pump", [] { Queue().Stop(); });
  EmitFn() = py::module_::import("duroxide.worker._log_sink").attr("emit");
  // Default: DUROXIDE_LOG / RUST_LOG select the native stderr log; otherwise Python logging.
  const char* env = EnvFilter();
  if (env && ApplyFilter(env, "compact")) {
    SetPythonMode(false);
  } else {
    ConfigureLogging(LogLevel::kWarn, "compact");
    SetPythonMode(true);
    ConfigurePythonLevels(30);
  }
}

}  // namespace duroxide::bindings
