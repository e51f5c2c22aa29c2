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
// The QueueMessage that redelivers a dead letter.
history::WorkItem RedeliveryItem(const DeadLetter& letter);

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_MESSAGING_UTIL_H_
