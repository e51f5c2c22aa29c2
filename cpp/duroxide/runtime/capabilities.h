// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// CapabilityCache: which capability schemas (by hash) this runtime's workers satisfy. The
// store keeps each distinct schema once (schemas table); a runtime reads them, evaluates each
// new one once with the matcher (a JSON Schema validator over the runtime's capabilities) and
// claims `schema_hash IS NULL OR schema_hash IN (matching)` (docs/task-graphs.md).
// Thread-safety: every method may be called from any worker thread.
#ifndef DUROXIDE_RUNTIME_CAPABILITIES_H_
#define DUROXIDE_RUNTIME_CAPABILITIES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

class CapabilityCache {
 public:
  using Matcher = std::function<bool(const std::string& schema)>;

  void set_matcher(Matcher matcher);
  // Reads the store's schemas (at most once per min_interval_ms unless `force`) and evaluates
  // those not seen yet. Returns true when a newly evaluated schema matched (a fetch may now
  // find work it could not before).
  bool Refresh(providers::Provider* provider, int64_t now_ms, int64_t min_interval_ms);
  // True when `schema` (with `hash`) is satisfied; evaluates it if it is new.
  bool Matches(const std::string& hash, const std::string& schema);
  std::vector<std::string> matching();
  int64_t unmatched();

 private:
  bool EvaluateLocked(const std::string& hash, const std::string& schema);

  std::mutex mu_;
  Matcher matcher_;
  std::map<std::string, bool> evaluated_;
  std::vector<std::string> matching_;
  int64_t last_refresh_ms_ = 0;
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_CAPABILITIES_H_
