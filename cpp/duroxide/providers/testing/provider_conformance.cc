// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The conformance tests. They use only the Provider interface; see the header for how to
// instantiate them.
#include "duroxide/providers/testing/provider_conformance.h"

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

using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

constexpr int64_t kLongLockMs = 30000;
constexpr int64_t kShortLockMs = 100;
constexpr int64_t kPastShortLockMs = 350;  // sleep that outlives kShortLockMs comfortably
constexpr int64_t kWaitMs = 5000;          // deadline when polling for work to appear

#define CONF_ASSERT_OK(expr)                                \
  do {                                                      \
    const ::duroxide::Status _st = (expr);                  \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define CONF_EXPECT_CODE(expr, expected)                                  \
  do {                                                                    \
    const ::duroxide::Status _st = (expr);                                \
    EXPECT_EQ(_st.code(), (expected)) << #expr << ": " << _st.ToString(); \
  } while (0)

// The value of an OK Result; records a failure (and returns T{}) otherwise.
template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return T{};
  }
  return std::move(r).value();
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

WorkItem Start(const std::string& instance) {
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = "Orch";
  w.version = "1.0.0";
  w.input = "\"in\"";
  return w;
}

WorkItem External(const std::string& instance, const std::string& name = "evt") {
  WorkItem w;
  w.kind = WorkItemKind::kExternalRaised;
  w.instance = instance;
  w.name = name;
  w.data = "\"x\"";
  return w;
}

WorkItem Activity(const std::string& instance, int64_t id,
                  std::optional<std::string> session = std::nullopt,
                  std::optional<std::string> tag = std::nullopt) {
  WorkItem w;
  w.kind = WorkItemKind::kActivityExecute;
  w.instance = instance;
  w.execution_id = 1;
  w.id = id;
  w.name = "Act";
  w.input = "\"a\"";
  w.session_id = std::move(session);
  w.tag = std::move(tag);
  w.orchestration_name = "Orch";
  w.orchestration_version = "1.0.0";
  return w;
}

WorkItem ActivityDone(const std::string& instance, int64_t id, const std::string& data) {
  WorkItem w;
  w.kind = WorkItemKind::kActivityCompleted;
  w.instance = instance;
  w.execution_id = 1;
  w.id = id;
  w.data = data;
  return w;
}

Event Ev(int64_t id, EventKind kind) {
  Event e;
  e.event_id = id;
  e.kind = kind;
  e.timestamp_ms = NowMs();
  e.name = kind == EventKind::kOrchestrationStarted ? "Orch" : "Act";
  if (kind == EventKind::kOrchestrationStarted) e.version = "1.0.0";
  return e;
}

// The first turn of execution `execution_id`: history [OrchestrationStarted].
TurnCommit FirstTurn(int64_t execution_id = 1) {
  TurnCommit c;
  c.execution_id = execution_id;
  c.new_execution = true;
  c.orchestration_name = "Orch";
  c.orchestration_version = "1.0.0";
  c.new_events = {Ev(1, EventKind::kOrchestrationStarted)};
  return c;
}

KvMutation KvSet(const std::string& key, const std::string& value) {
  return KvMutation{KvMutation::Kind::kSet, key, value, NowMs()};
}
KvMutation KvClear(const std::string& key) {
  return KvMutation{KvMutation::Kind::kClear, key, "", NowMs()};
}
KvMutation KvClearAll() { return KvMutation{KvMutation::Kind::kClearAll, "", "", NowMs()}; }

std::optional<OrchestrationItem> FetchOrch(Provider& p, int64_t lock_ms = kLongLockMs) {
  return Must(p.FetchOrchestrationItem(lock_ms));
}

WorkerFetchOptions Tags(TagFilter::Mode mode, std::vector<std::string> tags = {}) {
  WorkerFetchOptions o;
  o.tag_filter.mode = mode;
  o.tag_filter.tags = std::move(tags);
  return o;
}

WorkerFetchOptions AsOwner(const std::string& owner, int64_t session_lock_ms = kLongLockMs) {
  WorkerFetchOptions o;
  o.session = SessionFetch{owner, session_lock_ms};
  return o;
}

std::optional<WorkItemLease> FetchWork(Provider& p, const WorkerFetchOptions& options = {},
                                       int64_t lock_ms = kLongLockMs) {
  return Must(p.FetchWorkItem(lock_ms, options));
}

// Polls until a batch is fetched or kWaitMs passes.
std::optional<OrchestrationItem> WaitOrch(Provider& p) {
  const int64_t deadline = NowMs() + kWaitMs;
  for (;;) {
    auto item = FetchOrch(p);
    if (item || NowMs() > deadline) return item;
    SleepMs(10);
  }
}

