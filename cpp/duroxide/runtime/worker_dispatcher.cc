// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/common/limits.h"
#include "duroxide/common/logging.h"
#include "duroxide/common/backoff.h"
#include "duroxide/runtime/interpreter_lock.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

using history::ErrorDetails;
using history::WorkItem;
using history::WorkItemKind;

namespace {

WorkItem Completion(const WorkItem& task, bool ok, std::string payload,
                    std::string traceback = {}) {
  WorkItem c;
  c.kind = ok ? WorkItemKind::kActivityCompleted : WorkItemKind::kActivityFailed;
  c.instance = task.instance;
  c.execution_id = task.execution_id;
  c.id = task.id;
  if (ok) c.data = std::move(payload);
  else c.error = ErrorDetails::ActivityFailure(std::move(payload), std::move(traceback));
  return c;
}

// Activities that finish within this time are taken in batches (fetched and acknowledged
// several at a time, one transaction for each batch); a slower one ends the batch and hands
// back the items not yet started, so a long activity never holds others hostage for long.
constexpr size_t kWorkBatch = 8;
constexpr int64_t kFastActivityUs = 2000;

// The acknowledgement of an activity's outcome (an oversized result becomes a readable error).
providers::WorkAck SettleOutcome(RuntimeCore* core, const WorkItem& task,
                                 const std::string& lock_token, const std::string& worker_id,
                                 ActivityOutcome outcome, int64_t ran_us) {
  const RuntimeOptions& opt = core->options;
  // An oversized result never reaches storage: the activity fails with a readable error
  // instead (the orchestration may catch it; uncaught, the instance fails with it).
  const std::string& payload = outcome.ok ? outcome.output : outcome.error;
  std::string too_big = limits::CheckPayload(
      payload.size(), opt.max_payload_bytes,
      outcome.ok ? "activity output" : "activity error message");
  if (!too_big.empty()) {
    outcome.ok = false;
    outcome.error = "activity '" + task.name + "': " + too_big;
  }

  if (outcome.ok) core->metrics.activity_success++;
  else core->metrics.activity_app_errors++;
  core->metrics.activities.Record(task.name, outcome.ok, ran_us);
  WorkItem c = Completion(task, outcome.ok, outcome.ok ? outcome.output : outcome.error,
                          std::move(outcome.traceback));
  c.worker = worker_id;
  c.worker_runtime = core->runtime_id;
  c.from_cache = outcome.ok && outcome.from_cache;
  return providers::WorkAck{lock_token, std::move(c)};
}

// Settles a lease that must not run here; returns false for one that may run. Poison: failed
// and acknowledged here; claimed past its capability deadline: `ack` fails it; activity not
// registered on this runtime: handed back with a backoff.
bool SettleWithoutRunning(RuntimeCore* core, const std::string& worker_id,
                          const providers::WorkItemLease& lease,
                          std::optional<providers::WorkAck>* ack) {
  providers::Provider* provider = core->provider.get();
  const RuntimeOptions& opt = core->options;
  const WorkItem& task = lease.item;
  if (lease.attempt_count > opt.max_attempts) {
    WorkItem c = Completion(task, false, "");
    c.error = ErrorDetails::Poison("Activity", lease.attempt_count, opt.max_attempts,
                                   "activity '" + task.name + "' was delivered " +
                                       std::to_string(lease.attempt_count) +
                                       " times without completing");
    core->metrics.activity_poison++;
    if (!WhileBlocking([&] { return provider->AckWorkItem(lease.lock_token, c); }).ok()) {
      core->metrics.provider_errors++;
    }
    return true;
  }
  if (task.routing && !task.routing->schema_hash.empty() &&
      !core->capabilities.Matches(task.routing->schema_hash, task.routing->schema)) {
    // Claimed only because its requires_timeout deadline passed (the claim filter admits
    // nothing else that this runtime does not satisfy): fail it, naming the requirement.
    WorkItem c = Completion(task, false, "");
    c.error = ErrorDetails::Application(
        "CapabilityTimeout",
        "activity '" + task.name + "' timed out waiting for a worker whose capabilities " +
            "satisfy its requirements (requires_timeout_ms elapsed; requires: " +
            task.routing->schema + ")");
    c.worker = worker_id;
    c.worker_runtime = core->runtime_id;
    core->metrics.activity_requires_timeouts++;
    *ack = providers::WorkAck{lease.lock_token, std::move(c)};
    return true;
  }
  if (core->activities->Has(task.name)) return false;
  int64_t exp = std::min<int64_t>(lease.attempt_count - 1, 20);
  int64_t delay =
      std::min(opt.unregistered_backoff_max_ms, opt.unregistered_backoff_base_ms << exp);
  core->metrics.activity_config_errors++;
  Log(LogLevel::kWarn, "duroxide::runtime",
      "activity '" + task.name + "' is not registered on this runtime; retrying later",
      {{"instance_id", task.instance}, {"attempt", std::to_string(lease.attempt_count)}});
  if (!WhileBlocking([&] { return provider->AbandonWorkItem(lease.lock_token, delay, false); })
           .ok()) {
    core->metrics.provider_errors++;
  }
  return true;
}

// Calls the activity of a lease registered for renewal. Returns the acknowledgement of a
// synchronous outcome, or nullopt for an asynchronous activity (it settles later, on the
// completion thread).
std::optional<providers::WorkAck> RunActivity(RuntimeCore* core, const std::string& worker_id,
                                              const providers::WorkItemLease& lease) {
  const RuntimeOptions& opt = core->options;
  const WorkItem& task = lease.item;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  LeaseTable::ActivityLease record;
  record.ref = {task.instance, task.execution_id, task.id};
  record.cancelled = cancelled;
  record.next_renew_ms = NowMs() + opt.worker_lock_timeout_ms / 2;
  core->leases.AddActivity(lease.lock_token, record);

  const ActivityCall call{task, worker_id, lease.attempt_count, cancelled};
  // An asynchronous activity settles later, on the completion thread; its lease stays
  // registered for renewal until then and this worker slot is free at once.
  std::shared_ptr<AsyncCompletions> pending = core->async_completions;
  pending->in_flight.fetch_add(1);
  const int64_t started_us = MonotonicMicros();
  ActivityDone done = [pending, task, token = lease.lock_token, worker_id,
                       started_us](ActivityOutcome o) {
    pending->Push({task, token, worker_id, std::move(o), MonotonicMicros() - started_us});
  };
  std::optional<ActivityOutcome> outcome = core->activities->Start(call, std::move(done));
  if (!outcome) return std::nullopt;
  const int64_t ran_us = MonotonicMicros() - started_us;
  pending->in_flight.fetch_sub(1);
  core->leases.RemoveActivity(lease.lock_token);
  return SettleOutcome(core, task, lease.lock_token, worker_id, std::move(*outcome), ran_us);
}

// Runs one leased activity. Returns the acknowledgement to make, or nullopt when the item
// was settled here (poison: failed and acknowledged; unregistered: handed back).
std::optional<providers::WorkAck> Execute(RuntimeCore* core, const std::string& worker_id,
                                          const providers::WorkItemLease& lease) {
  core->metrics.worker_dispatcher_items_fetched++;
  // A hand-off lease was registered for renewal while it waited (local_work.h); the paths
  // that settle the item here drop that registration, the run replaces it.
  struct Unregister {
    RuntimeCore* core;
    const std::string& token;
    bool armed = true;
    ~Unregister() { if (armed) core->leases.RemoveActivity(token); }
  } unregister{core, lease.lock_token};
  std::optional<providers::WorkAck> ack;
  if (SettleWithoutRunning(core, worker_id, lease, &ack)) return ack;
  unregister.armed = false;
  return RunActivity(core, worker_id, lease);
}

// Schemas are re-read at most this often while idle (each miss) and while busy.
constexpr int64_t kIdleSchemaRefreshMs = 20;
constexpr int64_t kBusySchemaRefreshMs = 1000;

bool RefreshCapabilities(RuntimeCore* core, int64_t min_interval_ms) {
  const bool matched = core->capabilities.Refresh(core->provider.get(), NowMs(), min_interval_ms);
  core->metrics.capability_schemas_unmatched.store(core->capabilities.unmatched());
  return matched;
}

void ReportAck(RuntimeCore* core, const Status& st, const WorkItem& task,
               const std::string& lock_token) {
  ReportWorkAck(core, st, task.instance, task.name, lock_token);
}

// What the next fetch asks for: a session-bound item only while this runtime is below its
// distinct-session cap. An idle session must become claimable by others after
// session_idle_timeout_ms, so the session lock is no longer than that. Under least-loaded
// placement (runtime/fleet.h) a fetch may open new sessions only while it holds the runtime's
// placement ticket, and at most as many as the placement allows.
providers::WorkerFetchOptions FetchOptions(RuntimeCore* core, const std::string& owner,
                                           SessionPlacement::Ticket* ticket, size_t* max_items) {
  const RuntimeOptions& opt = core->options;
  providers::WorkerFetchOptions fetch;
  fetch.tag_filter = opt.worker_tag_filter;
  fetch.schema_hashes = core->capabilities.matching();
  fetch.runtime_id = core->runtime_id;
  if (core->sessions.distinct() < static_cast<size_t>(opt.max_sessions_per_runtime)) {
    fetch.session = providers::SessionFetch{
        owner, std::min(opt.session_lock_timeout_ms, opt.session_idle_timeout_ms), std::nullopt};
    fetch.session->new_session_min_wait_ms = core->fleet.placement.Restriction(ticket, max_items);
  }
  return fetch;
}

// How long an idle worker sleeps: the poll interval, or until the next delayed row becomes
// visible. A visible_at in the past belongs to a row this worker may not take (tag, session,
// capabilities): it must not turn the idle wait into a busy loop.
int64_t IdleWaitMs(RuntimeCore* core) {
  int64_t wait = core->options.dispatcher_poll_interval_ms;
  auto next_visible = core->provider->NextWorkerVisibleAt();
  const int64_t now = NowMs();
  if (next_visible.ok() && next_visible->has_value() && **next_visible > now) {
    wait = std::min(wait, **next_visible - now);
  }
  return std::max<int64_t>(wait, 0);
}

// Runs a batch of leases in order while they finish fast; returns whether they all did. The
// acknowledgements to make go to `acks` (with their tasks); leases not started (after a slow
// activity, or at shutdown) are handed back untouched.
bool RunLeases(RuntimeCore* core, const std::string& worker_id,
               const std::vector<providers::WorkItemLease>& leases,
               std::vector<providers::WorkAck>* acks, std::vector<const WorkItem*>* acked_tasks) {
  providers::Provider* provider = core->provider.get();
  const RuntimeOptions& opt = core->options;
  bool fast = true;
  size_t i = 0;
  {
    // One interpreter-lock hand-off for a batch of fast activities (interpreter_lock.h); a
    // batch of one (slow activities) takes it per call as before.
    std::optional<BatchHold> hold;
    if (leases.size() > 1) hold.emplace(opt.gil_batching);
    for (; i < leases.size(); ++i) {
      const providers::WorkItemLease& lease = leases[i];
      if (core->Quitting() || !fast) break;
      const std::optional<std::string>& session = lease.item.session_id;
      if (session && !core->sessions.Acquire(*session, opt.max_sessions_per_runtime)) {
        // Another slot opened a session meanwhile and the cap is reached: hand it back.
        CountAbandonFailure(core, WhileBlocking([&] {
          return provider->AbandonWorkItem(lease.lock_token, 100, true);
        }));
        continue;
      }
      const auto t0 = std::chrono::steady_clock::now();
      std::optional<providers::WorkAck> ack = Execute(core, worker_id, lease);
      fast = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::steady_clock::now() - t0)
                 .count() < kFastActivityUs;
      if (session) core->sessions.Release(*session);
      if (ack) {
        acks->push_back(std::move(*ack));
        acked_tasks->push_back(&lease.item);
      }
    }
  }
  for (; i < leases.size(); ++i) {
    core->leases.RemoveActivity(leases[i].lock_token);  // a hand-off lease is registered
    CountAbandonFailure(core, provider->AbandonWorkItem(leases[i].lock_token, 0, true));
  }
  return fast;
}

