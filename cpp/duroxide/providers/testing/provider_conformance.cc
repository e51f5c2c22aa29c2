// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The conformance tests. They use only the Provider interface; see the header for how to
// instantiate them.
#include "duroxide/providers/testing/provider_conformance.h"

#include "duroxide/providers/testing/provider_conformance_util.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "duroxide/common/clock.h"

namespace duroxide::providers::testing {

void ProviderConformance::SetUp() {
  ASSERT_TRUE(GetParam().create) << "factory '" << GetParam().name << "' has no create()";
  provider_ = GetParam().create();
  ASSERT_NE(provider_, nullptr) << "factory '" << GetParam().name << "' returned null";
}

void ProviderConformance::TearDown() { provider_.reset(); }

namespace {

using namespace conformance;  // NOLINT: test helpers

// ---- atomicity ---------------------------------------------------------------------------

TEST_P(ProviderConformance, AtomicityAckAppliesAllEffects) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->instance, "a");
  EXPECT_FALSE(item->record.has_value());
  EXPECT_TRUE(item->history.empty());
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kStartOrchestration);
  EXPECT_EQ(item->attempt_count, 1);

  const int64_t before = NowMs();
  TurnCommit c = FirstTurn();
  c.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  c.new_events.push_back(Ev(3, EventKind::kTimerCreated));
  c.worker_items = {Activity("a", 2)};
  WorkItem timer;
  timer.kind = WorkItemKind::kTimerFired;
  timer.instance = "a";
  timer.execution_id = 1;
  timer.id = 3;
  timer.fire_at_ms = NowMs() + 60000;
  c.orchestrator_items = {timer, External("other")};
  c.custom_status_changed = true;
  c.custom_status = "cs";
  c.kv_mutations = {KvSet("k", "v")};
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, c));

  auto hist = Must(p().ReadHistory("a", 0));
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[0].kind, EventKind::kOrchestrationStarted);
  EXPECT_EQ(hist[1].kind, EventKind::kActivityScheduled);
  EXPECT_EQ(hist[2].event_id, 3);
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->name, "Orch");
  EXPECT_EQ(rec->version, "1.0.0");
  EXPECT_EQ(rec->current_execution_id, 1);
  EXPECT_EQ(rec->status, ExecutionStatus::kRunning);
  EXPECT_EQ(rec->custom_status, std::optional<std::string>("cs"));
  EXPECT_EQ(rec->custom_status_version, 1);
  EXPECT_GE(rec->created_at_ms, before - 1000);  // real epoch milliseconds
  EXPECT_LE(rec->created_at_ms, NowMs() + 1000);
  EXPECT_EQ(Must(p().GetKvValue("a", "k")), std::optional<std::string>("v"));
  EXPECT_FALSE(Must(p().HasPendingStart("a")));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 2);
  auto next = FetchOrch(p());  // the timer of "a" is in the future; "other" is visible
  ASSERT_TRUE(next);
  EXPECT_EQ(next->instance, "other");
  EXPECT_FALSE(FetchOrch(p()));
}

TEST_P(ProviderConformance, AtomicityFailedAckChangesNothingAndKeepsLock) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  TurnCommit bad = WithWorkerItems({Activity("a", 2)});
  bad.new_events.push_back(Ev(1, EventKind::kTimerCreated));  // duplicate event_id
  bad.orchestrator_items = {External("other")};
  bad.custom_status_changed = true;
  bad.custom_status = "cs";
  bad.kv_mutations = {KvSet("k", "v")};
  EXPECT_FALSE(p().AckOrchestrationItem(item->lock_token, bad).ok());

  EXPECT_FALSE(Must(p().GetInstance("a")));
  EXPECT_TRUE(Must(p().ReadHistory("a", 0)).empty());
  EXPECT_FALSE(Must(p().GetKvValue("a", "k")));
  EXPECT_FALSE(FetchWork(p()));
  EXPECT_FALSE(FetchOrch(p()));  // "a" still locked, "other" never enqueued
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, FirstTurn()));
  EXPECT_EQ(Must(p().ReadHistory("a", 0)).size(), 1u);
}

