// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/messaging_turn.h"

#include <nlohmann/json.hpp>

namespace duroxide::runtime {

using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

nlohmann::json ParseMeta(const std::string& meta) {
  if (meta.empty()) return nlohmann::json::object();
  try {
    auto j = nlohmann::json::parse(meta);
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

}  // namespace

void AddMessagingWrites(const std::vector<Event>& new_events, providers::TurnCommit* commit) {
  auto& m = commit->messaging;
  for (const Event& e : new_events) {
    switch (e.kind) {
      case EventKind::kMessageSent:
        if (e.instance == kClientReplyTarget && StartsWith(e.name, kReplyQueuePrefix)) {
          m.client_replies.push_back({e.name.substr(std::string(kReplyQueuePrefix).size()), e.data});
        } else {
          commit->orchestrator_items.push_back(history::MessageItem(
              WorkItemKind::kQueueMessage, e.instance, e.name, e.data, e.meta));
        }
        break;
      case EventKind::kEventPublished:
        m.publishes.push_back({e.name, e.data, e.meta});
        break;
      case EventKind::kTopicSubscribed:
        m.subscribe.push_back(e.name);
        break;
      case EventKind::kTopicUnsubscribed:
        m.unsubscribe.push_back(e.name);
        break;
      default:
        break;
    }
  }
}

void DeadLetterMessages(const std::string& instance, const std::vector<WorkItem>& messages,
                        const std::string& reason, providers::TurnCommit* commit,
                        int64_t* dropped) {
  for (const WorkItem& w : messages) {
    if (w.kind != WorkItemKind::kQueueMessage) continue;
    if (StartsWith(w.name, kReplyQueuePrefix)) {
      ++*dropped;  // the requester is gone: nobody can wait for this reply
      continue;
    }
    providers::DeadLetter d;
    d.instance = instance;
    d.queue = w.name;
    d.data = w.data;
    d.meta = w.meta;
    d.reason = reason;
    commit->messaging.dead_letters.push_back(std::move(d));
    const nlohmann::json meta = ParseMeta(w.meta);
    if (meta.value("kind", std::string()) != "request") continue;
    const std::string reply_to = meta.value("reply_to", std::string());
    const std::string request_id = meta.value("message_id", std::string());
    if (reply_to.empty() || request_id.empty()) continue;
    const std::string payload = nlohmann::json{{"error", reason}, {"unavailable", true}}.dump();
    if (reply_to == kClientReplyTarget) {
      commit->messaging.client_replies.push_back({request_id, payload});
    } else {
      commit->orchestrator_items.push_back(
          history::MessageItem(WorkItemKind::kQueueMessage, reply_to,
                               kReplyQueuePrefix + request_id, payload,
                               nlohmann::json{{"sender", instance}, {"kind", "reply"}}.dump()));
    }
  }
}

std::optional<WorkItem> ActorStartIfAbsent(const std::string& instance) {
  if (!StartsWith(instance, kActorPrefix)) return std::nullopt;
  const std::string rest = instance.substr(std::string(kActorPrefix).size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size()) return std::nullopt;
  const std::string input = nlohmann::json{{"type", rest.substr(0, slash)},
                                            {"key", rest.substr(slash + 1)},
                                            {"state", nlohmann::json::object()}}
                                .dump();
  return history::StartItem(instance, kActorOrchestrationPrefix + rest.substr(0, slash), std::nullopt,
                            input);
}

}  // namespace duroxide::runtime
