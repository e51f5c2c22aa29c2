// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_COMMON_CLOCK_H_
#define DUROXIDE_COMMON_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace duroxide {

// Wall-clock milliseconds since the Unix epoch. Used for timers, locks and timestamps.
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace duroxide

#endif  // DUROXIDE_COMMON_CLOCK_H_
