// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// DecideTurn without a store: every branch of "what to do with a fetched item".
#include "duroxide/runtime/turn_plan.h"

#include <gtest/gtest.h>

#include "duroxide/common/backoff.h"

namespace duroxide::runtime {
namespace {

using history::ErrorDetails;
using history::WorkItem;
using history::WorkItemKind;
using providers::ExecutionStatus;
using Action = TurnPlan::Action;

WorkItem Start(const std::string& name) {
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.name = name;
  return w;
}

WorkItem ContinueAsNew(int64_t execution_id) {
  WorkItem w;
  w.kind = WorkItemKind::kContinueAsNew;
  w.name = "Loop";
  w.execution_id = execution_id;
  return w;
}

WorkItem Event(const std::string& name) {
  WorkItem w;
  w.kind = WorkItemKind::kExternalRaised;
  w.name = name;
  return w;
}

TurnFacts Existing(ExecutionStatus status = ExecutionStatus::kRunning, int64_t exec = 1) {
  TurnFacts f;
  f.exists = true;
  f.status = status;
  f.current_execution_id = exec;
  f.has_messages = true;
  return f;
}

// facts.resolved_version stands for the registry's answer: empty means "not registered here".
TurnPlan Decide(const TurnFacts& facts, const std::vector<WorkItem>& messages) {
  return DecideTurn(facts, ClassifyMessages(messages), TurnPlanOptions{100, 2000});
}

TEST(TurnPlanTest, ClassifiesStartsContinueAsNewAndOthers) {
  std::vector<WorkItem> msgs = {Start("A"), Event("e"), Start("B"), ContinueAsNew(2),
                                ContinueAsNew(3)};
  ClassifiedMessages m = ClassifyMessages(msgs);
  ASSERT_NE(m.start, nullptr);
  EXPECT_EQ(m.start->name, "A");
  ASSERT_EQ(m.extra_starts.size(), 1u);
  EXPECT_EQ(m.extra_starts[0]->name, "B");
  ASSERT_NE(m.continue_as_new, nullptr);
  EXPECT_EQ(m.continue_as_new->execution_id, 3);  // the latest one
  ASSERT_EQ(m.others.size(), 1u);
}

TEST(TurnPlanTest, NewInstanceRunsItsFirstStartAndRejectsTheRest) {
  TurnFacts f;
  f.resolved_version = "1.0.0";
  std::vector<WorkItem> msgs = {Start("A"), Start("A")};
  TurnPlan p = Decide(f, msgs);
  EXPECT_EQ(p.action, Action::kRun);
  ASSERT_NE(p.origin, nullptr);
  EXPECT_EQ(p.execution_id, 1);
  EXPECT_EQ(p.rejected_starts.size(), 1u);
}

TEST(TurnPlanTest, ExistingInstanceRejectsEveryStart) {
  TurnFacts f = Existing();
  std::vector<WorkItem> msgs = {Start("A"), Event("e")};
  TurnPlan p = Decide(f, msgs);
  EXPECT_EQ(p.action, Action::kRun);
  EXPECT_EQ(p.origin, nullptr);
  EXPECT_EQ(p.rejected_starts.size(), 1u);
}

TEST(TurnPlanTest, MessagesForAMissingInstanceAskTheStoreAboutADelayedStart) {
  TurnFacts f;
  TurnPlan p = Decide(f, {Event("e")});
  EXPECT_EQ(p.action, Action::kCheckPendingStart);
  EXPECT_EQ(p.abandon_delay_ms, 100);
  EXPECT_TRUE(p.abandon_keeps_attempt);
}

TEST(TurnPlanTest, MessagesForAFinishedInstanceAreDropped) {
  for (ExecutionStatus s : {ExecutionStatus::kCompleted, ExecutionStatus::kFailed}) {
    TurnPlan p = Decide(Existing(s, 2), {Event("late")});
    EXPECT_EQ(p.action, Action::kDrop);
    EXPECT_EQ(p.execution_id, 2);
  }
}

TEST(TurnPlanTest, ContinueAsNewOpensTheNextExecutionOnly) {
  TurnFacts f = Existing(ExecutionStatus::kContinuedAsNew, 1);
  f.resolved_version = "1.0.0";
  TurnPlan p = Decide(f, {ContinueAsNew(2)});
  EXPECT_EQ(p.action, Action::kRun);
  ASSERT_NE(p.origin, nullptr);
  EXPECT_EQ(p.execution_id, 2);
  // A stale continue-as-new (not current + 1) opens nothing: the instance is not running.
  TurnPlan stale = Decide(f, {ContinueAsNew(5)});
  EXPECT_EQ(stale.action, Action::kDrop);
}

// Issue 21: messages fetched without the ContinueAsNew that the previous turn queued (it was
// committed after the fetcher read its clock) wait for it instead of being dropped.
TEST(TurnPlanTest, MessagesFetchedWithoutTheQueuedContinueAsNewWaitForIt) {
  TurnFacts f = Existing(ExecutionStatus::kContinuedAsNew, 3);
  f.resolved_version = "1.0.0";
  TurnPlan p = Decide(f, {Event("early"), Event("early2")});
  EXPECT_EQ(p.action, Action::kAbandon);
  EXPECT_TRUE(p.abandon_keeps_attempt);
  EXPECT_GT(p.abandon_delay_ms, 0);
  TurnPlan with = Decide(f, {Event("early"), ContinueAsNew(4)});
  EXPECT_EQ(with.action, Action::kRun);
  EXPECT_EQ(with.execution_id, 4);
}

// start_orchestration(if_exists="restart_if_ended") queues a ContinueAsNew for current + 1.
TEST(TurnPlanTest, AClientRestartOpensTheNextExecutionOfAnEndedInstance) {
  for (ExecutionStatus s : {ExecutionStatus::kCompleted, ExecutionStatus::kFailed}) {
    TurnFacts f = Existing(s, 3);
    f.resolved_version = "1.0.0";
    TurnPlan p = Decide(f, {ContinueAsNew(4), Event("late")});
    EXPECT_EQ(p.action, Action::kRun);
    ASSERT_NE(p.origin, nullptr);
    EXPECT_EQ(p.execution_id, 4);
    EXPECT_EQ(Decide(f, {ContinueAsNew(3)}).action, Action::kDrop);  // stale: not current + 1
  }
  // A running instance never takes one (a restart of a running instance is not queued).
  TurnFacts running = Existing(ExecutionStatus::kRunning, 1);
  running.resolved_version = "1.0.0";
  EXPECT_EQ(Decide(running, {ContinueAsNew(2)}).origin, nullptr);
}

TEST(TurnPlanTest, UnregisteredOrchestrationBacksOffThenFails) {
  TurnFacts f;  // resolved_version empty: not registered here
  f.attempt_count = 3;
  TurnPlan p = Decide(f, {Start("Ghost")});
  EXPECT_EQ(p.action, Action::kAbandon);
  EXPECT_EQ(p.abandon_delay_ms, 400);  // 100 * 2^(3-1)
  EXPECT_FALSE(p.abandon_keeps_attempt);
  EXPECT_NE(p.reason.find("'Ghost' is not registered"), std::string::npos);

  f.attempt_count = 11;  // > max_attempts (10)
  TurnPlan fail = Decide(f, {Start("Ghost")});
  EXPECT_EQ(fail.action, Action::kFail);
  EXPECT_EQ(fail.failure.category, ErrorDetails::Category::kConfiguration);
  EXPECT_EQ(fail.failure.kind, "UnregisteredOrchestration");
  EXPECT_NE(fail.failure.message.find("gave up after 10 attempts"), std::string::npos);
}

TEST(TurnPlanTest, TooManyDeliveriesArePoison) {
  TurnFacts f = Existing();
  f.attempt_count = 11;
  TurnPlan p = Decide(f, {Event("e")});
  EXPECT_EQ(p.action, Action::kFail);
  EXPECT_EQ(p.failure.category, ErrorDetails::Category::kPoison);
  EXPECT_EQ(p.failure.attempt_count, 11);
}

TEST(TurnPlanTest, UndecodableHistory) {
  TurnFacts f = Existing();
  f.history_error = "bad json";
  TurnPlan retry = Decide(f, {Event("e")});
  EXPECT_EQ(retry.action, Action::kAbandon);
  EXPECT_EQ(retry.abandon_delay_ms, 1000);
  EXPECT_FALSE(retry.abandon_keeps_attempt);
  EXPECT_TRUE(retry.rejected_starts.empty());

  f.attempt_count = 11;
  TurnPlan poison = Decide(f, {Event("e")});
  EXPECT_EQ(poison.action, Action::kFail);
  EXPECT_EQ(poison.failure.category, ErrorDetails::Category::kPoison);

  f.history_newer_format = true;  // never failed, never counted: an upgrade continues it
  TurnPlan newer = Decide(f, {Event("e")});
  EXPECT_EQ(newer.action, Action::kAbandon);
  EXPECT_TRUE(newer.abandon_keeps_attempt);
  EXPECT_EQ(newer.abandon_delay_ms, 5000);
}

TEST(BackoffTest, DoublesAndCaps) {
  EXPECT_EQ(BackoffDelayMs(10, 3000, 0), 10);
  EXPECT_EQ(BackoffDelayMs(10, 3000, 3), 80);
  EXPECT_EQ(BackoffDelayMs(10, 3000, 9), 3000);
  EXPECT_EQ(BackoffDelayMs(10, 3000, 1000), 3000);  // no overflow
  EXPECT_EQ(BackoffDelayMs(100, 2000, -1), 100);
}

}  // namespace
}  // namespace duroxide::runtime
