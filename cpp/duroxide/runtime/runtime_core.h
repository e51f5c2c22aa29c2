// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// State shared by a runtime's threads. Internal to runtime/. Dispatcher threads hold a
// shared_ptr to it, so a thread that outlives shutdown (a user activity that never returns)
// keeps it alive instead of touching freed memory.
#ifndef DUROXIDE_RUNTIME_RUNTIME_CORE_H_
#define DUROXIDE_RUNTIME_RUNTIME_CORE_H_

#include <chrono>
#include <thread>
#include <atomic>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "duroxide/providers/provider.h"
#include "duroxide/replay/replay_engine.h"
#include "duroxide/runtime/fleet.h"
#include "duroxide/runtime/local_work.h"
#include "duroxide/runtime/completion_relay.h"
#include "duroxide/runtime/activity_invoker.h"
#include "duroxide/runtime/async_completions.h"
#include "duroxide/runtime/capabilities.h"
#include "duroxide/runtime/dispatcher_pool.h"
#include "duroxide/runtime/metrics.h"
#include "duroxide/runtime/registry.h"
#include "duroxide/runtime/runtime_options.h"

namespace duroxide::runtime {

// True for failures of the store itself (I/O errors, disk full, lost connections, timeouts),
// as opposed to a rejected operation (lost lock, bad input, undecodable data). Work whose
// commit failed this way is handed back without counting toward max_attempts.
// Retries `abandon` (a Status-returning hand-back) a few times with a short backoff: it runs
// right after a storage fault, when the store is likely still failing, and a lost hand-back
// costs a lock expiry and a counted delivery.
template <typename F>
void AbandonWithRetry(F&& abandon) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (abandon().ok()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
  }
}

inline bool IsStorageFault(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInternal:
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

// Suspended orchestrations kept between turns (warm replay), bounded, least recently used
// evicted first. An entry is taken out for the duration of a turn and put back after a
// successful commit, so a cached engine is never shared by two turns.
// Thread-safety: thread-safe. Engines are destroyed outside the lock (their destructor may take
// the GIL).
class EngineCache {
 public:
  explicit EngineCache(size_t capacity) : capacity_(capacity) {}
  // An engine and the created_at of the instance it belongs to (0 = unknown: never reused),
  // so that a deleted and re-created instance never gets the old instance's engine.
  struct Cached {
    std::shared_ptr<replay::ReplayEngine> engine;
    int64_t instance_created_at_ms = 0;
  };
  Cached Take(const std::string& instance);
  std::optional<providers::CachedHistory> Peek(const std::string& instance);
  void Put(const std::string& instance, std::shared_ptr<replay::ReplayEngine> engine,
           int64_t instance_created_at_ms);
  // Removes the entry of `instance` if it is `engine`.
  void Remove(const std::string& instance, const replay::ReplayEngine* engine);
  void Clear();
  size_t size();
  void set_capacity(size_t capacity) { capacity_ = capacity; }

 private:
  struct Entry {
    std::shared_ptr<replay::ReplayEngine> engine;
    int64_t created_at_ms = 0;
    std::list<std::string>::iterator lru;
  };
  size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front = most recent
};

// Locks held by this runtime that need renewal, and the cancellation flags of running
// activities. Thread-safety: thread-safe.
class LeaseTable {
 public:
  struct ActivityLease {
    providers::ActivityRef ref;
    std::shared_ptr<std::atomic<bool>> cancelled;
    int64_t next_renew_ms = 0;
  };
  void AddTurn(const std::string& token, int64_t next_renew_ms);
  void RemoveTurn(const std::string& token);
  void AddActivity(const std::string& token, ActivityLease lease);
  void RemoveActivity(const std::string& token);
  // Flags the running activities among `refs` as cancelled (in-process lock stealing).
  void CancelActivities(const std::vector<providers::ActivityRef>& refs);
  // Renews what is due; called by the lease thread.
  void RenewDue(providers::Provider* provider, const RuntimeOptions& options, int64_t now_ms,
                Metrics* metrics);
  // Tokens of activities still running (for abandon at shutdown).
  std::vector<std::string> ActivityTokens();
  std::vector<std::string> TurnTokens();

 private:
  std::mutex mu_;
  std::map<std::string, int64_t> turns_;
  std::map<std::string, ActivityLease> activities_;
};

// Distinct sessions with an activity in flight on this runtime (max_sessions_per_runtime).
// Thread-safety: thread-safe.
class SessionTracker {
 public:
  size_t distinct() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_.size();
  }
  // Takes a reference on `session`; false (and nothing taken) if that would open a new
  // session beyond `max`.
  bool Acquire(const std::string& session, size_t max) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(session);
    if (it == counts_.end()) {
      if (counts_.size() >= max) return false;
      counts_[session] = 1;
    } else {
      ++it->second;
    }
    return true;
  }
  void Release(const std::string& session) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(session);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

struct RuntimeCore {
  std::shared_ptr<providers::Provider> provider;
  RuntimeOptions options;
  std::shared_ptr<replay::OrchestrationInvoker> orchestrations;
  std::shared_ptr<ActivityInvoker> activities;
  std::shared_ptr<OrchestrationRegistry> registry;
  std::string runtime_id;
  Metrics metrics;
  EngineCache cache{4096};
  LeaseTable leases;
  LocalWork local_work;  // activities leased to this runtime by its own turns
  CompletionRelay relay;  // worker acks waiting for a dispatcher's store call
  // How many of each side's dispatcher threads run (dispatcher_pool.h).
  DispatcherPool orch_pool;
  DispatcherPool worker_pool;
  // Outcomes of asynchronous activities (async_completions.h); shared with the callbacks
  // the executor holds, which may outlive this core.
  std::shared_ptr<AsyncCompletions> async_completions = std::make_shared<AsyncCompletions>();
  std::atomic<bool> stopping{false};

