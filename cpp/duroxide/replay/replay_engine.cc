// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/replay/replay_engine.h"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

namespace duroxide::replay {

using history::ErrorDetails;
using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

namespace {

constexpr size_t kNoPos = static_cast<size_t>(-1);

bool IsEmitted(EventKind kind) {
  return !history::IsArrival(kind) && !history::IsTerminal(kind) &&
         kind != EventKind::kOrchestrationStarted;
}

std::string RandomGuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xFFFF),
                static_cast<unsigned>(a & 0xFFFF), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::string Clip(const std::string& s) { return s.size() > 80 ? s.substr(0, 77) + "..." : s; }

}  // namespace

// A node of the task tree the code is waiting on. Leaves are bound to one emitted event;
// composites (join, select) and retry activities own children.
struct ReplayEngine::Node {
  enum class Role { kNone, kAttempt, kAttemptTimer, kBackoff, kTotalTimer };
  TaskDescriptor desc;
  Node* parent = nullptr;
  int index = 0;
  Role role = Role::kNone;
  std::vector<std::unique_ptr<Node>> children;
  bool done = false;
  bool cancelled = false;
  bool active = false;  // subscription opened (walk reached its event)
  TaskValue value;
  int64_t event_id = 0;
  size_t pos = kNoPos;
  int64_t attempt = 0;  // retry node: attempts started
  Node* current_attempt = nullptr;
  Node* current_timer = nullptr;

  bool composite() const {
    return desc.type == TaskDescriptor::Type::kJoin ||
           desc.type == TaskDescriptor::Type::kSelect || is_retry();
  }
  bool is_retry() const {
    return desc.type == TaskDescriptor::Type::kActivity && desc.retry.has_value() &&
           role == Role::kNone;
  }
};

ReplayEngine::ReplayEngine(std::string instance, int64_t execution_id,
                           OrchestrationInvoker* invoker, EngineOptions options)
    : instance_(std::move(instance)),
      execution_id_(execution_id),
      invoker_(invoker),
      options_(std::move(options)) {
  if (!options_.new_guid) options_.new_guid = RandomGuid;
}

// The session (user code) must go before the nodes it may still reference through the host.
ReplayEngine::~ReplayEngine() { session_.reset(); }

void ReplayEngine::Load(std::vector<Event> history, std::map<std::string, KvValue> kv_baseline) {
  events_ = std::move(history);
  leaf_at_.assign(events_.size(), nullptr);
  for (size_t i = 0; i < events_.size(); ++i) IndexEvent(i);
  persisted_len_ = events_.size();
  next_event_id_ = events_.empty() ? 1 : events_.back().event_id + 1;
  kv_ = std::move(kv_baseline);
  if (!events_.empty()) custom_status_ = events_[0].initial_custom_status;
  for (const auto& e : events_) {
    if (history::IsTerminal(e.kind)) finished_ = true;
  }
}

void ReplayEngine::IndexEvent(size_t pos) {
  const Event& e = events_[pos];
  if (leaf_at_.size() <= pos) leaf_at_.resize(pos + 1, nullptr);
  pos_by_id_[e.event_id] = pos;
  if (e.source_event_id && history::IsArrival(e.kind)) completed_ids_[*e.source_event_id] = true;
  if (e.kind == EventKind::kOrchestrationCancelRequested) cancel_seen_ = true;
  if (e.event_id >= next_event_id_) next_event_id_ = e.event_id + 1;
}

TurnOutput ReplayEngine::RunTurn(std::optional<Event> started, const std::vector<WorkItem>& messages,
                                 int64_t now_ms) {
  TurnOutput out;
  out_ = &out;
  now_ms_ = now_ms;
  committed_ = false;
  turn_failed_ = false;
  const size_t start = events_.size();
  persisted_len_ = start;

  if (finished_) {
    out.dropped_messages = static_cast<int64_t>(messages.size());
    out_ = nullptr;
    return out;
  }
  if (started) {
    started->event_id = next_event_id_;
    if (started->timestamp_ms == 0) started->timestamp_ms = now_ms;
    events_.push_back(*started);
    IndexEvent(events_.size() - 1);
    custom_status_ = started->initial_custom_status;
    // Queue messages carried over from the previous execution come first, in their order.
    for (const auto& [name, data] : started->carry_forward) {
      Event e;
      e.kind = EventKind::kQueueEventDelivered;
      e.event_id = next_event_id_;
      e.timestamp_ms = now_ms;
      e.name = name;
      e.data = data;
      events_.push_back(std::move(e));
      IndexEvent(events_.size() - 1);
    }
  }
  if (events_.empty() || events_[0].kind != EventKind::kOrchestrationStarted) {
    Nondeterminism("corrupted history: the first event is not OrchestrationStarted");
  } else {
    PrepareArrivals(messages, &out);
    Walk();
  }

  if (out.outcome == TurnOutput::Outcome::kUnregistered) {
    out_ = nullptr;
    finished_ = true;  // never reuse: the turn is abandoned, not committed
    return out;
  }
  out.new_events.assign(events_.begin() + static_cast<std::ptrdiff_t>(start), events_.end());
  persisted_len_ = events_.size();
  out_ = nullptr;
  return out;
}

