// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/registry.h"

#include <cstdlib>

namespace duroxide::runtime {

bool ParseSemver(const std::string& text, int64_t out[3]) {
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos]))) return false;
    size_t end = pos;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    out[i] = std::strtoll(text.substr(pos, end - pos).c_str(), nullptr, 10);
    pos = end;
    if (i < 2) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
  }
  return pos == text.size() || text[pos] == '-' || text[pos] == '+';
}

bool OrchestrationRegistry::VersionLess::operator()(const std::string& a,
                                                    const std::string& b) const {
  int64_t va[3] = {0, 0, 0}, vb[3] = {0, 0, 0};
  ParseSemver(a, va);
  ParseSemver(b, vb);
  for (int i = 0; i < 3; ++i) {
    if (va[i] != vb[i]) return va[i] < vb[i];
  }
  return a < b;
}

Status OrchestrationRegistry::Register(const std::string& name, const std::string& version) {
  int64_t v[3];
  if (!ParseSemver(version, v)) {
    return Status::InvalidArgument("register_orchestration",
                                   "invalid version '" + version + "' for orchestration '" + name +
                                       "': expected MAJOR.MINOR.PATCH");
  }
  std::lock_guard<std::mutex> lock(mu_);
  versions_[name].insert(version);
  return Status::Ok();
}

std::optional<std::string> OrchestrationRegistry::Resolve(
    const std::string& name, const std::optional<std::string>& requested) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = versions_.find(name);
  if (it == versions_.end() || it->second.empty()) return std::nullopt;
  if (requested) {
    if (it->second.count(*requested)) return *requested;
    return std::nullopt;
  }
  return *it->second.rbegin();
}

void OrchestrationRegistry::SetSuspendOnFailure(const std::string& name, bool suspend) {
  std::lock_guard<std::mutex> lock(mu_);
  suspend_on_failure_[name] = suspend;
}

std::optional<bool> OrchestrationRegistry::SuspendOnFailure(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = suspend_on_failure_.find(name);
  if (it == suspend_on_failure_.end()) return std::nullopt;
  return it->second;
}

bool OrchestrationRegistry::HasName(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return versions_.count(name) > 0;
}

void ActivityRegistry::Register(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  names_.insert(name);
}

bool ActivityRegistry::Has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_.count(name) > 0;
}

}  // namespace duroxide::runtime