// One worker slot's loop state (RunWorkerDispatcher).
struct WorkerSlot {
  RuntimeCore* core = nullptr;
  std::string worker_id;
  std::string owner;  // the session owner: worker_node_id, else worker_id
  // Leases the provider already fetched while acknowledging the previous batch.
  std::optional<Result<std::vector<providers::WorkItemLease>>> prefetched;
  uint64_t seen = 0;  // worker_signal sequence observed before the last fetch
  size_t batch = 1;   // grows to kWorkBatch while activities finish fast
  bool from_local = false;
  int slot = 0;
  // When this slot last ran a session-bound activity: it keeps running (does not retire, see
  // dispatcher_pool.h) for session_idle_timeout_ms after, as its sessions are claimed through
  // its own owner identity.
  int64_t last_session_ms = -1;
  IdleStreak idle;
};

// The slot's next leases: those prefetched by the last ack, hand-off leases of this runtime's
// own turns (no fetch; Take() counts this slot busy when it returns some, local_work.h), or a
// store fetch.
Result<std::vector<providers::WorkItemLease>> TakeLeases(WorkerSlot* w) {
  RuntimeCore* core = w->core;
  w->from_local = false;
  if (w->prefetched) {
    Result<std::vector<providers::WorkItemLease>> leases = std::move(*w->prefetched);
    w->prefetched.reset();
    return leases;
  }
  w->seen = core->provider->worker_signal().seq();
  std::vector<providers::WorkItemLease> local = core->local_work.Take(w->batch);
  if (!local.empty()) {
    w->from_local = true;
    return local;
  }
  SessionPlacement::Ticket ticket;
  size_t max_items = w->batch;
  const providers::WorkerFetchOptions options = FetchOptions(core, w->owner, &ticket, &max_items);
  auto leases =
      core->provider->FetchWorkItems(max_items, core->options.worker_lock_timeout_ms, options);
  if (leases.ok()) core->fleet.placement.Observe(*leases, NowMs());
  return leases;
}