void ReplayEngine::PrepareArrivals(const std::vector<WorkItem>& messages, TurnOutput* out) {
  auto push = [&](Event e) {
    e.event_id = next_event_id_;
    e.timestamp_ms = now_ms_;
    events_.push_back(std::move(e));
    IndexEvent(events_.size() - 1);
  };
  auto drop = [&](const WorkItem& m, const char* why) {
    ++out->dropped_messages;
    Log(LogLevel::kDebug, "duroxide::runtime", std::string("dropping message: ") + why,
        {{"instance_id", instance_}, {"kind", history::WorkItemKindName(m.kind)}});
  };
  auto completion = [&](const WorkItem& m, EventKind sched_kind, EventKind kind) {
    if (m.execution_id != execution_id_) return drop(m, "stale execution");
    auto it = pos_by_id_.find(m.id);
    if (it == pos_by_id_.end() || events_[it->second].kind != sched_kind) {
      return drop(m, "no matching schedule");
    }
    if (completed_ids_.count(m.id)) return drop(m, "duplicate completion");
    Event e;
    e.kind = kind;
    e.source_event_id = m.id;
    e.data = m.data;
    e.error = m.error;
    e.fire_at_ms = m.fire_at_ms;
    push(std::move(e));
  };
  for (const WorkItem& m : messages) {
    switch (m.kind) {
      case WorkItemKind::kActivityCompleted:
        completion(m, EventKind::kActivityScheduled, EventKind::kActivityCompleted);
        break;
      case WorkItemKind::kActivityFailed:
        completion(m, EventKind::kActivityScheduled, EventKind::kActivityFailed);
        break;
      case WorkItemKind::kTimerFired:
        completion(m, EventKind::kTimerCreated, EventKind::kTimerFired);
        break;
      case WorkItemKind::kSubOrchCompleted:
        completion(m, EventKind::kSubOrchestrationScheduled, EventKind::kSubOrchestrationCompleted);
        break;
      case WorkItemKind::kSubOrchFailed:
        completion(m, EventKind::kSubOrchestrationScheduled, EventKind::kSubOrchestrationFailed);
        break;
      case WorkItemKind::kExternalRaised: {
        Event e;
        e.kind = EventKind::kExternalEvent;
        e.name = m.name;
        e.data = m.data;
        push(std::move(e));
        break;
      }
      case WorkItemKind::kQueueMessage: {
        Event e;
        e.kind = EventKind::kQueueEventDelivered;
        e.name = m.name;
        e.data = m.data;
        push(std::move(e));
        break;
      }
      case WorkItemKind::kCancelInstance: {
        if (cancel_seen_) {
          drop(m, "already cancelled");
          break;
        }
        Event e;
        e.kind = EventKind::kOrchestrationCancelRequested;
        e.reason = m.reason;
        push(std::move(e));
        break;
      }
      default:
        drop(m, "not an orchestration message");
        break;
    }
  }
}

bool ReplayEngine::is_replaying() const { return walk_pos_ <= persisted_len_; }

void ReplayEngine::Walk() {
  while (!finished_ && !turn_failed_) {
    while (root_ && root_->done && !finished_ && !turn_failed_) Advance();
    if (finished_ || turn_failed_ || walk_pos_ >= events_.size()) break;
    const size_t pos = walk_pos_++;
    const EventKind kind = events_[pos].kind;
    if (kind == EventKind::kOrchestrationStarted) {
      if (pos == 0 && !code_started_) StartCode();
    } else if (history::IsArrival(kind)) {
      Deliver(pos);
    } else if (history::IsTerminal(kind)) {
      finished_ = true;
    } else if (pos >= cursor_) {
      Nondeterminism("history recorded " + Describe(events_[pos]) +
                     " but the orchestration did not schedule it");
    } else {
      Activate(pos);
    }
  }
}

