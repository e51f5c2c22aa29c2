// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_REGISTRY_H_
#define DUROXIDE_RUNTIME_REGISTRY_H_

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "duroxide/common/status.h"

namespace duroxide::runtime {

// Parses "MAJOR.MINOR.PATCH" (pre-release/build suffixes ignored for ordering).
bool ParseSemver(const std::string& text, int64_t out[3]);

// Which orchestration names and versions this runtime can run. The functions themselves live
// with the binding's invoker; the registry only decides versions.
// Thread-safety: thread-safe.
class OrchestrationRegistry {
 public:
  // An unversioned registration is version "1.0.0". kInvalidArgument for a malformed version.
  Status Register(const std::string& name, const std::string& version);
  // `requested` set: that exact version if registered. Otherwise the latest registered version.
  std::optional<std::string> Resolve(const std::string& name,
                                     const std::optional<std::string>& requested) const;
  bool HasName(const std::string& name) const;
  // register_orchestration(name, on_failure=...): true = "suspend", false = "fail";
  // nullopt when `name` has none (the runtime's option decides).
  void SetSuspendOnFailure(const std::string& name, bool suspend);
  std::optional<bool> SuspendOnFailure(const std::string& name) const;

 private:
  struct VersionLess {
    bool operator()(const std::string& a, const std::string& b) const;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string, VersionLess>> versions_;
  std::map<std::string, bool> suspend_on_failure_;
};

class ActivityRegistry {
 public:
  void Register(const std::string& name);
  bool Has(const std::string& name) const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> names_;
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_REGISTRY_H_
