// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <algorithm>
#include <thread>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

namespace {

// How long an idle dispatcher may sleep: until the next delayed message becomes visible, at most
// the poll interval (work from other processes is only seen by polling).
int64_t IdleWaitMs(const RuntimeCore& core, const Result<std::optional<int64_t>>& next) {
  int64_t wait = core.options.dispatcher_poll_interval_ms;
  if (next.ok() && next->has_value()) wait = std::min(wait, **next - NowMs());
  return std::max<int64_t>(wait, 0);
}

}  // namespace

void RunOrchestrationDispatcher(std::shared_ptr<RuntimeCore> core, int slot) {
  providers::Provider* provider = core->provider.get();
  int64_t backoff_ms = 10;
  providers::FetchHint hint;
  if (core->options.warm_cache_capacity > 0) {
    RuntimeCore* raw = core.get();
    hint.cached = [raw](const std::string& instance) { return raw->cache.Peek(instance); };
  }
  // A fetch the provider already made while acknowledging the previous turn.
  std::optional<Result<std::optional<providers::OrchestrationItem>>> prefetched;
  uint64_t seen = 0;
  while (!core->stopping.load()) {
    Result<std::optional<providers::OrchestrationItem>> item = std::optional<providers::OrchestrationItem>();
    if (prefetched) {
      item = std::move(*prefetched);
      prefetched.reset();
    } else {
      seen = provider->orchestrator_signal().seq();
      item = provider->FetchOrchestrationItem(core->options.orchestrator_lock_timeout_ms, &hint);
    }
    if (!item.ok()) {
      core->metrics.provider_errors++;
      Log(LogLevel::kWarn, "duroxide::runtime",
          "orchestration fetch failed: " + item.status().ToString(),
          {{"slot", std::to_string(slot)}});
      provider->orchestrator_signal().WaitSince(seen, backoff_ms);
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 3000);
      continue;
    }
    backoff_ms = 10;
    if (item->has_value()) {
      // Taken before the ack that may also fetch, so a wake-up between that fetch and the
      // idle wait below is not missed.
      seen = provider->orchestrator_signal().seq();
      providers::NextOrchestrationFetch next;
      next.lock_timeout_ms = core->options.orchestrator_lock_timeout_ms;
      next.hint = &hint;
      ProcessOrchestrationItem(core.get(), std::move(**item),
                               core->stopping.load() ? nullptr : &next);
      if (next.result) prefetched = std::move(next.result);
      continue;
    }
    if (core->stopping.load()) break;
    provider->orchestrator_signal().WaitSince(seen,
                                              IdleWaitMs(*core, provider->NextOrchestratorVisibleAt()));
  }
  // Shutdown began after the last ack fetched an item: hand it back untouched.
  if (prefetched && prefetched->ok() && (*prefetched)->has_value()) {
    (void)provider->AbandonOrchestrationItem((**prefetched)->lock_token, 0, true);
  }
}

}  // namespace duroxide::runtime
