// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Dialect-independent rules of the ProviderAdmin capability, shared by the SQLite and
// PostgreSQL providers (each adapts its column type to std::optional<std::string>). Pure.
#ifndef DUROXIDE_PROVIDERS_ADMIN_COMMON_H_
#define DUROXIDE_PROVIDERS_ADMIN_COMMON_H_

#include <optional>
#include <string>

namespace duroxide::providers::admin {

// The status of an instance's current execution. An instance row without an execution row
// does not occur (both are written by the same ack); it reads as Running rather than failing
// a whole listing.
inline std::string StatusOrRunning(const std::optional<std::string>& status) {
  return status.value_or("Running");
}

// A Failed execution reports its error text as output (api.md 1.11: "output" is the raw result
// of a Completed execution, the error of a Failed one).
inline std::optional<std::string> OutputFor(const std::string& status,
                                            const std::optional<std::string>& output,
                                            const std::optional<std::string>& error) {
  if (status == "Failed" && error) return error;
  return output;
}

// ContinuedAsNew as the current status means the next execution has not started yet.
inline bool StillRunning(const std::string& status) {
  return status == "Running" || status == "ContinuedAsNew";
}

// MUST be the text of the error delete_instance raises without force (api.md 1.4).
inline std::string RunningMessage(const std::string& instance) {
  return "Instance " + instance + " is still running. Use force=true or cancel first.";
}

}  // namespace duroxide::providers::admin

#endif  // DUROXIDE_PROVIDERS_ADMIN_COMMON_H_
