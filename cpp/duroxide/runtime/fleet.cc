// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/fleet.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

namespace {

constexpr const char* kAdjectives[] = {
    "amber", "bold",   "brave",  "bright", "calm",   "clever", "cosmic", "crisp",  "dusty",
    "eager", "fancy",  "frosty", "gentle", "golden", "happy",  "hidden", "icy",    "jolly",
    "keen",  "lively", "lucky",  "misty",  "noble",  "proud",  "quick",  "quiet",  "rapid",
    "royal", "rustic", "shiny",  "silent", "silver", "snowy",  "solar",  "steady", "sunny",
    "swift", "tidy",   "vivid",  "wild",   "windy",  "witty"};
constexpr const char* kNouns[] = {
    "badger", "beacon", "brook",  "canyon", "cedar",  "cloud",  "comet",  "coral",  "delta",
    "dune",   "ember",  "falcon", "fern",   "fjord",  "forest", "glade",  "harbor", "heron",
    "island", "lagoon", "maple",  "meadow", "mesa",   "orchid", "otter",  "pebble", "pine",
    "prairie", "quartz", "raven", "reef",   "ridge",  "river",  "summit", "thistle", "tundra",
    "valley", "willow", "wolf",   "zephyr"};

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

const char* TagModeName(providers::TagFilter::Mode mode) {
  using M = providers::TagFilter::Mode;
  switch (mode) {
    case M::kDefaultOnly: return "default_only";
    case M::kTags: return "tags";
    case M::kDefaultAnd: return "default_and";
    case M::kAny: return "any";
    case M::kNone: return "none";
  }
  return "default_only";
}

bool RegistryEnabled(const RuntimeCore& core) {
  return core.options.heartbeat_interval_ms > 0 && core.provider->workers() != nullptr;
}

providers::WorkerRegistration Registration(RuntimeCore* core) {
  const RuntimeOptions& o = core->options;
  providers::WorkerRegistration reg;
  reg.worker_id = core->fleet.worker_id;
  const std::string hint = o.worker_name_hint.value_or("");
  if (!hint.empty()) reg.candidate_names.push_back(hint);
  for (int i = 0; i < 16; ++i) reg.candidate_names.push_back(RandomWorkerName(hint));
  reg.host = HostName();
  reg.pid = static_cast<int64_t>(getpid());
  reg.version = o.duroxide_version;
  reg.service_name = o.service_name;
  reg.service_version = o.service_version;
  reg.started_at_ms = core->started_at_ms;
  reg.heartbeat_interval_ms = o.heartbeat_interval_ms;
  reg.capacity_json = nlohmann::json{{"orchestration_slots", o.orchestration_concurrency},
                                     {"worker_slots", o.worker_concurrency},
                                     {"max_sessions", o.max_sessions_per_runtime}}
                          .dump();
  reg.tags_json = nlohmann::json{{"mode", TagModeName(o.worker_tag_filter.mode)},
                                 {"tags", o.worker_tag_filter.tags}}
                      .dump();
  reg.capabilities_json = o.capabilities_json;
  reg.session_owners = core->fleet.session_owners;
  {
    std::lock_guard<std::mutex> lock(core->fleet.mu);
    reg.serves_json = core->fleet.serves_json;
    core->fleet.serves_dirty = false;
  }
  return reg;
}

std::string LoadJson(RuntimeCore* core) {
  const auto m = core->metrics.Snapshot();
  return nlohmann::json{
      {"turns_in_flight", core->leases.TurnTokens().size()},
      {"activities_in_flight", core->leases.ActivityTokens().size()},
      {"sessions_in_flight", core->sessions.distinct()},
      {"items_processed",
       m.at("orch_dispatcher_items_fetched") + m.at("worker_dispatcher_items_fetched")}}
      .dump();
}

bool TryRegister(RuntimeCore* core) {
  Result<std::string> name = core->provider->workers()->RegisterWorker(Registration(core));
  if (!name.ok()) {
    core->metrics.provider_errors++;
    Log(LogLevel::kWarn, "duroxide::runtime", "worker registration failed: " + name.status().ToString());
    return false;
  }
  std::lock_guard<std::mutex> lock(core->fleet.mu);
  const bool first = !core->fleet.registered;
  core->fleet.name = *name;
  core->fleet.registered = true;
  if (first) {
    Log(LogLevel::kInfo, "duroxide::runtime", "worker registered",
        {{"worker_id", core->fleet.worker_id}, {"worker_name", *name}});
  }
  return true;
}

// The drain's end: in-flight work finished (or the grace period ran out and it was handed
// back). Stored status "stopped" releases the sessions.
void FinishDrain(RuntimeCore* core, bool in_time) {
  if (!in_time) {
    for (const auto& token : core->leases.ActivityTokens()) {
      (void)core->provider->AbandonWorkItem(token, 0, true);
    }
    for (const auto& token : core->leases.TurnTokens()) {
      (void)core->provider->AbandonOrchestrationItem(token, 0, true);
    }
    Log(LogLevel::kWarn, "duroxide::runtime", "drain grace period over; handed back in-flight work",
        {{"worker_id", core->fleet.worker_id}});
  }
  MarkStopped(core, /*release_sessions=*/true);
  core->fleet.drain_done.store(true);
  Log(LogLevel::kInfo, "duroxide::runtime", "worker drained", {{"worker_id", core->fleet.worker_id}});
  std::lock_guard<std::mutex> lock(core->threads_mu);
  core->threads_cv.notify_all();
}

void StepDrain(RuntimeCore* core, int64_t now) {
  FleetState& f = core->fleet;
  if (f.drain_done.load()) return;
  if (!f.draining.load()) {
    if (!f.drain_requested.load()) return;
    f.drain_deadline_ms = now + f.drain_grace_ms.load();
    f.draining.store(true);
    f.placement.Disable();
    if (RegistryEnabled(*core)) (void)core->provider->workers()->SetWorkerStatus(f.worker_id, "draining", false);
    Log(LogLevel::kInfo, "duroxide::runtime", "worker draining", {{"worker_id", f.worker_id}});
    core->provider->orchestrator_signal().Notify();
    core->provider->worker_signal().Notify();
  }
  int running;
  {
    std::lock_guard<std::mutex> lock(core->threads_mu);
    running = core->running_threads;
  }
  if (running == 0) FinishDrain(core, true);
  else if (now >= f.drain_deadline_ms) FinishDrain(core, false);
}

void Heartbeat(RuntimeCore* core, int64_t now) {
  providers::WorkerRegistryStore* store = core->provider->workers();
  bool dirty;
  {
    std::lock_guard<std::mutex> lock(core->fleet.mu);
    dirty = core->fleet.serves_dirty || !core->fleet.registered;
  }
  if (dirty) {
    (void)TryRegister(core);
    return;
  }
  Result<providers::HeartbeatReply> reply = store->HeartbeatWorker(core->fleet.worker_id, LoadJson(core));
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kNotFound) (void)TryRegister(core);  // pruned
    else core->metrics.provider_errors++;
    return;
  }
  if (reply->drain_requested && !core->fleet.drain_requested.load()) {
    core->fleet.drain_grace_ms.store(core->options.drain_grace_ms);
    core->fleet.drain_requested.store(true);
  }
  (void)store->ReleaseSessionsOfGoneWorkers();
  (void)store->PruneWorkers(now - core->options.worker_retention_ms);
}