void ReplayEngine::StartCode() {
  code_started_ = true;
  const Event& started = events_[0];
  OrchestrationCall call{instance_, execution_id_, started.name, started.version.value_or("1.0.0"),
                         started.input};
  Step first;
  auto session = invoker_->Start(call, this, &first);
  if (!session.ok()) {
    if (session.status().code() == StatusCode::kNotFound) {
      out_->outcome = TurnOutput::Outcome::kUnregistered;
      out_->unregistered_message = session.status().message();
      turn_failed_ = true;
      return;
    }
    Fail(ErrorDetails::Application("OrchestrationFailed", session.status().message()));
    return;
  }
  session_ = std::move(session).value();
  HandleStep(std::move(first));
}

void ReplayEngine::Advance() {
  std::unique_ptr<Node> done = std::move(root_);
  TaskValue value = done->value;
  retired_.push_back(std::move(done));
  HandleStep(session_->Resume(value));
}

void ReplayEngine::HandleStep(Step step) {
  if (turn_failed_ || finished_) return;
  if (pending_failure_) {
    Fail(*pending_failure_);
    return;
  }
  switch (step.kind) {
    case Step::Kind::kComplete: {
      Event e;
      e.kind = EventKind::kOrchestrationCompleted;
      e.data = step.output;
      FinishTerminal(std::move(e));
      return;
    }
    case Step::Kind::kFail: {
      Event e;
      e.kind = EventKind::kOrchestrationFailed;
      e.error = ErrorDetails::Application("OrchestrationFailed", step.error);
      FinishTerminal(std::move(e));
      return;
    }
    case Step::Kind::kYield:
      break;
  }
  if (step.task.type == TaskDescriptor::Type::kContinueAsNew) {
    Event e;
    e.kind = EventKind::kOrchestrationContinuedAsNew;
    e.input = step.task.input;
    e.version = step.task.version;
    FinishTerminal(std::move(e));
    return;
  }
  root_ = BuildNode(step.task, nullptr, 0);
  // Emit leaves depth-first, in the order the code listed them.
  std::vector<Node*> stack{root_.get()};
  std::vector<Node*> order;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) stack.push_back(it->get());
  }
  for (Node* n : order) {
    if (turn_failed_) return;
    if (n->is_retry() || !n->composite()) EmitLeaf(n);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    // Composites with nothing to wait for resolve at once.
    if (!n->done && n->desc.type == TaskDescriptor::Type::kJoin && n->children.empty()) {
      Resolve(n, TaskValue{TaskValue::Type::kJoin, "", {}, 0});
    } else if (!n->done && n->desc.type == TaskDescriptor::Type::kSelect && n->children.empty()) {
      Resolve(n, TaskValue::Err("race() needs at least one task"));
    }
  }
}

std::unique_ptr<ReplayEngine::Node> ReplayEngine::BuildNode(const TaskDescriptor& desc,
                                                            Node* parent, int index) {
  auto node = std::make_unique<Node>();
  node->parent = parent;
  node->index = index;
  node->desc = desc;
  node->desc.children.clear();
  if (desc.type == TaskDescriptor::Type::kJoin || desc.type == TaskDescriptor::Type::kSelect) {
    int i = 0;
    for (const auto& child : desc.children) node->children.push_back(BuildNode(child, node.get(), i++));
  }
  return node;
}

