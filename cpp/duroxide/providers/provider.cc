// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/provider.h"

#include <algorithm>

namespace duroxide::providers {

const char* ExecutionStatusName(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::kRunning: return "Running";
    case ExecutionStatus::kCompleted: return "Completed";
    case ExecutionStatus::kFailed: return "Failed";
    case ExecutionStatus::kContinuedAsNew: return "ContinuedAsNew";
  }
  return "Running";
}

bool ExecutionStatusFromName(const std::string& name, ExecutionStatus* out) {
  if (name == "Running") *out = ExecutionStatus::kRunning;
  else if (name == "Completed") *out = ExecutionStatus::kCompleted;
  else if (name == "Failed") *out = ExecutionStatus::kFailed;
  else if (name == "ContinuedAsNew") *out = ExecutionStatus::kContinuedAsNew;
  else return false;
  return true;
}

bool TagFilter::Matches(const std::optional<std::string>& tag) const {
  auto listed = [&] { return std::find(tags.begin(), tags.end(), *tag) != tags.end(); };
  switch (mode) {
    case Mode::kDefaultOnly: return !tag.has_value();
    case Mode::kTags: return tag.has_value() && listed();
    case Mode::kDefaultAnd: return !tag.has_value() || listed();
    case Mode::kAny: return true;
    case Mode::kNone: return false;
  }
  return false;
}

}  // namespace duroxide::providers
