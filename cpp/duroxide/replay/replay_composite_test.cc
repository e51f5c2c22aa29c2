// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <gtest/gtest.h>

#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::replay::testing {
namespace {

using history::EventKind;
using history::WorkItemKind;
using Outcome = TurnOutput::Outcome;

std::string Show(const TaskValue& v) {
  switch (v.type) {
    case TaskValue::Type::kOk: return "ok(" + v.payload + ")";
    case TaskValue::Type::kErr: return "err(" + v.payload + ")";
    case TaskValue::Type::kJoin: {
      std::string s = "join[";
      for (const auto& i : v.items) s += Show(i) + ";";
      return s + "]";
    }
    case TaskValue::Type::kSelect:
      return "select(" + std::to_string(v.index) + "," + Show(v.items[0]) + ")";
  }
  return "";
}

// Yields `task` once and completes with a rendering of what it got back.
ScriptFn Once(TaskDescriptor task) {
  return [task](const std::vector<TaskValue>& r, OrchestrationHost*) {
    if (r.empty()) return Yield(task);
    return Complete(Show(r[0]));
  };
}

TEST(ReplayComposite, JoinReturnsItemsInOrderWithErrors) {
  ScriptInvoker inv;
  inv.Add("orch", Once(Join({Activity("A"), Activity("B"), Activity("C")})));
  Harness h(&inv);
  EXPECT_EQ(h.Turn({}).worker_items.size(), 3u);
  EXPECT_EQ(h.Turn({ActivityDone(4, "2")}).outcome, Outcome::kContinue);
  TurnOutput out = h.Turn({ActivityFailedMsg(3, "bad"), ActivityDone(2, "1")});
  EXPECT_EQ(out.outcome, Outcome::kCompleted);
  EXPECT_EQ(out.output, "join[ok(1);err(bad);ok(2);]");
}

TEST(ReplayComposite, RaceWinnerIsFirstCompletionAndLoserIsCancelled) {
  ScriptInvoker inv;
  inv.Add("orch", Once(Select({Activity("Slow"), Timer(100)})));
  Harness h(&inv);
  h.Turn({});
  TurnOutput out = h.Turn({TimerFired(3), ActivityDone(2, "\"late\"")});
  EXPECT_EQ(out.output, "select(1,ok(null))");
  ASSERT_EQ(out.cancelled_activity_ids.size(), 1u);
  EXPECT_EQ(out.cancelled_activity_ids[0], 2);
  bool breadcrumb = false;
  for (const auto& e : out.new_events) {
    if (e.kind == EventKind::kActivityCancelRequested && e.source_event_id == 2) breadcrumb = true;
  }
  EXPECT_TRUE(breadcrumb);
}

TEST(ReplayComposite, RaceOfThreeAndNestedComposites) {
  ScriptInvoker inv;
  inv.Add("orch", Once(Select({Join({Activity("A"), Activity("B")}), Activity("C"), Timer(1000)})));
  Harness h(&inv);
  h.Turn({});
  EXPECT_EQ(h.Turn({ActivityDone(2, "1")}).outcome, Outcome::kContinue);
  TurnOutput out = h.Turn({ActivityDone(3, "2")});
  EXPECT_EQ(out.output, "select(0,join[ok(1);ok(2);])");
  ASSERT_EQ(out.cancelled_activity_ids.size(), 1u);
  EXPECT_EQ(out.cancelled_activity_ids[0], 4);
}

TEST(ReplayComposite, ExternalEventBeforeSubscriptionIsDropped) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Activity("A"));
    if (r.size() == 1) return Yield(Wait("go"));
    return Complete(r[1].payload);
  });
  Harness h(&inv);
  h.Turn({});
  // "go" arrives before the code subscribes: lost, as with the reference.
  EXPECT_EQ(h.Turn({Raised("go", "1")}).outcome, Outcome::kContinue);
  EXPECT_EQ(h.Turn({ActivityDone(2, "0")}).outcome, Outcome::kContinue);
  TurnOutput out = h.Turn({Raised("go", "2")});
  EXPECT_EQ(out.output, "2");
}

TEST(ReplayComposite, QueueMessagesAreBufferedFifo) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Activity("A"));
    if (r.size() < 3) return Yield(Dequeue("q"));
    return Complete("[" + r[1].payload + "," + r[2].payload + "]");
  });
  Harness h(&inv);
  h.Turn({});
  h.Turn({Queued("q", "\"first\""), Queued("q", "\"second\"")});
  TurnOutput out = h.Turn({ActivityDone(2, "0")});
  EXPECT_EQ(out.outcome, Outcome::kCompleted);
  EXPECT_EQ(out.output, "[\"first\",\"second\"]");
}

