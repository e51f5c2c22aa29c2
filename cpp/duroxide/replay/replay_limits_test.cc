// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Limits enforced by the engine (common/limits.h): payload sizes of what code produces, the
// number of events per execution, names and child instance ids. Each fails the execution
// with a readable "LimitExceeded" error instead of writing the value.
#include <gtest/gtest.h>

#include "duroxide/common/limits.h"
#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::replay::testing {
namespace {

using Outcome = TurnOutput::Outcome;

TurnOutput RunWith(EngineOptions options, ScriptFn fn) {
  ScriptInvoker inv;
  inv.Add("orch", std::move(fn));
  ReplayEngine engine("i", 1, &inv, std::move(options));
  engine.Load({}, {});
  return engine.RunTurn(Started("orch"), {}, 1000);
}

TEST(ReplayLimits, OversizedOutputFailsTheExecution) {
  EngineOptions o;
  o.max_payload_bytes = 100;
  TurnOutput out = RunWith(o, [](const std::vector<TaskValue>&, OrchestrationHost*) {
    return Complete("\"" + std::string(200, 'x') + "\"");
  });
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_EQ(out.error.kind, "LimitExceeded");
  EXPECT_NE(out.error.DisplayMessage().find("orchestration output is 202 bytes"),
            std::string::npos);
}

TEST(ReplayLimits, OversizedActivityInputFailsTheExecution) {
  EngineOptions o;
  o.max_payload_bytes = 100;
  TurnOutput out = RunWith(o, [](const std::vector<TaskValue>&, OrchestrationHost*) {
    return Yield(Activity("A", std::string(101, '1')));
  });
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_TRUE(out.worker_items.empty());  // nothing was scheduled
  EXPECT_NE(out.error.DisplayMessage().find("input of activity 'A'"), std::string::npos);
}

TEST(ReplayLimits, HistoryLengthSuggestsContinueAsNew) {
  EngineOptions o;
  o.max_history_events = 5;
  TurnOutput out = RunWith(o, [](const std::vector<TaskValue>& r, OrchestrationHost*) {
    (void)r;
    return Yield(Join({Activity("A"), Activity("A"), Activity("A"), Activity("A"),
                       Activity("A"), Activity("A")}));
  });
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_NE(out.error.DisplayMessage().find("continue_as_new"), std::string::npos);
  EXPECT_TRUE(out.worker_items.empty());
}

TEST(ReplayLimits, BadChildInstanceIdAndNames) {
  TurnOutput out = RunWith(EngineOptions{}, [](const std::vector<TaskValue>&, OrchestrationHost*) {
    TaskDescriptor d = SubOrch("Child");
    d.instance_id = std::string("bad\nid");
    return Yield(d);
  });
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_NE(out.error.DisplayMessage().find("control character"), std::string::npos);
  out = RunWith(EngineOptions{}, [](const std::vector<TaskValue>&, OrchestrationHost*) {
    return Yield(Activity(std::string(300, 'n')));
  });
  EXPECT_NE(out.error.DisplayMessage().find("activity name is 300 bytes"), std::string::npos);
}

TEST(Limits, Checks) {
  EXPECT_EQ(limits::CheckInstanceId("order-1"), "");
  EXPECT_NE(limits::CheckInstanceId(""), "");
  EXPECT_NE(limits::CheckInstanceId(std::string(257, 'a')), "");
  EXPECT_EQ(limits::CheckInstanceId(std::string(256, 'a')), "");
  EXPECT_NE(limits::CheckInstanceId(std::string("a\x7f")), "");
  EXPECT_EQ(limits::CheckInstanceId("\xc3\xbc-unicode"), "");
  // C1 controls, separators, invisible format characters, noncharacters, invalid UTF-8.
  for (const char* bad : {"a\xc2\x85", "a\xe2\x80\xa8", "a\xe2\x80\xa9", "a\xe2\x80\x8b",
                          "a\xef\xbb\xbf", "a\xe2\x80\xae", "a\xef\xbf\xbf",
                          "a\xed\xa0\x80", "a\xc0\xaf", "a\xff", "a\xe2\x80"}) {
    EXPECT_NE(limits::CheckName(bad, "queue name"), "") << bad;
  }
  EXPECT_NE(limits::CheckName("a\xc2\x85", "topic").find("U+0085"), std::string::npos);
  EXPECT_EQ(limits::CheckName("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", "n"), "");  // ZWJ
  EXPECT_EQ(limits::CheckPayload(10, 0, "x"), "");  // 0 disables
  EXPECT_NE(limits::CheckPayload(11, 10, "x"), "");
}

}  // namespace
}  // namespace duroxide::replay::testing