std::optional<WorkItemLease> WaitWork(Provider& p) {
  const int64_t deadline = NowMs() + kWaitMs;
  for (;;) {
    auto lease = FetchWork(p);
    if (lease || NowMs() > deadline) return lease;
    SleepMs(10);
  }
}

// Starts `instance` and commits `commit` as its first turn. REQUIRES: no other visible work.
bool CreateInstance(Provider& p, const std::string& instance, const TurnCommit& commit = FirstTurn()) {
  Status st = p.StartOrchestration(Start(instance));
  if (!st.ok()) {
    ADD_FAILURE() << st.ToString();
    return false;
  }
  auto item = FetchOrch(p);
  if (!item || item->instance != instance) {
    ADD_FAILURE() << "could not fetch the start of " << instance;
    return false;
  }
  st = p.AckOrchestrationItem(item->lock_token, commit);
  if (!st.ok()) ADD_FAILURE() << st.ToString();
  return st.ok();
}

// Delivers an external event to `instance` and commits `commit` as the next turn.
bool CommitTurn(Provider& p, const std::string& instance, const TurnCommit& commit) {
  if (!p.EnqueueOrchestratorMessage(External(instance), 0).ok()) return false;
  auto item = FetchOrch(p);
  if (!item || item->instance != instance) {
    ADD_FAILURE() << "could not fetch a turn of " << instance;
    return false;
  }
  Status st = p.AckOrchestrationItem(item->lock_token, commit);
  if (!st.ok()) ADD_FAILURE() << st.ToString();
  return st.ok();
}

TurnCommit WithWorkerItems(std::vector<WorkItem> items) {
  TurnCommit c = FirstTurn();
  c.worker_items = std::move(items);
  return c;
}

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

// ---- multi-execution ---------------------------------------------------------------------

TEST_P(ProviderConformance, MultiExecutionContinueAsNewCreatesNextExecution) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  TurnCommit can;
  can.execution_id = 1;
  can.new_events = {Ev(2, EventKind::kOrchestrationContinuedAsNew)};
  can.status = ExecutionStatus::kContinuedAsNew;
  WorkItem next = Start("a");
  next.kind = WorkItemKind::kContinueAsNew;
  next.execution_id = 2;
  can.orchestrator_items = {next};
  ASSERT_TRUE(CommitTurn(p(), "a", can));

  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kContinueAsNew);
  EXPECT_EQ(item->history.size(), 2u);  // still execution 1
  ASSERT_TRUE(item->record);
  EXPECT_EQ(item->record->status, ExecutionStatus::kContinuedAsNew);
  TurnCommit second = FirstTurn(2);
  second.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, second));

  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->current_execution_id, 2);
  EXPECT_EQ(rec->status, ExecutionStatus::kRunning);
  auto current = Must(p().ReadHistory("a", 0));
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[1].kind, EventKind::kActivityScheduled);
  EXPECT_EQ(Must(p().ReadHistory("a", 2)).size(), 2u);
  auto old = Must(p().ReadHistory("a", 1));
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[1].kind, EventKind::kOrchestrationContinuedAsNew);

  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->history.size(), 2u);
  EXPECT_EQ(item->history[1].kind, EventKind::kActivityScheduled);
  EXPECT_EQ(item->record->current_execution_id, 2);
}

// ---- instance creation -------------------------------------------------------------------

TEST_P(ProviderConformance, InstanceCreationDuplicateQueuedStartIsRejected) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  CONF_EXPECT_CODE(p().StartOrchestration(Start("a")), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Must(p().HasPendingStart("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->messages.size(), 1u);
}

TEST_P(ProviderConformance, InstanceCreationStartOfExistingInstanceIsRejected) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  CONF_EXPECT_CODE(p().StartOrchestration(Start("a")), StatusCode::kAlreadyExists);
  EXPECT_FALSE(Must(p().HasPendingStart("a")));
  EXPECT_FALSE(FetchOrch(p()));
}

TEST_P(ProviderConformance, InstanceCreationHappensOnAckNotOnEnqueue) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("child")));
  EXPECT_FALSE(Must(p().GetInstance("child")));
  EXPECT_TRUE(Must(p().HasPendingStart("child")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  const int64_t before = NowMs();
  TurnCommit c = FirstTurn();
  c.parent_instance_id = "parent";
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, c));
  auto rec = Must(p().GetInstance("child"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->parent_instance_id, std::optional<std::string>("parent"));
  EXPECT_GE(rec->created_at_ms, before - 1000);
  EXPECT_GE(rec->updated_at_ms, rec->created_at_ms);
  EXPECT_FALSE(rec->output);
}