TEST_P(ProviderConformance, AtomicityAckWithInvalidTokenChangesNothing) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  CONF_EXPECT_CODE(p().AckOrchestrationItem("no-such-token", FirstTurn()),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Must(p().GetInstance("a")));
  EXPECT_TRUE(Must(p().ReadHistory("a", 0)).empty());
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, FirstTurn()));
  EXPECT_TRUE(Must(p().GetInstance("a")));
}

TEST_P(ProviderConformance, AtomicityAckWithExpiredLockChangesNothing) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p(), kShortLockMs);
  ASSERT_TRUE(item);
  SleepMs(kPastShortLockMs);
  TurnCommit c = WithWorkerItems({Activity("a", 2)});
  CONF_EXPECT_CODE(p().AckOrchestrationItem(item->lock_token, c),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Must(p().GetInstance("a")));
  EXPECT_TRUE(Must(p().ReadHistory("a", 0)).empty());
  EXPECT_FALSE(FetchWork(p()));
  auto again = FetchOrch(p());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->messages.size(), 1u);
  EXPECT_EQ(again->attempt_count, 2);
}

TEST_P(ProviderConformance, AtomicityConcurrentAcksHaveOneWinner) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (p().AckOrchestrationItem(item->lock_token, FirstTurn()).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(Must(p().ReadHistory("a", 0)).size(), 1u);
}

// ---- instance locking --------------------------------------------------------------------

TEST_P(ProviderConformance, InstanceLockingLockedInstanceIsNotFetchedAgain) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  ASSERT_TRUE(FetchOrch(p()));
  EXPECT_FALSE(FetchOrch(p()));
}

TEST_P(ProviderConformance, InstanceLockingArrivalsDuringLockGoToNextBatch) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto first = FetchOrch(p());
  ASSERT_TRUE(first);
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a", "e1"), 0));
  EXPECT_FALSE(FetchOrch(p()));
  CONF_ASSERT_OK(p().AckOrchestrationItem(first->lock_token, FirstTurn()));
  auto second = FetchOrch(p());
  ASSERT_TRUE(second);
  ASSERT_EQ(second->messages.size(), 1u);
  EXPECT_EQ(second->messages[0].kind, WorkItemKind::kExternalRaised);
  EXPECT_EQ(second->messages[0].name, "e1");
  EXPECT_EQ(second->attempt_count, 1);
  ASSERT_TRUE(second->record);
  EXPECT_EQ(second->history.size(), 1u);
}

TEST_P(ProviderConformance, InstanceLockingBatchHasAllVisibleMessagesOldestFirst) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a", "e1"), 0));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a", "e2"), 0));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a", "late"), 60000));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->messages.size(), 3u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kStartOrchestration);
  EXPECT_EQ(item->messages[1].name, "e1");
  EXPECT_EQ(item->messages[2].name, "e2");
}

TEST_P(ProviderConformance, InstanceLockingDistinctInstancesAndTokens) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  CONF_ASSERT_OK(p().StartOrchestration(Start("b")));
  auto x = FetchOrch(p());
  auto y = FetchOrch(p());
  ASSERT_TRUE(x && y);
  EXPECT_EQ(x->instance, "a");  // oldest message first
  EXPECT_EQ(y->instance, "b");
  EXPECT_NE(x->lock_token, y->lock_token);
  EXPECT_FALSE(FetchOrch(p()));
}

TEST_P(ProviderConformance, InstanceLockingConcurrentFetchesGetDistinctInstances) {
  constexpr int kInstances = 16;
  for (int i = 0; i < kInstances; ++i) {
    CONF_ASSERT_OK(p().StartOrchestration(Start("i" + std::to_string(i))));
  }
  std::mutex mu;
  std::vector<std::string> fetched;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (auto item = FetchOrch(p())) {
        std::lock_guard<std::mutex> lock(mu);
        fetched.push_back(item->instance);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> unique(fetched.begin(), fetched.end());
  EXPECT_EQ(fetched.size(), static_cast<size_t>(kInstances));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kInstances));
}

