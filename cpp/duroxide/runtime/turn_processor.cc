// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// One orchestration turn, from a fetched batch to one atomic commit. The runtime, not the
// provider, decides everything: which execution runs, the version, the events, the status,
// custom status and KV mutations, routing and visibility of every new message.
#include <thread>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/history/codec.h"
#include "duroxide/runtime/messaging_turn.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

using history::ErrorDetails;
using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;
using providers::ExecutionStatus;
using providers::KvMutation;
using providers::OrchestrationItem;
using providers::TurnCommit;

namespace {

constexpr int64_t kPoisonSentinelEventId = 1000000000;
constexpr const char* kSyscallGetKv = "__duroxide_syscall:get_kv_value";

void CountFailure(RuntimeCore* core, const ErrorDetails& e) {
  core->metrics.orch_failures++;
  switch (e.category) {
    case ErrorDetails::Category::kApplication: core->metrics.orch_application_errors++; break;
    case ErrorDetails::Category::kConfiguration: core->metrics.orch_configuration_errors++; break;
    case ErrorDetails::Category::kInfrastructure: core->metrics.orch_infrastructure_errors++; break;
    case ErrorDetails::Category::kPoison: core->metrics.orch_poison++; break;
  }
}

// Reply for a start that cannot create its instance (the id is taken).
void RejectStart(const WorkItem& start, const std::string& instance, TurnCommit* commit) {
  if (start.parent_instance) {
    WorkItem w;
    w.kind = WorkItemKind::kSubOrchFailed;
    w.instance = *start.parent_instance;
    w.execution_id = start.parent_execution_id;
    w.id = start.parent_id;
    w.error = ErrorDetails::Application(
        "OrchestrationFailed", "cannot start sub-orchestration: instance '" + instance +
                                   "' already exists");
    commit->orchestrator_items.push_back(std::move(w));
  }
  Log(LogLevel::kWarn, "duroxide::runtime",
      "ignoring a start for an instance that already exists",
      {{"instance_id", instance}, {"orchestration_name", start.name}});
}

// Fails an execution outright (poison, unregistered, undecodable history): the failure event is
// appended after whatever history exists, and the parent is told.
void FailExecution(RuntimeCore* core, const OrchestrationItem& item, TurnCommit* commit,
                   std::optional<Event> started, ErrorDetails error) {
  int64_t next_id = item.history.empty() ? 1 : item.history.back().event_id + 1;
  if (!item.history_error.ok()) next_id = kPoisonSentinelEventId;
  const Event* origin = nullptr;
  if (started) {
    started->event_id = next_id++;
    started->timestamp_ms = NowMs();
    commit->new_events.push_back(*started);
    origin = &commit->new_events.back();
  } else if (!item.history.empty()) {
    origin = &item.history.front();
  }
  std::optional<std::string> parent;
  int64_t parent_exec = 0, parent_id = 0;
  if (origin && origin->parent_instance) {
    parent = origin->parent_instance;
    parent_exec = origin->parent_execution_id;
    parent_id = origin->parent_id;
  }
  Event f;
  f.kind = EventKind::kOrchestrationFailed;
  f.event_id = next_id;
  f.timestamp_ms = NowMs();
  f.error = error;
  commit->new_events.push_back(f);
  commit->status = ExecutionStatus::kFailed;
  commit->error = error.DisplayMessage();
  if (parent) {
    WorkItem w;
    w.kind = WorkItemKind::kSubOrchFailed;
    w.instance = *parent;
    w.execution_id = parent_exec;
    w.id = parent_id;
    w.error = error;
    commit->orchestrator_items.push_back(std::move(w));
  }
  CountFailure(core, error);
}

// Built-in system activities run inside the turn, so they never wait behind a tag filter.
WorkItem RunSyscall(RuntimeCore* core, const WorkItem& w) {
  WorkItem c;
  c.instance = w.instance;
  c.execution_id = w.execution_id;
  c.id = w.id;
  if (w.name == kSyscallGetKv) {
    try {
      auto args = nlohmann::json::parse(w.input);
      if (args.is_string()) args = nlohmann::json::parse(args.get<std::string>());
      auto value = core->provider->GetKvValue(args.at("instance_id").get<std::string>(),
                                              args.at("key").get<std::string>());
      if (value.ok()) {
        c.kind = WorkItemKind::kActivityCompleted;
        c.data = value->has_value() ? nlohmann::json(**value).dump() : "null";
        return c;
      }
      c.kind = WorkItemKind::kActivityFailed;
      c.error = ErrorDetails::Application("ActivityFailed", value.status().ToString());
      return c;
    } catch (const std::exception& ex) {
      c.kind = WorkItemKind::kActivityFailed;
      c.error = ErrorDetails::Application("ActivityFailed",
                                          std::string("invalid get_kv_value request: ") + ex.what());
      return c;
    }
  }
  c.kind = WorkItemKind::kActivityFailed;
  c.error = ErrorDetails::Application("ActivityFailed", "unknown system call '" + w.name + "'");
  return c;
}

void FillCommitFromEvents(TurnCommit* commit) {
  for (const Event& e : commit->new_events) {
    switch (e.kind) {
      case EventKind::kCustomStatusUpdated:
        commit->custom_status_changed = true;
        commit->custom_status = e.status;
        break;
      case EventKind::kKeyValueSet:
        commit->kv_mutations.push_back({KvMutation::Kind::kSet, e.key, e.value, e.last_updated_at_ms});
        break;
      case EventKind::kKeyValueCleared:
        commit->kv_mutations.push_back({KvMutation::Kind::kClear, e.key, "", 0});
        break;
      case EventKind::kKeyValuesCleared:
        commit->kv_mutations.push_back({KvMutation::Kind::kClearAll, "", "", 0});
        break;
      default:
        break;
    }
  }
}

void AbandonUnregistered(RuntimeCore* core, const OrchestrationItem& item, const std::string& name,
                         const std::string& detail) {
  const auto& o = core->options;
  int64_t exp = std::min<int64_t>(item.attempt_count - 1, 20);
  int64_t delay = std::min(o.unregistered_backoff_max_ms, o.unregistered_backoff_base_ms << exp);
  Log(LogLevel::kWarn, "duroxide::runtime",
      "orchestration '" + name + "' is not registered on this runtime; retrying later",
      {{"instance_id", item.instance},
       {"attempt", std::to_string(item.attempt_count)},
       {"max_attempts", std::to_string(o.max_attempts)},
       {"detail", detail}});
  Status st = core->provider->AbandonOrchestrationItem(item.lock_token, delay, false);
  if (!st.ok()) core->metrics.provider_errors++;
}

}  // namespace

