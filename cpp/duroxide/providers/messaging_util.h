// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Dialect-independent helpers shared by the providers' messaging code.
#ifndef DUROXIDE_PROVIDERS_MESSAGING_UTIL_H_
#define DUROXIDE_PROVIDERS_MESSAGING_UTIL_H_

#include <cstdint>
#include <string>

#include "duroxide/history/work_item.h"
#include "duroxide/providers/messaging_store.h"

namespace duroxide::providers {

// The QueueMessage that delivers topic entry `seq` to `subscriber` (queue = topic name;
// the metadata gains "topic" and "seq").
history::WorkItem TopicDeliveryItem(const std::string& subscriber, const std::string& topic,
                                    int64_t seq, const std::string& data, const std::string& meta);
// SQL condition (both dialects) true for a subscription row `s` whose instance is gone or
// whose current execution is Completed or Failed: such subscriptions are never delivered to,
// not listed, and deleted by the delivery step ("derive, don't maintain").
inline constexpr const char* kEndedSubscriptionSql =
    "(NOT EXISTS (SELECT 1 FROM instances i WHERE i.instance_id = s.instance_id) OR EXISTS ("
    "SELECT 1 FROM instances i JOIN executions e ON e.instance_id = i.instance_id AND "
    "e.execution_id = i.current_execution_id WHERE i.instance_id = s.instance_id AND "
    "e.status IN ('Completed', 'Failed')))";

// The topic listing query (both dialects; append a WHERE / ORDER BY clause). Columns: 0 topic,
// 1 last_seq, 2 live subscribers, 3 backlog of the slowest live subscriber (0 without one).
std::string TopicInfoSelect();

// Maps a TopicInfoSelect row through a provider's row adapter (see store_common.h).
template <typename Row>
TopicInfo TopicInfoFrom(const Row& row) {
  return {row.Text(0), row.Int(1), row.Int(2), row.Int(3)};
}

// The QueueMessage that redelivers a dead letter.
history::WorkItem RedeliveryItem(const DeadLetter& letter);

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_MESSAGING_UTIL_H_