TEST(ReplayComposite, CancelledDequeueDoesNotConsume) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Select({Dequeue("q"), Timer(10)}));
    if (r.size() == 1) return Yield(Dequeue("q"));
    return Complete(Show(r[0]) + "|" + r[1].payload);
  });
  Harness h(&inv);
  h.Turn({});
  // The timer wins; the queue message in the same batch must stay for the next dequeue.
  TurnOutput out = h.Turn({TimerFired(3), Queued("q", "\"m\"")});
  EXPECT_EQ(out.outcome, Outcome::kCompleted);
  EXPECT_EQ(out.output, "select(1,ok(null))|\"m\"");
  // A cold replay of the same history reaches the same result.
  ScriptInvoker inv2;
  inv2.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Select({Dequeue("q"), Timer(10)}));
    if (r.size() == 1) return Yield(Dequeue("q"));
    return Complete(Show(r[0]) + "|" + r[1].payload);
  });
  std::vector<history::Event> hist = h.history();
  hist.pop_back();  // drop the terminal event and replay
  ReplayEngine engine("i", 1, &inv2, EngineOptions{});
  engine.Load(hist, {});
  TurnOutput again = engine.RunTurn(std::nullopt, {}, 5);
  EXPECT_EQ(again.outcome, Outcome::kCompleted);
  EXPECT_EQ(again.output, out.output);
}

TEST(ReplayComposite, RetryRetriesWithBackoffTimers) {
  TaskDescriptor task = Activity("Flaky");
  RetryPolicy p;
  p.max_attempts = 3;
  p.backoff = RetryPolicy::Backoff::kFixed;
  p.fixed_ms = 50;
  task.retry = p;
  ScriptInvoker inv;
  inv.Add("orch", Once(task));
  Harness h(&inv);
  TurnOutput t1 = h.Turn({});
  ASSERT_EQ(t1.worker_items.size(), 1u);
  TurnOutput t2 = h.Turn({ActivityFailedMsg(t1.worker_items[0].id, "e1")});
  ASSERT_EQ(t2.orchestrator_items.size(), 1u);  // backoff timer
  EXPECT_EQ(t2.orchestrator_items[0].kind, WorkItemKind::kTimerFired);
  TurnOutput t3 = h.Turn({TimerFired(t2.orchestrator_items[0].id)});
  ASSERT_EQ(t3.worker_items.size(), 1u);
  TurnOutput t4 = h.Turn({ActivityDone(t3.worker_items[0].id, "\"ok\"")});
  EXPECT_EQ(t4.output, "ok(\"ok\")");
}

TEST(ReplayComposite, RetryTimeoutStopsRetrying) {
  TaskDescriptor task = Activity("Slow");
  RetryPolicy p;
  p.max_attempts = 5;
  p.timeout_ms = 100;
  task.retry = p;
  ScriptInvoker inv;
  inv.Add("orch", Once(task));
  Harness h(&inv);
  TurnOutput t1 = h.Turn({});
  ASSERT_EQ(t1.orchestrator_items.size(), 1u);
  TurnOutput t2 = h.Turn({TimerFired(t1.orchestrator_items[0].id)});
  EXPECT_EQ(t2.output, "err(timeout: activity timed out)");
  EXPECT_EQ(t2.cancelled_activity_ids.size(), 1u);
}

TEST(ReplayComposite, CancelRequestFailsAndCancelsChildrenAndActivities) {
  ScriptInvoker inv;
  inv.Add("orch", Once(Join({Activity("A"), SubOrch("Child")})));
  Harness h(&inv);
  h.Turn({});
  TurnOutput out = h.Turn({CancelMsg("stop")});
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_EQ(out.error.DisplayMessage(), "canceled: stop");
  EXPECT_EQ(out.cancelled_activity_ids, std::vector<int64_t>{2});
  ASSERT_EQ(out.orchestrator_items.size(), 1u);
  EXPECT_EQ(out.orchestrator_items[0].kind, WorkItemKind::kCancelInstance);
  EXPECT_EQ(out.orchestrator_items[0].instance, "i::sub::3");
}

TEST(ReplayComposite, KvReadModifyWriteReplaysDeterministically) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, OrchestrationHost* host) {
    auto cur = host->GetKv("n");
    int n = cur ? std::stoi(*cur) : 0;
    if (r.size() < 5) {
      host->SetKv("n", std::to_string(n + 1));
      return Yield(Timer(1));
    }
    return Complete(std::to_string(n));
  });
  Harness h(&inv);
  TurnOutput t = h.Turn({});
  for (int i = 0; i < 5; ++i) t = h.Turn({TimerFired(t.orchestrator_items[0].id)});
  EXPECT_EQ(t.outcome, Outcome::kCompleted);
  EXPECT_EQ(t.output, "5");
}

TEST(ReplayComposite, CustomStatusIsVisibleAndReplayed) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, OrchestrationHost* host) {
    if (r.empty()) {
      host->SetCustomStatus(std::string("step1"));
      return Yield(Timer(1));
    }
    return Complete("\"" + host->GetCustomStatus().value_or("none") + "\"");
  });
  Harness h(&inv);
  h.Turn({});
  TurnOutput out = h.Turn({TimerFired(3)});
  EXPECT_EQ(out.output, "\"step1\"");
}

TEST(ReplayComposite, KvLimitFailsTheOrchestration) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>&, OrchestrationHost* host) {
    host->SetKv("big", std::string(70000, 'x'));
    return Complete("1");
  });
  Harness h(&inv);
  TurnOutput out = h.Turn({});
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_NE(out.error.DisplayMessage().find("over the limit"), std::string::npos);
}

}  // namespace
}  // namespace duroxide::replay::testing
