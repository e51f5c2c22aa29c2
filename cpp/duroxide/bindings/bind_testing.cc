// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Native support for duroxide.testing (python/duroxide/testing/):
//  * replay_history: runs the real ReplayEngine over a recorded history with no store, no
//    activities and no writes, so a replay check applies exactly the engine's matching rules;
//  * the process's virtual clock (common/clock.h) for time-skipping tests.
#include "duroxide/bindings/pybind.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/bindings/py_invoker.h"
#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/replay/replay_engine.h"

namespace duroxide::bindings {

namespace {

using history::Event;
using replay::TurnOutput;

const char* OutcomeName(TurnOutput::Outcome o) {
  switch (o) {
    case TurnOutput::Outcome::kContinue: return "continue";
    case TurnOutput::Outcome::kCompleted: return "completed";
    case TurnOutput::Outcome::kFailed: return "failed";
    case TurnOutput::Outcome::kContinuedAsNew: return "continued_as_new";
    case TurnOutput::Outcome::kUnregistered: return "unregistered";
  }
  return "unknown";
}

const char* CategoryName(history::ErrorDetails::Category c) {
  switch (c) {
    case history::ErrorDetails::Category::kApplication: return "Application";
    case history::ErrorDetails::Category::kConfiguration: return "Configuration";
    case history::ErrorDetails::Category::kInfrastructure: return "Infrastructure";
    case history::ErrorDetails::Category::kPoison: return "Poison";
  }
  return "Unknown";
}

// Replays `events_json` (EncodeEvent records of one execution, in order) against the
// functions in `functions` (the dict shape Runtime keeps: "name" and "name@version" keys).
// A trailing terminal event is set aside: the code runs to its own end and the caller compares
// the two. KV reads see `kv_baseline`, the state at the start of the execution.
// Returns {"outcome", "output", "error", "error_category", "error_kind", "new_events",
// "recorded_terminal"}. Raises InvalidArgumentError for an undecodable event.
py::dict ReplayHistory(const std::string& instance, int64_t execution_id,
                       const std::vector<std::string>& events_json, py::object functions,
                       const std::map<std::string, std::string>& kv_baseline) {
  std::vector<Event> events;
  events.reserve(events_json.size());
  for (size_t i = 0; i < events_json.size(); ++i) {
    auto decoded = history::DecodeEvent(events_json[i]);
    if (!decoded.ok()) {
      ThrowStatus(Status::InvalidArgument(
          "replay", "history event #" + std::to_string(i + 1) + ": " + decoded.status().message()));
    }
    events.push_back(std::move(decoded).value());
  }
  std::optional<Event> terminal;
  if (!events.empty() && history::IsTerminal(events.back().kind)) {
    terminal = std::move(events.back());
    events.pop_back();
  }
  if (events.empty()) {
    ThrowStatus(Status::InvalidArgument("replay", "the history has no events to replay"));
  }
  PyOrchestrationInvoker invoker(std::move(functions));
  replay::EngineOptions options;
  // Every GUID of the recorded history comes from its events; one made now is new work.
  options.new_guid = [] { return std::string("00000000-0000-4000-8000-000000000000"); };
  replay::ReplayEngine engine(instance, execution_id, &invoker, std::move(options));
  std::map<std::string, replay::KvValue> kv;
  for (const auto& [k, v] : kv_baseline) kv[k] = replay::KvValue{v, 0};
  engine.Load(std::move(events), std::move(kv));
  TurnOutput out = engine.RunTurn(std::nullopt, {}, NowMs());

  py::dict result;
  result["outcome"] = OutcomeName(out.outcome);
  result["output"] = out.output;
  result["error"] = out.outcome == TurnOutput::Outcome::kUnregistered
                        ? out.unregistered_message
                        : out.error.DisplayMessage();
  result["error_category"] = CategoryName(out.error.category);
  result["error_kind"] = out.error.kind;
  py::list new_events;
  for (const Event& e : out.new_events) new_events.append(history::EncodeEvent(e));
  result["new_events"] = new_events;
  result["recorded_terminal"] =
      terminal ? py::object(py::str(history::EncodeEvent(*terminal))) : py::object(py::none());
  return result;
}

}  // namespace

void RegisterTesting(py::module_& m) {
  m.def("replay_history", &ReplayHistory, py::arg("instance"), py::arg("execution_id"),
        py::arg("events"), py::arg("functions"), py::arg("kv_baseline"),
        "Replays one execution's recorded events against `functions` (no store, no "
        "activities, no writes).");
  m.def("now_ms", [] { return NowMs(); }, "Milliseconds since the epoch on the virtual clock.");
  m.def("clock_offset_ms", [] { return ClockOffsetMs().load(); },
        "The virtual clock's offset from the wall clock (0 unless a test moved it).");
  m.def("reset_clock_offset", [] { ClockOffsetMs().store(0); },
        "Test-only: puts the virtual clock back on the wall clock.");
  m.def("advance_clock_ms", [](int64_t ms) {
        if (ms < 0) Raise(errc::kInvalidArgument, "advance_clock_ms: ms must be >= 0");
        AdvanceClockMs(ms);
      }, py::arg("ms"), "Test-only: moves the virtual clock forward (no dispatcher wake-up).");
}

}  // namespace duroxide::bindings
