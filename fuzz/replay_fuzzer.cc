// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// libFuzzer target: the replay engine fed arbitrary histories and messages.
//
// Input: lines. The first line is the orchestration "program" (one letter per step, see
// NextTask); each further line is a JSON event (history, in order) or, after a line "--", a
// JSON work item (this turn's messages). Undecodable lines are skipped (the codec fuzzers cover
// them). The engine must never crash, hang or leak, whatever the history says: a history that
// does not fit the program is nondeterminism, a failed turn, never undefined behaviour.
// Checked invariants: new events continue the event ids one by one, and running the same turn
// twice on fresh engines gives the same output (replay is deterministic).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "duroxide/common/logging.h"
#include "duroxide/history/codec.h"
#include "duroxide/replay/replay_engine.h"

namespace {

using duroxide::Result;
using duroxide::Status;
using duroxide::history::Event;
using duroxide::history::EventKind;
using duroxide::history::WorkItem;
using namespace duroxide::replay;  // NOLINT(build/namespaces): a test driver

TaskDescriptor Leaf(char c, size_t i) {
  TaskDescriptor d;
  switch (c) {
    case 't': d.type = TaskDescriptor::Type::kTimer; d.delay_ms = 10; break;
    case 'e': d.type = TaskDescriptor::Type::kWaitEvent; d.name = "Ev"; break;
    case 'q': d.type = TaskDescriptor::Type::kDequeueEvent; d.name = "Q"; break;
    case 's': d.type = TaskDescriptor::Type::kSubOrchestration; d.name = "Child"; d.input = "1"; break;
    case 'g': d.type = TaskDescriptor::Type::kNewGuid; break;
    case 'n': d.type = TaskDescriptor::Type::kUtcNow; break;
    case 'd':
      d.type = TaskDescriptor::Type::kStartOrchestration;
      d.name = "Detached";
      d.instance_id = "det-" + std::to_string(i);
      d.input = "null";
      break;
    default: d.type = TaskDescriptor::Type::kActivity; d.name = "A"; d.input = std::to_string(i); break;
  }
  return d;
}

// Step i of the program: a..t leaves, 'j' join of two, 'r' race of two, 'c' continue-as-new,
// 'f' fail, 'k' KV set / custom status then an activity; past the end: complete.
Step NextStep(const std::string& program, size_t i, OrchestrationHost* host) {
  Step s;
  if (i >= program.size()) {
    s.kind = Step::Kind::kComplete;
    s.output = "\"done\"";
    return s;
  }
  const char c = program[i];
  if (c == 'f') {
    s.kind = Step::Kind::kFail;
    s.error = "boom";
    return s;
  }
  s.kind = Step::Kind::kYield;
  if (c == 'c') {
    s.task.type = TaskDescriptor::Type::kContinueAsNew;
    s.task.input = "0";
  } else if (c == 'j' || c == 'r') {
    s.task.type = c == 'j' ? TaskDescriptor::Type::kJoin : TaskDescriptor::Type::kSelect;
    s.task.children.push_back(Leaf('a', i));
    s.task.children.push_back(Leaf(c == 'j' ? 'e' : 't', i));
  } else if (c == 'k') {
    host->SetKv("k" + std::to_string(i % 3), std::to_string(i));
    host->SetCustomStatus("s" + std::to_string(i));
    s.task = Leaf('a', i);
  } else {
    s.task = Leaf(c, i);
  }
  return s;
}

class ProgramInvoker : public OrchestrationInvoker {
 public:
  explicit ProgramInvoker(std::string program) : program_(std::move(program)) {}
  Result<std::unique_ptr<OrchestrationSession>> Start(const OrchestrationCall&,
                                                     OrchestrationHost* host, Step* first) override {
    auto session = std::make_unique<Session>(program_, host);
    *first = NextStep(program_, 0, host);
    return std::unique_ptr<OrchestrationSession>(std::move(session));
  }

 private:
  struct Session : OrchestrationSession {
    Session(const std::string& p, OrchestrationHost* h) : program(p), host(h) {}
    Step Resume(const TaskValue&) override { return NextStep(program, ++pos, host); }
    const std::string& program;
    OrchestrationHost* host;
    size_t pos = 0;
  };
  std::string program_;
};

std::string Fingerprint(const TurnOutput& out) {
  std::string s = std::to_string(static_cast<int>(out.outcome)) + "|" + out.output + "|" +
                  out.error.DisplayMessage() + "|";
  for (const auto& e : out.new_events) s += duroxide::history::EncodeEvent(e) + "\n";
  for (const auto& w : out.worker_items) s += duroxide::history::EncodeWorkItem(w) + "\n";
  for (const auto& w : out.orchestrator_items) s += duroxide::history::EncodeWorkItem(w) + "\n";
  return s;
}

TurnOutput RunOnce(const std::string& program, const std::vector<Event>& history,
                   const std::vector<WorkItem>& messages) {
  ProgramInvoker invoker(program.substr(0, 64));
  EngineOptions options;
  options.new_guid = [] { return std::string("00000000-0000-4000-8000-000000000001"); };
  options.max_history_events = 500;
  ReplayEngine engine("i", 1, &invoker, options);
  std::optional<Event> started;
  if (history.empty()) {
    Event e;
    e.kind = EventKind::kOrchestrationStarted;
    e.name = "orch";
    e.version = "1.0.0";
    e.input = "null";
    started = e;
  }
  engine.Load(history, {});
  return engine.RunTurn(started, messages, 1000);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Nondeterminism is the expected verdict for most fuzzed histories; its log lines would
  // drown the fuzzer's own output.
  duroxide::ConfigureLogging(duroxide::LogLevel::kOff, "compact");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // keep single runs fast; larger inputs add nothing
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string program, line;
  std::getline(in, program);
  std::vector<Event> history;
  std::vector<WorkItem> messages;
  bool in_messages = false;
  while (std::getline(in, line)) {
    if (line == "--") {
      in_messages = true;
      continue;
    }
    if (in_messages) {
      auto w = duroxide::history::DecodeWorkItem(line);
      if (w.ok() && messages.size() < 64) messages.push_back(std::move(w).value());
    } else {
      auto e = duroxide::history::DecodeEvent(line);
      if (e.ok() && history.size() < 256) history.push_back(std::move(e).value());
    }
  }
  // What every provider guarantees about a history it returns (ReadHistory: ordered by the
  // primary key event_id, so ids are unique and increasing) holds here too; the content of
  // the events is arbitrary.
  std::stable_sort(history.begin(), history.end(),
                   [](const Event& x, const Event& y) { return x.event_id < y.event_id; });
  history.erase(std::unique(history.begin(), history.end(),
                            [](const Event& x, const Event& y) { return x.event_id == y.event_id; }),
                history.end());
  TurnOutput a = RunOnce(program, history, messages);
  int64_t next = history.empty() ? 1 : history.back().event_id + 1;
  for (const auto& e : a.new_events) {
    if (e.event_id < next) std::abort();  // ids only grow
    next = e.event_id + 1;
  }
  TurnOutput b = RunOnce(program, history, messages);
  if (Fingerprint(a) != Fingerprint(b)) std::abort();  // deterministic
  return 0;
}