TEST_P(ProviderConformance, InstanceLockingContentionNeverHoldsAnInstanceTwice) {
  constexpr int kInstances = 6;
  for (int i = 0; i < kInstances; ++i) {
    CONF_ASSERT_OK(p().StartOrchestration(Start("i" + std::to_string(i))));
  }
  std::mutex mu;
  std::set<std::string> held;
  std::atomic<int> fetches{0};
  std::atomic<int> violations{0};
  const int64_t deadline = NowMs() + 3000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (fetches.load() < 120 && NowMs() < deadline) {
        auto item = FetchOrch(p());
        if (!item) continue;
        ++fetches;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!held.insert(item->instance).second) ++violations;
        }
        SleepMs(1);
        {
          std::lock_guard<std::mutex> lock(mu);
          held.erase(item->instance);
        }
        if (!p().AbandonOrchestrationItem(item->lock_token, 0, true).ok()) ++violations;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GE(fetches.load(), kInstances);
  // Every instance is still intact and fetchable, exactly once each.
  std::set<std::string> seen;
  while (auto item = FetchOrch(p())) {
    EXPECT_TRUE(seen.insert(item->instance).second);
    EXPECT_EQ(item->messages.size(), 1u);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kInstances));
}

// ---- lock expiry and redelivery ----------------------------------------------------------

TEST_P(ProviderConformance, LockExpiryOrchestrationIsRedelivered) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto first = FetchOrch(p(), kShortLockMs);
  ASSERT_TRUE(first);
  SleepMs(kPastShortLockMs);
  auto second = FetchOrch(p());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->instance, "a");
  EXPECT_NE(second->lock_token, first->lock_token);
  EXPECT_EQ(second->attempt_count, 2);
  CONF_EXPECT_CODE(p().AckOrchestrationItem(first->lock_token, FirstTurn()),
                   StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(p().RenewOrchestrationItemLock(first->lock_token, kLongLockMs),
                   StatusCode::kFailedPrecondition);
  CONF_ASSERT_OK(p().AckOrchestrationItem(second->lock_token, FirstTurn()));
}

TEST_P(ProviderConformance, LockExpiryOrchestrationRenewKeepsLock) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p(), 300);
  ASSERT_TRUE(item);
  CONF_ASSERT_OK(p().RenewOrchestrationItemLock(item->lock_token, kLongLockMs));
  SleepMs(500);
  EXPECT_FALSE(FetchOrch(p()));
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, FirstTurn()));
}

TEST_P(ProviderConformance, LockExpiryWorkItemIsRedelivered) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto first = FetchWork(p(), {}, kShortLockMs);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attempt_count, 1);
  SleepMs(kPastShortLockMs);
  auto second = FetchWork(p());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->item.id, 2);
  EXPECT_EQ(second->attempt_count, 2);
  EXPECT_NE(second->lock_token, first->lock_token);
  CONF_EXPECT_CODE(p().AckWorkItem(first->lock_token, ActivityDone("a", 2, "1")),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FetchOrch(p()));  // the failed ack enqueued nothing
  CONF_ASSERT_OK(p().AckWorkItem(second->lock_token, ActivityDone("a", 2, "1")));
}

TEST_P(ProviderConformance, LockExpiryWorkItemRenewal) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p(), {}, 300);
  ASSERT_TRUE(lease);
  CONF_ASSERT_OK(p().RenewWorkItemLock(lease->lock_token, kLongLockMs));
  SleepMs(500);
  EXPECT_FALSE(FetchWork(p()));
  CONF_EXPECT_CODE(p().RenewWorkItemLock("no-such-token", kLongLockMs),
                   StatusCode::kFailedPrecondition);
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, std::nullopt));
  CONF_EXPECT_CODE(p().RenewWorkItemLock(lease->lock_token, kLongLockMs),
                   StatusCode::kFailedPrecondition);
}

TEST_P(ProviderConformance, LockExpiryWorkItemRenewAfterExpiryFails) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p(), {}, kShortLockMs);
  ASSERT_TRUE(lease);
  SleepMs(kPastShortLockMs);
  CONF_EXPECT_CODE(p().RenewWorkItemLock(lease->lock_token, kLongLockMs),
                   StatusCode::kFailedPrecondition);
}

// ---- abandon -----------------------------------------------------------------------------

TEST_P(ProviderConformance, AbandonOrchestrationReleasesLock) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto first = FetchOrch(p());
  ASSERT_TRUE(first);
  CONF_ASSERT_OK(p().AbandonOrchestrationItem(first->lock_token, 0, false));
  auto second = FetchOrch(p());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->messages.size(), 1u);
  EXPECT_FALSE(p().AckOrchestrationItem(first->lock_token, FirstTurn()).ok());
}