  // Count of dispatcher threads still inside their loop; shutdown waits for it to reach 0.
  std::mutex threads_mu;
  std::condition_variable threads_cv;
  int running_threads = 0;
  SessionTracker sessions;
  CapabilityCache capabilities;
  FleetState fleet;
  int64_t started_at_ms = 0;

  // True once dispatchers must stop claiming work: shutdown or drain (runtime/fleet.h).
  bool Quitting() const { return stopping.load() || fleet.draining.load(); }

  // Time skipping (RuntimeOptions::time_skipping, Runtime::SkipTimeIfIdle). A dispatcher counts
  // itself busy from the start of a fetch until it is about to sleep with nothing fetched or
  // prefetched; work_seq counts fetches that returned work. Together they tell whether the
  // store state read between two looks could have been changed by this runtime.
  std::atomic<int64_t> busy_dispatchers{0};
  std::atomic<uint64_t> work_seq{0};
  std::atomic<bool> auto_skip{true};
};

// Marks a dispatcher busy (RuntimeCore::busy_dispatchers) while held.
class BusyMark {
 public:
  explicit BusyMark(RuntimeCore* core) : core_(core) {}
  ~BusyMark() { Idle(); }
  BusyMark(const BusyMark&) = delete;
  BusyMark& operator=(const BusyMark&) = delete;
  void Busy() {
    if (!held_) core_->busy_dispatchers.fetch_add(1);
    held_ = true;
  }
  void Idle() {
    if (held_) core_->busy_dispatchers.fetch_sub(1);
    held_ = false;
  }

 private:
  RuntimeCore* core_;
  bool held_ = false;
};

// Keeps a turn's instance lock registered for renewal while the turn is in progress (from
// fetch until its acknowledgement is settled).
class TurnLeaseGuard {
 public:
  TurnLeaseGuard(LeaseTable* leases, std::string token, int64_t next_renew_ms)
      : leases_(leases), token_(std::move(token)) {
    leases_->AddTurn(token_, next_renew_ms);
  }
  ~TurnLeaseGuard() { leases_->RemoveTurn(token_); }
  TurnLeaseGuard(const TurnLeaseGuard&) = delete;
  TurnLeaseGuard& operator=(const TurnLeaseGuard&) = delete;

 private:
  LeaseTable* leases_;
  std::string token_;
};

// A turn that has run and waits for its acknowledgement.
struct PendingTurn {
  std::string instance;
  std::string lock_token;
  providers::TurnCommit commit;
  // The engine that ran the turn; null on the error paths (poison, unregistered, dropped
  // messages), whose failures are counted when they are decided.
  std::shared_ptr<replay::ReplayEngine> engine;
  bool keep_engine = false;  // the engine was put in the warm cache before the ack
  bool starts_execution = false;
  history::ErrorDetails turn_error;
  int64_t dropped_messages = 0;
  bool counted = false;  // CountTurnBeforeAck ran (undone by CompleteTurn if the ack failed)
  int64_t started_us = 0;  // MonotonicMicros() when the turn began (turn_duration)
  std::shared_ptr<TurnLeaseGuard> lease;
};

// Runs the turn of a fetched item (replay, new events, the commit). Returns the turn to
// acknowledge, or nullopt when the item was handed back (abandoned) instead. `lease` keeps the
// item's lock renewed; it was registered when the item was fetched.
std::optional<PendingTurn> PrepareTurn(RuntimeCore* core, providers::OrchestrationItem item,
                                       std::shared_ptr<TurnLeaseGuard> lease);
// Counts a failed hand-back (abandon) of a work or orchestration item instead of discarding
// it: abandon_failures and provider_errors. The item's lock expires and it is redelivered.
void CountAbandonFailure(RuntimeCore* core, const Status& abandon);
// Counts the turn's outcome (orch_starts, orch_completions, failures, continue-as-new) BEFORE
// its acknowledgement, so that metrics describe a commit before clients can see it; a failed
// ack takes the counts back in CompleteTurn. Idempotent.
void CountTurnBeforeAck(RuntimeCore* core, PendingTurn& turn);
// Lets a warm engine be used by the instance's next turn. Called for every turn whose ack
// succeeded, before CompleteTurn, so that none waits for the others' bookkeeping.
void MarkTurnCommitted(const PendingTurn& turn);
// After the acknowledgement (and MarkTurnCommitted if it succeeded): metrics, cancellation of
// activities, and on failure the engine's abandonment and the hand-back of the item if the
// ack failed retryably.
void CompleteTurn(RuntimeCore* core, PendingTurn& turn, const Status& ack);
// Single acknowledgement, retried while the store is busy.
Status AckTurnWithRetry(RuntimeCore* core, const PendingTurn& turn);

void RunOrchestrationDispatcher(std::shared_ptr<RuntimeCore> core, int slot);
void RunWorkerDispatcher(std::shared_ptr<RuntimeCore> core, int slot);
// Acknowledges the outcomes of asynchronous activities (async_completions.h).
void RunAsyncCompletions(std::shared_ptr<RuntimeCore> core, int slot);

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_RUNTIME_CORE_H_
