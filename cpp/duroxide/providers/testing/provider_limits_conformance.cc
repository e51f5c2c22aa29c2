// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests of named limits at claim time (limit_store.h, docs/flow-control.md):
// concurrency counted over leased rows (per key when per_key), a lease that expires gives its
// slot back, token buckets, undefined limits wait and are listed. Category prefix: Limits.
#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/testing/provider_admin_conformance_util.h"
#include "duroxide/providers/testing/provider_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace conformance;  // NOLINT: test helpers

WorkItem Limited(const std::string& instance, int64_t id, const std::string& limit,
                 const std::string& key = "") {
  WorkItem w = Activity(instance, id);
  w.limit = limit;
  w.limit_key = key;
  return w;
}

LimitSpec Spec(const std::string& name, std::optional<int64_t> concurrency,
               std::optional<double> rate = std::nullopt, bool per_key = false) {
  LimitSpec s;
  s.name = name;
  s.concurrency = concurrency;
  s.rate_per_s = rate;
  s.per_key = per_key;
  return s;
}

#define LIMITS_OR_SKIP() \
  if (p().limits() == nullptr) GTEST_SKIP() << "provider has no named limits"

TEST_P(ProviderConformance, LimitsConcurrencyCountsLeasedRows) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(p().limits()->Set(Spec("L", 2)).ok());
  ASSERT_TRUE(CreateInstance(p(), "l1", WithWorkerItems({Limited("l1", 2, "L"),
                                                         Limited("l1", 3, "L"),
                                                         Limited("l1", 4, "L"),
                                                         Activity("l1", 5)})));
  auto a = FetchWork(p());
  auto b = FetchWork(p());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->item.limit, "L");
  auto c = FetchWork(p());  // the limit is full: only the unlimited row is claimable
  ASSERT_TRUE(c);
  EXPECT_EQ(c->item.id, 5);
  EXPECT_FALSE(FetchWork(p()));
  auto info = Must(p().limits()->Get("L"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->in_flight, 2);
  EXPECT_EQ(info->waiting, 1);
  ASSERT_TRUE(p().AckWorkItem(a->lock_token, ActivityDone("l1", a->item.id, "1")).ok());
  auto d = FetchWork(p());  // the ack freed a slot
  ASSERT_TRUE(d);
  EXPECT_EQ(d->item.id, 4);
}

TEST_P(ProviderConformance, LimitsPerKeyCountsEachKey) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(p().limits()->Set(Spec("T", 1, std::nullopt, true)).ok());
  ASSERT_TRUE(CreateInstance(p(), "l2", WithWorkerItems({Limited("l2", 2, "T", "a"),
                                                         Limited("l2", 3, "T", "a"),
                                                         Limited("l2", 4, "T", "b")})));
  auto a = FetchWork(p());
  auto b = FetchWork(p());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->item.limit_key, "a");
  EXPECT_EQ(b->item.limit_key, "b");
  EXPECT_FALSE(FetchWork(p()));
  auto info = Must(p().limits()->Get("T"));
  ASSERT_TRUE(info);
  ASSERT_EQ(info->top_keys.size(), 2u);
  EXPECT_EQ(info->top_keys[0].key, "a");
  EXPECT_EQ(info->top_keys[0].in_flight, 1);
  EXPECT_EQ(info->top_keys[0].waiting, 1);
}

TEST_P(ProviderConformance, LimitsExpiredLeaseGivesTheSlotBack) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(p().limits()->Set(Spec("E", 1)).ok());
  ASSERT_TRUE(CreateInstance(p(), "l3", WithWorkerItems({Limited("l3", 2, "E"),
                                                         Limited("l3", 3, "E")})));
  auto held = Must(p().FetchWorkItem(200, {}));
  ASSERT_TRUE(held);
  EXPECT_FALSE(FetchWork(p()));  // the holder's lease counts
  SleepMs(350);                  // ... until it expires (the holder died)
  auto next = FetchWork(p());
  ASSERT_TRUE(next);
  auto again = FetchWork(p());  // the slot is taken again: by one of the two rows
  EXPECT_FALSE(again);
}

TEST_P(ProviderConformance, LimitsTokenBucketCapsClaims) {
  LIMITS_OR_SKIP();
  LimitSpec spec = Spec("R", std::nullopt, 0.5);  // one token every 2 s, burst 1
  ASSERT_TRUE(p().limits()->Set(spec).ok());
  ASSERT_TRUE(CreateInstance(p(), "l4", WithWorkerItems({Limited("l4", 2, "R"),
                                                         Limited("l4", 3, "R")})));
  auto first = FetchWork(p());
  ASSERT_TRUE(first);
  ASSERT_TRUE(p().AckWorkItem(first->lock_token, ActivityDone("l4", 2, "1")).ok());
  EXPECT_FALSE(FetchWork(p()));  // no token left although nothing runs
}

