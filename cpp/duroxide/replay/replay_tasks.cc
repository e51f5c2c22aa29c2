// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ReplayEngine's task tree: turning a yielded task into leaves, emitting (or matching) their
// events, resolving composites (join, select, retry) and cancelling losers.
#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "duroxide/common/limits.h"
#include "duroxide/replay/replay_engine.h"
#include "duroxide/replay/replay_node.h"

namespace duroxide::replay {

namespace {
// What an activity whose per-attempt or total timeout fired resolves to (not retried).
TaskValue ActivityTimeout() {
  return TaskValue::Failure("activity", "Application", "Timeout", "timeout: activity timed out");
}
}  // namespace

namespace {

std::string Clip(const std::string& s) { return s.size() > 80 ? s.substr(0, 77) + "..." : s; }

}  // namespace

std::unique_ptr<ReplayEngine::Node> ReplayEngine::BuildNode(const TaskDescriptor& desc,
                                                            Node* parent, int index) {
  auto node = std::make_unique<Node>();
  node->parent = parent;
  node->index = index;
  node->desc = desc;
  node->desc.children.clear();
  if (desc.type == TaskDescriptor::Type::kJoin || desc.type == TaskDescriptor::Type::kSelect ||
      desc.type == TaskDescriptor::Type::kGraph) {
    int i = 0;
    for (const auto& child : desc.children) node->children.push_back(BuildNode(child, node.get(), i++));
  }
  return node;
}

size_t ReplayEngine::Emit(Event proto, bool* is_new) {
  bool ignored = false;
  if (is_new == nullptr) is_new = &ignored;
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
  std::string problem = CheckNewEvent(proto);
  if (!problem.empty()) {
    Fail(ErrorDetails::Configuration("LimitExceeded", problem));
    return kNoPos;
  }
  proto.event_id = next_event_id_;
  proto.timestamp_ms = now_ms_;
  events_.push_back(std::move(proto));
  IndexEvent(events_.size() - 1);
  cursor_ = events_.size();
  *is_new = true;
  return events_.size() - 1;
}

std::string ReplayEngine::CheckNewEvent(const Event& e) const {
  if (options_.max_history_events > 0 &&
      static_cast<int64_t>(events_.size()) >= options_.max_history_events) {
    return "execution " + std::to_string(execution_id_) + " of instance '" + instance_ +
           "' reached the limit of " + std::to_string(options_.max_history_events) +
           " history events (max_history_events); use continue_as_new to carry on in a "
           "fresh execution with an empty history";
  }
  // The payload limit, the same for every value; the message names it "<what> '<e.name>'".
  auto payload = [&](const std::string& value, const char* what) {
    const std::string named = std::string(what) + " '" + e.name + "'";
    return limits::CheckPayload(value.size(), options_.max_payload_bytes, named.c_str());
  };
  switch (e.kind) {
    case EventKind::kActivityScheduled:
      if (e.name == kSyscallNewGuid || e.name == kSyscallUtcNow) return "";
      return limits::FirstProblem({limits::CheckName(e.name, "activity name"),
                                   payload(e.input, "input of activity")});
    case EventKind::kSubOrchestrationScheduled:
    case EventKind::kOrchestrationChained:
      return limits::FirstProblem(
          {limits::CheckName(e.name, "orchestration name"),
           e.instance.empty()
               ? std::string()
               : limits::CheckInstanceId(e.instance, "sub-orchestration instance id"),
           payload(e.input, "input of orchestration")});
    // Messages (sends, requests, replies, actor sends) and publishes: the same payload
    // limit as every other value, checked before the event exists, so an oversized send fails
    // the turn and nothing of it is written (docs/reliability.md, "Limits").
    case EventKind::kMessageSent:
      return limits::FirstProblem(
          {limits::CheckInstanceId(e.instance, "message target instance id"),
           limits::CheckName(e.name, "queue name"), payload(e.data, "message to queue")});
    case EventKind::kEventPublished:
      return limits::FirstProblem({limits::CheckName(e.name, "topic"),
                                   payload(e.data, "event published to topic")});
    default:
      return "";
  }
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
    case EventKind::kMessageSent:
      return a.instance == b.instance && a.name == b.name && a.data == b.data;
    case EventKind::kEventPublished:
      return a.name == b.name && a.data == b.data;
    case EventKind::kTopicSubscribed:
    case EventKind::kTopicUnsubscribed:
      return a.name == b.name;
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
    case EventKind::kMessageSent:
      s += " to '" + e.instance + "' queue '" + e.name + "' (data " + Clip(e.data) + ")";
      break;
    case EventKind::kEventPublished:
    case EventKind::kTopicSubscribed:
    case EventKind::kTopicUnsubscribed:
      s += " '" + e.name + "'";
      break;
    default:
      break;
  }
  return s;
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
        if (!c->worker_runtime.empty() &&
            std::find(p->failed_runtimes.begin(), p->failed_runtimes.end(),
                      c->worker_runtime) == p->failed_runtimes.end()) {
          p->failed_runtimes.push_back(c->worker_runtime);
        }
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
        return finish(ActivityTimeout());
      case Node::Role::kBackoff:
        StartRetryAttempt(p);
        return;
      case Node::Role::kTotalTimer:
        return finish(ActivityTimeout());
      case Node::Role::kNone:
        return;
    }
  }
  if (p->desc.type == T::kGraph) {
    ScheduleReadyGraphNodes(p);
    return;
  }
  if (p->desc.type == T::kSelect) {
    TaskValue v;
    v.type = TaskValue::Type::kSelect;
    v.items = {c->value};
    v.index = c->index;
    for (auto& child : p->children) {
      if (child.get() != c) Cancel(child.get(), "dropped_future");
    }
    Resolve(p, std::move(v));
    return;
  }
  ResolveJoinIfDone(p);
}

