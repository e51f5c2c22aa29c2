// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/common/logging.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

namespace duroxide {
namespace {

struct LogState {
  std::mutex mu;
  LogLevel level = LogLevel::kWarn;
  std::string format = "compact";
  std::map<std::string, LogLevel> target_levels;
  std::FILE* file = nullptr;  // owned when not null
  LogFields global_fields;
  std::shared_ptr<const LogSink> sink;  // used while file == nullptr
};

LogState& State() {
  static LogState* state = new LogState();  // never destroyed: usable during exit
  return *state;
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms.count()));
  return out;
}

}  // namespace

bool ParseLogLevel(const std::string& text, LogLevel* out) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "trace") *out = LogLevel::kTrace;
  else if (t == "debug") *out = LogLevel::kDebug;
  else if (t == "info") *out = LogLevel::kInfo;
  else if (t == "warn" || t == "warning") *out = LogLevel::kWarn;
  else if (t == "error") *out = LogLevel::kError;
  else if (t == "off") *out = LogLevel::kOff;
  else return false;
  return true;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "TRACE";
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kOff: return "OFF";
  }
  return "?";
}

void ConfigureLogging(LogLevel level, const std::string& format) {
  auto& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.level = level;
  s.format = format;
}

void SetTargetLevel(const std::string& target, LogLevel level) {
  auto& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.target_levels[target] = level;
}

void SetLogFile(std::FILE* file) {
  auto& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.file) std::fclose(s.file);
  s.file = file;
}

static LogLevel EffectiveLevel(const LogState& s, const std::string& target) {
  // Longest matching prefix wins ("duroxide::orchestration" matches its sub-targets).
  LogLevel level = s.level;
  size_t best = 0;
  for (const auto& [prefix, lvl] : s.target_levels) {
    if (target.compare(0, prefix.size(), prefix) == 0 && prefix.size() >= best) {
      best = prefix.size();
      level = lvl;
    }
  }
  return level;
}

void SetLogSink(LogSink sink) {
  auto& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.sink = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
}

void SetGlobalFields(LogFields fields) {
  auto& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.global_fields = std::move(fields);
}

bool LogEnabled(LogLevel level, const std::string& target) {
  auto& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  return level >= EffectiveLevel(s, target) && level != LogLevel::kOff;
}

void Log(LogLevel level, const std::string& target, const std::string& message,
         const LogFields& record_fields) {
  auto& s = State();
  std::unique_lock<std::mutex> lock(s.mu);
  if (level < EffectiveLevel(s, target) || level == LogLevel::kOff) return;
  LogFields fields = record_fields;
  fields.insert(fields.end(), s.global_fields.begin(), s.global_fields.end());
  if (s.sink && s.file == nullptr) {
    std::shared_ptr<const LogSink> sink = s.sink;
    lock.unlock();  // the sink may take other locks (e.g. Python's GIL): never under ours
    (*sink)(LogRecord{level, target, message, std::move(fields)});
    return;
  }
  std::FILE* out = s.file ? s.file : stderr;
  std::string line;
  if (s.format == "json") {
    nlohmann::json j;
    j["timestamp"] = Timestamp();
    j["level"] = LogLevelName(level);
    j["target"] = target;
    j["message"] = message;
    nlohmann::json f = nlohmann::json::object();
    for (const auto& [k, v] : fields) f[k] = v;
    j["fields"] = f;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (s.format == "pretty") {
    line = Timestamp() + "  " + LogLevelName(level) + " " + target + ": " + message + "\n";
    for (const auto& [k, v] : fields) line += "    " + k + ": " + v + "\n";
  } else {
    line = Timestamp() + " " + LogLevelName(level) + " " + target + ": " + message;
    for (const auto& [k, v] : fields) line += " " + k + "=" + v;
    line += "\n";
  }
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

}  // namespace duroxide
