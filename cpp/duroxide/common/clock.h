// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_COMMON_CLOCK_H_
#define DUROXIDE_COMMON_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace duroxide {

// The process's virtual clock offset in milliseconds: 0 unless a test moves it (time
// skipping, duroxide.testing). Everything that reads time through NowMs() - timer visibility
// (a TimerFired message becomes visible at fire_at_ms), the turn time behind ctx.utc_now(),
// retry backoff and per-attempt timeouts (both are timers), lock expiry - sees the same virtual
// time, so moving the offset forward makes timers due without waiting.
// Contract: the offset only moves forward while a runtime runs (a test resets it to 0 when
// its runtimes are gone). Production code never touches it.
inline std::atomic<int64_t>& ClockOffsetMs() {
  static std::atomic<int64_t> offset{0};
  return offset;
}

// Real wall-clock milliseconds since the Unix epoch.
inline int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds since the Unix epoch on the (virtual) clock. Used for timers, locks and
// timestamps.
inline int64_t NowMs() { return WallNowMs() + ClockOffsetMs().load(std::memory_order_relaxed); }

// Moves the virtual clock forward by `ms` (>= 0). Test-only.
inline void AdvanceClockMs(int64_t ms) {
  if (ms > 0) ClockOffsetMs().fetch_add(ms, std::memory_order_relaxed);
}

}  // namespace duroxide

#endif  // DUROXIDE_COMMON_CLOCK_H_