// A join (or a finished graph) resolves, with every child's value in order, once all its
// children have.
void ReplayEngine::ResolveJoinIfDone(Node* p) {
  for (auto& child : p->children) {
    if (!child->done) return;
  }
  TaskValue v;
  v.type = TaskValue::Type::kJoin;
  for (auto& child : p->children) v.items.push_back(child->value);
  Resolve(p, std::move(v));
}

namespace {

// Replaces every {"$dx_ref": i} object in `v` with child i's output.
void Substitute(nlohmann::json& v, const std::vector<const TaskValue*>& outputs) {
  if (v.is_object()) {
    auto ref = v.find("$dx_ref");
    if (v.size() == 1 && ref != v.end() && ref->is_number_integer()) {
      const int64_t i = ref->get<int64_t>();
      if (i < 0 || i >= static_cast<int64_t>(outputs.size()) || outputs[i] == nullptr) {
        throw std::runtime_error("graph reference to node " + std::to_string(i) +
                                 ", which is not a dependency");
      }
      v = nlohmann::json::parse(outputs[i]->payload);
      return;
    }
    for (auto& [key, item] : v.items()) Substitute(item, outputs);
  } else if (v.is_array()) {
    for (auto& item : v) Substitute(item, outputs);
  }
}

}  // namespace

// Schedules, in index order, every graph child whose dependencies all completed (with their
// outputs substituted into its input) and fails those with a failed dependency; resolves the
// graph once every child is done. Deterministic: it depends only on which children resolved,
// which history order decides.
void ReplayEngine::ScheduleReadyGraphNodes(Node* g) {
  if (g->scanning) return;  // a child resolved while we emit: the loop below rescans
  g->scanning = true;
  bool changed = true;
  while (changed && !turn_failed_ && !g->done && !g->cancelled) {
    changed = false;
    for (auto& child_ptr : g->children) {
      Node* c = child_ptr.get();
      if (c->started || c->done || c->cancelled) continue;
      const Node* failed_dep = nullptr;
      bool ready = true;
      for (int64_t dep : c->desc.deps) {
        if (dep < 0 || dep >= static_cast<int64_t>(g->children.size())) continue;
        const Node* d = g->children[dep].get();
        if (!d->done) {
          ready = false;
        } else if (d->value.type == TaskValue::Type::kErr) {
          failed_dep = d;
        }
      }
      if (failed_dep != nullptr) {
        c->started = true;
        changed = true;
        Resolve(c, TaskValue::Err("not run: its dependency '" + failed_dep->desc.name +
                                  "' (node " + std::to_string(failed_dep->index) +
                                  ") failed: " + failed_dep->value.payload));
        continue;
      }
      if (!ready) continue;
      c->started = true;
      changed = true;
      if (!c->desc.deps.empty()) {
        std::vector<const TaskValue*> outputs(g->children.size(), nullptr);
        for (int64_t dep : c->desc.deps) {
          if (dep >= 0 && dep < static_cast<int64_t>(g->children.size())) {
            outputs[dep] = &g->children[dep]->value;
          }
        }
        try {
          nlohmann::json input = nlohmann::json::parse(c->desc.input);
          Substitute(input, outputs);
          c->desc.input = input.dump();
        } catch (const std::exception& ex) {
          Resolve(c, TaskValue::Err(std::string("cannot build the input of '") + c->desc.name +
                                    "': " + ex.what()));
          continue;
        }
      }
      EmitLeaf(c);
      if (turn_failed_) break;
    }
  }
  g->scanning = false;
  if (g->done || g->cancelled || turn_failed_) return;
  ResolveJoinIfDone(g);
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
        out_->orchestrator_items.push_back(history::CancelItem(
            events_[n->pos].instance, reason == "orchestration_cancelled"
                                          ? "parent canceled"
                                          : "parent dropped sub-orchestration future"));
      }
      return;
    }
    case T::kWaitEvent:
      remove_open(open_external_);
      e.kind = EventKind::kExternalSubscribedCancelled;
      Emit(std::move(e));
      return;
    case T::kDequeueEvent:
      remove_open(open_queue_);
      if (n->desc.name.rfind("__reply:", 0) == 0) closed_reply_queues_[n->desc.name] = true;
      e.kind = EventKind::kQueueSubscriptionCancelled;
      Emit(std::move(e));
      return;
    default:  // timers and system calls have nothing to cancel
      return;
  }
}

void ReplayEngine::CancelAllPending(const std::string& reason) {
  if (root_) Cancel(root_.get(), reason);
}

}  // namespace duroxide::replay
