// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_PROVIDERS_CHANGE_SIGNAL_H_
#define DUROXIDE_PROVIDERS_CHANGE_SIGNAL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace duroxide::providers {

// A monotonically increasing counter that threads can wait on: waiters remember seq() before
// looking for work and sleep in WaitSince(seq) only if nothing changed meanwhile, so a
// notification between the check and the wait is never lost.
// Thread-safety: thread-safe.
class ChangeSignal {
 public:
  uint64_t seq() {
    std::lock_guard<std::mutex> lock(mu_);
    return seq_;
  }
  // Wakes every waiter, or at most `wake` of them: when a commit makes n items visible, waking
  // more than n idle dispatchers only makes them race for nothing.
  void Notify(int wake = -1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++seq_;
    }
    if (wake < 0) {
      cv_.notify_all();
    } else {
      for (int i = 0; i < wake; ++i) cv_.notify_one();
    }
  }
  // Returns true if the counter moved past `seen` before timeout_ms elapsed.
  bool WaitSince(uint64_t seen, int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms),
                        [&] { return seq_ != seen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t seq_ = 0;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_CHANGE_SIGNAL_H_
