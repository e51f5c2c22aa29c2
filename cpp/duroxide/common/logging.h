// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Minimal structured logging. The core writes log records through one process-wide sink;
// the Python binding installs a sink that writes to stderr or to the init_tracing file.
// Thread-safety: all functions are thread-safe.
#ifndef DUROXIDE_COMMON_LOGGING_H_
#define DUROXIDE_COMMON_LOGGING_H_

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace duroxide {

enum class LogLevel { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4, kOff = 5 };

// Parses "trace|debug|info|warn|warning|error|off" (case-insensitive). Returns false if unknown.
bool ParseLogLevel(const std::string& text, LogLevel* out);
const char* LogLevelName(LogLevel level);

using LogFields = std::vector<std::pair<std::string, std::string>>;

struct LogRecord {
  LogLevel level;
  std::string target;  // e.g. "duroxide::runtime", "duroxide::orchestration"
  std::string message;
  LogFields fields;
};

// Format of the default sink: "pretty", "json" or anything else for compact.
void ConfigureLogging(LogLevel level, const std::string& format);
// Per-target minimum levels override the global one for user traces.
void SetTargetLevel(const std::string& target, LogLevel level);
// Replaces the output stream of the default sink (nullptr = stderr). Takes ownership of the FILE*.
void SetLogFile(std::FILE* file);
// Another destination for records that pass the level filter (the Python binding routes them
// to Python's `logging`). While a sink is set and no log file is installed, records go to the
// sink instead of stderr. The sink is called WITHOUT the logging mutex held, on the logging
// thread; it MUST NOT block for long. nullptr restores stderr.
using LogSink = std::function<void(LogRecord&&)>;
void SetLogSink(LogSink sink);
// Fields added to every record (e.g. service_name, service_version).
void SetGlobalFields(LogFields fields);
bool LogEnabled(LogLevel level, const std::string& target);
void Log(LogLevel level, const std::string& target, const std::string& message,
         const LogFields& fields = {});

}  // namespace duroxide

#endif  // DUROXIDE_COMMON_LOGGING_H_
