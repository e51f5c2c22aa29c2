// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/messaging_util.h"

#include <nlohmann/json.hpp>

namespace duroxide::providers {

history::WorkItem TopicDeliveryItem(const std::string& subscriber, const std::string& topic,
                                    int64_t seq, const std::string& data,
                                    const std::string& meta) {
  nlohmann::json m = nlohmann::json::object();
  try {
    if (!meta.empty()) m = nlohmann::json::parse(meta);
    if (!m.is_object()) m = nlohmann::json::object();
  } catch (const std::exception&) {
    m = nlohmann::json::object();
  }
  m["topic"] = topic;
  m["seq"] = seq;
  history::WorkItem w;
  w.kind = history::WorkItemKind::kQueueMessage;
  w.instance = subscriber;
  w.name = topic;
  w.data = data;
  w.meta = m.dump();
  return w;
}

history::WorkItem RedeliveryItem(const DeadLetter& letter) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kQueueMessage;
  w.instance = letter.instance;
  w.name = letter.queue;
  w.data = letter.data;
  w.meta = letter.meta;
  return w;
}

std::string TopicInfoSelect() {
  const std::string live = std::string(" AND NOT ") + kEndedSubscriptionSql;
  return "SELECT t.topic, t.last_seq, "
         "  (SELECT COUNT(*) FROM subscriptions s WHERE s.topic = t.topic" + live + "), "
         "  COALESCE(t.last_seq - (SELECT MIN(cursor) FROM subscriptions s WHERE s.topic = "
         "t.topic" + live + "), 0) FROM topics t";
}

}  // namespace duroxide::providers
