// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/providers/schedule_store.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

// ---- EngineCache ------------------------------------------------------------------------------

EngineCache::Cached EngineCache::Take(const std::string& instance) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(instance);
  if (it == entries_.end()) return Cached{};
  Cached out{std::move(it->second.engine), it->second.created_at_ms};
  lru_.erase(it->second.lru);
  entries_.erase(it);
  return out;
}

std::optional<providers::CachedHistory> EngineCache::Peek(const std::string& instance) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(instance);
  if (it == entries_.end()) return std::nullopt;
  const auto& engine = it->second.engine;
  // A pending engine is offered too: the turn processor waits for its commit decision.
  if (engine->finished()) return std::nullopt;
  if (it->second.created_at_ms == 0) return std::nullopt;
  return providers::CachedHistory{engine->execution_id(), engine->last_event_id(),
                                  it->second.created_at_ms};
}

void EngineCache::Remove(const std::string& instance, const replay::ReplayEngine* engine) {
  std::shared_ptr<replay::ReplayEngine> victim;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(instance);
  if (it == entries_.end() || it->second.engine.get() != engine) return;
  victim = std::move(it->second.engine);
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void EngineCache::Put(const std::string& instance, std::shared_ptr<replay::ReplayEngine> engine,
                      int64_t instance_created_at_ms) {
  std::vector<std::shared_ptr<replay::ReplayEngine>> evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(instance);
    if (it != entries_.end()) {
      evicted.push_back(std::move(it->second.engine));
      lru_.erase(it->second.lru);
      entries_.erase(it);
    }
    lru_.push_front(instance);
    entries_[instance] = Entry{std::move(engine), instance_created_at_ms, lru_.begin()};
    while (entries_.size() > capacity_) {
      const std::string victim = lru_.back();
      lru_.pop_back();
      evicted.push_back(std::move(entries_[victim].engine));
      entries_.erase(victim);
    }
  }
  // `evicted` is destroyed here, outside the lock.
}

void EngineCache::Clear() {
  std::unordered_map<std::string, Entry> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old.swap(entries_);
    lru_.clear();
  }
}

size_t EngineCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

// ---- LeaseTable -------------------------------------------------------------------------------

void LeaseTable::AddTurn(const std::string& token, int64_t next_renew_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  turns_[token] = next_renew_ms;
}

void LeaseTable::RemoveTurn(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  turns_.erase(token);
}

void LeaseTable::AddActivity(const std::string& token, ActivityLease lease) {
  std::lock_guard<std::mutex> lock(mu_);
  // A lease registered while it waited in LocalWork may have been cancelled meanwhile.
  auto it = activities_.find(token);
  if (it != activities_.end() && it->second.cancelled->load()) lease.cancelled->store(true);
  activities_[token] = std::move(lease);
}

void LeaseTable::RemoveActivity(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  activities_.erase(token);
}

void LeaseTable::CancelActivities(const std::vector<providers::ActivityRef>& refs) {
  if (refs.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [token, lease] : activities_) {
    for (const auto& r : refs) {
      if (lease.ref.instance == r.instance && lease.ref.execution_id == r.execution_id &&
          lease.ref.activity_id == r.activity_id) {
        lease.cancelled->store(true);
      }
    }
  }
}

void LeaseTable::RenewDue(providers::Provider* provider, const RuntimeOptions& options,
                          int64_t now_ms, Metrics* metrics) {
  std::vector<std::string> turns;
  std::vector<std::pair<std::string, std::shared_ptr<std::atomic<bool>>>> acts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [token, due] : turns_) {
      if (due <= now_ms) {
        turns.push_back(token);
        due = now_ms + options.orchestrator_lock_timeout_ms / 2;
      }
    }
    for (auto& [token, lease] : activities_) {
      if (lease.next_renew_ms <= now_ms && !lease.cancelled->load()) {
        acts.emplace_back(token, lease.cancelled);
        lease.next_renew_ms = now_ms + options.worker_lock_timeout_ms / 2;
      }
    }
  }
  // Provider calls happen outside the table lock.
  for (const auto& token : turns) {
    if (!provider->RenewOrchestrationItemLock(token, options.orchestrator_lock_timeout_ms).ok()) {
      metrics->provider_errors++;
    }
  }
  for (const auto& [token, flag] : acts) {
    Status st = provider->RenewWorkItemLock(token, options.worker_lock_timeout_ms);
    if (!st.ok() && !st.retryable()) flag->store(true);  // row gone: the activity was cancelled
  }
}

std::vector<std::string> LeaseTable::ActivityTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [token, lease] : activities_) out.push_back(token);
  return out;
}

std::vector<std::string> LeaseTable::TurnTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [token, due] : turns_) out.push_back(token);
  return out;
}

// ---- Runtime ----------------------------------------------------------------------------------

