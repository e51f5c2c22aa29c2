// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Messaging conformance tests (messaging_store.h), run by the SQLite and PostgreSQL test
// binaries: turn-side writes (dead letters, subscriptions, publishes, client replies) commit
// with the turn, topic delivery is exact (start point, order, once), concurrent publishers
// commit their seqs in order, and the management calls.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "duroxide/providers/testing/provider_admin_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace admin_conformance;  // NOLINT: test helpers
using conformance::kPastShortLockMs;
using conformance::kShortLockMs;

MessagingStore& StoreOf(Provider& p) {
  MessagingStore* s = p.messaging();
  if (s == nullptr) {
    ADD_FAILURE() << "provider '" << p.name() << "' has no messaging capability";
    std::abort();
  }
  return *s;
}

// Acks one turn of `instance` (delivered by an external event) carrying `writes`.
void MessagingTurn(Provider& p, const std::string& instance, int64_t next_id,
                   MessagingWrites writes) {
  TurnCommit c = NextTurn(1, next_id, {EventKind::kExternalEvent});
  c.new_events.back().name = "go";
  c.messaging = std::move(writes);
  Deliver(p, instance, c);
}

// Drains the orchestrator queue of `instance`: the data of its QueueMessages, in order.
std::vector<std::string> TakeQueue(Provider& p, const std::string& instance) {
  std::vector<std::string> out;
  auto item = Must(p.FetchOrchestrationItem(kLockMs));
  if (!item) return out;
  EXPECT_EQ(item->instance, instance);
  for (const auto& m : item->messages) {
    if (m.kind == WorkItemKind::kQueueMessage) out.push_back(m.data);
  }
  TurnCommit c;
  c.execution_id = 1;
  EXPECT_TRUE(p.AckOrchestrationItem(item->lock_token, c).ok());
  return out;
}

int64_t DeliverAll(MessagingStore& s) {
  int64_t total = 0;
  for (int i = 0; i < 100; ++i) {
    int64_t n = Must(s.DeliverTopicEvents(1000, 1000));
    if (n == 0) break;
    total += n;
  }
  return total;
}

TEST_P(ProviderConformance, MessagingSubscriptionStartPointOrderAndOnce) {
  MessagingStore& s = StoreOf(p());
  Create(p(), "sub");
  EXPECT_EQ(Must(s.PublishEvent({"t", "\"before\"", ""})), 1);  // no subscriber: not kept
  MessagingWrites w;
  w.subscribe = {"t"};
  MessagingTurn(p(), "sub", 2, w);
  for (int i = 0; i < 3; ++i) Must(s.PublishEvent({"t", std::to_string(i), "{\"x\":1}"}));
  EXPECT_EQ(DeliverAll(s), 3);
  EXPECT_EQ(DeliverAll(s), 0);  // delivered once
  EXPECT_EQ(TakeQueue(p(), "sub"), (std::vector<std::string>{"0", "1", "2"}));
  TopicInfo info;
  auto subs = Must(s.GetTopic("t", &info));
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].instance, "sub");
  EXPECT_EQ(subs[0].lag, 0);
  EXPECT_EQ(info.last_seq, 4);
  EXPECT_EQ(info.backlog, 0);
  CONF_EXPECT_CODE(s.GetTopic("none", &info).status(), StatusCode::kNotFound);
}

TEST_P(ProviderConformance, MessagingUnsubscribeAndTerminalEndSubscriptions) {
  MessagingStore& s = StoreOf(p());
  Create(p(), "a");
  Create(p(), "b");
  MessagingWrites sub;
  sub.subscribe = {"t"};
  MessagingTurn(p(), "a", 2, sub);
  MessagingTurn(p(), "b", 2, sub);
  MessagingWrites unsub;
  unsub.unsubscribe = {"t"};
  MessagingTurn(p(), "a", 3, unsub);
  Complete(p(), "b", 1, 2);
  Must(s.PublishEvent({"t", "1", ""}));
  DeliverAll(s);
  EXPECT_TRUE(TakeQueue(p(), "a").empty());
  auto topics = Must(s.ListTopics());
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0].subscribers, 0);
}