TEST_P(ProviderConformance, InstanceCreationTerminalStatusIsRecorded) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  TurnCommit done;
  done.new_events = {Ev(2, EventKind::kOrchestrationCompleted)};
  done.status = ExecutionStatus::kCompleted;
  done.output = "\"result\"";
  ASSERT_TRUE(CommitTurn(p(), "a", done));
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, ExecutionStatus::kCompleted);
  EXPECT_EQ(rec->output, std::optional<std::string>("\"result\""));
  ASSERT_TRUE(CreateInstance(p(), "b"));
  TurnCommit failed;
  failed.new_events = {Ev(2, EventKind::kOrchestrationFailed)};
  failed.status = ExecutionStatus::kFailed;
  failed.error = "boom";
  ASSERT_TRUE(CommitTurn(p(), "b", failed));
  rec = Must(p().GetInstance("b"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, ExecutionStatus::kFailed);
  EXPECT_EQ(rec->error, std::optional<std::string>("boom"));
}

// ---- cancellation (lock stealing) ---------------------------------------------------------

TEST_P(ProviderConformance, CancellationDeletedActivityFailsAckAndRenew) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  TurnCommit cancel;
  cancel.cancelled_activities = {ActivityRef{"a", 1, 2}};
  ASSERT_TRUE(CommitTurn(p(), "a", cancel));
  CONF_EXPECT_CODE(p().RenewWorkItemLock(lease->lock_token, kLongLockMs),
                   StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(p().AckWorkItem(lease->lock_token, ActivityDone("a", 2, "1")),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FetchOrch(p()));  // no completion was enqueued
}

TEST_P(ProviderConformance, CancellationInSameCommitAsScheduleRemovesActivity) {
  TurnCommit c = WithWorkerItems({Activity("a", 2), Activity("a", 3)});
  c.cancelled_activities = {ActivityRef{"a", 1, 2}, ActivityRef{"a", 1, 99}};  // 99: no-op
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 3);
  EXPECT_FALSE(FetchWork(p()));
}

TEST_P(ProviderConformance, CancellationAckWithoutCompletionEnqueuesNothing) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, std::nullopt));
  EXPECT_FALSE(FetchOrch(p()));
  EXPECT_FALSE(FetchWork(p()));
}

// ---- tag filters -------------------------------------------------------------------------

TEST_P(ProviderConformance, TagFilterModesSelectMatchingItems) {
  ASSERT_TRUE(CreateInstance(
      p(), "a",
      WithWorkerItems({Activity("a", 2), Activity("a", 3, std::nullopt, "gpu"),
                       Activity("a", 4, std::nullopt, "cpu")})));
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kNone)));
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kTags, {})));
  auto gpu = FetchWork(p(), Tags(TagFilter::Mode::kTags, {"gpu", "tpu"}));
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->item.id, 3);
  EXPECT_EQ(gpu->item.tag, std::optional<std::string>("gpu"));
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kTags, {"gpu"})));
  auto untagged = FetchWork(p(), Tags(TagFilter::Mode::kDefaultOnly));
  ASSERT_TRUE(untagged);
  EXPECT_EQ(untagged->item.id, 2);
  auto cpu = FetchWork(p(), Tags(TagFilter::Mode::kDefaultAnd, {"cpu"}));
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->item.id, 4);
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kAny)));
}

TEST_P(ProviderConformance, TagFilterAnyAndDefaultAnd) {
  ASSERT_TRUE(CreateInstance(
      p(), "a", WithWorkerItems({Activity("a", 2, std::nullopt, "x"), Activity("a", 3)})));
  auto first = FetchWork(p(), Tags(TagFilter::Mode::kDefaultAnd, {"y"}));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->item.id, 3);
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kDefaultAnd, {"y"})));
  EXPECT_FALSE(FetchWork(p()));  // default filter: untagged only
  auto any = FetchWork(p(), Tags(TagFilter::Mode::kAny));
  ASSERT_TRUE(any);
  EXPECT_EQ(any->item.id, 2);
}

// ---- sessions ----------------------------------------------------------------------------

TEST_P(ProviderConformance, SessionsClaimAffinityAndExclusion) {
  ASSERT_TRUE(CreateInstance(p(), "a",
                             WithWorkerItems({Activity("a", 2, "s1"), Activity("a", 3, "s1"),
                                              Activity("a", 4, "s2")})));
  auto a1 = FetchWork(p(), AsOwner("A"));
  ASSERT_TRUE(a1);
  EXPECT_EQ(a1->item.id, 2);
  EXPECT_EQ(a1->item.session_id, std::optional<std::string>("s1"));
  auto b1 = FetchWork(p(), AsOwner("B"));  // s1 belongs to A
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->item.id, 4);
  EXPECT_FALSE(FetchWork(p(), AsOwner("B")));
  auto a2 = FetchWork(p(), AsOwner("A"));
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->item.id, 3);
}

