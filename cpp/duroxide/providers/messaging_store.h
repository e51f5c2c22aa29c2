// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The messaging part of the storage contract (docs/messaging.md): dead letters, durable topics
// (a log per topic with a cursor per subscription) and replies to clients. Turn-side writes
// travel in TurnCommit::messaging and are applied in the turn's own transaction; the rest is
// the MessagingStore capability (Provider::messaging()).
//
// Everything the provider writes is spelled out by the runtime; the provider computes no ids
// and interprets no payloads. Shared, dialect-independent logic (the shape of a delivered
// topic message, of a redelivered dead letter) lives in messaging_util.h.
#ifndef DUROXIDE_PROVIDERS_MESSAGING_STORE_H_
#define DUROXIDE_PROVIDERS_MESSAGING_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/history/work_item.h"

namespace duroxide::providers {

// A queue message that could not be delivered, kept with the reason.
struct DeadLetter {
  int64_t id = 0;               // assigned by the provider
  std::string instance;         // the intended recipient
  std::string queue;
  std::string data;             // the original payload (JSON text)
  std::string meta;             // the original metadata (JSON text, "" = none)
  std::string reason;
  int64_t created_at_ms = 0;
};

struct TopicPublish {
  std::string topic;
  std::string data;
  std::string meta;
};

struct ClientReply {
  std::string request_id;
  std::string payload;  // JSON text: {"ok": value} or {"error": message}
};

// Messaging writes of one turn, applied atomically with it.
struct MessagingWrites {
  std::vector<DeadLetter> dead_letters;       // id and created_at are set by the provider
  std::vector<TopicPublish> publishes;        // in order
  std::vector<std::string> subscribe;         // topics (idempotent)
  std::vector<std::string> unsubscribe;       // topics (idempotent)
  bool unsubscribe_all = false;               // the instance ended: drop all its subscriptions
  std::vector<ClientReply> client_replies;
  bool empty() const {
    return dead_letters.empty() && publishes.empty() && subscribe.empty() &&
           unsubscribe.empty() && !unsubscribe_all && client_replies.empty();
  }
};

struct TopicInfo {
  std::string topic;
  int64_t last_seq = 0;
  int64_t subscribers = 0;
  int64_t backlog = 0;  // entries not yet delivered to the slowest subscriber
};

struct TopicSubscriber {
  std::string instance;
  int64_t cursor = 0;  // last delivered seq
  int64_t lag = 0;     // last_seq - cursor
  int64_t subscribed_at_ms = 0;
};

struct DeadLetterFilter {
  std::optional<std::string> instance;
  std::optional<int64_t> before_ms;  // created before
  std::vector<int64_t> ids;          // empty = any
};

class MessagingStore {
 public:
  virtual ~MessagingStore() = default;

  // ---- semantics of MessagingWrites (applied inside AckOrchestrationItem) ----------------
  // publishes: each MUST take the next seq of its topic under a per-topic lock held until the
  //   transaction commits (so seqs become visible in order), and MUST NOT write anything per
  //   subscriber: O(1) per publish. With no subscription at that moment the entry MAY be
  //   skipped (retention 0) but the seq still advances.
  // subscribe: cursor = the topic's last_seq as of the commit (events published after the
  //   subscription commits are delivered, earlier ones are not). Existing subscription: kept.
  // unsubscribe / unsubscribe_all: delete the subscriptions; undelivered entries are not sent.
  // A commit whose status is Completed or Failed MUST delete all subscriptions of the instance.
  // client_replies: insert (request_id unique; a duplicate is ignored).

  // Publishes from outside an orchestration, with the same rules. Returns the seq.
  virtual Result<int64_t> PublishEvent(const TopicPublish& publish) = 0;
  // One delivery step: for up to max_subscriptions subscriptions behind their topic, inserts
  // the entries after the cursor (up to max_entries each, in seq order) into the subscriber's
  // orchestrator queue as QueueMessage on the queue named after the topic and advances the
  // cursor, in one transaction; then prunes log entries every subscription has consumed.
  // Safe to run concurrently from many runtimes (a subscription is delivered by one at a time,
  // and an entry exactly once). Returns the number of messages inserted.
  virtual Result<int64_t> DeliverTopicEvents(size_t max_subscriptions, size_t max_entries) = 0;
  // Removes and returns the reply for a client request, or nullopt.
  virtual Result<std::optional<std::string>> TakeClientReply(const std::string& request_id) = 0;

  // ---- management ----------------------------------------------------------------------
  virtual Result<std::vector<DeadLetter>> ListDeadLetters(const DeadLetterFilter& filter) = 0;
  // Moves the dead letter back to its recipient's queue (one transaction); kNotFound if gone.
  virtual Status RedeliverDeadLetter(int64_t id) = 0;
  virtual Result<int64_t> PurgeDeadLetters(const DeadLetterFilter& filter) = 0;
  virtual Result<std::vector<TopicInfo>> ListTopics() = 0;
  // kNotFound for a topic that was never published to nor subscribed.
  virtual Result<std::vector<TopicSubscriber>> GetTopic(const std::string& topic,
                                                        TopicInfo* info) = 0;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_MESSAGING_STORE_H_