namespace {

std::string NewRuntimeId() {
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", rd());
  return buf;
}

// Wraps a dispatcher loop so shutdown can count live threads.
void RunCounted(std::shared_ptr<RuntimeCore> core, void (*loop)(std::shared_ptr<RuntimeCore>, int),
                int slot) {
  loop(core, slot);
  std::lock_guard<std::mutex> lock(core->threads_mu);
  --core->running_threads;
  core->threads_cv.notify_all();
}

void RunLeaseThread(std::shared_ptr<RuntimeCore> core, int /*slot*/) {
  const auto& o = core->options;
  int64_t step = std::min<int64_t>(
      {o.orchestrator_lock_timeout_ms / 4, o.worker_lock_timeout_ms / 4, 250});
  step = std::max<int64_t>(step, 10);
  int64_t next_session_renew =
      NowMs() + std::min(o.session_lock_timeout_ms, o.session_idle_timeout_ms) / 2;
  std::unique_lock<std::mutex> lock(core->threads_mu);
  while (!core->stopping.load()) {
    core->threads_cv.wait_for(lock, std::chrono::milliseconds(step));
    if (core->stopping.load()) break;
    lock.unlock();
    const int64_t now = NowMs();
    core->leases.RenewDue(core->provider.get(), o, now, &core->metrics);
    if (now >= next_session_renew && o.worker_concurrency > 0) {
      std::vector<std::string> owners;
      if (o.worker_node_id) {
        owners.push_back(*o.worker_node_id);
      } else {
        for (int i = 0; i < o.worker_concurrency; ++i) {
          owners.push_back("work-" + std::to_string(i) + "-" + core->runtime_id);
        }
      }
      const int64_t session_lock = std::min(o.session_lock_timeout_ms, o.session_idle_timeout_ms);
      (void)core->provider->RenewSessionLocks(owners, session_lock, o.session_idle_timeout_ms);
      next_session_renew = now + std::max<int64_t>(session_lock / 2, 10);
    }
    lock.lock();
  }
}

// Topic delivery (docs/messaging.md): copies topic log entries to the subscribers' queues in
// batches. Woken by publishes in this process (topic_signal). A publish by another process
// (a client without a runtime; an orchestration's publish is delivered by its own runtime)
// arrives as a notification where the provider hears other processes (PostgreSQL): there an
// idle delivery step sleeps on the signal, looking anyway every kTopicFallbackMs (a lost
// notification, a delivery another runtime rolled back). Elsewhere (a SQLite file shared by
// several processes) it polls with a short backoff (up to 50 ms).
void RunTopicDeliveryThread(std::shared_ptr<RuntimeCore> core, int /*slot*/) {
  constexpr int64_t kTopicPollMs = 50;
  constexpr int64_t kTopicFallbackMs = 1000;
  providers::MessagingStore* store = core->provider->messaging();
  if (store == nullptr) return;
  providers::ChangeSignal& signal = core->provider->topic_signal();
  const int64_t max_idle_ms =
      core->provider->HearsOtherProcesses() ? kTopicFallbackMs : kTopicPollMs;
  int64_t idle_ms = 5;
  while (!core->stopping.load()) {
    const uint64_t seen = signal.seq();
    auto delivered = store->DeliverTopicEvents(1000, 256);
    if (delivered.ok() && *delivered > 0) {
      idle_ms = 5;
      continue;
    }
    if (!delivered.ok()) core->metrics.provider_errors++;
    signal.WaitSince(seen, idle_ms);
    idle_ms = std::min<int64_t>(idle_ms * 2, delivered.ok() ? max_idle_ms : kTopicPollMs);
  }
}

// After the virtual clock jumped: whatever sleeps until a due time must look again (the
// dispatchers, and the schedule loop, which sleeps until its next due time).
void NotifyClockMoved(providers::Provider* provider) {
  provider->orchestrator_signal().Notify();
  provider->worker_signal().Notify();
  if (providers::ScheduleStore* schedules = provider->schedules()) schedules->changes().Notify();
}

// See Runtime::SkipTimeIfIdle.
int64_t SkipIfIdle(RuntimeCore* core) {
  const uint64_t seq = core->work_seq.load();
  // An asynchronous activity in flight is work in progress, like a busy dispatcher.
  if (core->busy_dispatchers.load() > 0 || core->async_completions->in_flight.load() > 0) {
    return 0;
  }
  // Every dispatcher is idle: what the store holds now was not fetched by this runtime since
  // `seq` unless work_seq moved (checked again below, after the reads).
  auto next_orch = core->provider->NextOrchestratorVisibleAt();
  auto next_work = core->provider->NextWorkerVisibleAt();
  if (!next_orch.ok() || !next_work.ok()) return 0;
  const int64_t now = NowMs();
  // A schedule due now is work for the firing loop; a future one is a time to jump to.
  std::optional<int64_t> next_schedule;
  providers::ScheduleStore* schedules = core->provider->schedules();
  if (core->options.schedules_enabled && schedules != nullptr) {
    auto next = schedules->NextDueAt(now);
    if (!next.ok()) return 0;
    next_schedule = *next;
  }
  std::optional<int64_t> due;
  for (const auto& next : {*next_orch, *next_work, next_schedule}) {
    if (!next) continue;
    if (*next <= now) return 0;  // work is ready: a dispatcher is about to take it
    due = due ? std::min(*due, *next) : *next;
  }
  if (!due) return 0;
  if (core->busy_dispatchers.load() > 0 || core->async_completions->in_flight.load() > 0 ||
      core->work_seq.load() != seq) {
    return 0;
  }
  const int64_t jump = *due - now;
  AdvanceClockMs(jump);
  NotifyClockMoved(core->provider.get());
  return jump;
}

// A time_skipping runtime's thread: jumps the clock whenever the runtime is idle, checking
// every few milliseconds.
void RunClockSkipper(std::shared_ptr<RuntimeCore> core, int /*slot*/) {
  std::unique_lock<std::mutex> lock(core->threads_mu);
  while (!core->stopping.load()) {
    core->threads_cv.wait_for(lock, std::chrono::milliseconds(2));
    if (core->stopping.load()) break;
    lock.unlock();
    if (core->auto_skip.load()) (void)SkipIfIdle(core.get());
    lock.lock();
  }
}

}  // namespace