TEST_P(ProviderConformance, LimitsUndefinedLimitWaitsAndIsListed) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "l5", WithWorkerItems({Limited("l5", 2, "later", "k")})));
  EXPECT_FALSE(FetchWork(p()));
  auto waits = Must(p().limits()->Waiting(0, 10));
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0].instance, "l5");
  EXPECT_EQ(waits[0].limit, "later");
  EXPECT_EQ(waits[0].limit_key, "k");
  EXPECT_FALSE(waits[0].defined);
  ASSERT_TRUE(p().limits()->Set(Spec("later", 1)).ok());
  EXPECT_TRUE(FetchWork(p()));
  EXPECT_TRUE(Must(p().limits()->Waiting(0, 10)).empty());
}

TEST_P(ProviderConformance, LimitsRejectBadSettingsAndUnknownNames) {
  LIMITS_OR_SKIP();
  EXPECT_EQ(p().limits()->Set(Spec("x", std::nullopt)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p().limits()->Set(Spec("x", 0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p().limits()->Delete("x").code(), StatusCode::kNotFound);
  EXPECT_TRUE(Must(p().limits()->List()).empty());
}

// ---- orchestration limits (limit_store.h, "Orchestration limits") --------------------------

WorkItem LimitedStart(const std::string& instance, const std::string& limit,
                      const std::string& key = "") {
  WorkItem w = Start(instance);
  w.limit = limit;
  w.limit_key = key;
  return w;
}

TEST_P(ProviderConformance, LimitsOrchestrationSlotHeldUntilTheInstanceEnds) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("o1", "jobs")).ok());
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("o2", "jobs")).ok());
  EXPECT_FALSE(FetchOrch(p()));  // undefined: both wait
  auto waits = Must(p().limits()->Waiting(0, 10));
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_FALSE(waits[0].defined);
  EXPECT_EQ(waits[0].activity_id, 0);
  ASSERT_TRUE(p().limits()->Set(Spec("jobs", 1)).ok());
  auto first = FetchOrch(p());
  ASSERT_TRUE(first);
  EXPECT_FALSE(FetchOrch(p()));  // the first holds the only slot, before its ack too
  ASSERT_TRUE(p().AckOrchestrationItem(first->lock_token, FirstTurn()).ok());
  EXPECT_FALSE(FetchOrch(p()));  // running (waiting for nothing): still holds it
  auto info = Must(p().limits()->Get("jobs"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->in_flight, 1);
  EXPECT_EQ(info->waiting, 1);
  // An event for the waiting instance does not carry its start into a turn.
  const std::string other = first->instance == "o1" ? "o2" : "o1";
  ASSERT_TRUE(p().EnqueueOrchestratorMessage(External(other), 0).ok());
  EXPECT_FALSE(FetchOrch(p()));
  // The holder's end gives the slot back in its commit.
  ASSERT_TRUE(CommitTurn(p(), first->instance, [] {
    TurnCommit c;
    c.execution_id = 1;
    c.status = ExecutionStatus::kCompleted;
    c.output = "\"done\"";
    c.new_events = {Ev(2, EventKind::kOrchestrationCompleted)};
    return c;
  }()));
  auto second = FetchOrch(p());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->instance, other);
}

TEST_P(ProviderConformance, LimitsOrchestrationPerKeyAndCancel) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(p().limits()->Set(Spec("t", 1, std::nullopt, true)).ok());
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("k1", "t", "a")).ok());
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("k2", "t", "a")).ok());
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("k3", "t", "b")).ok());
  auto a = FetchOrch(p());
  auto b = FetchOrch(p());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->instance, "k1");
  EXPECT_EQ(b->instance, "k3");
  EXPECT_FALSE(FetchOrch(p()));
  // A cancel lets the waiting k2 through without a slot (its turn ends it).
  WorkItem cancel;
  cancel.kind = WorkItemKind::kCancelInstance;
  cancel.instance = "k2";
  cancel.reason = "no";
  ASSERT_TRUE(p().EnqueueOrchestratorMessage(cancel, 0).ok());
  auto c = FetchOrch(p());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->instance, "k2");
  auto info = Must(p().limits()->Get("t"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->in_flight, 2);  // k1 and k3; k2 took none
}

// Deleting an instance whose first turn was fetched (slot taken, no instance row yet) gives
// the slot back in the delete's commit: the in-flight turn then fails on its lost lock, and
// the limit must not stay full forever.
TEST_P(ProviderConformance, LimitsOrchestrationSlotFreedByDeleteBeforeFirstCommit) {
  LIMITS_OR_SKIP();
  ASSERT_TRUE(p().limits()->Set(Spec("jobs", 1)).ok());
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("gone", "jobs")).ok());
  auto first = FetchOrch(p());
  ASSERT_TRUE(first);
  ASSERT_TRUE(admin_conformance::AdminOf(p()).DeleteInstancesAtomic({"gone"}, /*force=*/false).ok());
  EXPECT_FALSE(p().AckOrchestrationItem(first->lock_token, FirstTurn()).ok());
  ASSERT_TRUE(p().StartOrchestration(LimitedStart("next", "jobs")).ok());
  auto next = FetchOrch(p());
  ASSERT_TRUE(next);
  EXPECT_EQ(next->instance, "next");
  EXPECT_EQ(Must(p().limits()->Get("jobs"))->in_flight, 1);
}

}  // namespace
}  // namespace duroxide::providers::testing