TEST_P(ProviderConformance, AbandonOrchestrationWithDelayHidesBatchUntilThen) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  const int64_t before = NowMs();
  CONF_ASSERT_OK(p().AbandonOrchestrationItem(item->lock_token, 600, false));
  EXPECT_FALSE(FetchOrch(p()));
  auto next = Must(p().NextOrchestratorVisibleAt());
  ASSERT_TRUE(next);
  EXPECT_GE(*next, before + 600);
  EXPECT_LE(*next, NowMs() + 600);
  auto again = WaitOrch(p());
  ASSERT_TRUE(again);
  EXPECT_GE(NowMs(), before + 600);
  EXPECT_EQ(again->attempt_count, 2);
}

TEST_P(ProviderConformance, AbandonOrchestrationIgnoreAttempt) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attempt_count, 1);
  CONF_ASSERT_OK(p().AbandonOrchestrationItem(item->lock_token, 0, true));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attempt_count, 1);
  CONF_ASSERT_OK(p().AbandonOrchestrationItem(item->lock_token, 0, false));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attempt_count, 2);
}

TEST_P(ProviderConformance, AbandonWithInvalidTokenFails) {
  EXPECT_FALSE(p().AbandonOrchestrationItem("no-such-token", 0, false).ok());
  EXPECT_FALSE(p().AbandonWorkItem("no-such-token", 0, false).ok());
}

TEST_P(ProviderConformance, AbandonWorkItemWithDelayAndIgnoreAttempt) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  const int64_t before = NowMs();
  CONF_ASSERT_OK(p().AbandonWorkItem(lease->lock_token, 600, false));
  EXPECT_FALSE(FetchWork(p()));
  auto next = Must(p().NextWorkerVisibleAt());
  ASSERT_TRUE(next);
  EXPECT_GE(*next, before + 600);
  lease = WaitWork(p());
  ASSERT_TRUE(lease);
  EXPECT_GE(NowMs(), before + 600);
  EXPECT_EQ(lease->attempt_count, 2);
  CONF_ASSERT_OK(p().AbandonWorkItem(lease->lock_token, 0, true));
  lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->attempt_count, 2);
}

// ---- poison counts -----------------------------------------------------------------------

TEST_P(ProviderConformance, PoisonAttemptCountIncrementsOnEveryFetch) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attempt_count, 1);
  CONF_ASSERT_OK(p().AbandonOrchestrationItem(item->lock_token, 0, false));
  item = FetchOrch(p(), kShortLockMs);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attempt_count, 2);
  SleepMs(kPastShortLockMs);  // expiry counts as a delivery too
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attempt_count, 3);
}

TEST_P(ProviderConformance, PoisonAttemptCountIsMaxOverBatch) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  CONF_ASSERT_OK(p().AbandonOrchestrationItem(item->lock_token, 0, false));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->messages.size(), 2u);
  EXPECT_EQ(item->attempt_count, 2);  // start: 2, external: 1
}

// ---- queue semantics ---------------------------------------------------------------------

TEST_P(ProviderConformance, QueueWorkerIsFifo) {
  ASSERT_TRUE(CreateInstance(
      p(), "a", WithWorkerItems({Activity("a", 2), Activity("a", 3), Activity("a", 4)})));
  for (int64_t id : {2, 3, 4}) {
    auto lease = FetchWork(p());
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->item.id, id);
    EXPECT_EQ(lease->item.kind, WorkItemKind::kActivityExecute);
    EXPECT_EQ(lease->item.instance, "a");
  }
  EXPECT_FALSE(FetchWork(p()));
}

TEST_P(ProviderConformance, QueueTimerFiredIsVisibleAtFireTime) {
  TurnCommit c = FirstTurn();
  WorkItem timer;
  timer.kind = WorkItemKind::kTimerFired;
  timer.instance = "a";
  timer.execution_id = 1;
  timer.id = 2;
  timer.fire_at_ms = NowMs() + 500;
  c.orchestrator_items = {timer};
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  EXPECT_FALSE(FetchOrch(p()));
  EXPECT_EQ(Must(p().NextOrchestratorVisibleAt()), std::optional<int64_t>(timer.fire_at_ms));
  auto item = WaitOrch(p());
  ASSERT_TRUE(item);
  EXPECT_GE(NowMs(), timer.fire_at_ms);
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kTimerFired);
  EXPECT_EQ(item->messages[0].fire_at_ms, timer.fire_at_ms);
}

