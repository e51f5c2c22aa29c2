// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The one exponential backoff of the runtime's hand-written retry loops (store busy, fetch
// failures, unregistered orchestrations): base * 2^attempt, capped at max_ms. Pure.
#ifndef DUROXIDE_COMMON_BACKOFF_H_
#define DUROXIDE_COMMON_BACKOFF_H_

#include <algorithm>
#include <cstdint>

namespace duroxide {

// Delay before retry number `attempt` (0 = the first retry). REQUIRES: base_ms >= 0.
inline int64_t BackoffDelayMs(int64_t base_ms, int64_t max_ms, int64_t attempt) {
  const int64_t shift = std::clamp<int64_t>(attempt, 0, 30);
  const int64_t limit = max_ms >> shift;  // base_ms << shift would exceed max_ms above this
  if (base_ms > limit) return max_ms;
  return std::min(max_ms, base_ms << shift);
}

}  // namespace duroxide

#endif  // DUROXIDE_COMMON_BACKOFF_H_
