// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ReplayEngine's emitters: one per task kind, each emitting (or, on replay, matching) the
// kind's schedule event and, when the event is new, queueing the work it asks for. EmitLeaf
// only picks the emitter and binds the leaf to the event.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "duroxide/replay/replay_engine.h"
#include "duroxide/replay/replay_node.h"

namespace duroxide::replay {

void ReplayEngine::EmitLeaf(Node* n) {
  using T = TaskDescriptor::Type;
  const TaskDescriptor& d = n->desc;
  if (n->is_retry()) {
    EmitRetry(n);
    return;
  }
  size_t pos = kNoPos;
  switch (d.type) {
    case T::kActivity: pos = EmitActivity(d); break;
    case T::kNewGuid:
    case T::kUtcNow: pos = EmitSyscall(d); break;
    case T::kTimer: pos = EmitTimer(d); break;
    case T::kWaitEvent:
    case T::kDequeueEvent: pos = EmitSubscription(d); break;
    case T::kSubOrchestration:
    case T::kStartOrchestration: pos = EmitOrchestration(d); break;
    case T::kContinueAsNew:
      Resolve(n, TaskValue::Err("continue_as_new() cannot be used inside all() or race()"));
      return;
    case T::kJoin:
    case T::kSelect:
    case T::kGraph:
      return;
  }
  if (pos == kNoPos) return;
  n->pos = pos;
  n->event_id = events_[pos].event_id;
  leaf_at_[pos] = n;
  leaf_by_id_[n->event_id] = n;
  if (d.type == T::kStartOrchestration) Resolve(n, TaskValue::Ok("null"));
}

// A retry activity: its total-timeout timer (if any), then the first attempt.
void ReplayEngine::EmitRetry(Node* n) {
  const TaskDescriptor& d = n->desc;
  if (d.retry->total_timeout_ms > 0) {
    auto timer = std::make_unique<Node>();
    timer->desc.type = TaskDescriptor::Type::kTimer;
    timer->desc.delay_ms = d.retry->total_timeout_ms;
    timer->role = Node::Role::kTotalTimer;
    timer->parent = n;
    Node* t = timer.get();
    n->children.push_back(std::move(timer));
    EmitLeaf(t);
  }
  StartRetryAttempt(n);
}

size_t ReplayEngine::EmitActivity(const TaskDescriptor& d) {
  if (d.tag && static_cast<int64_t>(d.tag->size()) > options_.max_tag_bytes) {
    Fail(ErrorDetails::Configuration(
        "LimitExceeded", "activity tag of " + std::to_string(d.tag->size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(options_.max_tag_bytes) + " bytes"));
    return kNoPos;
  }
  Event e = history::NamedEvent(EventKind::kActivityScheduled, d.name);
  e.input = d.input;
  e.session_id = d.session_id;
  e.tag = d.tag;
  bool is_new = false;
  const size_t pos = Emit(std::move(e), &is_new);
  if (pos != kNoPos && (is_new || (requeue_open_activities_ && !Finished(events_[pos])))) {
    out_->worker_items.push_back(ActivityWorkItem(d, events_[pos]));
  }
  return pos;
}

// True when the history holds the outcome of `scheduled` (a completion, a failure or a
// cancellation). Only a rerun's first turn asks (SetRequeueOpenActivities): a linear scan.
bool ReplayEngine::Finished(const Event& scheduled) const {
  return std::any_of(events_.begin(), events_.end(), [&](const Event& e) {
    return e.source_event_id == scheduled.event_id &&
           (e.kind == EventKind::kActivityCompleted || e.kind == EventKind::kActivityFailed ||
            e.kind == EventKind::kActivityCancelRequested);
  });
}

// The ActivityExecute a new ActivityScheduled event sends to the worker queue.
WorkItem ReplayEngine::ActivityWorkItem(const TaskDescriptor& d, const Event& scheduled) const {
  WorkItem w;
  w.kind = WorkItemKind::kActivityExecute;
  w.instance = instance_;
  w.execution_id = execution_id_;
  w.id = scheduled.event_id;
  w.name = d.name;
  w.input = d.input;
  w.session_id = d.session_id;
  w.tag = d.tag;
  w.priority = d.priority;
  w.limit = d.limit;
  w.limit_key = d.limit_key;
  w.orchestration_name = events_[0].name;
  w.orchestration_version = events_[0].version.value_or("1.0.0");
  w.trace_context = events_[0].trace_context;
  if (d.requires_schema || !d.avoid.empty()) {
    history::ActivityRouting r;
    if (d.requires_schema) {
      r.schema = *d.requires_schema;
      r.schema_hash = d.requires_hash;
      if (d.requires_timeout_ms > 0) r.deadline_ms = now_ms_ + d.requires_timeout_ms;
    }
    r.avoid = d.avoid;
    if (!d.avoid.empty()) r.avoid_until_ms = now_ms_ + d.avoid_window_ms;
    w.routing = std::move(r);
  }
  return w;
}

// new_guid() / utc_now(): recorded as an activity schedule of a reserved name whose completion
// is written inside the same turn.
size_t ReplayEngine::EmitSyscall(const TaskDescriptor& d) {
  const bool guid = d.type == TaskDescriptor::Type::kNewGuid;
  Event e =
      history::NamedEvent(EventKind::kActivityScheduled, guid ? kSyscallNewGuid : kSyscallUtcNow);
  bool is_new = false;
  const size_t pos = Emit(std::move(e), &is_new);
  if (pos == kNoPos || !is_new) return pos;
  Event c;
  c.kind = EventKind::kActivityCompleted;
  c.source_event_id = events_[pos].event_id;
  c.event_id = next_event_id_;
  c.timestamp_ms = now_ms_;
  c.data = guid ? nlohmann::json(options_.new_guid()).dump() : std::to_string(now_ms_);
  events_.push_back(std::move(c));
  IndexEvent(events_.size() - 1);
  return pos;
}

size_t ReplayEngine::EmitTimer(const TaskDescriptor& d) {
  Event e;
  e.kind = EventKind::kTimerCreated;
  e.fire_at_ms = now_ms_ + std::max<int64_t>(0, d.delay_ms);
  bool is_new = false;
  const size_t pos = Emit(std::move(e), &is_new);
  if (pos == kNoPos || !is_new) return pos;
  WorkItem w;
  w.kind = WorkItemKind::kTimerFired;
  w.instance = instance_;
  w.execution_id = execution_id_;
  w.id = events_[pos].event_id;
  w.fire_at_ms = events_[pos].fire_at_ms;
  out_->orchestrator_items.push_back(std::move(w));
  return pos;
}

// wait_for_event / dequeue: only the subscription event; arrivals are matched by name later.
size_t ReplayEngine::EmitSubscription(const TaskDescriptor& d) {
  const bool external = d.type == TaskDescriptor::Type::kWaitEvent;
  return Emit(history::NamedEvent(
      external ? EventKind::kExternalSubscribed : EventKind::kQueueSubscribed, d.name));
}

// A child orchestration, or a detached start (kStartOrchestration, no parent link).
size_t ReplayEngine::EmitOrchestration(const TaskDescriptor& d) {
  const bool detached = d.type == TaskDescriptor::Type::kStartOrchestration;
  Event e = history::NamedEvent(
      detached ? EventKind::kOrchestrationChained : EventKind::kSubOrchestrationScheduled, d.name);
  e.version = d.version;
  e.input = d.input;
  e.instance = d.instance_id.value_or("");
  bool is_new = false;
  const size_t pos = Emit(std::move(e), &is_new);
  if (pos == kNoPos || !is_new) return pos;
  Event& rec = events_[pos];
  if (rec.instance.empty()) {
    // Event ids restart in every execution: later executions add the execution id so a
    // child of execution 2 never collides with a child of execution 1.
    rec.instance = instance_ + "::sub::" +
                   (execution_id_ > 1 ? std::to_string(execution_id_) + "-" : std::string()) +
                   std::to_string(rec.event_id);
  }
  WorkItem w = history::StartItem(rec.instance, d.name, d.version, d.input);
  w.trace_context = events_[0].trace_context;  // children continue the parent's trace
  if (!detached) {
    w.parent_instance = instance_;
    w.parent_execution_id = execution_id_;
    w.parent_id = rec.event_id;
  }
  out_->orchestrator_items.push_back(std::move(w));
  return pos;
}

void ReplayEngine::StartRetryAttempt(Node* n) {
  ++n->attempt;
  auto attempt = std::make_unique<Node>();
  attempt->desc = n->desc;
  attempt->desc.retry.reset();
  if (n->desc.retry->prefer_different_worker) {
    attempt->desc.avoid = n->failed_runtimes;
    attempt->desc.avoid_window_ms = n->desc.retry->avoid_window_ms;
  }
  attempt->role = Node::Role::kAttempt;
  attempt->parent = n;
  n->current_attempt = attempt.get();
  n->current_timer = nullptr;
  Node* a = attempt.get();
  n->children.push_back(std::move(attempt));
  EmitLeaf(a);
  if (turn_failed_ || n->desc.retry->timeout_ms <= 0) return;
  auto timer = std::make_unique<Node>();
  timer->desc.type = TaskDescriptor::Type::kTimer;
  timer->desc.delay_ms = n->desc.retry->timeout_ms;
  timer->role = Node::Role::kAttemptTimer;
  timer->parent = n;
  n->current_timer = timer.get();
  Node* t = timer.get();
  n->children.push_back(std::move(timer));
  EmitLeaf(t);
}

}  // namespace duroxide::replay
