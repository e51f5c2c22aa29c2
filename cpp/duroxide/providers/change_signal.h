// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_PROVIDERS_CHANGE_SIGNAL_H_
#define DUROXIDE_PROVIDERS_CHANGE_SIGNAL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace duroxide::providers {

// A monotonically increasing counter that threads can wait on: waiters remember seq() before
// looking for work and sleep in WaitSince(seq) only if nothing changed meanwhile, so a
// notification between the check and the wait is never lost.
//
// Consumers: dispatcher threads may attach as consumers. An attached consumer that is not
// sleeping in WaitSince(..., consumer=true) is awake: it will look for work again before it
// next sleeps (it took seq() before its last look, and every Notify moves seq). So a Notify
// for n new items wakes only the sleepers needed beyond the awake consumers, one item each:
// a stream of single starts is picked up in batches by the dispatcher already running instead
// of waking another dispatcher per start (more dispatchers with a batch of one each cost more
// transactions and interpreter-lock hand-offs for the same work). Work beyond what the awake
// consumers take wakes more of them (a full batch fetch notifies again).
// Thread-safety: thread-safe.
class ChangeSignal {
 public:
  uint64_t seq() {
    std::lock_guard<std::mutex> lock(mu_);
    return seq_;
  }
  // Wakes every waiter, or the sleepers needed for `wake` new items (see above).
  void Notify(int wake = -1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++seq_;
      if (wake >= 0) wake = wake > awake_consumers_ ? wake - awake_consumers_ : 0;
    }
    if (wake < 0) {
      cv_.notify_all();
    } else {
      for (int i = 0; i < wake; ++i) cv_.notify_one();
    }
  }
  // Returns true if the counter moved past `seen` before timeout_ms elapsed. An attached
  // consumer passes consumer=true: it counts as asleep for the duration.
  bool WaitSince(uint64_t seen, int64_t timeout_ms, bool consumer = false) {
    std::unique_lock<std::mutex> lock(mu_);
    if (consumer) --awake_consumers_;
    const bool moved =
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms),
                     [&] { return seq_ != seen; });
    if (consumer) ++awake_consumers_;
    return moved;
  }
  // A dispatcher thread's life as a consumer (see above); attached threads are awake.
  class Consumer {
   public:
    explicit Consumer(ChangeSignal& s) : s_(s) {
      std::lock_guard<std::mutex> lock(s_.mu_);
      ++s_.awake_consumers_;
    }
    ~Consumer() {
      std::lock_guard<std::mutex> lock(s_.mu_);
      --s_.awake_consumers_;
    }
    Consumer(const Consumer&) = delete;
    Consumer& operator=(const Consumer&) = delete;

   private:
    ChangeSignal& s_;
  };

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t seq_ = 0;
  int awake_consumers_ = 0;  // GUARDED_BY(mu_)
};

// Change notifications keyed by instance, for threads that wait on one instance (client
// waits): Notify(instance) wakes only the waiters of that instance, Notify() wakes all of them
// (changes that cannot be attributed, such as a bulk delete or a notification from another
// process). A waiter registers before it looks at the state and stays registered while it
// sleeps, so a change between the look and the sleep is never lost.
// Thread-safety: thread-safe.
class InstanceSignal {
 public:
  class Waiter {
   public:
    Waiter(InstanceSignal* signal, std::string instance) : signal_(signal), instance_(std::move(instance)) {
      std::lock_guard<std::mutex> lock(signal_->mu_);
      it_ = signal_->waiters_.emplace(instance_, this);
    }
    ~Waiter() {
      std::lock_guard<std::mutex> lock(signal_->mu_);
      signal_->waiters_.erase(it_);
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    // True if the instance changed since the previous call (or since registration); otherwise
    // sleeps up to timeout_ms for a change.
    bool Wait(int64_t timeout_ms) {
      std::unique_lock<std::mutex> lock(signal_->mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms),
                   [&] { return changed_; });
      const bool changed = changed_;
      changed_ = false;
      return changed;
    }

   private:
    friend class InstanceSignal;
    InstanceSignal* signal_;
    std::string instance_;
    std::unordered_multimap<std::string, Waiter*>::iterator it_;
    std::condition_variable cv_;
    bool changed_ = false;  // GUARDED_BY(signal_->mu_)
  };

  // Counts every notification (for tests and diagnostics).
  uint64_t seq() {
    std::lock_guard<std::mutex> lock(mu_);
    return seq_;
  }
  void Notify(const std::string& instance) {
    std::lock_guard<std::mutex> lock(mu_);
    ++seq_;
    auto [begin, end] = waiters_.equal_range(instance);
    for (auto it = begin; it != end; ++it) Wake(it->second);
    for (auto& [id, watch] : watches_) watch(&instance);
  }
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    ++seq_;
    for (auto& [key, w] : waiters_) Wake(w);
    for (auto& [id, watch] : watches_) watch(nullptr);
  }

  // A watch sees every notification: the instance, or nullptr for Notify() (all). One watch
  // serves any number of waits (the asyncio clients' waiter registry, bind_waiters.cc).
  // Called with the signal's mutex held: it must only record and wake, never call back here.
  using Watch = std::function<void(const std::string* instance)>;
  uint64_t AddWatch(Watch watch) {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.emplace(++next_watch_, std::move(watch));
    return next_watch_;
  }
  void RemoveWatch(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.erase(id);
  }

 private:
  static void Wake(Waiter* w) {
    w->changed_ = true;
    w->cv_.notify_one();
  }
  std::mutex mu_;
  uint64_t seq_ = 0;
  std::unordered_multimap<std::string, Waiter*> waiters_;
  std::map<uint64_t, Watch> watches_;
  uint64_t next_watch_ = 0;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_CHANGE_SIGNAL_H_
