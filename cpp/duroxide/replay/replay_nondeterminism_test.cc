// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <gtest/gtest.h>

#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::replay::testing {
namespace {

using Outcome = TurnOutput::Outcome;

// Records a history with `before`, then replays it cold with `after`.
TurnOutput ReplayWith(ScriptFn before, ScriptFn after, std::vector<history::WorkItem> first_msgs,
                      std::vector<history::WorkItem> second_msgs) {
  ScriptInvoker inv;
  inv.Add("orch", std::move(before));
  Harness h(&inv);
  h.Turn({});
  if (!first_msgs.empty()) h.Turn(first_msgs);
  inv.Add("orch", std::move(after));
  return h.Turn(second_msgs);
}

void ExpectNondeterministic(const TurnOutput& out, const std::string& fragment) {
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  const std::string msg = out.error.DisplayMessage();
  EXPECT_EQ(msg.rfind("nondeterministic: ", 0), 0u) << msg;
  EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  EXPECT_TRUE(out.worker_items.empty());
}

TEST(ReplayNondeterminism, DifferentActivityName) {
  auto out = ReplayWith(
      [](const auto& r, auto*) { return r.empty() ? Yield(Activity("A")) : Complete("1"); },
      [](const auto& r, auto*) { return r.empty() ? Yield(Activity("B")) : Complete("1"); }, {},
      {ActivityDone(2, "1")});
  ExpectNondeterministic(out, "'B'");
}

TEST(ReplayNondeterminism, DifferentActivityInput) {
  auto out = ReplayWith(
      [](const auto& r, auto*) { return r.empty() ? Yield(Activity("A", "1")) : Complete("1"); },
      [](const auto& r, auto*) { return r.empty() ? Yield(Activity("A", "2")) : Complete("1"); },
      {}, {ActivityDone(2, "1")});
  ExpectNondeterministic(out, "input");
}

TEST(ReplayNondeterminism, DifferentTaskKind) {
  auto out = ReplayWith(
      [](const auto& r, auto*) { return r.empty() ? Yield(Activity("A")) : Complete("1"); },
      [](const auto& r, auto*) { return r.empty() ? Yield(Timer(5)) : Complete("1"); }, {},
      {TimerFired(2)});
  ExpectNondeterministic(out, "TimerCreated");
}

TEST(ReplayNondeterminism, CodeSchedulesLessThanHistory) {
  auto out = ReplayWith(
      [](const auto& r, auto*) {
        return r.empty() ? Yield(Activity("A")) : r.size() == 1 ? Yield(Activity("B")) : Complete("1");
      },
      [](const auto& r, auto*) { return r.empty() ? Yield(Activity("A")) : Complete("1"); },
      {ActivityDone(2, "1")}, {ActivityDone(4, "2")});
  ExpectNondeterministic(out, "ActivityScheduled 'B'");
}

TEST(ReplayNondeterminism, WarmEngineIsNotAffectedByLaterCodeChange) {
  // A warm engine keeps running the code it started with; a cold replay sees the new code.
  ScriptInvoker inv;
  inv.Add("orch", [](const auto& r, auto*) { return r.empty() ? Yield(Activity("A")) : Complete("1"); });
  Harness h(&inv);
  h.Turn({}, true);
  inv.Add("orch", [](const auto& r, auto*) { return r.empty() ? Yield(Activity("B")) : Complete("2"); });
  TurnOutput warm = h.Turn({ActivityDone(2, "1")}, true);
  EXPECT_EQ(warm.outcome, Outcome::kCompleted);
  EXPECT_EQ(warm.output, "1");
}

}  // namespace
}  // namespace duroxide::replay::testing
