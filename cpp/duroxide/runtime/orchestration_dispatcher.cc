// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <algorithm>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/common/backoff.h"
#include "duroxide/runtime/interpreter_lock.h"
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

// Makes the relayed worker acks, then `acks` and `next`, in one store call; settles the relayed
// items and returns the turns' Statuses.
std::vector<Status> AckRelayedTurnsAndFetch(RuntimeCore* core,
                                            const std::vector<CompletionRelay::Item>& relayed,
                                            const std::vector<providers::TurnAck>& acks,
                                            providers::NextOrchestrationFetch* next) {
  std::vector<providers::WorkAck> work;
  work.reserve(relayed.size());
  for (const CompletionRelay::Item& item : relayed) work.push_back(item.ack);
  std::vector<Status> work_acked;
  std::vector<Status> acked = core->provider->AckWorkTurnsAndFetch(work, &work_acked, acks, next);
  SettleRelayed(core, relayed, work_acked);
  return acked;
}

// Turns run back to back by one dispatcher and acknowledged in one call (one transaction where
// the provider can): with work queued, the per-commit cost is shared by up to this many turns.
// A lone ready instance is still acknowledged as soon as its turn has run.
constexpr size_t kTurnBatch = 8;

// The next items: those prefetched by the last ack, else a fetch, which carries the worker
// acks relayed to this dispatcher (completion_relay.h) when there are any.
Result<std::vector<providers::OrchestrationItem>> NextItems(
    RuntimeCore* core, const providers::FetchHint* hint,
    std::optional<Result<std::vector<providers::OrchestrationItem>>>* prefetched) {
  if (*prefetched) {
    Result<std::vector<providers::OrchestrationItem>> items = std::move(**prefetched);
    prefetched->reset();
    return items;
  }
  std::vector<CompletionRelay::Item> relayed = core->relay.TakeForDispatcher(NowMs());
  if (relayed.empty()) {
    return core->provider->FetchOrchestrationItems(
        kTurnBatch, core->options.orchestrator_lock_timeout_ms, hint);
  }
  providers::NextOrchestrationFetch next;
  next.lock_timeout_ms = core->options.orchestrator_lock_timeout_ms;
  next.hint = hint;
  next.max_items = kTurnBatch;
  AckRelayedTurnsAndFetch(core, relayed, {}, &next);
  return std::move(*next.result);
}

// Runs the turns of `items`, acknowledges them together with the next fetch (unless the
// runtime is stopping), and settles each turn.
void RunBatch(RuntimeCore* core, std::vector<providers::OrchestrationItem> items,
              const providers::FetchHint* hint,
              std::optional<Result<std::vector<providers::OrchestrationItem>>>* prefetched) {
  const int64_t renew_at = NowMs() + core->options.orchestrator_lock_timeout_ms / 2;
  std::vector<std::shared_ptr<TurnLeaseGuard>> leases;
  leases.reserve(items.size());
  for (const auto& item : items) {
    leases.push_back(std::make_shared<TurnLeaseGuard>(&core->leases, item.lock_token, renew_at));
  }
  std::vector<PendingTurn> turns;
  turns.reserve(items.size());
  {
    // One interpreter-lock hand-off for the batch's generator steps (interpreter_lock.h).
    BatchHold hold(core->options.gil_batching);
    for (size_t i = 0; i < items.size(); ++i) {
      auto turn = PrepareTurn(core, std::move(items[i]), leases[i]);
      if (turn) turns.push_back(std::move(*turn));
    }
  }
  std::vector<providers::TurnAck> acks;
  acks.reserve(turns.size());
  // Same-process hand-off (local_work.h): activities this runtime can run are leased to it in
  // the turn's commit.
  std::vector<std::vector<providers::WorkItemLease>> leased(turns.size());
  std::vector<size_t> reserved(turns.size(), 0);
  for (size_t i = 0; i < turns.size(); ++i) {
    PendingTurn& t = turns[i];
    CountTurnBeforeAck(core, t);
    reserved[i] = RequestLocalLeases(core, &t.commit);
    acks.push_back({t.lock_token, &t.commit, reserved[i] > 0 ? &leased[i] : nullptr});
  }
  providers::NextOrchestrationFetch next;
  next.lock_timeout_ms = core->options.orchestrator_lock_timeout_ms;
  next.hint = hint;
  next.max_items = kTurnBatch;
  const bool fetch_next = !core->Quitting();
  std::vector<Status> acked;
  // Worker acks relayed to this dispatcher commit first, in the same store call
  // (completion_relay.h).
  std::vector<CompletionRelay::Item> relayed = core->relay.TakeForDispatcher(NowMs());
  if (!relayed.empty()) {
    acked = AckRelayedTurnsAndFetch(core, relayed, acks, fetch_next ? &next : nullptr);
  } else if (!acks.empty() || fetch_next) {
    acked = core->provider->AckOrchestrationItemsAndFetch(acks, fetch_next ? &next : nullptr);
  }
  for (size_t i = 0; i < turns.size(); ++i) {
    if (acked[i].code() == StatusCode::kUnavailable) {
      core->metrics.provider_errors++;
      acked[i] = AckTurnWithRetry(core, turns[i]);  // the store was busy: retry on its own
    }
  }
  for (size_t i = 0; i < turns.size(); ++i) {
    if (acked[i].ok()) MarkTurnCommitted(turns[i]);
    AcceptLocalLeases(core, std::move(leased[i]), reserved[i], acked[i].ok());
  }
  for (size_t i = 0; i < turns.size(); ++i) CompleteTurn(core, turns[i], acked[i]);
  if (next.result) *prefetched = std::move(next.result);
}

}  // namespace