// Acknowledges a batch's outcomes and, in the same store call, fetches the next batch into
// w->prefetched (unless hand-off leases wait: the next batch comes from them).
void AckAndPrefetch(WorkerSlot* w, std::vector<providers::WorkAck> relayable,
                    const std::vector<const WorkItem*>& acked_tasks) {
  RuntimeCore* core = w->core;
  // On a relaying provider the acks ride with a dispatcher's next store call
  // (completion_relay.h); what comes back is made here.
  std::vector<const WorkItem*> tasks = acked_tasks;
  const std::vector<providers::WorkAck> acks = RelayAcks(core, std::move(relayable), &tasks);
  providers::NextWorkFetch next;
  SessionPlacement::Ticket ticket;
  const bool fetch_next = !core->Quitting() && core->local_work.empty();
  if (fetch_next) {
    next.lock_timeout_ms = core->options.worker_lock_timeout_ms;
    next.max_items = w->batch;
    next.options = FetchOptions(core, w->owner, &ticket, &next.max_items);
  }
  if (!acks.empty() || fetch_next) {
    std::vector<Status> acked =
        core->provider->AckWorkItemsAndFetch(acks, fetch_next ? &next : nullptr);
    for (size_t k = 0; k < acks.size(); ++k) {
      ReportAck(core, acked[k], *tasks[k], acks[k].lock_token);
    }
  }
  if (next.result && next.result->ok()) core->fleet.placement.Observe(**next.result, NowMs());
  if (next.result) w->prefetched = std::move(next.result);
}