std::optional<PendingTurn> PrepareTurn(RuntimeCore* core, OrchestrationItem item,
                                       std::shared_ptr<TurnLeaseGuard> lease) {
  const RuntimeOptions& opt = core->options;
  core->metrics.orch_dispatcher_items_fetched++;
  const int64_t now = NowMs();
  PendingTurn pending;
  pending.instance = item.instance;
  pending.lock_token = item.lock_token;
  pending.lease = std::move(lease);
  TurnCommit& commit = pending.commit;
  // Every path that acknowledges ends here; the others abandon and return nullopt.
  auto finish = [&]() { return std::optional<PendingTurn>(std::move(pending)); };

  if (!item.history_error.ok()) {
    if (history::IsNewerFormat(item.history_error)) {
      // Written by a newer duroxide: leave the instance exactly as it is (no poison count, no
      // failure) so that an upgraded runtime can continue it; retry rarely.
      Log(LogLevel::kError, "duroxide::runtime",
          "history written by a newer duroxide; leaving the instance untouched: " +
              item.history_error.ToString(),
          {{"instance_id", item.instance}});
      (void)core->provider->AbandonOrchestrationItem(item.lock_token, 5000, true);
      return std::nullopt;
    }
    if (item.attempt_count > opt.max_attempts) {
      commit.execution_id = item.record ? item.record->current_execution_id : 1;
      FailExecution(core, item, &commit, std::nullopt,
                    ErrorDetails::Poison("Orchestration", item.attempt_count, opt.max_attempts,
                                         "history could not be decoded: " +
                                             item.history_error.ToString()));
      return finish();
    } else {
      Log(LogLevel::kError, "duroxide::runtime",
          "history could not be decoded: " + item.history_error.ToString(),
          {{"instance_id", item.instance}});
      (void)core->provider->AbandonOrchestrationItem(item.lock_token, 1000, false);
    }
    return std::nullopt;
  }

  // Warm path: the provider skipped the history because our cached engine holds it. If that
  // engine is gone or out of step (evicted meanwhile), read the history after all.
  std::shared_ptr<replay::ReplayEngine> warm;
  if (!item.history_loaded) {
    EngineCache::Cached cached = core->cache.Take(item.instance);
    warm = std::move(cached.engine);
    const int64_t exec = item.record ? item.record->current_execution_id : 1;
    const bool usable = warm && item.record &&
                        cached.instance_created_at_ms == item.record->created_at_ms &&
                        !warm->finished() && warm->AwaitCommitDecision(100) &&
                        warm->execution_id() == exec && warm->last_event_id() == item.last_event_id;
    if (!usable) {
      warm.reset();
      auto history = core->provider->ReadHistory(item.instance, exec);
      if (!history.ok()) {
        core->metrics.provider_errors++;
        (void)core->provider->AbandonOrchestrationItem(item.lock_token, 50, true);
        return std::nullopt;
      }
      item.history = std::move(history).value();
      item.history_loaded = true;
    }
  }

  const WorkItem* start = nullptr;
  const WorkItem* can = nullptr;
  std::vector<const WorkItem*> extra_starts;
  std::vector<WorkItem> messages;
  for (const WorkItem& m : item.messages) {
    if (m.kind == WorkItemKind::kStartOrchestration) {
      if (start == nullptr) start = &m;
      else extra_starts.push_back(&m);
    } else if (m.kind == WorkItemKind::kContinueAsNew) {
      if (can == nullptr || m.execution_id > can->execution_id) can = &m;
    } else {
      messages.push_back(m);
    }
  }

  const bool exists = item.record.has_value() || !item.history.empty() || warm != nullptr;
  // An actor starts on its first message, in the turn that takes it (start-if-absent).
  std::optional<WorkItem> actor_start;
  if (!exists && start == nullptr) {
    actor_start = ActorStartIfAbsent(item.instance);
    if (actor_start) start = &*actor_start;
  }
  const ExecutionStatus status = item.record ? item.record->status : ExecutionStatus::kRunning;
  const int64_t current_exec =
      item.record ? item.record->current_execution_id : (item.history.empty() ? 1 : 1);

  // Which execution does this turn run?
  const WorkItem* origin = nullptr;  // start or CAN that opens a new execution
  if (!exists) {
    origin = start;
  } else {
    if (start) extra_starts.insert(extra_starts.begin(), start);
    if (can && status == ExecutionStatus::kContinuedAsNew && can->execution_id == current_exec + 1) {
      origin = can;
    }
  }
  for (const WorkItem* s : extra_starts) RejectStart(*s, item.instance, &commit);

  const bool terminal = exists && status != ExecutionStatus::kRunning && origin == nullptr;
  if (!exists && origin == nullptr) {
    // A start that is queued but delayed (its orchestration is not registered yet) owns these
    // messages: hand them back instead of dropping them.
    auto queued_start = core->provider->HasPendingStart(item.instance);
    if (!queued_start.ok() || *queued_start) {
      (void)core->provider->AbandonOrchestrationItem(item.lock_token, opt.unregistered_backoff_base_ms,
                                                     true);
      return std::nullopt;
    }
  }
  if ((!exists && origin == nullptr) || terminal) {
    // Nothing to run: the instance is missing or finished. Late messages are dropped so they
    // never block the queue.
    if (!item.messages.empty()) {
      Log(LogLevel::kDebug, "duroxide::runtime",
          exists ? "dropping messages for a finished instance"
                 : "dropping messages for an instance that does not exist",
          {{"instance_id", item.instance}, {"count", std::to_string(item.messages.size())}});
    }
    // Queue messages become dead letters (in this same commit), never silently lost.
    const std::string reason =
        "instance '" + item.instance + "' " +
        (!exists ? "does not exist"
                 : status == ExecutionStatus::kCompleted ? "has completed"
                 : status == ExecutionStatus::kFailed    ? "has failed"
                                                         : "is not running");
    DeadLetterMessages(item.instance, item.messages, reason, &commit, &pending.dropped_messages);
    commit.messaging.unsubscribe_all = true;
    // status stays kRunning in the commit: "no change" for the execution row, so the stored
    // output or error of a finished instance is never touched.
    commit.execution_id = current_exec;
    return finish();
  }

  std::shared_ptr<replay::ReplayEngine> engine;
  std::optional<Event> started;
  int64_t exec_id = current_exec;
  if (origin) {
    exec_id = origin->kind == WorkItemKind::kContinueAsNew ? origin->execution_id : 1;
    Event s;
    s.kind = EventKind::kOrchestrationStarted;
    s.name = origin->name;
    s.input = origin->input;
    s.parent_instance = origin->parent_instance;
    s.parent_execution_id = origin->parent_execution_id;
    s.parent_id = origin->parent_id;
    s.carry_forward = origin->carry_forward;
    s.carry_forward_meta = origin->carry_forward_meta;
    if (origin->has_custom_status) s.initial_custom_status = origin->custom_status;
    auto version = core->registry->Resolve(origin->name, origin->version);
    s.version = version ? *version : origin->version.value_or("1.0.0");
    commit.new_execution = true;
    commit.orchestration_name = s.name;
    commit.orchestration_version = *s.version;
    commit.parent_instance_id = s.parent_instance;
    commit.execution_id = exec_id;
    commit.instance_created_at_ms = item.record ? item.record->created_at_ms : now;
    started = s;
    if (!version) {
      const std::string what = "orchestration '" + origin->name + "'" +
                                (origin->version ? " version " + *origin->version : "") +
                                " is not registered";
      if (item.attempt_count > opt.max_attempts) {
        FailExecution(core, item, &commit, started,
                      ErrorDetails::Configuration("UnregisteredOrchestration",
                                                  what + " (gave up after " +
                                                      std::to_string(item.attempt_count - 1) +
                                                      " attempts)"));
        return finish();
      }
      AbandonUnregistered(core, item, origin->name, what);
      return std::nullopt;
    }
  } else {
    commit.execution_id = exec_id;
    if (warm) {
      engine = std::move(warm);
    } else {
      EngineCache::Cached cached = core->cache.Take(item.instance);
      engine = std::move(cached.engine);
      const bool usable = engine && !item.history.empty() && item.record &&
                          cached.instance_created_at_ms == item.record->created_at_ms &&
                          !engine->finished() &&
                          engine->execution_id() == exec_id &&
                          engine->history_size() == item.history.size() &&
                          engine->last_event_id() == item.history.back().event_id &&
                          engine->AwaitCommitDecision(100);
      if (!usable) engine.reset();
    }
  }

  if (item.attempt_count > opt.max_attempts) {
    if (!origin) commit.execution_id = exec_id;
    if (!item.history_loaded) {
      auto history = core->provider->ReadHistory(item.instance, exec_id);
      if (history.ok()) item.history = std::move(history).value();
    }
    FailExecution(core, item, &commit, started,
                  ErrorDetails::Poison("Orchestration", item.attempt_count, opt.max_attempts,
                                       "orchestration message delivered " +
                                           std::to_string(item.attempt_count) +
                                           " times without completing a turn"));
    return finish();
  }

  if (!engine) {
    replay::EngineOptions engine_options;
    engine_options.max_payload_bytes = opt.max_payload_bytes;
    engine_options.max_history_events = opt.max_history_events;
    engine = std::make_shared<replay::ReplayEngine>(item.instance, exec_id,
                                                    core->orchestrations.get(),
                                                    std::move(engine_options));
    std::map<std::string, replay::KvValue> baseline;
    for (const auto& [k, v] : item.kv_snapshot) baseline[k] = {v.value, v.last_updated_at_ms};
    engine->Load(origin ? std::vector<Event>{} : std::move(item.history), std::move(baseline));
  }

  replay::TurnOutput out = engine->RunTurn(started, messages, now);
  if (out.outcome == replay::TurnOutput::Outcome::kUnregistered) {
    const std::string name = started ? started->name : "<unknown>";
    if (item.attempt_count > opt.max_attempts) {
      FailExecution(core, item, &commit, started,
                    ErrorDetails::Configuration("UnregisteredOrchestration",
                                                out.unregistered_message));
      return finish();
    }
    AbandonUnregistered(core, item, name, out.unregistered_message);
    return std::nullopt;
  }

  commit.new_events = std::move(out.new_events);
  for (const Event& e : commit.new_events) {
    if (e.kind == EventKind::kSubOrchestrationScheduled) core->metrics.suborchestration_calls++;
  }
  FillCommitFromEvents(&commit);
  AddMessagingWrites(commit.new_events, &commit);
  if (!out.unconsumed_messages.empty()) {
    // Messages (and requests) the execution ended without taking: dead letters, and requests
    // get an error reply, as if they had arrived after the end.
    DeadLetterMessages(item.instance, out.unconsumed_messages,
                       "instance '" + item.instance + "' ended without taking it", &commit,
                       &out.dropped_messages);
  }
  switch (out.outcome) {
    case replay::TurnOutput::Outcome::kCompleted:
      commit.status = ExecutionStatus::kCompleted;
      commit.output = out.output;
      break;
    case replay::TurnOutput::Outcome::kFailed:
      commit.status = ExecutionStatus::kFailed;
      commit.error = out.error.DisplayMessage();
      break;
    case replay::TurnOutput::Outcome::kContinuedAsNew:
      commit.status = ExecutionStatus::kContinuedAsNew;
      break;
    default:
      commit.status = ExecutionStatus::kRunning;
      break;
  }
  for (WorkItem& w : out.worker_items) {
    if (w.name.rfind(replay::kSyscallPrefix, 0) == 0) {
      commit.orchestrator_items.push_back(RunSyscall(core, w));
    } else {
      commit.worker_items.push_back(std::move(w));
    }
  }
  for (WorkItem& w : out.orchestrator_items) commit.orchestrator_items.push_back(std::move(w));
  for (int64_t id : out.cancelled_activity_ids) {
    commit.cancelled_activities.push_back({item.instance, exec_id, id});
  }

  // The engine goes into the cache before the ack, still marked uncommitted, so the next turn
  // of this instance (possibly on another thread right after the commit) finds it.
  pending.keep_engine = !engine->finished() && opt.warm_cache_capacity > 0;
  if (pending.keep_engine) {
    core->cache.Put(item.instance, engine,
                    item.record ? item.record->created_at_ms : commit.instance_created_at_ms);
  }
  pending.engine = std::move(engine);
  pending.starts_execution = origin != nullptr;
  pending.turn_error = out.error;
  pending.dropped_messages = out.dropped_messages;
  return finish();
}