void ReplayEngine::EmitLeaf(Node* n) {
  using T = TaskDescriptor::Type;
  const TaskDescriptor& d = n->desc;
  if (n->is_retry()) {
    if (d.retry->total_timeout_ms > 0) {
      auto timer = std::make_unique<Node>();
      timer->desc.type = T::kTimer;
      timer->desc.delay_ms = d.retry->total_timeout_ms;
      timer->role = Node::Role::kTotalTimer;
      timer->parent = n;
      Node* t = timer.get();
      n->children.push_back(std::move(timer));
      EmitLeaf(t);
    }
    StartRetryAttempt(n);
    return;
  }
  Event e;
  bool is_new = false;
  size_t pos = kNoPos;
  switch (d.type) {
    case T::kActivity:
    case T::kNewGuid:
    case T::kUtcNow: {
      e.kind = EventKind::kActivityScheduled;
      if (d.type == T::kActivity) {
        if (d.tag && static_cast<int64_t>(d.tag->size()) > options_.max_tag_bytes) {
          Fail(ErrorDetails::Configuration(
              "LimitExceeded", "activity tag of " + std::to_string(d.tag->size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(options_.max_tag_bytes) + " bytes"));
          return;
        }
        e.name = d.name;
        e.input = d.input;
        e.session_id = d.session_id;
        e.tag = d.tag;
      } else {
        e.name = d.type == T::kNewGuid ? kSyscallNewGuid : kSyscallUtcNow;
      }
      pos = Emit(std::move(e), &is_new);
      if (pos == kNoPos) return;
      if (is_new && d.type == T::kActivity) {
        WorkItem w;
        w.kind = WorkItemKind::kActivityExecute;
        w.instance = instance_;
        w.execution_id = execution_id_;
        w.id = events_[pos].event_id;
        w.name = d.name;
        w.input = d.input;
        w.session_id = d.session_id;
        w.tag = d.tag;
        w.orchestration_name = events_[0].name;
        w.orchestration_version = events_[0].version.value_or("1.0.0");
        out_->worker_items.push_back(std::move(w));
      } else if (is_new) {
        // System calls complete inside the turn; the completion is recorded right away.
        Event c;
        c.kind = EventKind::kActivityCompleted;
        c.source_event_id = events_[pos].event_id;
        c.event_id = next_event_id_;
        c.timestamp_ms = now_ms_;
        c.data = d.type == T::kNewGuid ? nlohmann::json(options_.new_guid()).dump()
                                       : std::to_string(now_ms_);
        events_.push_back(std::move(c));
        IndexEvent(events_.size() - 1);
      }
      break;
    }
    case T::kTimer: {
      e.kind = EventKind::kTimerCreated;
      e.fire_at_ms = now_ms_ + std::max<int64_t>(0, d.delay_ms);
      pos = Emit(std::move(e), &is_new);
      if (pos == kNoPos) return;
      if (is_new) {
        WorkItem w;
        w.kind = WorkItemKind::kTimerFired;
        w.instance = instance_;
        w.execution_id = execution_id_;
        w.id = events_[pos].event_id;
        w.fire_at_ms = events_[pos].fire_at_ms;
        out_->orchestrator_items.push_back(std::move(w));
      }
      break;
    }
    case T::kWaitEvent:
    case T::kDequeueEvent:
      e.kind = d.type == T::kWaitEvent ? EventKind::kExternalSubscribed : EventKind::kQueueSubscribed;
      e.name = d.name;
      pos = Emit(std::move(e), &is_new);
      if (pos == kNoPos) return;
      break;
    case T::kSubOrchestration:
    case T::kStartOrchestration: {
      const bool detached = d.type == T::kStartOrchestration;
      e.kind = detached ? EventKind::kOrchestrationChained : EventKind::kSubOrchestrationScheduled;
      e.name = d.name;
      e.version = d.version;
      e.input = d.input;
      e.instance = d.instance_id.value_or("");
      pos = Emit(std::move(e), &is_new);
      if (pos == kNoPos) return;
      Event& rec = events_[pos];
      if (is_new && rec.instance.empty()) {
        rec.instance = instance_ + "::sub::" + std::to_string(rec.event_id);
      }
      if (is_new) {
        WorkItem w;
        w.kind = WorkItemKind::kStartOrchestration;
        w.instance = rec.instance;
        w.name = d.name;
        w.version = d.version;
        w.input = d.input;
        w.execution_id = 1;
        if (!detached) {
          w.parent_instance = instance_;
          w.parent_execution_id = execution_id_;
          w.parent_id = rec.event_id;
        }
        out_->orchestrator_items.push_back(std::move(w));
      }
      break;
    }
    case T::kContinueAsNew:
      Resolve(n, TaskValue::Err("continue_as_new() cannot be used inside all() or race()"));
      return;
    case T::kJoin:
    case T::kSelect:
      return;
  }
  n->pos = pos;
  n->event_id = events_[pos].event_id;
  leaf_at_[pos] = n;
  leaf_by_id_[n->event_id] = n;
  if (d.type == T::kStartOrchestration) Resolve(n, TaskValue::Ok("null"));
}

void ReplayEngine::StartRetryAttempt(Node* n) {
  ++n->attempt;
  auto attempt = std::make_unique<Node>();
  attempt->desc = n->desc;
  attempt->desc.retry.reset();
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

size_t ReplayEngine::Emit(Event proto, bool* is_new) {
  while (cursor_ < events_.size() && !IsEmitted(events_[cursor_].kind)) ++cursor_;
  if (cursor_ < events_.size()) {
    const size_t pos = cursor_++;
    if (!Matches(proto, events_[pos])) {
      Nondeterminism("orchestration scheduled " + Describe(proto) + " but history recorded " +
                     Describe(events_[pos]) + " at event " + std::to_string(events_[pos].event_id));
      return kNoPos;
    }
    *is_new = false;
    return pos;
  }
  proto.event_id = next_event_id_;
  proto.timestamp_ms = now_ms_;
  events_.push_back(std::move(proto));
  IndexEvent(events_.size() - 1);
  cursor_ = events_.size();
  *is_new = true;
  return events_.size() - 1;
}

bool ReplayEngine::Matches(const Event& a, const Event& b) const {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case EventKind::kActivityScheduled:
      return a.name == b.name && a.input == b.input && a.session_id == b.session_id &&
             a.tag == b.tag;
    case EventKind::kExternalSubscribed:
    case EventKind::kQueueSubscribed:
      return a.name == b.name;
    case EventKind::kSubOrchestrationScheduled:
      return a.name == b.name && a.input == b.input &&
             (a.instance.empty() || a.instance == b.instance) &&
             (!a.version || a.version == b.version);
    case EventKind::kOrchestrationChained:
      return a.name == b.name && a.instance == b.instance && a.input == b.input;
    case EventKind::kKeyValueSet:
      return a.key == b.key && a.value == b.value;
    case EventKind::kKeyValueCleared:
      return a.key == b.key;
    case EventKind::kActivityCancelRequested:
    case EventKind::kSubOrchestrationCancelRequested:
    case EventKind::kExternalSubscribedCancelled:
    case EventKind::kQueueSubscriptionCancelled:
      return a.source_event_id == b.source_event_id;
    default:  // timers match by position; custom status and clear-all by kind
      return true;
  }
}

std::string ReplayEngine::Describe(const Event& e) const {
  std::string s = history::EventKindName(e.kind);
  switch (e.kind) {
    case EventKind::kActivityScheduled:
      s += " '" + e.name + "' (input " + Clip(e.input) + ")";
      break;
    case EventKind::kSubOrchestrationScheduled:
    case EventKind::kOrchestrationChained:
      s += " '" + e.name + "' (input " + Clip(e.input) + ")";
      break;
    case EventKind::kExternalSubscribed:
    case EventKind::kQueueSubscribed:
      s += " '" + e.name + "'";
      break;
    case EventKind::kKeyValueSet:
    case EventKind::kKeyValueCleared:
      s += " '" + e.key + "'";
      break;
    default:
      break;
  }
  return s;
}

void ReplayEngine::Activate(size_t pos) {
  Node* n = leaf_at_[pos];
  if (n == nullptr || n->done || n->cancelled) return;
  const std::string& name = events_[pos].name;
  if (events_[pos].kind == EventKind::kExternalSubscribed) {
    n->active = true;
    open_external_[name].push_back(n);
  } else if (events_[pos].kind == EventKind::kQueueSubscribed) {
    auto& buffer = queue_buffer_[name];
    if (!buffer.empty()) {
      size_t arrival = buffer.front();
      buffer.erase(buffer.begin());
      Resolve(n, TaskValue::Ok(events_[arrival].data));
    } else {
      n->active = true;
      open_queue_[name].push_back(n);
    }
  }
}

void ReplayEngine::Deliver(size_t pos) {
  const Event& e = events_[pos];
  switch (e.kind) {
    case EventKind::kOrchestrationCancelRequested: {
      if (!code_started_) return;
      CancelAllPending("orchestration_cancelled");
      if (turn_failed_) return;
      Event f;
      f.kind = EventKind::kOrchestrationFailed;
      f.error = ErrorDetails::Cancelled(e.reason);
      FinishTerminal(std::move(f));
      return;
    }
    case EventKind::kExternalEvent: {
      auto& open = open_external_[e.name];
      if (open.empty()) return;  // no open subscription: dropped (kept in history for audit)
      Node* n = open.front();
      open.erase(open.begin());
      n->active = false;
      Resolve(n, TaskValue::Ok(e.data));
      return;
    }
    case EventKind::kQueueEventDelivered: {
      auto& open = open_queue_[e.name];
      if (open.empty()) {
        queue_buffer_[e.name].push_back(pos);
        return;
      }
      Node* n = open.front();
      open.erase(open.begin());
      n->active = false;
      Resolve(n, TaskValue::Ok(e.data));
      return;
    }
    default:
      break;
  }
  auto it = leaf_by_id_.find(e.source_event_id.value_or(-1));
  if (it == leaf_by_id_.end()) {
    Nondeterminism(std::string(history::EventKindName(e.kind)) + " at event " +
                   std::to_string(e.event_id) + " completes event " +
                   std::to_string(e.source_event_id.value_or(0)) +
                   ", which the orchestration did not schedule");
    return;
  }
  Node* n = it->second;
  const bool failed =
      e.kind == EventKind::kActivityFailed || e.kind == EventKind::kSubOrchestrationFailed;
  Resolve(n, failed ? TaskValue::Err(e.error.DisplayMessage()) : TaskValue::Ok(e.data));
}

void ReplayEngine::Resolve(Node* n, TaskValue value) {
  if (n->done || n->cancelled) return;
  n->done = true;
  n->value = std::move(value);
  if (n->parent) OnChildResolved(n->parent, n);
}

void ReplayEngine::OnChildResolved(Node* p, Node* c) {
  if (p->done || p->cancelled) return;
  using T = TaskDescriptor::Type;
  if (p->is_retry()) {
    const RetryPolicy& policy = *p->desc.retry;
    auto finish = [&](TaskValue v) {
      for (auto& child : p->children) Cancel(child.get(), "dropped_future");
      Resolve(p, std::move(v));
    };
    switch (c->role) {
      case Node::Role::kAttempt:
        if (c != p->current_attempt) return;
        if (c->value.type == TaskValue::Type::kOk) return finish(c->value);
        if (p->attempt >= policy.max_attempts) return finish(c->value);
        if (p->current_timer) Cancel(p->current_timer, "dropped_future");
        if (policy.DelayBeforeRetry(p->attempt) > 0) {
          auto timer = std::make_unique<Node>();
          timer->desc.type = T::kTimer;
          timer->desc.delay_ms = policy.DelayBeforeRetry(p->attempt);
          timer->role = Node::Role::kBackoff;
          timer->parent = p;
          Node* t = timer.get();
          p->children.push_back(std::move(timer));
          EmitLeaf(t);
        } else {
          StartRetryAttempt(p);
        }
        return;
      case Node::Role::kAttemptTimer:
        if (c != p->current_timer) return;
        return finish(TaskValue::Err("timeout: activity timed out"));
      case Node::Role::kBackoff:
        StartRetryAttempt(p);
        return;
      case Node::Role::kTotalTimer:
        return finish(TaskValue::Err("timeout: activity timed out"));
      case Node::Role::kNone:
        return;
    }
  }
  if (p->desc.type == T::kSelect) {
    TaskValue v{TaskValue::Type::kSelect, "", {c->value}, c->index};
    for (auto& child : p->children) {
      if (child.get() != c) Cancel(child.get(), "dropped_future");
    }
    Resolve(p, std::move(v));
    return;
  }
  // Join: resolves when every child has.
  for (auto& child : p->children) {
    if (!child->done) return;
  }
  TaskValue v{TaskValue::Type::kJoin, "", {}, 0};
  for (auto& child : p->children) v.items.push_back(child->value);
  Resolve(p, std::move(v));
}

void ReplayEngine::Cancel(Node* n, const std::string& reason) {
  if (n->done || n->cancelled || turn_failed_) return;
  n->cancelled = true;
  if (n->composite()) {
    for (auto& child : n->children) Cancel(child.get(), reason);
    return;
  }
  if (n->pos == kNoPos) return;
  using T = TaskDescriptor::Type;
  Event e;
  e.source_event_id = n->event_id;
  e.reason = reason;
  bool is_new = false;
  auto remove_open = [&](std::map<std::string, std::vector<Node*>>& open) {
    auto& list = open[n->desc.name];
    list.erase(std::remove(list.begin(), list.end(), n), list.end());
  };
  switch (n->desc.type) {
    case T::kActivity:
      e.kind = EventKind::kActivityCancelRequested;
      if (Emit(std::move(e), &is_new) == kNoPos) return;
      if (is_new) out_->cancelled_activity_ids.push_back(n->event_id);
      return;
    case T::kSubOrchestration: {
      e.kind = EventKind::kSubOrchestrationCancelRequested;
      if (Emit(std::move(e), &is_new) == kNoPos) return;
      if (is_new) {
        WorkItem w;
        w.kind = WorkItemKind::kCancelInstance;
        w.instance = events_[n->pos].instance;
        w.reason = reason == "orchestration_cancelled" ? "parent canceled"
                                                       : "parent dropped sub-orchestration future";
        out_->orchestrator_items.push_back(std::move(w));
      }
      return;
    }
    case T::kWaitEvent:
      remove_open(open_external_);
      e.kind = EventKind::kExternalSubscribedCancelled;
      Emit(std::move(e), &is_new);
      return;
    case T::kDequeueEvent:
      remove_open(open_queue_);
      e.kind = EventKind::kQueueSubscriptionCancelled;
      Emit(std::move(e), &is_new);
      return;
    default:  // timers and system calls have nothing to cancel
      return;
  }
}

void ReplayEngine::CancelAllPending(const std::string& reason) {
  if (root_) Cancel(root_.get(), reason);
}

void ReplayEngine::FinishTerminal(Event terminal) {
  const bool cancelled = terminal.kind == EventKind::kOrchestrationFailed &&
                         terminal.error.kind == "Cancelled";
  if (!cancelled) {
    // Code finished; anything history still holds that the code never emitted is drift.
    for (size_t i = cursor_; i < events_.size(); ++i) {
      if (IsEmitted(events_[i].kind)) {
        Nondeterminism("the orchestration finished but history recorded " + Describe(events_[i]) +
                       " at event " + std::to_string(events_[i].event_id));
        return;
      }
    }
    if (walk_pos_ < persisted_len_) {
      Nondeterminism("the orchestration finished during replay at event " +
                     std::to_string(events_[walk_pos_ == 0 ? 0 : walk_pos_ - 1].event_id) +
                     " but history shows it kept running");
      return;
    }
    CancelAllPending("orchestration_terminal");
    if (turn_failed_) return;
  }
  terminal.event_id = next_event_id_;
  terminal.timestamp_ms = now_ms_;
  const Event& started = events_[0];
  switch (terminal.kind) {
    case EventKind::kOrchestrationCompleted:
      out_->outcome = TurnOutput::Outcome::kCompleted;
      out_->output = terminal.data;
      break;
    case EventKind::kOrchestrationFailed:
      out_->outcome = TurnOutput::Outcome::kFailed;
      out_->error = terminal.error;
      break;
    case EventKind::kOrchestrationContinuedAsNew: {
      out_->outcome = TurnOutput::Outcome::kContinuedAsNew;
      WorkItem w;
      w.kind = WorkItemKind::kContinueAsNew;
      w.instance = instance_;
      w.execution_id = execution_id_ + 1;
      w.name = started.name;
      w.version = terminal.version;
      w.input = terminal.input;
      w.parent_instance = started.parent_instance;
      w.parent_execution_id = started.parent_execution_id;
      w.parent_id = started.parent_id;
      w.has_custom_status = true;
      w.custom_status = custom_status_;
      // Carry forward in arrival order across queues.
      std::vector<std::pair<size_t, std::pair<std::string, std::string>>> ordered;
      for (auto& [name, buffer] : queue_buffer_) {
        for (size_t pos : buffer) ordered.push_back({pos, {name, events_[pos].data}});
      }
      std::sort(ordered.begin(), ordered.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 0; i < ordered.size(); ++i) {
        if (i < options_.max_carry_forward) {
          w.carry_forward.push_back(ordered[i].second);
          continue;
        }
        ++out_->dropped_messages;
        Log(LogLevel::kWarn, "duroxide::runtime",
            "continue-as-new carry-forward cap reached; dropping queue message",
            {{"instance_id", instance_}, {"queue", ordered[i].second.first},
             {"cap", std::to_string(options_.max_carry_forward)}});
      }
      out_->orchestrator_items.push_back(std::move(w));
      break;
    }
    default:
      break;
  }
  if (started.parent_instance && terminal.kind != EventKind::kOrchestrationContinuedAsNew) {
    WorkItem w;
    w.instance = *started.parent_instance;
    w.execution_id = started.parent_execution_id;
    w.id = started.parent_id;
    if (terminal.kind == EventKind::kOrchestrationCompleted) {
      w.kind = WorkItemKind::kSubOrchCompleted;
      w.data = terminal.data;
    } else {
      w.kind = WorkItemKind::kSubOrchFailed;
      w.error = terminal.error;
    }
    out_->orchestrator_items.push_back(std::move(w));
  }
  events_.push_back(std::move(terminal));
  IndexEvent(events_.size() - 1);
  finished_ = true;
}

void ReplayEngine::Fail(ErrorDetails error) {
  // Abort this turn: drop what the code emitted in it, keep the arrivals, fail the execution.
  if (turn_failed_ || finished_) return;
  turn_failed_ = true;
  std::vector<Event> kept;
  for (size_t i = 0; i < events_.size(); ++i) {
    if (i < persisted_len_ || !IsEmitted(events_[i].kind)) kept.push_back(std::move(events_[i]));
  }
  events_ = std::move(kept);
  out_->worker_items.clear();
  out_->orchestrator_items.clear();
  out_->cancelled_activity_ids.clear();
  // In-flight activities of earlier turns are lock-stolen.
  for (auto& [id, node] : leaf_by_id_) {
    if (node->done || node->cancelled || node->desc.type != TaskDescriptor::Type::kActivity) {
      continue;
    }
    {
      auto pit = pos_by_id_.find(id);
      if (pit != pos_by_id_.end() && pit->second < persisted_len_) {
        out_->cancelled_activity_ids.push_back(id);
      }
    }
  }
  Event f;
  f.kind = EventKind::kOrchestrationFailed;
  f.error = std::move(error);
  f.event_id = events_.empty() ? 1 : events_.back().event_id + 1;
  f.timestamp_ms = now_ms_;
  out_->outcome = TurnOutput::Outcome::kFailed;
  out_->error = f.error;
  if (!events_.empty() && events_[0].kind == EventKind::kOrchestrationStarted &&
      events_[0].parent_instance) {
    WorkItem w;
    w.kind = WorkItemKind::kSubOrchFailed;
    w.instance = *events_[0].parent_instance;
    w.execution_id = events_[0].parent_execution_id;
    w.id = events_[0].parent_id;
    w.error = f.error;
    out_->orchestrator_items.push_back(std::move(w));
  }
  events_.push_back(std::move(f));
  finished_ = true;
}

void ReplayEngine::Nondeterminism(const std::string& message) {
  Log(LogLevel::kError, "duroxide::runtime", "nondeterminism detected: " + message,
      {{"instance_id", instance_}, {"execution_id", std::to_string(execution_id_)}});
  Fail(ErrorDetails::Configuration("Nondeterminism", message));
}

// ---- OrchestrationHost ------------------------------------------------------------------------

void ReplayEngine::SetCustomStatus(std::optional<std::string> status) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  if (status && static_cast<int64_t>(status->size()) > options_.max_custom_status_bytes) {
    pending_failure_ = ErrorDetails::Configuration(
        "LimitExceeded", "custom status of " + std::to_string(status->size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(options_.max_custom_status_bytes) + " bytes");
    return;
  }
  Event e;
  e.kind = EventKind::kCustomStatusUpdated;
  e.status = status;
  bool is_new = false;
  if (Emit(std::move(e), &is_new) == kNoPos) return;
  custom_status_ = std::move(status);
}

std::optional<std::string> ReplayEngine::GetCustomStatus() const { return custom_status_; }

void ReplayEngine::SetKv(const std::string& key, const std::string& value) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  if (static_cast<int64_t>(value.size()) > options_.max_kv_value_bytes) {
    pending_failure_ = ErrorDetails::Configuration(
        "LimitExceeded", "KV value for key '" + key + "' is " + std::to_string(value.size()) +
                             " bytes, over the limit of " +
                             std::to_string(options_.max_kv_value_bytes) + " bytes");
    return;
  }
  if (!kv_.count(key) && static_cast<int64_t>(kv_.size()) >= options_.max_kv_keys) {
    pending_failure_ = ErrorDetails::Configuration(
        "LimitExceeded", "KV store would exceed the limit of " +
                             std::to_string(options_.max_kv_keys) + " keys (setting '" + key + "')");
    return;
  }
  Event e;
  e.kind = EventKind::kKeyValueSet;
  e.key = key;
  e.value = value;
  e.last_updated_at_ms = now_ms_;
  bool is_new = false;
  size_t pos = Emit(std::move(e), &is_new);
  if (pos == kNoPos) return;
  kv_[key] = KvValue{value, events_[pos].last_updated_at_ms};
}