// Runs a fetched batch and acknowledges it.
void RunBatch(WorkerSlot* w, const std::vector<providers::WorkItemLease>& leases) {
  RuntimeCore* core = w->core;
  core->work_seq.fetch_add(1);
  // Busy for hand-off (local_work.h) until this batch is acknowledged; Take counted it.
  if (!w->from_local) {
    core->local_work.BeginBatch();
    ReturnLocalWork(core, /*surplus_only=*/true);  // a lease may have counted on this slot
  }
  // Starting the last idle running slot adds one (dispatcher_pool.h).
  core->worker_pool.BeginBusy(w->slot);
  struct EndBatch {
    LocalWork& w;
    DispatcherPool& pool;
    int slot;
    ~EndBatch() {
      w.EndBatch();
      pool.EndBusy(slot);
    }
  } end_batch{core->local_work, core->worker_pool, w->slot};
  for (const providers::WorkItemLease& lease : leases) {
    if (lease.item.session_id) w->last_session_ms = NowMs();
  }
  RefreshCapabilities(core, kBusySchemaRefreshMs);
  // Taken before the ack that may also fetch, so a wake-up between that fetch and the idle
  // wait is not missed.
  w->seen = core->provider->worker_signal().seq();
  std::vector<providers::WorkAck> acks;
  std::vector<const WorkItem*> acked_tasks;
  const bool fast = RunLeases(core, w->worker_id, leases, &acks, &acked_tasks);
  w->batch = fast ? kWorkBatch : 1;
  AckAndPrefetch(w, std::move(acks), acked_tasks);
}

// After an empty fetch: retires this slot once it has been idle long enough (dispatcher_pool.h),
// unless it may still own sessions. Returns true when it was parked and woken again (it
// should look for work at once).
bool RetireIfIdle(WorkerSlot* w, const std::function<bool()>& quitting) {
  RuntimeCore* core = w->core;
  const int64_t now = NowMs();
  if (!w->idle.Record(false, now)) return false;
  if (w->last_session_ms >= 0 && now - w->last_session_ms < core->options.session_idle_timeout_ms) {
    return false;
  }
  if (!core->worker_pool.RetireAndPark(w->slot, quitting)) return false;
  w->idle.Reset();
  return true;
}

}  // namespace

