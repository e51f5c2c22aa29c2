// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// One orchestration turn, from a fetched batch to one atomic commit. The runtime, not the
// provider, decides everything: which execution runs, the version, the events, the status,
// custom status and KV mutations, routing and visibility of every new message.
#include <algorithm>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/ops_common.h"
#include "duroxide/runtime/messaging_turn.h"
#include "duroxide/runtime/interpreter_lock.h"
#include "duroxide/runtime/runtime_core.h"
#include "duroxide/runtime/turn_plan.h"
#include "duroxide/common/backoff.h"

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

void CountFailure(RuntimeCore* core, const ErrorDetails& e, int64_t delta = 1) {
  Metrics& m = core->metrics;
  m.orch_failures += delta;
  switch (e.category) {
    case ErrorDetails::Category::kApplication: m.orch_application_errors += delta; break;
    case ErrorDetails::Category::kConfiguration: m.orch_configuration_errors += delta; break;
    case ErrorDetails::Category::kInfrastructure: m.orch_infrastructure_errors += delta; break;
    case ErrorDetails::Category::kPoison: m.orch_poison += delta; break;
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

// The rest of a terminate (client.terminate_instance), after FailExecution: the output the
// operator gave, the activities history shows scheduled and unfinished (deleted from the
// worker queue; a running one finishes and its completion is dropped as late), and, when
// recursive, a terminate for every sub-orchestration history shows running. No code runs.
void EndOpenWork(const OrchestrationItem& item, const WorkItem& terminate, bool new_execution,
                 TurnCommit* commit) {
  if (!terminate.data.empty()) commit->output = terminate.data;
  if (new_execution) return;  // nothing was scheduled yet
  std::map<int64_t, const Event*> open;  // scheduling event id -> event
  for (const Event& e : item.history) {
    if (e.kind == EventKind::kActivityScheduled || e.kind == EventKind::kSubOrchestrationScheduled) {
      open[e.event_id] = &e;
    } else if (e.source_event_id &&
               (e.kind == EventKind::kActivityCompleted || e.kind == EventKind::kActivityFailed ||
                e.kind == EventKind::kSubOrchestrationCompleted ||
                e.kind == EventKind::kSubOrchestrationFailed)) {
      open.erase(*e.source_event_id);
    }
  }
  for (const auto& [id, e] : open) {
    if (e->kind == EventKind::kActivityScheduled) {
      commit->cancelled_activities.push_back({item.instance, commit->execution_id, id});
    } else if (terminate.recursive) {
      WorkItem w = terminate;
      w.instance = e->instance;
      w.data.clear();
      w.reason = "parent terminated: " + terminate.reason;
      commit->orchestrator_items.push_back(std::move(w));
    }
  }
}

// The orchestration name of an item that has run before ("" if unknown).
std::string OrchestrationName(const OrchestrationItem& item) {
  if (item.record) return item.record->name;
  if (!item.history.empty()) return item.history.front().name;
  return std::string();
}

// Park instead of fail (docs/operations.md). With on_failure "suspend" (the orchestration's
// registration, else RuntimeOptions), an execution that would end Failed because its code
// raised, was nondeterministic or is not registered is suspended instead, with the error as
// the reason: nothing of this turn is written, the suspension replaces this turn's lock and
// its messages stay queued, so resume_instance retries the same turn under the code that runs
// then. Returns false (fail as usual) for other errors or when the suspension is refused.
bool ParkOnFailure(RuntimeCore* core, const OrchestrationItem& item, const std::string& name,
                   const ErrorDetails& error, bool force = false) {
  using Category = ErrorDetails::Category;
  if (error.kind == "Cancelled" || error.kind == "Terminated" ||
      error.category == Category::kPoison || error.category == Category::kInfrastructure) {
    return false;
  }
  if (!force &&
      !core->registry->SuspendOnFailure(name).value_or(core->options.suspend_on_failure)) {
    return false;
  }
  core->cache.Take(item.instance);  // the next turn replays from history under current code
  const std::string reason = error.DisplayMessage();
  Status st = WhileBlocking(
      [&] { return providers::ops::Suspend(*core->provider, item.instance, reason); });
  if (!st.ok()) {
    Log(LogLevel::kWarn, "duroxide::runtime", "could not park a failing orchestration; failing it",
        {{"instance_id", item.instance}, {"error", st.message()}});
    return false;
  }
  Log(LogLevel::kWarn, "duroxide::runtime", "orchestration suspended instead of failed",
      {{"instance_id", item.instance}, {"orchestration_name", name}, {"error", reason}});
  return true;
}

// Hands an item back; a failure is counted (and logged), not discarded. The item's lock then
// expires and it is redelivered anyway.
void AbandonItem(RuntimeCore* core, const std::string& lock_token, int64_t delay_ms,
                 bool ignore_attempt) {
  CountAbandonFailure(core, WhileBlocking([&] {
    return core->provider->AbandonOrchestrationItem(lock_token, delay_ms, ignore_attempt);
  }));
}

// An orchestration this runtime does not have: hand the item back with backoff.
void AbandonUnregistered(RuntimeCore* core, const OrchestrationItem& item, const std::string& name,
                         const std::string& detail, int64_t delay_ms) {
  const auto& o = core->options;
  Log(LogLevel::kWarn, "duroxide::runtime",
      "orchestration '" + name + "' is not registered on this runtime; retrying later",
      {{"instance_id", item.instance},
       {"attempt", std::to_string(item.attempt_count)},
       {"max_attempts", std::to_string(o.max_attempts)},
       {"detail", detail}});
  AbandonItem(core, item.lock_token, delay_ms, false);
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
      auto value = WhileBlocking([&] {
        return core->provider->GetKvValue(args.at("instance_id").get<std::string>(),
                                          args.at("key").get<std::string>());
      });
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

// The warm path: the provider skipped the history because our cached engine holds it. If that
// engine is gone or out of step (evicted meanwhile), the history is read after all. Returns
// false when that read failed (the item was handed back).
bool TakeWarmEngine(RuntimeCore* core, OrchestrationItem* item,
                    std::shared_ptr<replay::ReplayEngine>* warm) {
  if (item->history_loaded) return true;
  EngineCache::Cached cached = core->cache.Take(item->instance);
  *warm = std::move(cached.engine);
  const int64_t exec = item->record ? item->record->current_execution_id : 1;
  const bool usable = *warm && item->record &&
                      cached.instance_created_at_ms == item->record->created_at_ms &&
                      !(*warm)->finished() &&
                      WhileBlocking([&] { return (*warm)->AwaitCommitDecision(100); }) &&
                      (*warm)->execution_id() == exec &&
                      (*warm)->last_event_id() == item->last_event_id;
  if (usable) return true;
  warm->reset();
  auto history = WhileBlocking([&] { return core->provider->ReadHistory(item->instance, exec); });
  if (!history.ok()) {
    core->metrics.provider_errors++;
    AbandonItem(core, item->lock_token, 50, true);
    return false;
  }
  item->history = std::move(history).value();
  item->history_loaded = true;
  return true;
}

TurnFacts FactsOf(RuntimeCore* core, const OrchestrationItem& item, bool warm,
                  const ClassifiedMessages& messages) {
  TurnFacts f;
  if (!item.history_error.ok()) {
    f.history_error = item.history_error.ToString();
    f.history_newer_format = history::IsNewerFormat(item.history_error);
  }
  f.attempt_count = item.attempt_count;
  f.max_attempts = core->options.max_attempts;
  f.exists = item.record.has_value() || !item.history.empty() || warm;
  f.status = item.record ? item.record->status : ExecutionStatus::kRunning;
  f.current_execution_id = item.record ? item.record->current_execution_id : 1;
  f.has_messages = !item.messages.empty();
  if (const WorkItem* origin = FindOrigin(f, messages)) {
    f.resolved_version = core->registry->Resolve(origin->name, origin->version);
  }
  return f;
}

// The OrchestrationStarted event of a new execution, and the commit fields that go with it.
Event StartedEvent(RuntimeCore* core, const OrchestrationItem& item, const WorkItem& origin,
                   const TurnPlan& plan, int64_t now, TurnCommit* commit) {
  Event s;
  s.kind = EventKind::kOrchestrationStarted;
  s.name = origin.name;
  s.input = origin.input;
  s.parent_instance = origin.parent_instance;
  s.parent_execution_id = origin.parent_execution_id;
  s.parent_id = origin.parent_id;
  s.carry_forward = origin.carry_forward;
  s.carry_forward_meta = origin.carry_forward_meta;
  if (origin.has_custom_status) s.initial_custom_status = origin.custom_status;
  s.trace_context = origin.trace_context;
  auto version = core->registry->Resolve(origin.name, origin.version);
  s.version = version ? *version : origin.version.value_or("1.0.0");
  commit->new_execution = true;
  commit->orchestration_name = s.name;
  commit->orchestration_version = *s.version;
  commit->parent_instance_id = s.parent_instance;
  commit->execution_id = plan.execution_id;
  commit->instance_created_at_ms = item.record ? item.record->created_at_ms : now;
  return s;
}

// Queue messages for a missing or finished instance become dead letters (in the same commit),
// never silently lost; its topic subscriptions end.
void DeadLetterUndeliverable(const OrchestrationItem& item, const TurnPlan& plan,
                             PendingTurn* pending) {
  const bool exists = plan.action == TurnPlan::Action::kDrop;
  const ExecutionStatus status = item.record ? item.record->status : ExecutionStatus::kRunning;
  const std::string reason =
      "instance '" + item.instance + "' " +
      (!exists ? "does not exist"
               : status == ExecutionStatus::kCompleted ? "has completed"
               : status == ExecutionStatus::kFailed    ? "has failed"
                                                       : "is not running");
  DeadLetterMessages(item.instance, item.messages, reason, &pending->commit,
                     &pending->dropped_messages);
  pending->commit.messaging.unsubscribe_all = true;
}

// A plan other than kRun: abandon, fail, drop. Returns the turn to acknowledge, or nullopt
// when the item was handed back.
std::optional<PendingTurn> ApplyPlan(RuntimeCore* core, OrchestrationItem& item,
                                     const TurnPlan& plan, PendingTurn pending, int64_t now) {
  TurnCommit& commit = pending.commit;
  commit.execution_id = plan.execution_id;
  switch (plan.action) {
    case TurnPlan::Action::kCheckPendingStart: {
      auto queued_start =
          WhileBlocking([&] { return core->provider->HasPendingStart(item.instance); });
      if (!queued_start.ok() || *queued_start) {
        AbandonItem(core, item.lock_token, plan.abandon_delay_ms, true);
        return std::nullopt;
      }
      [[fallthrough]];
    }
    case TurnPlan::Action::kDrop:
      if (!item.messages.empty()) {
        Log(LogLevel::kDebug, "duroxide::runtime", plan.reason,
            {{"instance_id", item.instance}, {"count", std::to_string(item.messages.size())}});
      }
      DeadLetterUndeliverable(item, plan, &pending);
      // status stays kRunning in the commit: "no change" for the execution row, so the stored
      // output or error of a finished instance is never touched.
      return pending;
    case TurnPlan::Action::kAbandon:
      if (plan.origin) {
        AbandonUnregistered(core, item, plan.origin->name, plan.reason, plan.abandon_delay_ms);
        return std::nullopt;
      }
      // Waiting for a queued continue-as-new is routine; the other hand-backs are not.
      Log(item.record && item.record->status == ExecutionStatus::kContinuedAsNew
              ? LogLevel::kDebug : LogLevel::kError,
          "duroxide::runtime", plan.reason, {{"instance_id", item.instance}});
      AbandonItem(core, item.lock_token, plan.abandon_delay_ms, plan.abandon_keeps_attempt);
      return std::nullopt;
    case TurnPlan::Action::kFail: {
      std::optional<Event> started;
      if (plan.origin) started = StartedEvent(core, item, *plan.origin, plan, now, &commit);
      if (!plan.origin && !item.history_loaded && item.history_error.ok()) {
        auto history = WhileBlocking(
            [&] { return core->provider->ReadHistory(item.instance, plan.execution_id); });
        if (history.ok()) item.history = std::move(history).value();
      }
      if (!plan.terminate && plan.failure.kind == "UnregisteredOrchestration" && plan.origin &&
          ParkOnFailure(core, item, plan.origin->name, plan.failure)) {
        return std::nullopt;
      }
      FailExecution(core, item, &commit, started, plan.failure);
      if (plan.terminate) EndOpenWork(item, *plan.terminate, plan.origin != nullptr, &commit);
      // No code consumes what this turn took: its queue messages become dead letters (in the
      // same commit), as for any instance that has ended, and its subscriptions end.
      DeadLetterMessages(item.instance, item.messages,
                         "instance '" + item.instance + "' " +
                             (plan.terminate ? "was terminated" : "has failed"),
                         &commit, &pending.dropped_messages);
      commit.messaging.unsubscribe_all = true;
      return pending;
    }
    case TurnPlan::Action::kRun:
      break;
  }
  return pending;
}

}  // namespace

namespace {

// The engine that runs the turn: the warm one, a cached one in step with the history, or a
// fresh one loaded with the history (none for a new execution).
std::shared_ptr<replay::ReplayEngine> EngineFor(RuntimeCore* core, OrchestrationItem& item,
                                                const TurnPlan& plan,
                                                std::shared_ptr<replay::ReplayEngine> warm) {
  std::shared_ptr<replay::ReplayEngine> engine;
  if (!plan.origin) {
    if (warm) return warm;
    EngineCache::Cached cached = core->cache.Take(item.instance);
    engine = std::move(cached.engine);
    const bool usable = engine && !item.history.empty() && item.record &&
                        cached.instance_created_at_ms == item.record->created_at_ms &&
                        !engine->finished() && engine->execution_id() == plan.execution_id &&
                        engine->history_size() == item.history.size() &&
                        engine->last_event_id() == item.history.back().event_id &&
                        WhileBlocking([&] { return engine->AwaitCommitDecision(100); });
    if (usable) return engine;
  }
  const RuntimeOptions& opt = core->options;
  replay::EngineOptions engine_options;
  engine_options.max_payload_bytes = opt.max_payload_bytes;
  engine_options.max_history_events = opt.max_history_events;
  engine = std::make_shared<replay::ReplayEngine>(item.instance, plan.execution_id,
                                                  core->orchestrations.get(),
                                                  std::move(engine_options));
  std::map<std::string, replay::KvValue> baseline;
  for (const auto& [k, v] : item.kv_snapshot) baseline[k] = {v.value, v.last_updated_at_ms};
  engine->Load(plan.origin ? std::vector<Event>{} : std::move(item.history), std::move(baseline));
  return engine;
}

// Copies a turn's output into the commit: events, status, work items, cancellations.
void CommitFromOutput(RuntimeCore* core, const std::string& instance, int64_t exec_id,
                      replay::TurnOutput& out, TurnCommit* commit) {
  commit->new_events = std::move(out.new_events);
  for (const Event& e : commit->new_events) {
    if (e.kind == EventKind::kSubOrchestrationScheduled) core->metrics.suborchestration_calls++;
  }
  FillCommitFromEvents(commit);
  AddMessagingWrites(commit->new_events, commit);
  if (!out.unconsumed_messages.empty()) {
    // Messages (and requests) the execution ended without taking: dead letters, and requests
    // get an error reply, as if they had arrived after the end.
    DeadLetterMessages(instance, out.unconsumed_messages,
                       "instance '" + instance + "' ended without taking it", commit,
                       &out.dropped_messages);
  }
  switch (out.outcome) {
    case replay::TurnOutput::Outcome::kCompleted:
      commit->status = ExecutionStatus::kCompleted;
      commit->output = out.output;
      break;
    case replay::TurnOutput::Outcome::kFailed:
      commit->status = ExecutionStatus::kFailed;
      commit->error = out.error.DisplayMessage();
      break;
    case replay::TurnOutput::Outcome::kContinuedAsNew:
      commit->status = ExecutionStatus::kContinuedAsNew;
      break;
    default:
      commit->status = ExecutionStatus::kRunning;
      break;
  }
  for (WorkItem& w : out.worker_items) {
    if (w.name.rfind(replay::kSyscallPrefix, 0) == 0) {
      commit->orchestrator_items.push_back(RunSyscall(core, w));
    } else {
      commit->worker_items.push_back(std::move(w));
    }
  }
  for (WorkItem& w : out.orchestrator_items) commit->orchestrator_items.push_back(std::move(w));
  for (int64_t id : out.cancelled_activity_ids) {
    commit->cancelled_activities.push_back({instance, exec_id, id});
  }
}

// Runs a planned turn (TurnPlan::Action::kRun).
std::optional<PendingTurn> RunTurn(RuntimeCore* core, OrchestrationItem& item,
                                   const TurnPlan& plan, const ClassifiedMessages& messages,
                                   std::shared_ptr<replay::ReplayEngine> warm,
                                   PendingTurn pending, int64_t now) {
  TurnCommit& commit = pending.commit;
  commit.execution_id = plan.execution_id;
  std::optional<Event> started;
  if (plan.origin) started = StartedEvent(core, item, *plan.origin, plan, now, &commit);
  std::shared_ptr<replay::ReplayEngine> engine = EngineFor(core, item, plan, std::move(warm));

  // A rerun's first turn (ops_common.h Rerun) replays the copied prefix: code that no longer
  // produces it parks the instance with the replay report, whatever the policy; the prefix's
  // unfinished activities are queued by this turn, with the routing the code gives them.
  const bool rerun_check = std::any_of(
      messages.others.begin(), messages.others.end(), [](const WorkItem& w) {
        return w.kind == WorkItemKind::kExternalRaised && w.name == providers::ops::kRerunMarker;
      });
  engine->SetRequeueOpenActivities(rerun_check);
  replay::TurnOutput out = engine->RunTurn(started, messages.others, now);
  engine->SetRequeueOpenActivities(false);
  if (out.outcome == replay::TurnOutput::Outcome::kUnregistered) {
    if (item.attempt_count > core->options.max_attempts) {
      const ErrorDetails error =
          ErrorDetails::Configuration("UnregisteredOrchestration", out.unregistered_message);
      if (ParkOnFailure(core, item, started ? started->name : OrchestrationName(item), error)) {
        return std::nullopt;
      }
      FailExecution(core, item, &commit, started, error);
      return pending;
    }
    AbandonUnregistered(core, item, started ? started->name : "<unknown>",
                        out.unregistered_message,
                        BackoffDelayMs(core->options.unregistered_backoff_base_ms,
                                       core->options.unregistered_backoff_max_ms,
                                       item.attempt_count - 1));
    return std::nullopt;
  }
  if (out.outcome == replay::TurnOutput::Outcome::kFailed &&
      ParkOnFailure(core, item, started ? started->name : OrchestrationName(item), out.error,
                    rerun_check && out.error.kind == "Nondeterminism")) {
    return std::nullopt;
  }
  CommitFromOutput(core, item.instance, plan.execution_id, out, &commit);

  // The engine goes into the cache before the ack, still marked uncommitted, so the next turn
  // of this instance (possibly on another thread right after the commit) finds it.
  pending.keep_engine = !engine->finished() && core->options.warm_cache_capacity > 0;
  if (pending.keep_engine) {
    core->cache.Put(item.instance, engine,
                    item.record ? item.record->created_at_ms : commit.instance_created_at_ms);
  }
  pending.engine = std::move(engine);
  pending.starts_execution = plan.origin != nullptr;
  pending.turn_error = out.error;
  pending.dropped_messages = out.dropped_messages;
  return pending;
}

}  // namespace

// Steps: decode check, warm engine, the pure decision (DecideTurn), then the plan's action.
std::optional<PendingTurn> PrepareTurn(RuntimeCore* core, OrchestrationItem item,
                                       std::shared_ptr<TurnLeaseGuard> lease) {
  core->metrics.orch_dispatcher_items_fetched++;
  const int64_t now = NowMs();
  PendingTurn pending;
  pending.started_us = MonotonicMicros();
  pending.instance = item.instance;
  pending.lock_token = item.lock_token;
  pending.lease = std::move(lease);
  const TurnPlanOptions plan_options{core->options.unregistered_backoff_base_ms,
                                     core->options.unregistered_backoff_max_ms};

  std::shared_ptr<replay::ReplayEngine> warm;
  if (item.history_error.ok() && !TakeWarmEngine(core, &item, &warm)) return std::nullopt;
  ClassifiedMessages messages = ClassifyMessages(item.messages);
  // An actor starts on its first message, in the turn that takes it (start-if-absent).
  std::optional<WorkItem> actor_start;
  const bool exists = item.record.has_value() || !item.history.empty() || warm != nullptr;
  if (!exists && messages.start == nullptr && item.history_error.ok()) {
    actor_start = ActorStartIfAbsent(item.instance);
    if (actor_start) messages.start = &*actor_start;
  }
  const TurnPlan plan =
      DecideTurn(FactsOf(core, item, warm != nullptr, messages), messages, plan_options);
  for (const WorkItem* s : plan.rejected_starts) RejectStart(*s, item.instance, &pending.commit);
  if (plan.action != TurnPlan::Action::kRun) {
    return ApplyPlan(core, item, plan, std::move(pending), now);
  }
  return RunTurn(core, item, plan, messages, std::move(warm), std::move(pending), now);
}

void MarkTurnCommitted(const PendingTurn& turn) {
  if (turn.engine) turn.engine->MarkCommitted();
}

void CountAbandonFailure(RuntimeCore* core, const Status& abandon) {
  if (abandon.ok()) return;
  core->metrics.provider_errors++;
  core->metrics.abandon_failures++;
  Log(LogLevel::kWarn, "duroxide::runtime", "handing an item back failed: " + abandon.ToString(),
      {});
}

namespace {

// Adds `delta` (+1 or -1) to the counters that describe the outcome of an engine turn.
void CountTurnOutcome(RuntimeCore* core, const PendingTurn& turn, int64_t delta) {
  if (turn.starts_execution) core->metrics.orch_starts += delta;
  switch (turn.commit.status) {
    case ExecutionStatus::kCompleted: core->metrics.orch_completions += delta; break;
    case ExecutionStatus::kFailed: CountFailure(core, turn.turn_error, delta); break;
    case ExecutionStatus::kContinuedAsNew: core->metrics.orch_continue_as_new += delta; break;
    default: break;
  }
}

}  // namespace

void CountTurnBeforeAck(RuntimeCore* core, PendingTurn& turn) {
  if (!turn.engine || turn.counted) return;  // error paths were counted when decided
  CountTurnOutcome(core, turn, +1);
  turn.counted = true;
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
    // The commit never became visible: take back what CountTurnBeforeAck announced.
    if (turn.counted) CountTurnOutcome(core, turn, -1);
    turn.counted = false;
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
        Status st = core->provider->AbandonOrchestrationItem(turn.lock_token, 100,
                                                             /*ignore_attempt=*/true);
        CountAbandonFailure(core, st);
        return st;
      });
    } else if (ack.retryable()) {
      AbandonItem(core, turn.lock_token, 50, false);
    }
    if (turn.engine) {
      turn.engine->MarkAbandoned();
      // Its state was never committed.
      if (turn.keep_engine) core->cache.Remove(turn.instance, turn.engine.get());
    }
    return;
  }
  core->metrics.turn_duration.Observe(MonotonicMicros() - turn.started_us);
  if (!turn.engine) return;  // error paths were counted when the failure was decided
  core->leases.CancelActivities(turn.commit.cancelled_activities);
  CountTurnBeforeAck(core, turn);  // normally done already, before the ack
}

Status AckTurnWithRetry(RuntimeCore* core, const PendingTurn& turn) {
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = core->provider->AckOrchestrationItem(turn.lock_token, turn.commit);
    if (st.ok() || st.code() != StatusCode::kUnavailable) return st;
    core->metrics.provider_errors++;
    std::this_thread::sleep_for(std::chrono::milliseconds(BackoffDelayMs(10, 160, attempt)));
  }
  return st;
}

}  // namespace duroxide::runtime
