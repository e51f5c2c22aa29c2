// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ReplayEngine's OrchestrationHost side: custom status, KV and tracing calls made by user code
// while one of its steps runs. Each mutation is an emitted event, matched on replay like any
// other, so reads always see the value at that point of the execution.
#include "duroxide/replay/replay_engine.h"
#include "duroxide/replay/replay_node.h"

namespace duroxide::replay {

// ---- OrchestrationHost ------------------------------------------------------------------------

void ReplayEngine::SetCustomStatus(std::optional<std::string> status) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  if (status && static_cast<int64_t>(status->size()) > options_.max_custom_status_bytes) {
    pending_failure_ = ErrorDetails::Configuration(
        "LimitExceeded", "custom status of " + std::to_string(status->size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(options_.max_custom_status_bytes) + " bytes");
    return;
  }
  Event e;
  e.kind = EventKind::kCustomStatusUpdated;
  e.status = status;
  if (Emit(std::move(e)) == kNoPos) return;
  custom_status_ = std::move(status);
}

std::optional<std::string> ReplayEngine::GetCustomStatus() const { return custom_status_; }

void ReplayEngine::SetKv(const std::string& key, const std::string& value) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  if (static_cast<int64_t>(value.size()) > options_.max_kv_value_bytes) {
    pending_failure_ = ErrorDetails::Configuration(
        "LimitExceeded", "KV value for key '" + key + "' is " + std::to_string(value.size()) +
                             " bytes, over the limit of " +
                             std::to_string(options_.max_kv_value_bytes) + " bytes");
    return;
  }
  if (!kv_.count(key) && static_cast<int64_t>(kv_.size()) >= options_.max_kv_keys) {
    pending_failure_ = ErrorDetails::Configuration(
        "LimitExceeded", "KV store would exceed the limit of " +
                             std::to_string(options_.max_kv_keys) + " keys (setting '" + key + "')");
    return;
  }
  Event e;
  e.kind = EventKind::kKeyValueSet;
  e.key = key;
  e.value = value;
  e.last_updated_at_ms = now_ms_;
  const size_t pos = Emit(std::move(e));
  if (pos == kNoPos) return;
  kv_[key] = KvValue{value, events_[pos].last_updated_at_ms};
}

std::optional<std::string> ReplayEngine::GetKv(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second.value;
}

std::map<std::string, std::string> ReplayEngine::GetKvAll() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : kv_) out[k] = v.value;
  return out;
}

void ReplayEngine::ClearKv(const std::string& key) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Event e;
  e.kind = EventKind::kKeyValueCleared;
  e.key = key;
  if (Emit(std::move(e)) == kNoPos) return;
  kv_.erase(key);
}

void ReplayEngine::ClearAllKv() {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Event e;
  e.kind = EventKind::kKeyValuesCleared;
  if (Emit(std::move(e)) == kNoPos) return;
  kv_.clear();
}

int64_t ReplayEngine::PruneKv(int64_t updated_before_ms) {
  std::vector<std::string> victims;
  for (const auto& [k, v] : kv_) {
    if (v.updated_at_ms < updated_before_ms) victims.push_back(k);
  }
  for (const auto& k : victims) ClearKv(k);
  return static_cast<int64_t>(victims.size());
}

void ReplayEngine::Trace(LogLevel level, const std::string& message) {
  if (is_replaying() || events_.empty()) return;
  Log(level, "duroxide::orchestration", message,
      {{"instance_id", instance_},
       {"execution_id", std::to_string(execution_id_)},
       {"orchestration_name", events_[0].name},
       {"orchestration_version", events_[0].version.value_or("1.0.0")}});
}

}  // namespace duroxide::replay
