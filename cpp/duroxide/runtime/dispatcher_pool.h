// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// A dispatcher count that follows the work. Internal to runtime/.
//
// A runtime starts all the threads its options allow (orchestration_concurrency,
// worker_concurrency), but only some of them run its loop: the others are parked on this pool's
// condition variable, where they fetch nothing, wake no one and hold no interpreter lock.
// kMinRunning dispatchers per side (fewer if the configured maximum is lower) run from the
// start and always; the configured concurrency is the maximum.
//
// - Orchestration dispatchers: one more runs while EVERY running dispatcher's last fetch came
//   back full (a backlog the running ones do not keep up with; AfterFetch).
// - Worker slots: one more runs when a slot starts a batch and no other running slot is idle
//   (BeginBusy), so a slow activity never leaves the queue without an awake slot, and a full
//   fetch adds one as on the orchestration side.
// - A running dispatcher that found no work for kRetireIdleMs (at least two empty fetches in a
//   row) retires and parks, down to kMinRunning (RetireAndPark); a worker slot that ran a
//   session-bound activity within session_idle_timeout_ms keeps running (its sessions are
//   claimed through its own owner identity), and so does the last running worker slot outside
//   a batch (with the others blocked in long activities, nothing else would fetch).
//
// Why: with more dispatchers than the work needs, each fetches a smaller batch, so the same
// turns and activities cost more transactions, more wake-ups and more interpreter-lock
// hand-offs (docs/performance.md, round 3). Why two and not one at least: with a single
// orchestration dispatcher, an idle runtime's hello waited whenever that thread was off a core
// in its idle path (p90 of the latency row 2.1-3.7 ms with two, 5.5-7.0 ms with one, at load
// 7-8). Nothing here touches what a dispatcher commits:
// every turn is still one atomic commit, and an activity is acknowledged as before.
//
// Thread-safety: thread-safe. Parked threads poll `quitting` every kParkPollMs, so shutdown and
// drain need no extra notification (WakeAll shortens it).
#ifndef DUROXIDE_RUNTIME_DISPATCHER_POOL_H_
#define DUROXIDE_RUNTIME_DISPATCHER_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace duroxide::runtime {

class DispatcherPool {
 public:
  // A dispatcher idle this long (and for two empty fetches) retires.
  static constexpr int64_t kRetireIdleMs = 200;
  static constexpr int64_t kParkPollMs = 50;
  // Dispatchers per side that always run (the maximum if it is lower).
  static constexpr int kMinRunning = 2;

  // `max` threads will call Enter; `adaptive` false runs all of them (the fixed count).
  void Init(int max, bool adaptive);
  // Called once by each thread before its loop: returns when it may run (or when quitting).
  void Enter(const std::function<bool()>& quitting);
  // After every fetch of a running dispatcher: `full` = the fetch filled its batch. Adds a
  // dispatcher when every running one's last fetch was full.
  void AfterFetch(int slot, bool full);
  // A worker slot starts (BeginBusy) or ends (EndBusy) a batch; starting the last idle running
  // slot adds one.
  void BeginBusy(int slot);
  void EndBusy(int slot);
  // Retires the calling dispatcher (it must have nothing fetched) unless only kMinRunning
  // run, and parks it until the pool grows again or `quitting`. Returns whether it parked.
  bool RetireAndPark(int slot, const std::function<bool()>& quitting);
  // Wakes every parked thread (shutdown, drain): they see `quitting` at once.
  void WakeAll();

  int max() const { return max_; }
  // Dispatchers running from the start (and at least, once started).
  int floor() const { return max_ < kMinRunning ? max_ : kMinRunning; }
  // Running dispatchers (not parked).
  int running() const { return running_.load(); }
  // Times a dispatcher was added (woken) and retired (parked) since start.
  int64_t added() const { return added_.load(); }
  int64_t retired() const { return retired_.load(); }

 private:
  // Raises the target by one if allowed; mu_ held.
  void GrowLocked();
  // Waits until running_ < target_ or quitting; mu_ held through `lock`.
  void ParkLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& quitting);

  std::mutex mu_;
  std::condition_variable cv_;
  int max_ = 0;
  int target_ = 0;                // GUARDED_BY(mu_): dispatchers allowed to run
  std::atomic<int> running_{0};   // written under mu_
  int full_ = 0;                  // GUARDED_BY(mu_): running ones whose last fetch was full
  int busy_ = 0;                  // GUARDED_BY(mu_): running ones inside a batch (workers)
  std::vector<char> last_full_;   // GUARDED_BY(mu_), by slot
  std::vector<char> in_batch_;    // GUARDED_BY(mu_), by slot
  std::atomic<int64_t> added_{0};
  std::atomic<int64_t> retired_{0};
};

// A dispatcher's idle bookkeeping for RetireAndPark: empty fetches in a row and since when.
struct IdleStreak {
  int empty_fetches = 0;
  int64_t since_ms = 0;
  // Records a fetch; returns true when the dispatcher has been idle long enough to retire.
  bool Record(bool found_work, int64_t now_ms) {
    if (found_work) {
      empty_fetches = 0;
      return false;
    }
    if (empty_fetches++ == 0) since_ms = now_ms;
    return empty_fetches >= 2 && now_ms - since_ms >= DispatcherPool::kRetireIdleMs;
  }
  void Reset() { empty_fetches = 0; }
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_DISPATCHER_POOL_H_
