// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/replay/task.h"

#include <algorithm>
#include <cmath>

namespace duroxide::replay {

int64_t RetryPolicy::DelayBeforeRetry(int64_t retry) const {
  switch (backoff) {
    case Backoff::kNone:
      return 0;
    case Backoff::kFixed:
      return fixed_ms;
    case Backoff::kLinear:
      return std::min(base_ms * retry, max_delay_ms);
    case Backoff::kExponential: {
      double d = static_cast<double>(base_ms) * std::pow(multiplier, static_cast<double>(retry - 1));
      return d >= static_cast<double>(max_delay_ms) ? max_delay_ms : static_cast<int64_t>(d);
    }
  }
  return 0;
}

}  // namespace duroxide::replay