void RunWorkerDispatcher(std::shared_ptr<RuntimeCore> core, int slot) {
  providers::Provider* provider = core->provider.get();
  WorkerSlot w;
  w.core = core.get();
  w.worker_id = "work-" + std::to_string(slot) + "-" + core->runtime_id;
  w.owner = core->options.worker_node_id.value_or(w.worker_id);
  w.slot = slot;
  int64_t fetch_failures = 0;  // consecutive: the backoff grows with them
  BusyMark busy(core.get());
  const bool relay = core->relay.enabled();
  const auto quitting = [raw = core.get()] { return raw->Quitting(); };
  core->worker_pool.Enter(quitting);  // parked until the pool lets this slot run
  while (!core->Quitting()) {
    busy.Busy();
    // Relayed acks no dispatcher took in time are made here (completion_relay.h).
    if (relay) AckRelayedDirectly(core.get(), core->relay.TakeStale(NowMs(), false));
    Result<std::vector<providers::WorkItemLease>> leases = TakeLeases(&w);
    if (!leases.ok()) {
      core->metrics.provider_errors++;
      Log(LogLevel::kWarn, "duroxide::runtime", "work fetch failed: " + leases.status().ToString());
      busy.Idle();
      provider->worker_signal().WaitSince(w.seen, BackoffDelayMs(10, 3000, fetch_failures++));
      continue;
    }
    fetch_failures = 0;
    if (leases->empty()) {
      if (core->Quitting()) break;
      // Work may be waiting for a schema this runtime has not evaluated yet.
      if (RefreshCapabilities(core.get(), kIdleSchemaRefreshMs)) continue;
      busy.Idle();
      if (RetireIfIdle(&w, quitting)) continue;
      int64_t wait = IdleWaitMs(core.get());
      if (relay && !core->relay.empty()) wait = std::min(wait, kRelayBoundMs);
      provider->worker_signal().WaitSince(w.seen, wait);
      continue;
    }
    w.idle.Record(true, 0);
    RunBatch(&w, *leases);
  }
  // Shutdown began after the last ack fetched leases: hand them back untouched.
  if (w.prefetched && w.prefetched->ok()) {
    for (const auto& lease : **w.prefetched) {
      CountAbandonFailure(core.get(), provider->AbandonWorkItem(lease.lock_token, 0, true));
    }
  }
  ReturnLocalWork(core.get());  // hand-off leases no slot will start now (shutdown or drain)
  // This slot relays nothing more: what no dispatcher took is acknowledged now.
  if (relay) AckRelayedDirectly(core.get(), core->relay.TakeStale(0, /*all=*/true));
}

// The completion thread of asynchronous activities (async_completions.h): acknowledges their
// outcomes in batches (one store transaction for everything queued), or hands an item back
// when its activity was cancelled by shutdown. Runs until the runtime quits and nothing is in
// flight; counted among the runtime's threads, so a graceful shutdown (and a drain) waits for
// asynchronous activities exactly as it waits for worker slots busy in synchronous ones.
void RunAsyncCompletions(std::shared_ptr<RuntimeCore> core, int /*slot*/) {
  std::shared_ptr<AsyncCompletions> pending = core->async_completions;
  providers::Provider* provider = core->provider.get();
  while (!(core->Quitting() && pending->in_flight.load() == 0)) {
    std::vector<AsyncCompletions::Item> items = pending->Take(50);
    if (items.empty()) continue;
    std::vector<providers::WorkAck> acks;
    std::vector<const WorkItem*> tasks;
    for (auto& item : items) {
      core->leases.RemoveActivity(item.lock_token);
      if (item.outcome.abandon) {
        CountAbandonFailure(core.get(), provider->AbandonWorkItem(item.lock_token, 0, true));
        continue;
      }
      acks.push_back(SettleOutcome(core.get(), item.task, item.lock_token, item.worker_id,
                                   std::move(item.outcome), item.ran_us));
      tasks.push_back(&item.task);
    }
    if (!acks.empty()) {
      std::vector<Status> acked = provider->AckWorkItemsAndFetch(acks, nullptr);
      for (size_t k = 0; k < acks.size(); ++k) {
        ReportAck(core.get(), acked[k], *tasks[k], acks[k].lock_token);
      }
    }
    pending->in_flight.fetch_sub(static_cast<int64_t>(items.size()));
  }
}

}  // namespace duroxide::runtime