void RunOrchestrationDispatcher(std::shared_ptr<RuntimeCore> core, int slot) {
  providers::Provider* provider = core->provider.get();
  int64_t fetch_failures = 0;  // consecutive: the backoff grows with them
  providers::FetchHint hint;
  if (core->options.warm_cache_capacity > 0) {
    RuntimeCore* raw = core.get();
    hint.cached = [raw](const std::string& instance) { return raw->cache.Peek(instance); };
  }
  // Items the provider already fetched while acknowledging the previous batch.
  std::optional<Result<std::vector<providers::OrchestrationItem>>> prefetched;
  uint64_t seen = 0;
  BusyMark busy(core.get());
  DispatcherPool& pool = core->orch_pool;
  const auto quitting = [raw = core.get()] { return raw->Quitting(); };
  // Parked until the pool lets this dispatcher run (dispatcher_pool.h).
  pool.Enter(quitting);
  // Awake until it sleeps in WaitSince: single new items do not wake another dispatcher while
  // this one will look again (change_signal.h). Detached while parked, where it looks at
  // nothing.
  std::optional<providers::ChangeSignal::Consumer> consumer;
  consumer.emplace(provider->orchestrator_signal());
  IdleStreak idle;
  while (!core->Quitting()) {
    busy.Busy();
    if (!prefetched) seen = provider->orchestrator_signal().seq();
    Result<std::vector<providers::OrchestrationItem>> items =
        NextItems(core.get(), &hint, &prefetched);
    if (items.ok()) pool.AfterFetch(slot, items->size() >= kTurnBatch);
    if (!items.ok()) {
      core->metrics.provider_errors++;
      Log(LogLevel::kWarn, "duroxide::runtime",
          "orchestration fetch failed: " + items.status().ToString(),
          {{"slot", std::to_string(slot)}});
      busy.Idle();
      provider->orchestrator_signal().WaitSince(seen, BackoffDelayMs(10, 3000, fetch_failures++),
                                                /*consumer=*/true);
      continue;
    }
    fetch_failures = 0;
    if (!items->empty()) {
      idle.Record(true, 0);
      core->work_seq.fetch_add(1);
      // Taken before the ack that may also fetch, so a wake-up between that fetch and the
      // idle wait below is not missed.
      seen = provider->orchestrator_signal().seq();
      RunBatch(core.get(), std::move(*items), &hint, &prefetched);
      continue;
    }
    if (core->Quitting()) break;
    busy.Idle();
    if (idle.Record(false, NowMs())) {
      consumer.reset();
      const bool parked = pool.RetireAndPark(slot, quitting);
      consumer.emplace(provider->orchestrator_signal());
      if (parked) {
        idle.Reset();
        continue;  // woken because the others' fetches came back full: look at once
      }
    }
    provider->orchestrator_signal().WaitSince(seen,
                                              IdleWaitMs(*core, provider->NextOrchestratorVisibleAt()),
                                              /*consumer=*/true);
  }
  // Relayed worker acks this dispatcher would have carried are made now.
  AckRelayedDirectly(core.get(), core->relay.TakeStale(0, /*all=*/true));
  // Shutdown began after the last ack fetched items: hand them back untouched.
  if (prefetched && prefetched->ok()) {
    for (const auto& item : **prefetched) {
      CountAbandonFailure(core.get(), provider->AbandonOrchestrationItem(item.lock_token, 0, true));
    }
  }
}

}  // namespace duroxide::runtime
