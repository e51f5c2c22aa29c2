// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/capabilities.h"

#include <utility>

#include "duroxide/common/logging.h"

namespace duroxide::runtime {

void CapabilityCache::set_matcher(Matcher matcher) {
  std::lock_guard<std::mutex> lock(mu_);
  matcher_ = std::move(matcher);
}

bool CapabilityCache::EvaluateLocked(const std::string& hash, const std::string& schema) {
  auto it = evaluated_.find(hash);
  if (it != evaluated_.end()) return it->second;
  bool ok = false;
  if (matcher_) {
    try {
      ok = matcher_(schema);
    } catch (const std::exception& e) {
      Log(LogLevel::kWarn, "duroxide::runtime",
          std::string("capability schema could not be evaluated: ") + e.what(),
          {{"schema_hash", hash}});
    }
  }
  evaluated_[hash] = ok;
  if (ok) matching_.push_back(hash);
  return ok;
}

bool CapabilityCache::Refresh(providers::Provider* provider, int64_t now_ms,
                              int64_t min_interval_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now_ms - last_refresh_ms_ < min_interval_ms) return false;
    last_refresh_ms_ = now_ms;
  }
  auto schemas = provider->ReadCapabilitySchemas();
  if (!schemas.ok()) return false;
  // The matcher may take the GIL: evaluate without holding mu_ across other workers' fetches
  // for long, but one at a time so that each schema is evaluated once.
  std::lock_guard<std::mutex> lock(mu_);
  bool new_match = false;
  for (const providers::CapabilitySchema& s : *schemas) {
    if (evaluated_.count(s.hash)) continue;
    if (EvaluateLocked(s.hash, s.schema)) new_match = true;
  }
  return new_match;
}

bool CapabilityCache::Matches(const std::string& hash, const std::string& schema) {
  std::lock_guard<std::mutex> lock(mu_);
  return EvaluateLocked(hash, schema);
}

std::vector<std::string> CapabilityCache::matching() {
  std::lock_guard<std::mutex> lock(mu_);
  return matching_;
}

int64_t CapabilityCache::unmatched() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(evaluated_.size() - matching_.size());
}

}  // namespace duroxide::runtime
