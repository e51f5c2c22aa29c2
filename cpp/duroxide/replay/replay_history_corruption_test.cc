// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include <gtest/gtest.h>

#include "duroxide/history/codec.h"
#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::replay::testing {
namespace {

using history::Event;
using history::EventKind;
using Outcome = TurnOutput::Outcome;

ScriptFn OneActivity() {
  return [](const std::vector<TaskValue>& r, OrchestrationHost*) {
    return r.empty() ? Yield(Activity("A")) : Complete(r[0].payload);
  };
}

TurnOutput RunOn(std::vector<Event> history, std::vector<history::WorkItem> msgs = {}) {
  ScriptInvoker inv;
  inv.Add("orch", OneActivity());
  ReplayEngine engine("i", 1, &inv, EngineOptions{});
  engine.Load(std::move(history), {});
  return engine.RunTurn(std::nullopt, msgs, 5);
}

Event Ev(int64_t id, EventKind kind) {
  Event e;
  e.event_id = id;
  e.kind = kind;
  return e;
}

TEST(ReplayHistoryCorruption, FirstEventMustBeOrchestrationStarted) {
  Event sched = Ev(1, EventKind::kActivityScheduled);
  sched.name = "A";
  sched.input = "null";
  TurnOutput out = RunOn({sched});
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_NE(out.error.DisplayMessage().find("corrupted history"), std::string::npos);
}

TEST(ReplayHistoryCorruption, CompletionWithoutScheduleFails) {
  Event started = Started("orch");
  started.event_id = 1;
  Event bogus = Ev(2, EventKind::kActivityCompleted);
  bogus.source_event_id = 42;
  bogus.data = "1";
  TurnOutput out = RunOn({started, bogus});
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_NE(out.error.DisplayMessage().find("did not schedule"), std::string::npos)
      << out.error.DisplayMessage();
}

TEST(ReplayHistoryCorruption, ScheduledEventCodeNeverEmittedFails) {
  Event started = Started("orch");
  started.event_id = 1;
  Event a = Ev(2, EventKind::kActivityScheduled);
  a.name = "A";
  a.input = "null";
  Event extra = Ev(3, EventKind::kTimerCreated);
  TurnOutput out = RunOn({started, a, extra});
  EXPECT_EQ(out.outcome, Outcome::kFailed);
  EXPECT_EQ(out.error.DisplayMessage().rfind("nondeterministic:", 0), 0u);
}

TEST(ReplayHistoryCorruption, EventIdGapsReplayFine) {
  Event started = Started("orch");
  started.event_id = 1;
  Event a = Ev(5, EventKind::kActivityScheduled);
  a.name = "A";
  a.input = "null";
  Event done = Ev(9, EventKind::kActivityCompleted);
  done.source_event_id = 5;
  done.data = "\"r\"";
  TurnOutput out = RunOn({started, a, done});
  EXPECT_EQ(out.outcome, Outcome::kCompleted);
  EXPECT_EQ(out.output, "\"r\"");
  EXPECT_EQ(out.new_events.back().event_id, 10);
}

TEST(ReplayHistoryCorruption, CodecRejectsUnknownEventType) {
  auto r = history::DecodeEvent(R"({"event_id":1,"type":"FromTheFuture"})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  auto bad = history::DecodeEvent("{not json");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace duroxide::replay::testing
