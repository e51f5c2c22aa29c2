// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <gtest/gtest.h>

#include "duroxide/history/codec.h"
#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::replay::testing {
namespace {

using Outcome = TurnOutput::Outcome;

ScriptFn Chain(int n) {
  return [n](const std::vector<TaskValue>& r, OrchestrationHost*) {
    if (static_cast<int>(r.size()) < n) return Yield(Activity("Step", std::to_string(r.size())));
    std::string out = "[";
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + r[i].payload;
    return Complete(out + "]");
  };
}

TEST(ReplayPartialCompletion, ChainProgressesOneCompletionPerTurn) {
  ScriptInvoker inv;
  inv.Add("orch", Chain(3));
  Harness h(&inv);
  EXPECT_EQ(h.Turn({}).worker_items.size(), 1u);
  TurnOutput t2 = h.Turn({ActivityDone(2, "10")});
  ASSERT_EQ(t2.worker_items.size(), 1u);
  EXPECT_EQ(t2.worker_items[0].input, "1");
  TurnOutput t3 = h.Turn({ActivityDone(4, "11")});
  ASSERT_EQ(t3.worker_items.size(), 1u);
  TurnOutput t4 = h.Turn({ActivityDone(6, "12")});
  EXPECT_EQ(t4.outcome, Outcome::kCompleted);
  EXPECT_EQ(t4.output, "[10,11,12]");
}

TEST(ReplayPartialCompletion, WarmAndColdReplayProduceIdenticalHistories) {
  ScriptInvoker cold_inv, warm_inv;
  cold_inv.Add("orch", Chain(5));
  warm_inv.Add("orch", Chain(5));
  Harness cold(&cold_inv), warm(&warm_inv);
  cold.Turn({});
  warm.Turn({}, true);
  for (int i = 0; i < 5; ++i) {
    int64_t id = 2 + 2 * i;
    TurnOutput c = cold.Turn({ActivityDone(id, std::to_string(i * i))}, false);
    TurnOutput w = warm.Turn({ActivityDone(id, std::to_string(i * i))}, true);
    EXPECT_EQ(c.outcome, w.outcome);
    EXPECT_EQ(c.output, w.output);
  }
  ASSERT_EQ(cold.history().size(), warm.history().size());
  for (size_t i = 0; i < cold.history().size(); ++i) {
    EXPECT_EQ(history::EncodeEvent(cold.history()[i]), history::EncodeEvent(warm.history()[i]))
        << "event " << i;
  }
  // Cold replays restart user code every turn; warm replay starts it once.
  EXPECT_EQ(cold_inv.starts, 6);
  EXPECT_EQ(warm_inv.starts, 1);
}

TEST(ReplayPartialCompletion, DuplicateAndStaleCompletionsAreDropped) {
  ScriptInvoker inv;
  inv.Add("orch", Chain(2));
  Harness h(&inv);
  h.Turn({});
  TurnOutput t = h.Turn({ActivityDone(2, "1"), ActivityDone(2, "1"), ActivityDone(2, "9", 7),
                         ActivityDone(99, "5")});
  EXPECT_EQ(t.dropped_messages, 3);
  ASSERT_EQ(t.worker_items.size(), 1u);
}

TEST(ReplayPartialCompletion, ActivityFailureIsThrownIntoCode) {
  ScriptInvoker inv;
  inv.Add("orch", [](const std::vector<TaskValue>& r, auto*) {
    if (r.empty()) return Yield(Activity("Risky"));
    if (r[0].type == TaskValue::Type::kErr) return Complete("\"caught: " + r[0].payload + "\"");
    return Complete("\"ok\"");
  });
  Harness h(&inv);
  h.Turn({});
  TurnOutput t = h.Turn({ActivityFailedMsg(2, "boom")});
  EXPECT_EQ(t.output, "\"caught: boom\"");
}

TEST(ReplayPartialCompletion, TerminalHistoryIgnoresLateMessages) {
  ScriptInvoker inv;
  inv.Add("orch", [](const auto&, auto*) { return Complete("1"); });
  Harness h(&inv);
  h.Turn({});
  TurnOutput late = h.Turn({Raised("x", "1")});
  EXPECT_TRUE(late.new_events.empty());
  EXPECT_EQ(late.dropped_messages, 1);
}

}  // namespace
}  // namespace duroxide::replay::testing
