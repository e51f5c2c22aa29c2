// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The operations capability of a provider (docs/operations.md): suspend, resume and terminate
// an instance, and the raw queue rows "what does it wait on" is derived from. The algorithms
// and their SQL are written once (ops_common.cc, `$n` placeholders that both dialects accept);
// a provider contributes only OpsTx, a way to run statements inside one of its transactions.
#ifndef DUROXIDE_PROVIDERS_PROVIDER_OPS_H_
#define DUROXIDE_PROVIDERS_PROVIDER_OPS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "duroxide/common/status.h"

namespace duroxide::providers {

// Statements inside one transaction of a provider. Values come back as text (NULL = nullopt),
// whatever their column type. A failing statement throws (the provider turns it into a
// Status and rolls back).
class OpsTx {
 public:
  using Param = std::variant<int64_t, std::string>;
  using Row = std::vector<std::optional<std::string>>;
  virtual ~OpsTx() = default;
  virtual std::vector<Row> Query(const char* sql, const std::vector<Param>& params) = 0;
};

// What RunOps tells the provider to wake after a commit (in this process and, where the
// provider notifies other processes, in those too).
struct OpsWake {
  bool orchestrator = false;
  bool worker = false;
  std::string instance;  // non-empty: its status changed
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_PROVIDER_OPS_H_