TEST_P(ProviderConformance, QueueEnqueueWithDelay) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  const int64_t before = NowMs();
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 500));
  EXPECT_FALSE(FetchOrch(p()));
  auto item = WaitOrch(p());
  ASSERT_TRUE(item);
  EXPECT_GE(NowMs(), before + 500);
}

TEST_P(ProviderConformance, QueueNextVisibleAtSkipsLockedWork) {
  EXPECT_FALSE(Must(p().NextOrchestratorVisibleAt()));
  EXPECT_FALSE(Must(p().NextWorkerVisibleAt()));
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto next = Must(p().NextOrchestratorVisibleAt());
  ASSERT_TRUE(next);
  EXPECT_LE(*next, NowMs());
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_FALSE(Must(p().NextOrchestratorVisibleAt()));
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, WithWorkerItems({Activity("a", 2)})));
  next = Must(p().NextWorkerVisibleAt());
  ASSERT_TRUE(next);
  EXPECT_LE(*next, NowMs());
  ASSERT_TRUE(FetchWork(p()));
  EXPECT_FALSE(Must(p().NextWorkerVisibleAt()));
}

TEST_P(ProviderConformance, QueueWorkerAckEnqueuesCompletionAtomically) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, ActivityDone("a", 2, "42")));
  EXPECT_FALSE(FetchWork(p()));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->instance, "a");
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kActivityCompleted);
  EXPECT_EQ(item->messages[0].id, 2);
  EXPECT_EQ(item->messages[0].data, "42");
  CONF_EXPECT_CODE(p().AckWorkItem(lease->lock_token, ActivityDone("a", 2, "42")),
                   StatusCode::kFailedPrecondition);
}

TEST_P(ProviderConformance, QueueSignalsAreNotified) {
  const uint64_t orch = p().orchestrator_signal().seq();
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  EXPECT_GT(p().orchestrator_signal().seq(), orch);
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  const uint64_t worker = p().worker_signal().seq();
  const uint64_t status = p().status_signal().seq();
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, WithWorkerItems({Activity("a", 2)})));
  EXPECT_GT(p().worker_signal().seq(), worker);
  EXPECT_GT(p().status_signal().seq(), status);
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  const uint64_t orch2 = p().orchestrator_signal().seq();
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, ActivityDone("a", 2, "1")));
  EXPECT_GT(p().orchestrator_signal().seq(), orch2);
}

// ---- acknowledge and fetch in one call ---------------------------------------------------

NextOrchestrationFetch NextFetch(size_t max_items) {
  NextOrchestrationFetch next;
  next.lock_timeout_ms = kLongLockMs;
  next.max_items = max_items;
  return next;
}

TEST_P(ProviderConformance, AckAndFetchOrchestrationReturnsTheNextInstance) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  CONF_ASSERT_OK(p().StartOrchestration(Start("b")));
  auto a = FetchOrch(p());
  ASSERT_TRUE(a);
  NextOrchestrationFetch next = NextFetch(1);
  const TurnCommit c = WithWorkerItems({Activity(a->instance, 2)});
  std::vector<Status> acked = p().AckOrchestrationItemsAndFetch({{a->lock_token, &c}}, &next);
  ASSERT_EQ(acked.size(), 1u);
  CONF_ASSERT_OK(acked[0]);
  ASSERT_TRUE(next.result.has_value());
  ASSERT_TRUE(next.result->ok()) << next.result->status().ToString();
  ASSERT_EQ(next.result->value().size(), 1u);
  const OrchestrationItem& b = next.result->value()[0];
  EXPECT_NE(b.instance, a->instance);
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].kind, WorkItemKind::kStartOrchestration);
  // The ack took effect (the activity is queued) and the fetched instance is locked.
  EXPECT_TRUE(FetchWork(p()));
  EXPECT_FALSE(FetchOrch(p()));
  CONF_ASSERT_OK(p().AckOrchestrationItem(b.lock_token, FirstTurn()));
  EXPECT_EQ(Must(p().GetInstance(b.instance))->status, ExecutionStatus::kRunning);
}