int64_t Runtime::SkipTimeIfIdle() { return SkipIfIdle(core_.get()); }

void Runtime::AdvanceClock(int64_t ms) {
  AdvanceClockMs(ms);
  NotifyClockMoved(core_->provider.get());
}

void Runtime::SetAutoSkip(bool enabled) { core_->auto_skip.store(enabled); }

Runtime::Runtime(std::shared_ptr<providers::Provider> provider, RuntimeOptions options,
                 std::shared_ptr<replay::OrchestrationInvoker> orchestrations,
                 std::shared_ptr<ActivityInvoker> activities,
                 std::shared_ptr<OrchestrationRegistry> registry)
    : core_(std::make_shared<RuntimeCore>()) {
  core_->provider = std::move(provider);
  core_->options = std::move(options);
  core_->orchestrations = std::move(orchestrations);
  core_->activities = std::move(activities);
  core_->registry = std::move(registry);
  core_->runtime_id = NewRuntimeId();
  core_->cache.set_capacity(core_->options.warm_cache_capacity);
  core_->capabilities.set_matcher(core_->options.capability_matcher);
  InitFleet(core_.get());
}

Runtime::~Runtime() { Shutdown(0); }

Status Runtime::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return Status::FailedPrecondition("start", "runtime already started");
  started_ = true;
  const auto& o = core_->options;
  {
    std::lock_guard<std::mutex> tl(core_->threads_mu);
    core_->running_threads = o.orchestration_concurrency + o.worker_concurrency +
                             (o.worker_concurrency > 0 ? 1 : 0);
  }
  ConfigureRelay(core_.get());
  // The configured counts are maxima: dispatchers run as the work needs them
  // (dispatcher_pool.h). DUROXIDE_DISPATCHERS=fixed runs them all, for A/B measurements only.
  const char* mode = std::getenv("DUROXIDE_DISPATCHERS");
  const bool adaptive = mode == nullptr || std::string(mode) != "fixed";
  core_->orch_pool.Init(o.orchestration_concurrency, adaptive);
  core_->worker_pool.Init(o.worker_concurrency, adaptive);
  for (int i = 0; i < o.orchestration_concurrency; ++i) {
    threads_.emplace_back(RunCounted, core_, &RunOrchestrationDispatcher, i);
  }
  for (int i = 0; i < o.worker_concurrency; ++i) {
    threads_.emplace_back(RunCounted, core_, &RunWorkerDispatcher, i);
  }
  if (o.worker_concurrency > 0) threads_.emplace_back(RunCounted, core_, &RunAsyncCompletions, 0);
  threads_.emplace_back(RunLeaseThread, core_, 0);
  core_->started_at_ms = NowMs();
  RegisterWithFleet(core_.get());
  fleet_thread_ = std::thread(RunFleetThread, core_);
  if (o.orchestration_concurrency > 0 && core_->provider->messaging() != nullptr) {
    threads_.emplace_back(RunTopicDeliveryThread, core_, 0);
  }
  if (o.time_skipping) threads_.emplace_back(RunClockSkipper, core_, 0);
  Log(LogLevel::kInfo, "duroxide::runtime", "runtime started",
      {{"runtime_id", core_->runtime_id},
       {"worker_id", core_->fleet.worker_id},
       {"worker_name", WorkerName()},
       {"orchestration_concurrency", std::to_string(o.orchestration_concurrency)},
       {"worker_concurrency", std::to_string(o.worker_concurrency)}});
  return Status::Ok();
}

