// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/history/codec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace duroxide::history {
namespace {

// Every field set, so each kind writes every key it knows.
Event FullEvent(EventKind kind) {
  Event e;
  e.kind = kind;
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
  e.worker = "work-0";
  e.worker_runtime = "rt";
  e.from_cache = true;
  e.meta = "{\"m\":1}";
  e.parent_instance = "parent";
  e.parent_execution_id = 2;
  e.parent_id = 9;
  e.carry_forward = {{"q", "1"}};
  e.carry_forward_meta = {"{}"};
  e.initial_custom_status = "init";
  e.trace_context = "00-abc-def-01";
  return e;
}

TEST(Codec, EveryEventKindRoundTrips) {
  for (int k = 0; k <= static_cast<int>(EventKind::kTopicUnsubscribed); ++k) {
    const Event e = FullEvent(static_cast<EventKind>(k));
    auto decoded = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(decoded.ok()) << EventKindName(e.kind) << ": " << decoded.status().ToString();
    EXPECT_EQ(decoded->kind, e.kind);
    EXPECT_EQ(EncodeEvent(*decoded), EncodeEvent(e)) << EventKindName(e.kind);
  }
}

WorkItem FullWorkItem(WorkItemKind kind) {
  WorkItem w;
  w.kind = kind;
  w.instance = "i";
  w.execution_id = 2;
  w.id = 4;
  w.name = "n";
  w.version = "2.0.0";
  w.input = "{}";
  w.data = "\"d\"";
  w.error = ErrorDetails::Application("ActivityFailed", "boom");
  w.session_id = "s";
  w.tag = "gpu";
  w.fire_at_ms = 99;
  w.reason = "r";
  w.orchestration_name = "o";
  w.orchestration_version = "1.0.0";
  w.parent_instance = "parent";
  w.parent_execution_id = 1;
  w.parent_id = 8;
  w.carry_forward = {{"q", "1"}};
  w.carry_forward_meta = {"{}"};
  w.meta = "{\"m\":1}";
  w.custom_status = std::nullopt;
  w.has_custom_status = true;
  w.routing = ActivityRouting{"{}", "h", 10, {"rt-1"}, 20};
  w.worker = "work-0";
  w.worker_runtime = "rt";
  w.from_cache = true;
  w.terminate = true;
  w.recursive = false;
  w.priority = 3;
  w.trace_context = "00-abc-def-01";
  return w;
}

// The exact encoding of every kind, fully populated: stored histories and queue rows must
// keep reading and writing the same text whatever the codec's implementation.
TEST(Codec, EncodingsAreStable) {
  std::vector<std::string> got;
  for (int k = 0; k <= static_cast<int>(EventKind::kTopicUnsubscribed); ++k) {
    got.push_back(EncodeEvent(FullEvent(static_cast<EventKind>(k))));
  }
  for (int k = 0; k <= static_cast<int>(WorkItemKind::kCancelInstance); ++k) {
    got.push_back(EncodeWorkItem(FullWorkItem(static_cast<WorkItemKind>(k))));
  }
  if (std::getenv("DUROXIDE_PRINT_GOLDEN") != nullptr) {
    for (const auto& g : got) std::cout << "R\"(" << g << ")\",\n";
  }
  const std::vector<std::string> want = {
      R"({"carry_forward_events":[["q","1"]],"carry_forward_meta":["{}"],"event_id":7,"initial_custom_status":"init","input":"{\"a\":1}","name":"n","parent_execution_id":2,"parent_id":9,"parent_instance":"parent","source_event_id":3,"timestamp_ms":123,"trace_context":"00-abc-def-01","type":"OrchestrationStarted","version":"1.2.3"})",
      R"({"event_id":7,"output":"\"d\"","source_event_id":3,"timestamp_ms":123,"type":"OrchestrationCompleted"})",
      R"({"details":{"Application":{"kind":"ActivityFailed","message":"boom","retryable":false}},"event_id":7,"source_event_id":3,"timestamp_ms":123,"type":"OrchestrationFailed","worker":"work-0","worker_runtime":"rt"})",
      R"({"event_id":7,"input":"{\"a\":1}","source_event_id":3,"timestamp_ms":123,"type":"OrchestrationContinuedAsNew","version":"1.2.3"})",
      R"({"event_id":7,"reason":"r","source_event_id":3,"timestamp_ms":123,"type":"OrchestrationCancelRequested"})",
      R"({"event_id":7,"input":"{\"a\":1}","name":"n","session_id":"s","source_event_id":3,"tag":"gpu","timestamp_ms":123,"type":"ActivityScheduled"})",
      R"({"event_id":7,"from_cache":true,"result":"\"d\"","source_event_id":3,"timestamp_ms":123,"type":"ActivityCompleted","worker":"work-0","worker_runtime":"rt"})",
      R"({"details":{"Application":{"kind":"ActivityFailed","message":"boom","retryable":false}},"event_id":7,"source_event_id":3,"timestamp_ms":123,"type":"ActivityFailed","worker":"work-0","worker_runtime":"rt"})",
      R"({"event_id":7,"reason":"r","source_event_id":3,"timestamp_ms":123,"type":"ActivityCancelRequested"})",
      R"({"event_id":7,"fire_at_ms":99,"source_event_id":3,"timestamp_ms":123,"type":"TimerCreated"})",
      R"({"event_id":7,"fire_at_ms":99,"source_event_id":3,"timestamp_ms":123,"type":"TimerFired"})",
      R"({"event_id":7,"name":"n","source_event_id":3,"timestamp_ms":123,"type":"ExternalSubscribed"})",
      R"({"data":"\"d\"","event_id":7,"meta":"{\"m\":1}","name":"n","source_event_id":3,"timestamp_ms":123,"type":"ExternalEvent"})",
      R"({"event_id":7,"reason":"r","source_event_id":3,"timestamp_ms":123,"type":"ExternalSubscribedCancelled"})",
      R"({"event_id":7,"name":"n","source_event_id":3,"timestamp_ms":123,"type":"QueueSubscribed"})",
      R"({"data":"\"d\"","event_id":7,"meta":"{\"m\":1}","name":"n","source_event_id":3,"timestamp_ms":123,"type":"QueueEventDelivered"})",
      R"({"event_id":7,"reason":"r","source_event_id":3,"timestamp_ms":123,"type":"QueueSubscriptionCancelled"})",
      R"({"event_id":7,"input":"{\"a\":1}","instance":"child","name":"n","source_event_id":3,"timestamp_ms":123,"type":"SubOrchestrationScheduled","version":"1.2.3"})",
      R"({"event_id":7,"from_cache":true,"result":"\"d\"","source_event_id":3,"timestamp_ms":123,"type":"SubOrchestrationCompleted","worker":"work-0","worker_runtime":"rt"})",
      R"({"details":{"Application":{"kind":"ActivityFailed","message":"boom","retryable":false}},"event_id":7,"source_event_id":3,"timestamp_ms":123,"type":"SubOrchestrationFailed","worker":"work-0","worker_runtime":"rt"})",
      R"({"event_id":7,"reason":"r","source_event_id":3,"timestamp_ms":123,"type":"SubOrchestrationCancelRequested"})",
      R"({"event_id":7,"input":"{\"a\":1}","instance":"child","name":"n","source_event_id":3,"timestamp_ms":123,"type":"OrchestrationChained","version":"1.2.3"})",
      R"({"event_id":7,"source_event_id":3,"status":"st","timestamp_ms":123,"type":"CustomStatusUpdated"})",
      R"({"event_id":7,"key":"k","last_updated_at_ms":5,"source_event_id":3,"timestamp_ms":123,"type":"KeyValueSet","value":"v"})",
      R"({"event_id":7,"key":"k","source_event_id":3,"timestamp_ms":123,"type":"KeyValueCleared"})",
      R"({"event_id":7,"source_event_id":3,"timestamp_ms":123,"type":"KeyValuesCleared"})",
      R"({"data":"\"d\"","event_id":7,"instance":"child","meta":"{\"m\":1}","name":"n","source_event_id":3,"timestamp_ms":123,"type":"MessageSent"})",
      R"({"data":"\"d\"","event_id":7,"meta":"{\"m\":1}","name":"n","source_event_id":3,"timestamp_ms":123,"type":"EventPublished"})",
      R"({"event_id":7,"name":"n","source_event_id":3,"timestamp_ms":123,"type":"TopicSubscribed"})",
      R"({"event_id":7,"name":"n","source_event_id":3,"timestamp_ms":123,"type":"TopicUnsubscribed"})",
      R"({"StartOrchestration":{"carry_forward_events":[["q","1"]],"carry_forward_meta":["{}"],"execution_id":2,"initial_custom_status":null,"input":"{}","instance":"i","name":"n","parent_execution_id":1,"parent_id":8,"parent_instance":"parent","priority":3,"trace_context":"00-abc-def-01","version":"2.0.0"}})",
      R"({"ContinueAsNew":{"carry_forward_events":[["q","1"]],"carry_forward_meta":["{}"],"execution_id":2,"initial_custom_status":null,"input":"{}","instance":"i","name":"n","parent_execution_id":1,"parent_id":8,"parent_instance":"parent","priority":3,"trace_context":"00-abc-def-01","version":"2.0.0"}})",
      R"({"ActivityExecute":{"execution_id":2,"id":4,"input":"{}","instance":"i","name":"n","orchestration_name":"o","orchestration_version":"1.0.0","priority":3,"routing":{"avoid":["rt-1"],"avoid_until_ms":20,"deadline_ms":10,"schema":"{}","schema_hash":"h"},"session_id":"s","tag":"gpu","trace_context":"00-abc-def-01"}})",
      R"({"ActivityCompleted":{"execution_id":2,"from_cache":true,"id":4,"instance":"i","result":"\"d\"","worker":"work-0","worker_runtime":"rt"}})",
      R"({"ActivityFailed":{"details":{"Application":{"kind":"ActivityFailed","message":"boom","retryable":false}},"execution_id":2,"id":4,"instance":"i","worker":"work-0","worker_runtime":"rt"}})",
      R"({"TimerFired":{"execution_id":2,"fire_at_ms":99,"id":4,"instance":"i"}})",
      R"({"ExternalRaised":{"data":"\"d\"","instance":"i","meta":"{\"m\":1}","name":"n"}})",
      R"({"QueueMessage":{"data":"\"d\"","instance":"i","meta":"{\"m\":1}","name":"n"}})",
      R"({"SubOrchCompleted":{"execution_id":2,"from_cache":true,"id":4,"instance":"i","result":"\"d\"","worker":"work-0","worker_runtime":"rt"}})",
      R"({"SubOrchFailed":{"details":{"Application":{"kind":"ActivityFailed","message":"boom","retryable":false}},"execution_id":2,"id":4,"instance":"i","worker":"work-0","worker_runtime":"rt"}})",
      R"({"CancelInstance":{"instance":"i","output":"\"d\"","reason":"r","recursive":false,"terminate":true}})",
  };
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]) << i;
  for (size_t i = 0; i <= static_cast<size_t>(EventKind::kTopicUnsubscribed); ++i) {
    auto d = DecodeEvent(got[i]);
    ASSERT_TRUE(d.ok()) << i;
    EXPECT_EQ(EncodeEvent(*d), got[i]);
  }
  for (size_t i = static_cast<size_t>(EventKind::kTopicUnsubscribed) + 1; i < got.size(); ++i) {
    auto d = DecodeWorkItem(got[i]);
    ASSERT_TRUE(d.ok()) << i;
    EXPECT_EQ(EncodeWorkItem(*d), got[i]);
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

// An activity's traceback ("traceback" next to "message") is optional: events written before
// it existed decode with it empty, and a long one is cut to kMaxTracebackBytes at a UTF-8
// boundary.
TEST(Codec, ActivityTracebackIsOptionalBoundedAndRoundTrips) {
  const std::string old_event =
      R"({"details":{"Application":{"kind":"ActivityFailed","message":"boom","retryable":false}},"event_id":7,"source_event_id":3,"timestamp_ms":123,"type":"ActivityFailed"})";
  auto decoded = DecodeEvent(old_event);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->error.message, "boom");
  EXPECT_EQ(decoded->error.traceback, "");
  EXPECT_EQ(EncodeEvent(*decoded), old_event);

  Event e = *decoded;
  e.error = ErrorDetails::ActivityFailure("boom", "RuntimeError: boom\n  File \"a.py\"");
  auto again = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->error.traceback, e.error.traceback);
  EXPECT_NE(EncodeEvent(e).find("\"traceback\""), std::string::npos);

  std::string big;
  while (big.size() < 3 * ErrorDetails::kMaxTracebackBytes) big += "\xc3\xa4";  // "ä"
  const std::string cut = ErrorDetails::BoundTraceback(big);
  EXPECT_LE(cut.size(), ErrorDetails::kMaxTracebackBytes);
  EXPECT_NE(cut.find("(traceback truncated)"), std::string::npos);
  const std::string body = cut.substr(0, cut.find('\n'));
  EXPECT_EQ(body.size() % 2, 0u);  // whole two-byte characters only
}

}  // namespace
}  // namespace duroxide::history
