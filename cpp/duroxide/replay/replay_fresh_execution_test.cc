// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <gtest/gtest.h>

#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::replay::testing {
namespace {

using history::EventKind;
using history::WorkItemKind;
using Outcome = TurnOutput::Outcome;

TEST(ReplayFreshExecution, NonGeneratorCompletesInFirstTurn) {
  ScriptInvoker inv;
  inv.Add("orch", [](const auto&, auto*) { return Complete("42"); });
  Harness h(&inv);
  TurnOutput out = h.Turn({});
  EXPECT_EQ(out.outcome, Outcome::kCompleted);
  EXPECT_EQ(out.output, "42");
  EXPECT_EQ(Kinds(out.new_events),
            (std::vector<std::string>{"OrchestrationStarted", "OrchestrationCompleted"}));
  EXPECT_EQ(out.new_events[0].event_id, 1);
  EXPECT_EQ(out.new_events[1].event_id, 2);
}

TEST(ReplayFreshExecution, FirstActivityIsScheduledAndDispatched) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Activity("A", "\"x\""));
    return Complete(r[0].payload);
  });
  Harness h(&inv);
  TurnOutput out = h.Turn({});
  EXPECT_EQ(out.outcome, Outcome::kContinue);
  ASSERT_EQ(out.worker_items.size(), 1u);
  EXPECT_EQ(out.worker_items[0].kind, WorkItemKind::kActivityExecute);
  EXPECT_EQ(out.worker_items[0].name, "A");
  EXPECT_EQ(out.worker_items[0].input, "\"x\"");
  EXPECT_EQ(out.worker_items[0].id, 2);
  EXPECT_EQ(out.worker_items[0].orchestration_name, "orch");
  EXPECT_EQ(Kinds(out.new_events),
            (std::vector<std::string>{"OrchestrationStarted", "ActivityScheduled"}));
}

TEST(ReplayFreshExecution, TimerBecomesDelayedMessage) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Timer(500));
    return Complete("\"done\"");
  });
  Harness h(&inv);
  TurnOutput out = h.Turn({}, false, 10000);
  ASSERT_EQ(out.orchestrator_items.size(), 1u);
  EXPECT_EQ(out.orchestrator_items[0].kind, WorkItemKind::kTimerFired);
  EXPECT_EQ(out.orchestrator_items[0].fire_at_ms, 10500);
  TurnOutput done = h.Turn({TimerFired(2)});
  EXPECT_EQ(done.outcome, Outcome::kCompleted);
}

TEST(ReplayFreshExecution, SystemCallsCompleteInsideTheTurn) {
  ScriptInvoker inv;
  TaskDescriptor guid;
  guid.type = TaskDescriptor::Type::kNewGuid;
  TaskDescriptor now;
  now.type = TaskDescriptor::Type::kUtcNow;
  inv.Add("orch", [&](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(guid);
    if (r.size() == 1) return Yield(now);
    return Complete("[" + r[0].payload + "," + r[1].payload + "]");
  });
  Harness h(&inv);
  TurnOutput out = h.Turn({}, false, 777);
  EXPECT_EQ(out.outcome, Outcome::kCompleted);
  EXPECT_EQ(out.output, "[\"00000000-0000-4000-8000-000000000001\",777]");
  EXPECT_TRUE(out.worker_items.empty());
}

TEST(ReplayFreshExecution, SubOrchestrationGetsDeterministicChildIdAndParentLink) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(SubOrch("Child", "1"));
    return Complete(r[0].payload);
  });
  Harness h(&inv);
  TurnOutput out = h.Turn({});
  ASSERT_EQ(out.orchestrator_items.size(), 1u);
  const auto& start = out.orchestrator_items[0];
  EXPECT_EQ(start.kind, WorkItemKind::kStartOrchestration);
  EXPECT_EQ(start.instance, "i::sub::2");
  ASSERT_TRUE(start.parent_instance.has_value());
  EXPECT_EQ(*start.parent_instance, "i");
  EXPECT_EQ(start.parent_execution_id, 1);
  EXPECT_EQ(start.parent_id, 2);
}