TEST_P(ProviderConformance, MessagingTurnWritesCommitWithTheTurnOnly) {
  MessagingStore& s = StoreOf(p());
  Create(p(), "x");
  // A commit with a stale lock token changes nothing, messaging writes included.
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("x"), 0));
  auto item = Must(p().FetchOrchestrationItem(kShortLockMs));
  ASSERT_TRUE(item.has_value());
  SleepMs(kPastShortLockMs);
  auto again = Must(p().FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(again.has_value());
  TurnCommit c = NextTurn(1, 2, {EventKind::kExternalEvent});
  c.messaging.client_replies = {{"r-1", "{\"ok\":1}"}};
  c.messaging.dead_letters = {{0, "gone", "q", "1", "", "instance 'gone' does not exist", 0}};
  CONF_EXPECT_CODE(p().AckOrchestrationItem(item->lock_token, c), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Must(s.TakeClientReply("r-1")).has_value());
  EXPECT_TRUE(Must(s.ListDeadLetters({})).empty());
  CONF_ASSERT_OK(p().AckOrchestrationItem(again->lock_token, c));
  EXPECT_EQ(Must(s.TakeClientReply("r-1")).value_or(""), "{\"ok\":1}");
  EXPECT_FALSE(Must(s.TakeClientReply("r-1")).has_value());  // taken once
  auto letters = Must(s.ListDeadLetters({}));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].instance, "gone");
  EXPECT_EQ(letters[0].reason, "instance 'gone' does not exist");
}

TEST_P(ProviderConformance, MessagingDeadLetterRedeliverAndPurge) {
  MessagingStore& s = StoreOf(p());
  Create(p(), "x");
  TurnCommit c = NextTurn(1, 2, {EventKind::kExternalEvent});
  c.messaging.dead_letters = {{0, "y", "q", "\"a\"", "{\"sender\":\"x\"}", "why", 0},
                              {0, "z", "q", "\"b\"", "", "why", 0}};
  Deliver(p(), "x", c);
  auto letters = Must(s.ListDeadLetters({}));
  ASSERT_EQ(letters.size(), 2u);
  DeadLetterFilter only_y;
  only_y.instance = "y";
  EXPECT_EQ(Must(s.ListDeadLetters(only_y)).size(), 1u);
  CONF_ASSERT_OK(s.RedeliverDeadLetter(letters[0].id));
  CONF_EXPECT_CODE(s.RedeliverDeadLetter(letters[0].id), StatusCode::kNotFound);
  auto item = Must(p().FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->instance, "y");
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].data, "\"a\"");
  EXPECT_EQ(item->messages[0].meta, "{\"sender\":\"x\"}");
  EXPECT_EQ(Must(s.PurgeDeadLetters({})), 1);
  EXPECT_TRUE(Must(s.ListDeadLetters({})).empty());
}

TEST_P(ProviderConformance, MessagingConcurrentPublishersDeliverInSeqOrder) {
  MessagingStore& s = StoreOf(p());
  Create(p(), "sub");
  MessagingWrites w;
  w.subscribe = {"t"};
  MessagingTurn(p(), "sub", 2, w);
  constexpr int kThreads = 4, kEach = 25;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> delivered{0};
  std::thread deliverer([&] {  // delivers while publishers race
    while (!stop.load()) {
      auto n = s.DeliverTopicEvents(1000, 1000);
      if (n.ok()) delivered += *n;
    }
  });
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) (void)s.PublishEvent({"t", std::to_string(t * 1000 + i), ""});
    });
  }
  for (auto& t : publishers) t.join();
  stop = true;
  deliverer.join();
  delivered += DeliverAll(s);
  EXPECT_EQ(delivered.load(), kThreads * kEach);
  std::vector<std::string> got;
  for (int i = 0; i < 10 && static_cast<int>(got.size()) < kThreads * kEach; ++i) {
    auto more = TakeQueue(p(), "sub");
    got.insert(got.end(), more.begin(), more.end());
  }
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kEach));  // none lost, none twice
  for (int t = 0; t < kThreads; ++t) {  // each publisher's events in its order
    int last = -1;
    for (const auto& v : got) {
      int x = std::stoi(v);
      if (x / 1000 != t) continue;
      EXPECT_GT(x % 1000, last);
      last = x % 1000;
    }
  }
}

}  // namespace
}  // namespace duroxide::providers::testing
