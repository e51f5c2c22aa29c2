// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ReplayEngine's messaging side (docs/messaging.md): sends, publishes and topic subscriptions
// are emitted events like KV writes (matched on replay, side effects derived from the new
// events by the runtime and committed with the turn), and queue deliveries can resolve with
// an envelope that carries the message metadata.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "duroxide/replay/replay_engine.h"
#include "duroxide/replay/replay_node.h"

namespace duroxide::replay {

namespace {
bool EndsWithStar(const std::string& name) { return !name.empty() && name.back() == '*'; }
// A wildcard never matches reply queues unless it names them: replies belong to the request
// that waits on its own queue (and are dropped once it stopped waiting).
bool MatchesWildcard(const std::string& pattern, const std::string& name) {
  const size_t n = pattern.size() - 1;
  if (name.rfind("__reply:", 0) == 0 && pattern.rfind("__reply:", 0) != 0) return false;
  return name.compare(0, n, pattern, 0, n) == 0;
}
}  // namespace

std::string ReplayEngine::MessageMeta(int64_t event_id, const std::string& extra,
                                      const std::string& topic) const {
  nlohmann::json meta = nlohmann::json::object();
  if (!extra.empty()) {
    try {
      auto parsed = nlohmann::json::parse(extra);
      if (parsed.is_object()) meta = std::move(parsed);
    } catch (const std::exception&) {
      // Metadata is produced by the binding; a malformed extra is ignored, never fatal.
    }
  }
  meta["sender"] = instance_;
  meta["message_id"] = instance_ + "#" + std::to_string(execution_id_) + "#" +
                       std::to_string(event_id);
  meta["sent_at_ms"] = now_ms_;
  if (!topic.empty()) meta["topic"] = topic;
  return meta.dump();
}

std::string ReplayEngine::SendMessage(const std::string& target, const std::string& queue,
                                      const std::string& data, const std::string& extra_meta) {
  if (turn_failed_ || finished_ || pending_failure_) return "";
  Event e = history::NamedEvent(EventKind::kMessageSent, queue);
  e.instance = target;
  e.data = data;
  bool is_new = false;
  size_t pos = Emit(std::move(e), &is_new);
  if (pos == kNoPos) return "";
  Event& rec = events_[pos];
  if (is_new) rec.meta = MessageMeta(rec.event_id, extra_meta, "");
  try {
    return nlohmann::json::parse(rec.meta).value("message_id", std::string());
  } catch (const std::exception&) {
    return "";
  }
}

void ReplayEngine::PublishEvent(const std::string& topic, const std::string& data) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Event e;
  e.kind = EventKind::kEventPublished;
  e.name = topic;
  e.data = data;
  bool is_new = false;
  size_t pos = Emit(std::move(e), &is_new);
  if (pos != kNoPos && is_new) {
    events_[pos].meta = MessageMeta(events_[pos].event_id, "", topic);
  }
}

void ReplayEngine::SubscribeTopic(const std::string& topic) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Emit(history::NamedEvent(EventKind::kTopicSubscribed, topic));
}

void ReplayEngine::UnsubscribeTopic(const std::string& topic) {
  if (turn_failed_ || finished_ || pending_failure_) return;
  Emit(history::NamedEvent(EventKind::kTopicUnsubscribed, topic));
}

TaskValue ReplayEngine::QueueValue(const Node* n, size_t pos) const {
  const Event& e = events_[pos];
  if (!n->desc.envelope) return TaskValue::Ok(e.data);
  nlohmann::json env = {{"queue", e.name}, {"data", e.data}, {"meta", e.meta}};
  return TaskValue::Ok(env.dump());
}

// The oldest open subscription for queue `name`: exact subscriptions first, then wildcard ones.
ReplayEngine::Node* ReplayEngine::TakeOpenQueue(const std::string& name) {
  auto take = [](std::vector<Node*>& open) {
    Node* n = open.front();
    open.erase(open.begin());
    n->active = false;
    return n;
  };
  auto exact = open_queue_.find(name);
  if (exact != open_queue_.end() && !exact->second.empty()) return take(exact->second);
  for (auto& [pattern, open] : open_queue_) {
    if (!open.empty() && EndsWithStar(pattern) && MatchesWildcard(pattern, name)) {
      return take(open);
    }
  }
  return nullptr;
}

// The oldest buffered arrival for `name` (a wildcard takes the oldest of every matching queue).
bool ReplayEngine::TakeBuffered(const std::string& name, size_t* pos) {
  std::vector<size_t>* best = nullptr;
  if (!EndsWithStar(name)) {
    auto it = queue_buffer_.find(name);
    if (it != queue_buffer_.end() && !it->second.empty()) best = &it->second;
  } else {
    for (auto& [queue, buffer] : queue_buffer_) {
      if (buffer.empty() || !MatchesWildcard(name, queue)) continue;
      if (best == nullptr || buffer.front() < best->front()) best = &buffer;
    }
  }
  if (best == nullptr) return false;
  *pos = best->front();
  best->erase(best->begin());
  return true;
}

void ReplayEngine::CollectUnconsumed() {
  std::vector<size_t> positions;
  for (const auto& [name, buffer] : queue_buffer_) positions.insert(positions.end(), buffer.begin(), buffer.end());
  for (size_t pos = walk_pos_; pos < events_.size(); ++pos) {
    if (events_[pos].kind == EventKind::kQueueEventDelivered) positions.push_back(pos);
  }
  std::sort(positions.begin(), positions.end());
  for (size_t pos : positions) {
    const Event& e = events_[pos];
    if (e.name.rfind("__reply:", 0) == 0 || e.meta.empty()) continue;  // only sent messages
    try {
      if (nlohmann::json::parse(e.meta).contains("topic")) continue;  // topic events expire
    } catch (const std::exception&) {
      continue;
    }
    history::WorkItem w;
    w.kind = history::WorkItemKind::kQueueMessage;
    w.instance = instance_;
    w.name = e.name;
    w.data = e.data;
    w.meta = e.meta;
    out_->unconsumed_messages.push_back(std::move(w));
  }
}

}  // namespace duroxide::replay