TEST_P(ProviderConformance, AckAndFetchOrchestrationSeesTheAcksOwnMessages) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto a = FetchOrch(p());
  ASSERT_TRUE(a);
  TurnCommit c = FirstTurn();
  c.orchestrator_items = {External("a")};  // a message to itself, visible at once
  NextOrchestrationFetch next = NextFetch(4);
  CONF_ASSERT_OK(p().AckOrchestrationItemsAndFetch({{a->lock_token, &c}}, &next)[0]);
  ASSERT_TRUE(next.result.has_value() && next.result->ok());
  ASSERT_EQ(next.result->value().size(), 1u);
  const OrchestrationItem& again = next.result->value()[0];
  EXPECT_EQ(again.instance, "a");
  ASSERT_EQ(again.messages.size(), 1u);
  EXPECT_EQ(again.messages[0].kind, WorkItemKind::kExternalRaised);
  EXPECT_EQ(again.history.size(), 1u);
}

TEST_P(ProviderConformance, FetchBatchFindsInstancesWhoseMessagesInterleave) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("x")));
  CONF_ASSERT_OK(p().StartOrchestration(Start("y")));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("x"), 0));
  CONF_ASSERT_OK(p().StartOrchestration(Start("z")));
  auto fetched = p().FetchOrchestrationItems(8, kLongLockMs, nullptr);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  ASSERT_EQ(fetched->size(), 3u);
  EXPECT_EQ((*fetched)[0].instance, "x");  // oldest message first
  EXPECT_EQ((*fetched)[0].messages.size(), 2u);
  EXPECT_EQ((*fetched)[1].instance, "y");
  EXPECT_EQ((*fetched)[2].instance, "z");
  EXPECT_FALSE(FetchOrch(p()));
}

TEST_P(ProviderConformance, AckBatchSettlesEachTurnOnItsOwn) {
  for (const char* id : {"a", "b", "c"}) CONF_ASSERT_OK(p().StartOrchestration(Start(id)));
  auto fetched = p().FetchOrchestrationItems(2, kLongLockMs, nullptr);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  ASSERT_EQ(fetched->size(), 2u);
  EXPECT_NE((*fetched)[0].instance, (*fetched)[1].instance);
  const TurnCommit first = FirstTurn();
  TurnCommit bad = FirstTurn();
  bad.new_events[0].event_id = 0;  // rejected: event ids are positive
  NextOrchestrationFetch next = NextFetch(5);
  std::vector<Status> acked = p().AckOrchestrationItemsAndFetch(
      {{(*fetched)[0].lock_token, &first},
       {"o-no-such-token", &first},
       {(*fetched)[1].lock_token, &bad}},
      &next);
  ASSERT_EQ(acked.size(), 3u);
  CONF_EXPECT_CODE(acked[0], StatusCode::kOk);
  CONF_EXPECT_CODE(acked[1], StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(acked[2], StatusCode::kInvalidArgument);
  EXPECT_TRUE(Must(p().GetInstance((*fetched)[0].instance)));
  EXPECT_FALSE(Must(p().GetInstance((*fetched)[1].instance)));  // its ack changed nothing
  // The fetch found the one instance never fetched; the rejected one is still locked.
  ASSERT_TRUE(next.result.has_value() && next.result->ok());
  ASSERT_EQ(next.result->value().size(), 1u);
  const std::set<std::string> seen = {(*fetched)[0].instance, (*fetched)[1].instance,
                                      next.result->value()[0].instance};
  EXPECT_EQ(seen.size(), 3u);
  CONF_ASSERT_OK(p().AckOrchestrationItem((*fetched)[1].lock_token, first));
  // Nothing left to fetch: an empty result, not an error.
  NextOrchestrationFetch none = NextFetch(3);
  CONF_ASSERT_OK(p().AckOrchestrationItemsAndFetch(
      {{next.result->value()[0].lock_token, &first}}, &none)[0]);
  ASSERT_TRUE(none.result.has_value() && none.result->ok());
  EXPECT_TRUE(none.result->value().empty());
}

TEST_P(ProviderConformance, AckBatchRollsBackAStorageErrorAlone) {
  ASSERT_TRUE(CreateInstance(p(), "x"));  // history [1]
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("x"), 0));
  CONF_ASSERT_OK(p().StartOrchestration(Start("y")));
  auto fetched = p().FetchOrchestrationItems(2, kLongLockMs, nullptr);
  ASSERT_TRUE(fetched.ok() && fetched->size() == 2u);
  const OrchestrationItem& x = (*fetched)[0].instance == "x" ? (*fetched)[0] : (*fetched)[1];
  const OrchestrationItem& y = (*fetched)[0].instance == "x" ? (*fetched)[1] : (*fetched)[0];
  TurnCommit duplicate;  // event 1 exists already: the store refuses it
  duplicate.execution_id = 1;
  duplicate.new_events = {Ev(1, EventKind::kExternalEvent)};
  const TurnCommit first = FirstTurn();
  std::vector<Status> acked =
      p().AckOrchestrationItemsAndFetch({{x.lock_token, &duplicate}, {y.lock_token, &first}}, nullptr);
  ASSERT_EQ(acked.size(), 2u);
  EXPECT_FALSE(acked[0].ok());
  CONF_EXPECT_CODE(acked[1], StatusCode::kOk);
  EXPECT_TRUE(Must(p().GetInstance("y")));
  EXPECT_EQ(Must(p().ReadHistory("x", 0)).size(), 1u);
  // x's failed ack changed nothing: its lock and its message are still there.
  TurnCommit next_turn;
  next_turn.execution_id = 1;
  next_turn.new_events = {Ev(2, EventKind::kExternalEvent)};
  CONF_ASSERT_OK(p().AckOrchestrationItem(x.lock_token, next_turn));
  EXPECT_EQ(Must(p().ReadHistory("x", 0)).size(), 2u);
  EXPECT_FALSE(FetchOrch(p()));
}