void RefreshPlacement(RuntimeCore* core, int64_t now) {
  auto rows = core->provider->workers()->ListWorkers();
  if (!rows.ok()) return;
  const RuntimeOptions& o = core->options;
  core->fleet.placement.Refresh(*rows, core->fleet.worker_id, o.max_sessions_per_runtime,
                                o.session_idle_timeout_ms + o.session_lock_timeout_ms, now);
}

}  // namespace

std::string RandomWorkerName(const std::string& hint) {
  auto& rng = Rng();
  const size_t na = sizeof(kAdjectives) / sizeof(kAdjectives[0]);
  const size_t nn = sizeof(kNouns) / sizeof(kNouns[0]);
  char num[8];
  std::snprintf(num, sizeof(num), "%02d", static_cast<int>(rng() % 100));
  if (!hint.empty()) return hint + "-" + num;
  return std::string(kAdjectives[rng() % na]) + "-" + kNouns[rng() % nn] + "-" + num;
}

// ---- SessionPlacement ---------------------------------------------------------------------

std::optional<int64_t> SessionPlacement::Restriction(Ticket* ticket, size_t* max_items) {
  if (!active_.load()) return std::nullopt;
  std::unique_lock<std::mutex> token(token_mu_, std::try_to_lock);
  if (token.owns_lock()) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t room = target_ - held_at_refresh_ - new_since_refresh_;
    if (room > 0) {
      *max_items = std::min<size_t>(*max_items, static_cast<size_t>(room));
      ticket->lock = std::move(token);
      return std::nullopt;
    }
  }
  return kPlacementMaxWaitMs;
}

