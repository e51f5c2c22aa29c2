// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/history/codec.h"

#include <gtest/gtest.h>

namespace duroxide::history {
namespace {

TEST(Codec, EveryEventKindRoundTrips) {
  for (int k = 0; k <= static_cast<int>(EventKind::kTopicUnsubscribed); ++k) {
    Event e;
    e.kind = static_cast<EventKind>(k);
    e.event_id = 7;
    e.source_event_id = 3;
    e.timestamp_ms = 123;
    e.name = "n";
    e.version = "1.2.3";
    e.input = "{\"a\":1}";
    e.data = "\"d\"";
    e.instance = "child";
    e.error = ErrorDetails::Application("ActivityFailed", "boom");
    e.session_id = "s";
    e.tag = "gpu";
    e.fire_at_ms = 99;
    e.reason = "r";
    e.status = "st";
    e.key = "k";
    e.value = "v";
    e.last_updated_at_ms = 5;
    auto decoded = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(decoded.ok()) << EventKindName(e.kind) << ": " << decoded.status().ToString();
    EXPECT_EQ(decoded->kind, e.kind);
    EXPECT_EQ(EncodeEvent(*decoded), EncodeEvent(e)) << EventKindName(e.kind);
  }
}

TEST(Codec, LegacyQueueTagsDecode) {
  auto e = DecodeEvent(R"({"event_id":4,"type":"ExternalEventPersistent","name":"q","data":"1"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, EventKind::kQueueEventDelivered);
}

TEST(Codec, WorkItemsRoundTrip) {
  WorkItem w;
  w.kind = WorkItemKind::kContinueAsNew;
  w.instance = "i";
  w.execution_id = 2;
  w.name = "Orch";
  w.input = "[1]";
  w.parent_instance = "p";
  w.parent_execution_id = 3;
  w.parent_id = 8;
  w.carry_forward = {{"q", "\"m\""}};
  w.has_custom_status = true;
  w.custom_status = std::nullopt;
  auto d = DecodeWorkItem(EncodeWorkItem(w));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(EncodeWorkItem(*d), EncodeWorkItem(w));
  EXPECT_TRUE(d->has_custom_status);
  EXPECT_EQ(d->parent_execution_id, 3);
}

// The trace context (docs/observability.md) is optional: histories and queued items written
// before it decode with none, and it is written only when set.
TEST(Codec, TraceContextIsOptionalAndRoundTrips) {
  const std::string tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto legacy = DecodeEvent(
      R"({"event_id":1,"timestamp_ms":5,"type":"OrchestrationStarted","name":"O","input":"1"})");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->trace_context, "");
  EXPECT_EQ(EncodeEvent(*legacy).find("trace_context"), std::string::npos);
  Event e = *legacy;
  e.trace_context = tp;
  auto back = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->trace_context, tp);
  for (WorkItemKind kind : {WorkItemKind::kStartOrchestration, WorkItemKind::kContinueAsNew,
                            WorkItemKind::kActivityExecute}) {
    WorkItem w;
    w.kind = kind;
    w.instance = "i";
    w.name = "N";
    auto plain = DecodeWorkItem(EncodeWorkItem(w));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->trace_context, "");
    w.trace_context = tp;
    auto traced = DecodeWorkItem(EncodeWorkItem(w));
    ASSERT_TRUE(traced.ok());
    EXPECT_EQ(traced->trace_context, tp);
  }
}

TEST(Codec, ErrorDetailsDisplayMessages) {
  EXPECT_EQ(ErrorDetails::Cancelled("stop").DisplayMessage(), "canceled: stop");
  EXPECT_EQ(ErrorDetails::Configuration("Nondeterminism", "x").DisplayMessage(),
            "nondeterministic: x");
  EXPECT_EQ(ErrorDetails::Infrastructure("ack", "lost").DisplayMessage(), "infrastructure:ack: lost");
  EXPECT_EQ(ErrorDetails::Poison("Activity", 11, 10, "m").DisplayMessage(), "poison: m");
  ErrorDetails back;
  ASSERT_TRUE(ErrorDetails::FromJson(ErrorDetails::Cancelled("r").ToJson(), &back));
  EXPECT_EQ(back.DisplayMessage(), "canceled: r");
}

TEST(Codec, MalformedInputIsDataLossNotCrash) {
  EXPECT_EQ(DecodeEvent("").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeEvent("[]").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeEvent(R"({"type":"ActivityScheduled","name":5})").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeWorkItem(R"({"Nope":{}})").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeWorkItem(R"({"ActivityFailed":{"details":{}}})").status().code(),
            StatusCode::kDataLoss);
}

// Found by fuzz/codec_fuzzer: numbers out of int64 range used to be converted with undefined
// behaviour; they are data loss like any other malformed field.
TEST(Codec, OutOfRangeNumbersAreDataLoss) {
  EXPECT_EQ(DecodeEvent(R"({"type":"TimerCreated","event_id":4444444444444444444444444444})")
                .status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeEvent(R"({"type":"TimerCreated","event_id":18446744073709551615})")
                .status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeEvent(R"({"type":"TimerCreated","event_id":1.5})").status().code(),
            StatusCode::kDataLoss);
  auto ok = DecodeEvent(R"({"type":"TimerCreated","event_id":3.0})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->event_id, 3);
}

TEST(Codec, AdminDataSplicesRawJson) {
  Event e;
  e.kind = EventKind::kActivityScheduled;
  e.name = "A";
  e.input = "{\"x\":1}";
  EXPECT_EQ(*EventAdminData(e), R"({"name":"A","input":{"x":1}})");
  e.kind = EventKind::kTimerFired;
  e.fire_at_ms = 5;
  EXPECT_EQ(*EventAdminData(e), R"({"fireAtMs":5})");
  e.kind = EventKind::kKeyValueCleared;
  EXPECT_FALSE(EventAdminData(e).has_value());
}

}  // namespace
}  // namespace duroxide::history