NextWorkFetch NextWork(size_t max_items) {
  NextWorkFetch next;
  next.lock_timeout_ms = kLongLockMs;
  next.max_items = max_items;
  return next;
}

TEST_P(ProviderConformance, AckAndFetchWorkReturnsTheNextActivities) {
  ASSERT_TRUE(CreateInstance(
      p(), "a", WithWorkerItems({Activity("a", 2), Activity("a", 3), Activity("a", 4)})));
  auto first = FetchWork(p());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->item.id, 2);
  NextWorkFetch next = NextWork(5);
  std::vector<Status> acked =
      p().AckWorkItemsAndFetch({{first->lock_token, ActivityDone("a", 2, "1")}}, &next);
  ASSERT_EQ(acked.size(), 1u);
  CONF_ASSERT_OK(acked[0]);
  ASSERT_TRUE(next.result.has_value() && next.result->ok());
  ASSERT_EQ(next.result->value().size(), 2u);  // oldest first, each leased
  EXPECT_EQ(next.result->value()[0].item.id, 3);
  EXPECT_EQ(next.result->value()[1].item.id, 4);
  EXPECT_NE(next.result->value()[0].lock_token, next.result->value()[1].lock_token);
  EXPECT_FALSE(FetchWork(p()));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kActivityCompleted);
  // A batch settles each ack on its own; a lost lease still fetches (nothing left).
  const auto& leases = next.result->value();
  NextWorkFetch again = NextWork(2);
  acked = p().AckWorkItemsAndFetch({{first->lock_token, ActivityDone("a", 2, "1")},
                                    {leases[0].lock_token, ActivityDone("a", 3, "2")},
                                    {leases[1].lock_token, std::nullopt}},
                                   &again);
  ASSERT_EQ(acked.size(), 3u);
  CONF_EXPECT_CODE(acked[0], StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(acked[1], StatusCode::kOk);
  CONF_EXPECT_CODE(acked[2], StatusCode::kOk);
  ASSERT_TRUE(again.result.has_value() && again.result->ok());
  EXPECT_TRUE(again.result->value().empty());
  EXPECT_FALSE(FetchWork(p()));
}

}  // namespace
}  // namespace duroxide::providers::testing