TEST_P(ProviderConformance, SessionsWithoutConfigSkipSessionItems) {
  ASSERT_TRUE(
      CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2, "s1"), Activity("a", 3)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 3);
  EXPECT_FALSE(FetchWork(p()));
  EXPECT_TRUE(FetchWork(p(), AsOwner("A")));
}

TEST_P(ProviderConformance, SessionsTakeoverAfterExpiry) {
  ASSERT_TRUE(CreateInstance(p(), "a",
                             WithWorkerItems({Activity("a", 2, "s1"), Activity("a", 3, "s1")})));
  auto a1 = FetchWork(p(), AsOwner("A", kShortLockMs));
  ASSERT_TRUE(a1);
  CONF_ASSERT_OK(p().AckWorkItem(a1->lock_token, ActivityDone("a", 2, "1")));
  EXPECT_FALSE(FetchWork(p(), AsOwner("B")));
  SleepMs(kPastShortLockMs);
  auto b1 = FetchWork(p(), AsOwner("B"));
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->item.id, 3);
}

TEST_P(ProviderConformance, SessionsRenewSkipsIdleAndOtherOwners) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2, "s1")})));
  auto lease = FetchWork(p(), AsOwner("A", 300));
  ASSERT_TRUE(lease);
  EXPECT_EQ(Must(p().RenewSessionLocks({"B"}, kLongLockMs, 60000)), 0);
  EXPECT_EQ(Must(p().RenewSessionLocks({"B", "A"}, kLongLockMs, 60000)), 1);
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, std::nullopt));
  SleepMs(200);
  // Idle for longer than the idle timeout: not extended.
  EXPECT_EQ(Must(p().RenewSessionLocks({"A"}, kLongLockMs, 100)), 0);
  EXPECT_TRUE(Must(p().CleanupOrphanedSessions(0)) >= 0);
}

// ---- KV ----------------------------------------------------------------------------------

TEST_P(ProviderConformance, KvMutationsAreVisibleInMergedReads) {
  TurnCommit c = FirstTurn();
  c.kv_mutations = {KvSet("a", "1"), KvSet("b", "2")};
  ASSERT_TRUE(CreateInstance(p(), "i", c));
  EXPECT_EQ(Must(p().GetKvValue("i", "a")), std::optional<std::string>("1"));
  auto all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all["b"].value, "2");
  EXPECT_GT(all["b"].last_updated_at_ms, 0);
  TurnCommit next;
  next.kv_mutations = {KvClear("a"), KvSet("b", "3")};
  ASSERT_TRUE(CommitTurn(p(), "i", next));
  EXPECT_FALSE(Must(p().GetKvValue("i", "a")));
  all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all["b"].value, "3");
  EXPECT_TRUE(Must(p().GetKvAll("other")).empty());
  // The replay baseline only changes at execution boundaries.
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_TRUE(item->kv_snapshot.empty());
}

TEST_P(ProviderConformance, KvDeltaMergesIntoSnapshotAtExecutionBoundaries) {
  TurnCommit c = FirstTurn();
  c.kv_mutations = {KvSet("x", "1"), KvSet("y", "2")};
  ASSERT_TRUE(CreateInstance(p(), "i", c));
  TurnCommit can;
  can.status = ExecutionStatus::kContinuedAsNew;
  can.new_events = {Ev(2, EventKind::kOrchestrationContinuedAsNew)};
  WorkItem next = Start("i");
  next.kind = WorkItemKind::kContinueAsNew;
  next.execution_id = 2;
  can.orchestrator_items = {next};
  ASSERT_TRUE(CommitTurn(p(), "i", can));

  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->kv_snapshot.size(), 2u);
  EXPECT_EQ(item->kv_snapshot["x"].value, "1");
  TurnCommit second = FirstTurn(2);
  second.kv_mutations = {KvClearAll(), KvSet("z", "3")};
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, second));
  auto all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all["z"].value, "3");
  EXPECT_FALSE(Must(p().GetKvValue("i", "x")));

  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kv_snapshot.size(), 2u);  // baseline untouched mid-execution
  TurnCommit done;
  done.execution_id = 2;
  done.status = ExecutionStatus::kCompleted;
  done.new_events = {Ev(2, EventKind::kOrchestrationCompleted)};
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, done));

  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->kv_snapshot.size(), 1u);
  EXPECT_EQ(item->kv_snapshot["z"].value, "3");
  all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(Must(p().GetKvValue("i", "z")), std::optional<std::string>("3"));
}