void Runtime::Shutdown(int64_t timeout_ms) {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    threads.swap(threads_);
  }
  core_->stopping.store(true);
  core_->orch_pool.WakeAll();
  core_->worker_pool.WakeAll();
  {
    std::lock_guard<std::mutex> lock(core_->threads_mu);
    core_->threads_cv.notify_all();
  }
  // The fleet thread runs no user code: joined first, so nothing re-registers the worker
  // after it is marked stopped below.
  if (fleet_thread_.joinable()) fleet_thread_.join();
  core_->provider->orchestrator_signal().Notify();
  core_->provider->worker_signal().Notify();
  core_->provider->topic_signal().Notify();  // the delivery step may sleep up to a second
  bool drained;
  {
    std::unique_lock<std::mutex> lock(core_->threads_mu);
    core_->threads_cv.notify_all();
    drained = core_->threads_cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)),
                                         [&] { return core_->running_threads == 0; });
  }
  // Hand-off leases no worker slot started go back to the store.
  ReturnLocalWork(core_.get());
  if (!drained) {
    // Still busy in user code: hand the work back so another runtime can redeliver it.
    for (const auto& token : core_->leases.ActivityTokens()) {
      CountAbandonFailure(core_.get(), core_->provider->AbandonWorkItem(token, 0, true));
    }
    for (const auto& token : core_->leases.TurnTokens()) {
      CountAbandonFailure(core_.get(), core_->provider->AbandonOrchestrationItem(token, 0, true));
    }
    Log(LogLevel::kWarn, "duroxide::runtime",
        "shutdown timeout reached; abandoned in-flight work for redelivery",
        {{"runtime_id", core_->runtime_id}});
  }
  {
    std::lock_guard<std::mutex> lock(core_->threads_mu);
    core_->threads_cv.notify_all();
  }
  for (auto& t : threads) {
    if (drained) t.join();
    else t.detach();  // joined threads would block on user code; they own a core reference
  }
  if (drained) core_->cache.Clear();
  MarkStopped(core_.get(), /*release_sessions=*/false);
  Log(LogLevel::kInfo, "duroxide::runtime", "runtime stopped", {{"runtime_id", core_->runtime_id}});
}

void Runtime::RequestDrain(int64_t grace_ms) {
  core_->fleet.drain_grace_ms.store(std::max<int64_t>(grace_ms, 0));
  core_->fleet.drain_requested.store(true);
  core_->orch_pool.WakeAll();
  core_->worker_pool.WakeAll();
  std::lock_guard<std::mutex> lock(core_->threads_mu);
  core_->threads_cv.notify_all();
}

bool Runtime::WaitDrained(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(core_->threads_mu);
  return core_->threads_cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)),
                                    [&] { return core_->fleet.drain_done.load(); });
}

bool Runtime::drain_requested() const { return core_->fleet.drain_requested.load(); }
bool Runtime::drained() const { return core_->fleet.drain_done.load(); }

const std::string& Runtime::worker_id() const { return core_->fleet.worker_id; }

std::string Runtime::WorkerName() const {
  std::lock_guard<std::mutex> lock(core_->fleet.mu);
  return core_->fleet.name;
}

void Runtime::SetServes(const std::string& serves_json) {
  std::lock_guard<std::mutex> lock(core_->fleet.mu);
  core_->fleet.serves_json = serves_json;
  core_->fleet.serves_dirty = core_->fleet.registered;
}

std::optional<providers::WorkerRecord> Runtime::WorkerRecord() const {
  return OwnWorkerRecord(core_.get());
}

bool Runtime::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_ && !stopped_;
}

std::map<std::string, int64_t> Runtime::MetricsSnapshot() const {
  std::map<std::string, int64_t> out = core_->metrics.Snapshot();
  // Dispatchers added and retired by the adaptive count (dispatcher_pool.h): running =
  // 1 + added - retired on each side with at least one slot.
  out["orch_dispatchers_added"] = core_->orch_pool.added();
  out["orch_dispatchers_retired"] = core_->orch_pool.retired();
  out["worker_dispatchers_added"] = core_->worker_pool.added();
  out["worker_dispatchers_retired"] = core_->worker_pool.retired();
  return out;
}
HistogramData Runtime::TurnDurations() const { return core_->metrics.turn_duration.Snapshot(); }
std::map<std::string, ActivityNameStats> Runtime::ActivityStats() const {
  return core_->metrics.activities.Snapshot();
}

const std::string& Runtime::runtime_id() const { return core_->runtime_id; }

}  // namespace duroxide::runtime
