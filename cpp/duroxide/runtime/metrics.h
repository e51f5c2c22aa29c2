// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_METRICS_H_
#define DUROXIDE_RUNTIME_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace duroxide::runtime {

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
