// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Runtime: runs the orchestration and worker dispatchers of one process against a Provider.
// Several runtimes (in one process or many) may share a provider; instance locks keep each
// turn on one runtime at a time.
//
// Threads: `orchestration_concurrency` orchestration dispatchers, `worker_concurrency`
// workers and one lease thread (lock renewal, cross-process cancellation detection).
// User code is reached only through the invokers; the runtime never holds one of its own
// mutexes while calling them.
// Thread-safety: Start/Shutdown may be called from any thread; Shutdown is idempotent.
#ifndef DUROXIDE_RUNTIME_RUNTIME_H_
#define DUROXIDE_RUNTIME_RUNTIME_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "duroxide/providers/provider.h"
#include "duroxide/replay/invoker.h"
#include "duroxide/runtime/activity_invoker.h"
#include "duroxide/runtime/metrics.h"
#include "duroxide/runtime/registry.h"
#include "duroxide/runtime/runtime_options.h"

namespace duroxide::runtime {

struct RuntimeCore;

class Runtime {
 public:
  Runtime(std::shared_ptr<providers::Provider> provider, RuntimeOptions options,
          std::shared_ptr<replay::OrchestrationInvoker> orchestrations,
          std::shared_ptr<ActivityInvoker> activities,
          std::shared_ptr<OrchestrationRegistry> registry);
  ~Runtime();  // Shutdown(0) if still running

  // Starts the dispatcher threads and returns. kFailedPrecondition if already started.
  Status Start();
  // Stops taking new work, waits up to timeout_ms for in-flight turns and activities, then
  // abandons what is still running (another runtime redelivers it) and returns. Never loses a
  // completed result: results are only acknowledged through the provider.
  void Shutdown(int64_t timeout_ms);
  bool running() const;
  std::map<std::string, int64_t> MetricsSnapshot() const;
  // The duration histograms and per-activity counters (copies; see metrics.h).
  HistogramData TurnDurations() const;
  std::map<std::string, ActivityNameStats> ActivityStats() const;
  const std::string& runtime_id() const;

  // ---- fleet (runtime/fleet.h) ----
  // Starts a drain: stop claiming work, finish in-flight work within grace_ms (the rest is
  // handed back), release the sessions, mark the worker stopped. Returns at once; the runtime
  // also drains when client.drain_worker asks through the store. Shutdown still stops it.
  void RequestDrain(int64_t grace_ms);
  // Waits until a drain has finished; false on timeout.
  bool WaitDrained(int64_t timeout_ms);
  bool drain_requested() const;
  bool drained() const;
  const std::string& worker_id() const;
  std::string WorkerName() const;  // "" until registered (or without a registry)
  // What this runtime serves, as stored in its worker record (JSON); re-registered if changed.
  void SetServes(const std::string& serves_json);
  std::optional<providers::WorkerRecord> WorkerRecord() const;
  // ---- time skipping (TEST-ONLY; see RuntimeOptions::time_skipping and common/clock.h) -----
  // If this runtime is idle (no dispatcher fetching or running work) and the store's earliest
  // pending message (orchestrator or worker queue) is due in the future, moves the process's
  // virtual clock to that time, wakes the dispatchers and returns the jump in ms; otherwise
  // returns 0 and changes nothing. Only this runtime's activity is seen: work running in other
  // runtimes or processes on the same store is not waited for.
  int64_t SkipTimeIfIdle();
  // Moves the virtual clock forward by `ms` and wakes the dispatchers.
  void AdvanceClock(int64_t ms);
  // Pauses (false) or resumes (true) the automatic skipping of a time_skipping runtime.
  void SetAutoSkip(bool enabled);

 private:
  std::shared_ptr<RuntimeCore> core_;
  mutable std::mutex mu_;
  bool started_ = false;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
  std::thread fleet_thread_;
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_RUNTIME_H_
