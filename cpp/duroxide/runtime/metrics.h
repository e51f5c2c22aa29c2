// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_METRICS_H_
#define DUROXIDE_RUNTIME_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace duroxide::runtime {

// Upper bounds (seconds) of the duration histograms' buckets, +Inf implied after the last:
// Prometheus's default buckets widened to five minutes for long activities. Fixed, so that
// every worker of a fleet exports the same series and they can be summed.
inline constexpr std::array<double, 16> kDurationBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

// Microseconds on the monotonic clock (durations only; never stored).
inline int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A duration histogram: per-bucket counts (not cumulative; the last is +Inf) and the sum.
struct HistogramData {
  std::array<int64_t, kDurationBuckets.size() + 1> buckets{};
  int64_t sum_us = 0;
  void Observe(int64_t micros) {
    size_t i = 0;
    while (i < kDurationBuckets.size() && micros > kDurationBuckets[i] * 1e6) ++i;
    buckets[i]++;
    sum_us += micros;
  }
};

// Lock-free histogram for the hot path of every turn.
// Thread-safety: atomics; a snapshot may see one observation's bucket without its sum.
struct AtomicHistogram {
  std::array<std::atomic<int64_t>, kDurationBuckets.size() + 1> buckets{};
  std::atomic<int64_t> sum_us{0};
  void Observe(int64_t micros) {
    size_t i = 0;
    while (i < kDurationBuckets.size() && micros > kDurationBuckets[i] * 1e6) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    sum_us.fetch_add(micros, std::memory_order_relaxed);
  }
  HistogramData Snapshot() const {
    HistogramData out;
    for (size_t i = 0; i < buckets.size(); ++i) out.buckets[i] = buckets[i].load();
    out.sum_us = sum_us.load();
    return out;
  }
};

// Per activity name: attempts that completed and failed, and their run time. Keyed by the
// registered name only (bounded: a worker only runs activities it registered).
struct ActivityNameStats {
  int64_t completed = 0;
  int64_t failed = 0;
  HistogramData duration;
};

// Thread-safety: one mutex, taken once per finished activity attempt.
class ActivityStatsTable {
 public:
  void Record(const std::string& name, bool ok, int64_t micros) {
    std::lock_guard<std::mutex> lock(mu_);
    ActivityNameStats& s = by_name_[name];
    (ok ? s.completed : s.failed)++;
    s.duration.Observe(micros);
  }
  std::map<std::string, ActivityNameStats> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_name_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, ActivityNameStats> by_name_;
};

// Runtime counters: the 17 of api.md 1.11, plus dropped_messages (stale, duplicate or
// undeliverable messages, and queue messages over the continue-as-new carry-forward cap) and
// abandon_failures (hand-backs the store refused; the lock then expires instead) and
// activity_handoffs (activities leased to this runtime in the scheduling turn's own commit and
// run without a fetch: runtime/local_work.h).
// Thread-safety: counters are atomics.
struct Metrics {
#define DUROXIDE_METRICS(X)                                                                    \
  X(orch_starts) X(orch_completions) X(orch_failures) X(orch_application_errors)             \
  X(orch_infrastructure_errors) X(orch_configuration_errors) X(orch_poison)                  \
  X(activity_success) X(activity_app_errors) X(activity_infra_errors) X(activity_config_errors) \
  X(activity_poison) X(orch_dispatcher_items_fetched) X(worker_dispatcher_items_fetched)     \
  X(orch_continue_as_new) X(suborchestration_calls) X(provider_errors)                       \
  X(dropped_messages) X(activity_requires_timeouts) X(capability_schemas_unmatched)        \
  X(abandon_failures) X(activity_handoffs)
#define DUROXIDE_DECLARE(name) std::atomic<int64_t> name{0};
  DUROXIDE_METRICS(DUROXIDE_DECLARE)
#undef DUROXIDE_DECLARE

  // Wall time of each committed orchestration turn, from its fetch to its acknowledgement.
  AtomicHistogram turn_duration;
  // Activity attempts run by this runtime, by activity name.
  ActivityStatsTable activities;

  std::map<std::string, int64_t> Snapshot() const {
    std::map<std::string, int64_t> out;
#define DUROXIDE_READ(name) out[#name] = name.load();
    DUROXIDE_METRICS(DUROXIDE_READ)
#undef DUROXIDE_READ
    return out;
  }
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_METRICS_H_