std::optional<std::string> ReplayEngine::GetKv(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second.value;
}

std::map<std::string, std::string> ReplayEngine::GetKvAll() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : kv_) out[k] = v.value;
  return out;
}

void ReplayEngine::ClearKv(const std::string& key) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Event e;
  e.kind = EventKind::kKeyValueCleared;
  e.key = key;
  bool is_new = false;
  if (Emit(std::move(e), &is_new) == kNoPos) return;
  kv_.erase(key);
}

void ReplayEngine::ClearAllKv() {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Event e;
  e.kind = EventKind::kKeyValuesCleared;
  bool is_new = false;
  if (Emit(std::move(e), &is_new) == kNoPos) return;
  kv_.clear();
}

int64_t ReplayEngine::PruneKv(int64_t updated_before_ms) {
  std::vector<std::string> victims;
  for (const auto& [k, v] : kv_) {
    if (v.updated_at_ms < updated_before_ms) victims.push_back(k);
  }
  for (const auto& k : victims) ClearKv(k);
  return static_cast<int64_t>(victims.size());
}

void ReplayEngine::Trace(LogLevel level, const std::string& message) {
  if (is_replaying() || events_.empty()) return;
  Log(level, "duroxide::orchestration", message,
      {{"instance_id", instance_},
       {"execution_id", std::to_string(execution_id_)},
       {"orchestration_name", events_[0].name},
       {"orchestration_version", events_[0].version.value_or("1.0.0")}});
}

}  // namespace duroxide::replay