void SessionPlacement::Observe(const std::vector<providers::WorkItemLease>& leases,
                               int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& lease : leases) {
    if (!lease.item.session_id) continue;
    auto [it, inserted] = seen_.emplace(*lease.item.session_id, now_ms);
    if (inserted) ++new_since_refresh_;
    else it->second = now_ms;
  }
}

void SessionPlacement::Refresh(const std::vector<providers::WorkerRecord>& rows,
                               const std::string& self_id, int64_t max_sessions,
                               int64_t forget_after_ms, int64_t now_ms) {
  double min_ratio = std::numeric_limits<double>::infinity();
  int64_t held = 0;
  for (const auto& r : rows) {
    if (r.worker_id == self_id) {
      held = r.sessions_held;
      continue;
    }
    if (!providers::WorkerIsLive(r, now_ms)) continue;
    const auto cap = nlohmann::json::parse(r.capacity_json, nullptr, false);
    if (cap.is_discarded() || cap.value("worker_slots", 0) <= 0) continue;
    const int64_t max = std::max<int64_t>(cap.value("max_sessions", int64_t{1}), 1);
    min_ratio = std::min(min_ratio, static_cast<double>(r.sessions_held) / max);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = now_ms - it->second > forget_after_ms ? seen_.erase(it) : std::next(it);
  }
  held_at_refresh_ = held;
  new_since_refresh_ = 0;
  if (min_ratio == std::numeric_limits<double>::infinity()) {
    active_.store(false);  // alone: nothing to balance against
    return;
  }
  target_ = static_cast<int64_t>(min_ratio * static_cast<double>(max_sessions)) + 1;
  active_.store(true);
}

void SessionPlacement::Disable() { active_.store(false); }

// ---- fleet thread -------------------------------------------------------------------------

void InitFleet(RuntimeCore* core) {
  const RuntimeOptions& o = core->options;
  if (o.worker_node_id) {
    core->fleet.worker_id = *o.worker_node_id;
    core->fleet.session_owners = {*o.worker_node_id};
  } else {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "w-%016llx",
                  static_cast<unsigned long long>(Rng()()));  // NOLINT(runtime/int)
    core->fleet.worker_id = buf;
    for (int i = 0; i < o.worker_concurrency; ++i) {
      core->fleet.session_owners.push_back("work-" + std::to_string(i) + "-" + core->runtime_id);
    }
  }
}

void RegisterWithFleet(RuntimeCore* core) {
  if (RegistryEnabled(*core)) (void)TryRegister(core);
}

void RunFleetThread(std::shared_ptr<RuntimeCore> core) {
  const RuntimeOptions& o = core->options;
  const bool registry = RegistryEnabled(*core);
  const int64_t interval = std::max<int64_t>(o.heartbeat_interval_ms, 10);
  // Placement reads the registry more often than heartbeats while there are peers.
  const int64_t refresh = std::clamp<int64_t>(interval / 10, 20, 100);
  int64_t next_heartbeat = NowMs() + interval;
  int64_t next_refresh = NowMs();
  const bool placement = registry && o.session_placement && o.worker_concurrency > 0;
  std::unique_lock<std::mutex> lock(core->threads_mu);
  while (!core->stopping.load()) {
    core->threads_cv.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(refresh, 50)));
    if (core->stopping.load()) break;
    lock.unlock();
    const int64_t now = NowMs();
    StepDrain(core.get(), now);
    if (registry && !core->fleet.drain_done.load()) {
      if (now >= next_heartbeat) {
        Heartbeat(core.get(), now);
        next_heartbeat = now + interval;
      }
      if (placement && !core->fleet.draining.load() && now >= next_refresh) {
        RefreshPlacement(core.get(), now);
        next_refresh = now + refresh;
      }
    }
    lock.lock();
  }
}

void MarkStopped(RuntimeCore* core, bool release_sessions) {
  if (!RegistryEnabled(*core)) return;
  {
    std::lock_guard<std::mutex> lock(core->fleet.mu);
    if (!core->fleet.registered) return;
  }
  Status st = core->provider->workers()->SetWorkerStatus(core->fleet.worker_id, "stopped",
                                                         release_sessions);
  if (!st.ok()) core->metrics.provider_errors++;
}

std::optional<providers::WorkerRecord> OwnWorkerRecord(RuntimeCore* core) {
  if (!RegistryEnabled(*core)) return std::nullopt;
  auto rows = core->provider->workers()->ListWorkers();
  if (!rows.ok()) return std::nullopt;
  for (auto& r : *rows) {
    if (r.worker_id == core->fleet.worker_id) return r;
  }
  return std::nullopt;
}

}  // namespace duroxide::runtime