TEST(ReplayFreshExecution, ChildCompletionNotifiesParent) {
  ScriptInvoker inv;
  inv.Add("orch", [](const auto&, auto*) { return Complete("\"child-done\""); });
  ReplayEngine engine("child", 1, &inv, EngineOptions{});
  engine.Load({}, {});
  history::Event started = Started("orch");
  started.parent_instance = "parent";
  started.parent_execution_id = 3;
  started.parent_id = 9;
  TurnOutput out = engine.RunTurn(started, {}, 1);
  ASSERT_EQ(out.orchestrator_items.size(), 1u);
  EXPECT_EQ(out.orchestrator_items[0].kind, WorkItemKind::kSubOrchCompleted);
  EXPECT_EQ(out.orchestrator_items[0].instance, "parent");
  EXPECT_EQ(out.orchestrator_items[0].execution_id, 3);
  EXPECT_EQ(out.orchestrator_items[0].id, 9);
  EXPECT_EQ(out.orchestrator_items[0].data, "\"child-done\"");
}

TEST(ReplayFreshExecution, UnregisteredOrchestrationIsReported) {
  ScriptInvoker inv;
  ReplayEngine engine("i", 1, &inv, EngineOptions{});
  engine.Load({}, {});
  TurnOutput out = engine.RunTurn(Started("Missing"), {}, 1);
  EXPECT_EQ(out.outcome, Outcome::kUnregistered);
  EXPECT_NE(out.unregistered_message.find("Missing"), std::string::npos);
}

TEST(ReplayFreshExecution, CodeFailureFailsWithApplicationError) {
  ScriptInvoker inv;
  inv.Add("orch", [](const auto&, auto*) { return Fail("Traceback: boom"); });
  Harness h(&inv);
  TurnOutput out = h.Turn({});
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_EQ(out.error.DisplayMessage(), "Traceback: boom");
}

TEST(ReplayFreshExecution, ContinueAsNewCarriesInputParentAndQueuedMessages) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    TaskDescriptor can;
    can.type = TaskDescriptor::Type::kContinueAsNew;
    can.input = "7";
    if (r.empty()) return Yield(Dequeue("q"));
    return Yield(can);
  });
  ReplayEngine engine("i", 1, &inv, EngineOptions{});
  engine.Load({}, {});
  history::Event started = Started("orch");
  started.parent_instance = "p";
  started.parent_id = 4;
  started.parent_execution_id = 2;
  TurnOutput out = engine.RunTurn(started, {Queued("q", "\"a\""), Queued("q", "\"b\""),
                                            Queued("other", "\"c\"")}, 1);
  EXPECT_EQ(out.outcome, Outcome::kContinuedAsNew);
  ASSERT_EQ(out.orchestrator_items.size(), 1u);
  const auto& can = out.orchestrator_items[0];
  EXPECT_EQ(can.kind, WorkItemKind::kContinueAsNew);
  EXPECT_EQ(can.execution_id, 2);
  EXPECT_EQ(can.input, "7");
  ASSERT_TRUE(can.parent_instance.has_value());
  EXPECT_EQ(*can.parent_instance, "p");
  EXPECT_EQ(can.parent_id, 4);
  // "a" was consumed; "b" and "c" are carried in arrival order.
  ASSERT_EQ(can.carry_forward.size(), 2u);
  EXPECT_EQ(can.carry_forward[0], std::make_pair(std::string("q"), std::string("\"b\"")));
  EXPECT_EQ(can.carry_forward[1], std::make_pair(std::string("other"), std::string("\"c\"")));
}

// Issue 21: the code continues as new on the first message of a batch that also holds a
// cancel; the cancel must end the instance, not vanish with the old execution.
TEST(ReplayFreshExecution, CancelInTheSameBatchAsContinueAsNewEndsTheInstance) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    TaskDescriptor can;
    can.type = TaskDescriptor::Type::kContinueAsNew;
    can.input = "1";
    if (r.empty()) return Yield(Dequeue("q"));
    return Yield(can);
  });
  ReplayEngine engine("i", 1, &inv, EngineOptions{});
  engine.Load({}, {});
  TurnOutput out = engine.RunTurn(Started("orch"), {Queued("q", "\"a\""), CancelMsg("stop"),
                                                    Queued("q", "\"b\"")}, 1);
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_EQ(out.error.DisplayMessage(), "canceled: stop");
  for (const auto& w : out.orchestrator_items) EXPECT_NE(w.kind, WorkItemKind::kContinueAsNew);
  std::vector<std::string> kinds = Kinds(out.new_events);
  EXPECT_EQ(kinds.back(), "OrchestrationFailed");
}

}  // namespace
}  // namespace duroxide::replay::testing