// ---- custom status -----------------------------------------------------------------------

TEST_P(ProviderConformance, CustomStatusVersionBumpsOnlyOnChange) {
  TurnCommit c = FirstTurn();
  c.custom_status_changed = true;
  c.custom_status = "one";
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  TurnCommit same;
  same.custom_status = "ignored";
  ASSERT_TRUE(CommitTurn(p(), "a", same));
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->custom_status, std::optional<std::string>("one"));
  EXPECT_EQ(rec->custom_status_version, 1);
  TurnCommit cleared;
  cleared.custom_status_changed = true;
  ASSERT_TRUE(CommitTurn(p(), "a", cleared));
  rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_FALSE(rec->custom_status);
  EXPECT_EQ(rec->custom_status_version, 2);
}

// ---- orphan messages ---------------------------------------------------------------------

TEST_P(ProviderConformance, OrphanMessageDoesNotBlockOtherInstances) {
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("ghost"), 0));
  CONF_ASSERT_OK(p().StartOrchestration(Start("real")));
  auto ghost = FetchOrch(p());
  ASSERT_TRUE(ghost);
  EXPECT_EQ(ghost->instance, "ghost");
  EXPECT_FALSE(ghost->record);
  EXPECT_TRUE(ghost->history.empty());
  EXPECT_EQ(ghost->messages.size(), 1u);
  auto real = FetchOrch(p());
  ASSERT_TRUE(real);
  EXPECT_EQ(real->instance, "real");
  CONF_ASSERT_OK(p().AckOrchestrationItem(ghost->lock_token, TurnCommit{}));
  CONF_ASSERT_OK(p().AckOrchestrationItem(real->lock_token, FirstTurn()));
  EXPECT_FALSE(Must(p().GetInstance("ghost")));
  EXPECT_FALSE(FetchOrch(p()));
}

// ---- corrupted history -------------------------------------------------------------------

TEST_P(ProviderConformance, CorruptedHistoryIsReportedAndAckStillAppends) {
  if (!GetParam().corrupt_history) GTEST_SKIP() << "factory has no corrupt_history hook";
  TurnCommit c = FirstTurn();
  c.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  GetParam().corrupt_history(provider_.get(), "a");
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->instance, "a");
  EXPECT_FALSE(item->history_error.ok());
  EXPECT_EQ(item->history_error.code(), StatusCode::kDataLoss);
  EXPECT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->attempt_count, 1);
  EXPECT_FALSE(FetchOrch(p()));  // lock held
  EXPECT_FALSE(p().ReadHistory("a", 0).ok());

  TurnCommit fail;
  fail.new_events = {Ev(3, EventKind::kOrchestrationFailed)};
  fail.status = ExecutionStatus::kFailed;
  fail.error = "poison";
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, fail));
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, ExecutionStatus::kFailed);
  EXPECT_EQ(rec->error, std::optional<std::string>("poison"));
  EXPECT_FALSE(FetchOrch(p()));
}

// ---- error handling ----------------------------------------------------------------------

TEST_P(ProviderConformance, ErrorHandlingUnknownTokensFail) {
  CONF_EXPECT_CODE(p().RenewOrchestrationItemLock("no-such-token", 1000),
                   StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(p().AckWorkItem("no-such-token", std::nullopt),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Must(p().FetchOrchestrationItem(1000)));
  EXPECT_FALSE(Must(p().FetchWorkItem(1000, {})));
}

TEST_P(ProviderConformance, ErrorHandlingDuplicateEventIdIsRejected) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  TurnCommit dup;
  dup.new_events = {Ev(1, EventKind::kTimerCreated)};
  EXPECT_FALSE(p().AckOrchestrationItem(item->lock_token, dup).ok());
  auto hist = Must(p().ReadHistory("a", 0));
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].kind, EventKind::kOrchestrationStarted);
}

TEST_P(ProviderConformance, ErrorHandlingMissingInstanceReadsAreEmpty) {
  EXPECT_FALSE(Must(p().GetInstance("nope")));
  EXPECT_TRUE(Must(p().ReadHistory("nope", 0)).empty());
  EXPECT_TRUE(Must(p().ReadHistory("nope", 3)).empty());
  EXPECT_FALSE(Must(p().HasPendingStart("nope")));
  EXPECT_FALSE(Must(p().GetKvValue("nope", "k")));
  EXPECT_TRUE(Must(p().GetKvAll("nope")).empty());
}

}  // namespace
}  // namespace duroxide::providers::testing