void MarkTurnCommitted(const PendingTurn& turn) {
  if (turn.engine) turn.engine->MarkCommitted();
}

void CompleteTurn(RuntimeCore* core, PendingTurn& turn, const Status& ack) {
  core->metrics.dropped_messages += turn.dropped_messages;
  if (ack.ok()) {
    // Clients waiting in this process for these replies wake at once.
    for (const auto& r : turn.commit.messaging.client_replies) {
      core->provider->status_signal().Notify(std::string(kClientReplyTarget) + "/" + r.request_id);
    }
    if (!turn.commit.messaging.publishes.empty()) core->provider->topic_signal().Notify();
  }
  if (!ack.ok()) {
    if (ack.code() != StatusCode::kFailedPrecondition) {  // a lost lock is not a storage fault
      core->metrics.provider_errors++;
      core->metrics.orch_infrastructure_errors++;
    }
    Log(LogLevel::kWarn, "duroxide::runtime", "orchestration ack failed: " + ack.ToString(),
        {{"instance_id", turn.instance}});
    if (IsStorageFault(ack)) {
      // Not the turn's fault: hand the item back after a short backoff without counting the
      // delivery toward the poison limit (max_attempts), so that a failing disk or a
      // restarting server cannot poison instances. The turn is replayed.
      AbandonWithRetry([&] {
        return core->provider->AbandonOrchestrationItem(turn.lock_token, 100,
                                                        /*ignore_attempt=*/true);
      });
    } else if (ack.retryable()) {
      (void)core->provider->AbandonOrchestrationItem(turn.lock_token, 50, false);
    }
    if (turn.engine) {
      turn.engine->MarkAbandoned();
      // Its state was never committed.
      if (turn.keep_engine) core->cache.Remove(turn.instance, turn.engine.get());
    }
    return;
  }
  if (!turn.engine) return;  // error paths were counted when the failure was decided
  core->leases.CancelActivities(turn.commit.cancelled_activities);
  if (turn.starts_execution) core->metrics.orch_starts++;
  switch (turn.commit.status) {
    case ExecutionStatus::kCompleted: core->metrics.orch_completions++; break;
    case ExecutionStatus::kFailed: CountFailure(core, turn.turn_error); break;
    case ExecutionStatus::kContinuedAsNew: core->metrics.orch_continue_as_new++; break;
    default: break;
  }
}

Status AckTurnWithRetry(RuntimeCore* core, const PendingTurn& turn) {
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = core->provider->AckOrchestrationItem(turn.lock_token, turn.commit);
    if (st.ok() || st.code() != StatusCode::kUnavailable) return st;
    core->metrics.provider_errors++;
    std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
  }
  return st;
}

}  // namespace duroxide::runtime
