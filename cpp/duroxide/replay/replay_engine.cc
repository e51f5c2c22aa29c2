// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/replay/replay_engine.h"

#include "duroxide/common/limits.h"

#include "duroxide/replay/replay_node.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <random>

#include <nlohmann/json.hpp>

namespace duroxide::replay {

namespace {

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

}  // namespace

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

bool ReplayEngine::AwaitCommitDecision(int64_t timeout_ms) const {
  // The deciding thread is between its provider ack and MarkCommitted: microseconds, unless it
  // was descheduled.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (commit_state_.load() == kPending && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return committed();
}

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
  commit_state_.store(kPending);
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
    for (size_t i = 0; i < started->carry_forward.size(); ++i) {
      const auto& [name, data] = started->carry_forward[i];
      Event e = history::NamedEvent(EventKind::kQueueEventDelivered, name);
      e.event_id = next_event_id_;
      e.timestamp_ms = now_ms;
      e.data = data;
      if (i < started->carry_forward_meta.size()) e.meta = started->carry_forward_meta[i];
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

void ReplayEngine::PushArrival(Event e) {
  e.event_id = next_event_id_;
  e.timestamp_ms = now_ms_;
  events_.push_back(std::move(e));
  IndexEvent(events_.size() - 1);
}

void ReplayEngine::DropMessage(const WorkItem& m, const char* why, TurnOutput* out) {
  ++out->dropped_messages;
  Log(LogLevel::kDebug, "duroxide::runtime", std::string("dropping message: ") + why,
      {{"instance_id", instance_}, {"kind", history::WorkItemKindName(m.kind)}});
}

// A completion is recorded only for a schedule event of `sched_kind` of this execution that
// has no completion yet; anything else is stale or duplicate and dropped.
void ReplayEngine::AcceptCompletion(const WorkItem& m, EventKind sched_kind, EventKind kind,
                                    TurnOutput* out) {
  if (m.execution_id != execution_id_) return DropMessage(m, "stale execution", out);
  auto it = pos_by_id_.find(m.id);
  if (it == pos_by_id_.end() || events_[it->second].kind != sched_kind) {
    return DropMessage(m, "no matching schedule", out);
  }
  if (completed_ids_.count(m.id)) return DropMessage(m, "duplicate completion", out);
  Event e;
  e.kind = kind;
  e.source_event_id = m.id;
  e.data = m.data;
  e.error = m.error;
  e.fire_at_ms = m.fire_at_ms;
  e.worker = m.worker;
  e.worker_runtime = m.worker_runtime;
  e.from_cache = m.from_cache;
  PushArrival(std::move(e));
}

void ReplayEngine::PrepareArrivals(const std::vector<WorkItem>& messages, TurnOutput* out) {
  for (const WorkItem& m : messages) {
    Event e;
    switch (m.kind) {
      case WorkItemKind::kActivityCompleted:
        AcceptCompletion(m, EventKind::kActivityScheduled, EventKind::kActivityCompleted, out);
        break;
      case WorkItemKind::kActivityFailed:
        AcceptCompletion(m, EventKind::kActivityScheduled, EventKind::kActivityFailed, out);
        break;
      case WorkItemKind::kTimerFired:
        AcceptCompletion(m, EventKind::kTimerCreated, EventKind::kTimerFired, out);
        break;
      case WorkItemKind::kSubOrchCompleted:
        AcceptCompletion(m, EventKind::kSubOrchestrationScheduled,
                         EventKind::kSubOrchestrationCompleted, out);
        break;
      case WorkItemKind::kSubOrchFailed:
        AcceptCompletion(m, EventKind::kSubOrchestrationScheduled,
                         EventKind::kSubOrchestrationFailed, out);
        break;
      case WorkItemKind::kExternalRaised:
        e.kind = EventKind::kExternalEvent;
        e.name = m.name;
        e.data = m.data;
        PushArrival(std::move(e));
        break;
      case WorkItemKind::kQueueMessage:
        e.kind = EventKind::kQueueEventDelivered;
        e.name = m.name;
        e.data = m.data;
        e.meta = m.meta;
        PushArrival(std::move(e));
        break;
      case WorkItemKind::kCancelInstance:
        if (cancel_seen_) {
          DropMessage(m, "already cancelled", out);
          break;
        }
        e.kind = EventKind::kOrchestrationCancelRequested;
        e.reason = m.reason;
        PushArrival(std::move(e));
        break;
      default:
        DropMessage(m, "not an orchestration message", out);
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
      Nondeterminism("history recorded " + Describe(events_[pos]) + " at event " +
                     std::to_string(events_[pos].event_id) +
                     " but the orchestration did not schedule it");
    } else {
      Activate(pos);
    }
  }
}

void ReplayEngine::StartCode() {
  code_started_ = true;
  const Event& started = events_[0];
  OrchestrationCall call;
  call.instance = instance_;
  call.execution_id = execution_id_;
  call.name = started.name;
  call.version = started.version.value_or("1.0.0");
  call.input = started.input;
  call.trace_context = started.trace_context;
  call.started_at_ms = started.timestamp_ms;
  call.parent_instance = started.parent_instance.value_or("");
  call.parent_execution_id = started.parent_execution_id;
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
    if (n->parent && n->parent->desc.type == TaskDescriptor::Type::kGraph) continue;
    if (n->desc.type == TaskDescriptor::Type::kGraph) {
      ScheduleReadyGraphNodes(n);
    } else if (n->is_retry() || !n->composite()) {
      EmitLeaf(n);
    }
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    // Composites with nothing to wait for resolve at once.
    if (!n->done &&
        (n->desc.type == TaskDescriptor::Type::kJoin ||
         n->desc.type == TaskDescriptor::Type::kGraph) &&
        n->children.empty()) {
      TaskValue empty;
      empty.type = TaskValue::Type::kJoin;
      Resolve(n, std::move(empty));
    } else if (!n->done && n->desc.type == TaskDescriptor::Type::kSelect && n->children.empty()) {
      Resolve(n, TaskValue::Err("race() needs at least one task"));
    }
  }
}

void ReplayEngine::Activate(size_t pos) {
  Node* n = leaf_at_[pos];
  if (n == nullptr || n->done || n->cancelled) return;
  const std::string& name = events_[pos].name;
  if (events_[pos].kind == EventKind::kExternalSubscribed) {
    n->active = true;
    open_external_[name].push_back(n);
  } else if (events_[pos].kind == EventKind::kQueueSubscribed) {
    size_t arrival = 0;
    if (TakeBuffered(name, &arrival)) {
      Resolve(n, QueueValue(n, arrival));
    } else {
      n->active = true;
      open_queue_[name].push_back(n);
    }
  }
}

void ReplayEngine::Deliver(size_t pos) {
  // REQUIRES care: `e` refers into events_, which grows whenever something is emitted.
  const Event& e = events_[pos];
  switch (e.kind) {
    case EventKind::kOrchestrationCancelRequested: {
      if (!code_started_) return;
      const std::string reason = e.reason;  // cancelling emits events: `e` may move
      CancelAllPending("orchestration_cancelled");
      if (turn_failed_) return;
      Event f;
      f.kind = EventKind::kOrchestrationFailed;
      f.error = ErrorDetails::Cancelled(reason);
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
      Node* n = TakeOpenQueue(e.name);
      if (n == nullptr) {
        if (closed_reply_queues_.count(e.name)) {
          // A reply after its request timed out: dropped and counted, never handed to a
          // later request (replies are matched by request id, each on its own queue).
          if (out_ && !is_replaying()) ++out_->dropped_messages;
          return;
        }
        queue_buffer_[e.name].push_back(pos);
        return;
      }
      Resolve(n, QueueValue(n, pos));
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
  if (e.kind == EventKind::kTimerFired) {
    Resolve(n, TaskValue::Ok("null"));  // timers resolve to None
    return;
  }
  if (e.kind == EventKind::kActivityCompleted || e.kind == EventKind::kActivityFailed) {
    n->worker_runtime = e.worker_runtime;
  }
  if (!failed) {
    Resolve(n, TaskValue::Ok(e.data));
    return;
  }
  TaskValue failure = TaskValue::Failure(
      e.kind == EventKind::kActivityFailed ? "activity" : "sub_orchestration",
      history::ErrorDetails::CategoryName(e.error.category), e.error.kind,
      e.error.DisplayMessage());
  failure.traceback = e.error.traceback;
  Resolve(n, std::move(failure));
}

// A cancel taken with this turn that the walk has not reached (the code continued as new on an
// earlier arrival of the same batch) ends the instance instead: the next execution would never
// see it, and an acknowledged cancel would be lost (issue 21). A completion keeps its outcome:
// the instance has ended either way, as if the cancel came later. Returns true if it did so.
bool ReplayEngine::CancelInsteadOfContinue() {
  for (size_t pos = walk_pos_; pos < events_.size(); ++pos) {
    if (events_[pos].kind != EventKind::kOrchestrationCancelRequested) continue;
    Event cancelled;
    cancelled.kind = EventKind::kOrchestrationFailed;
    cancelled.error = ErrorDetails::Cancelled(events_[pos].reason);
    CancelAllPending("orchestration_cancelled");
    if (!turn_failed_) FinishTerminal(std::move(cancelled));
    return true;
  }
  return false;
}

// The checks a terminal passes before it is recorded: payload limits and, unless the
// orchestration was cancelled, that history holds nothing the code did not emit. Returns false
// after failing the turn.
bool ReplayEngine::CheckTerminal(const Event& terminal) {
  if (terminal.kind == EventKind::kOrchestrationCompleted ||
      terminal.kind == EventKind::kOrchestrationContinuedAsNew) {
    const bool completed = terminal.kind == EventKind::kOrchestrationCompleted;
    const std::string& payload = completed ? terminal.data : terminal.input;
    std::string problem = limits::CheckPayload(
        payload.size(), options_.max_payload_bytes,
        completed ? "orchestration output" : "continue_as_new input");
    if (!problem.empty()) {
      Fail(ErrorDetails::Configuration("LimitExceeded", problem));
      return false;
    }
  }
  const bool cancelled = terminal.kind == EventKind::kOrchestrationFailed &&
                         terminal.error.kind == "Cancelled";
  if (cancelled) return true;
  // Code finished; anything history still holds that the code never emitted is drift.
  for (size_t i = cursor_; i < events_.size(); ++i) {
    if (IsEmitted(events_[i].kind)) {
      Nondeterminism("the orchestration finished but history recorded " + Describe(events_[i]) +
                     " at event " + std::to_string(events_[i].event_id));
      return false;
    }
  }
  if (walk_pos_ < persisted_len_) {
    Nondeterminism("the orchestration finished during replay at event " +
                   std::to_string(events_[walk_pos_ == 0 ? 0 : walk_pos_ - 1].event_id) +
                   " but history shows it kept running");
    return false;
  }
  CancelAllPending("orchestration_terminal");
  return !turn_failed_;
}

void ReplayEngine::FinishTerminal(Event terminal) {
  if (terminal.kind == EventKind::kOrchestrationContinuedAsNew && CancelInsteadOfContinue()) {
    return;
  }
  if (!CheckTerminal(terminal)) return;
  terminal.event_id = next_event_id_;
  terminal.timestamp_ms = now_ms_;
  switch (terminal.kind) {
    case EventKind::kOrchestrationCompleted:
      out_->outcome = TurnOutput::Outcome::kCompleted;
      out_->output = terminal.data;
      CollectUnconsumed();
      break;
    case EventKind::kOrchestrationFailed:
      out_->outcome = TurnOutput::Outcome::kFailed;
      out_->error = terminal.error;
      CollectUnconsumed();
      break;
    case EventKind::kOrchestrationContinuedAsNew:
      out_->outcome = TurnOutput::Outcome::kContinuedAsNew;
      out_->orchestrator_items.push_back(ContinueAsNewItem(terminal));
      break;
    default:
      break;
  }
  if (events_[0].parent_instance && terminal.kind != EventKind::kOrchestrationContinuedAsNew) {
    NotifyParent(terminal);
  }
  events_.push_back(std::move(terminal));
  IndexEvent(events_.size() - 1);
  finished_ = true;
}

// The ContinueAsNew that starts the next execution, with the queue messages it carries.
WorkItem ReplayEngine::ContinueAsNewItem(const Event& terminal) {
  const Event& started = events_[0];
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
  w.trace_context = started.trace_context;  // the next execution stays in the trace
  CarryForward(&w);
  return w;
}

// Carries unconsumed queue messages into `w`, in arrival order across queues, up to the cap.
void ReplayEngine::CarryForward(WorkItem* w) {
  std::vector<std::pair<size_t, std::pair<std::string, std::string>>> ordered;
  for (auto& [name, buffer] : queue_buffer_) {
    // Replies belong to requests of this execution; none can wait for them any more.
    if (name.rfind("__reply:", 0) == 0) {
      out_->dropped_messages += static_cast<int64_t>(buffer.size());
      continue;
    }
    for (size_t pos : buffer) ordered.push_back({pos, {name, events_[pos].data}});
  }
  // Queue messages of this turn that the walk has not reached yet (the code continued as
  // new before them) are carried too: they were taken from the queue with this turn.
  for (size_t pos = walk_pos_; pos < events_.size(); ++pos) {
    const Event& q = events_[pos];
    if (q.kind != EventKind::kQueueEventDelivered) continue;
    if (q.name.rfind("__reply:", 0) == 0) {
      ++out_->dropped_messages;
      continue;
    }
    ordered.push_back({pos, {q.name, q.data}});
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  bool any_meta = false;
  for (const auto& o : ordered) any_meta = any_meta || !events_[o.first].meta.empty();
  for (size_t i = 0; i < ordered.size(); ++i) {
    if (i < options_.max_carry_forward) {
      w->carry_forward.push_back(ordered[i].second);
      if (any_meta) w->carry_forward_meta.push_back(events_[ordered[i].first].meta);
      continue;
    }
    ++out_->dropped_messages;
    Log(LogLevel::kWarn, "duroxide::runtime",
        "continue-as-new carry-forward cap reached; dropping queue message",
        {{"instance_id", instance_}, {"queue", ordered[i].second.first},
         {"cap", std::to_string(options_.max_carry_forward)}});
  }
}

// A child's outcome travels to its parent as SubOrchCompleted / SubOrchFailed.
void ReplayEngine::NotifyParent(const Event& terminal) {
  const Event& started = events_[0];
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

}  // namespace duroxide::replay
