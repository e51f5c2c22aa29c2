// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Helpers shared by the management conformance test files (provider_admin_*conformance.cc):
// instances are built by hand (start, fetch, ack a TurnCommit), so every state, including a
// child created between computing a delete set and deleting it, is reached deterministically.
// Must, SleepMs and CONF_ASSERT_OK come from provider_conformance_util.h. Test-only.
#ifndef DUROXIDE_PROVIDERS_TESTING_PROVIDER_ADMIN_CONFORMANCE_UTIL_H_
#define DUROXIDE_PROVIDERS_TESTING_PROVIDER_ADMIN_CONFORMANCE_UTIL_H_

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/client/management.h"
#include "duroxide/common/clock.h"
#include "duroxide/providers/testing/provider_conformance_util.h"

namespace duroxide::providers::testing::admin_conformance {

using client::Management;
using conformance::Must;
using conformance::SleepMs;
using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

constexpr int64_t kLockMs = 30000;

inline ProviderAdmin& AdminOf(Provider& p) {
  ProviderAdmin* admin = p.admin();
  if (admin == nullptr) {
    ADD_FAILURE() << "provider '" << p.name() << "' has no management capability (admin())";
    std::abort();  // every test below needs it; failing loudly beats a null dereference
  }
  return *admin;
}

// A Management over the fixture's provider, without taking ownership of it.
inline Management MgmtOf(Provider& p) {
  return Management(std::shared_ptr<Provider>(&p, [](Provider*) {}));
}

inline std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline WorkItem StartItem(const std::string& instance,
                          const std::optional<std::string>& parent = std::nullopt) {
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = "Orch";
  w.version = "1.0.0";
  w.input = "{\"n\":1}";
  w.execution_id = 1;
  if (parent) {
    w.parent_instance = parent;
    w.parent_execution_id = 1;
    w.parent_id = 2;
  }
  return w;
}

inline WorkItem External(const std::string& instance) {
  WorkItem w;
  w.kind = WorkItemKind::kExternalRaised;
  w.instance = instance;
  w.name = "go";
  w.data = "\"x\"";
  return w;
}

inline Event Ev(int64_t id, EventKind kind) {
  Event e;
  e.event_id = id;
  e.kind = kind;
  e.timestamp_ms = NowMs();
  if (kind == EventKind::kOrchestrationStarted) {
    e.name = "Orch";
    e.version = "1.0.0";
    e.input = "{\"n\":1}";
  }
  return e;
}

// The first turn of an execution: history [OrchestrationStarted].
inline TurnCommit FirstTurn(int64_t execution_id = 1,
                            const std::optional<std::string>& parent = std::nullopt) {
  TurnCommit c;
  c.execution_id = execution_id;
  c.new_execution = true;
  c.orchestration_name = "Orch";
  c.orchestration_version = "1.0.0";
  c.parent_instance_id = parent;
  c.new_events = {Ev(1, EventKind::kOrchestrationStarted)};
  return c;
}

// A later turn of `execution_id` appending events next_id, next_id+1, ...
inline TurnCommit NextTurn(int64_t execution_id, int64_t next_id,
                           std::vector<EventKind> kinds) {
  TurnCommit c;
  c.execution_id = execution_id;
  for (EventKind k : kinds) c.new_events.push_back(Ev(next_id++, k));
  return c;
}

// Fetches the next batch, which must belong to `instance`, and acks `commit`.
inline void Turn(Provider& p, const std::string& instance, const TurnCommit& commit) {
  auto item = Must(p.FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(item.has_value()) << "no work for " << instance;
  ASSERT_EQ(item->instance, instance);
  CONF_ASSERT_OK(p.AckOrchestrationItem(item->lock_token, commit));
}

inline void Create(Provider& p, const std::string& instance,
                   const TurnCommit& commit = FirstTurn()) {
  CONF_ASSERT_OK(p.StartOrchestration(StartItem(instance)));
  Turn(p, instance, commit);
}

// Delivers an event to `instance` and commits `commit` for it.
inline void Deliver(Provider& p, const std::string& instance, const TurnCommit& commit) {
  CONF_ASSERT_OK(p.EnqueueOrchestratorMessage(External(instance), 0));
  Turn(p, instance, commit);
}

// Completes execution `execution_id` (whose history holds `events` events) with `output`.
inline void Complete(Provider& p, const std::string& instance, int64_t execution_id = 1,
                     int64_t events = 1, const std::string& output = "42") {
  TurnCommit c = NextTurn(execution_id, events + 1, {EventKind::kOrchestrationCompleted});
  c.new_events.back().data = output;
  c.status = ExecutionStatus::kCompleted;
  c.output = output;
  Deliver(p, instance, c);
}

inline void Fail(Provider& p, const std::string& instance) {
  TurnCommit c = NextTurn(1, 2, {EventKind::kOrchestrationFailed});
  c.new_events.back().error = history::ErrorDetails::Application("Boom", "it broke");
  c.status = ExecutionStatus::kFailed;
  c.error = "it broke";
  Deliver(p, instance, c);
}

// `parent` (a running instance whose history holds `parent_events` events) schedules `child`;
// the child's start is left queued. Returns the parent's new event count.
inline int64_t ScheduleChild(Provider& p, const std::string& parent,
                             const std::string& child, int64_t parent_events = 1) {
  TurnCommit c = NextTurn(1, parent_events + 1, {EventKind::kSubOrchestrationScheduled});
  c.new_events.back().name = "Orch";
  c.new_events.back().instance = child;
  c.new_events.back().input = "{\"n\":1}";
  c.orchestrator_items = {StartItem(child, parent)};
  Deliver(p, parent, c);
  return parent_events + 1;
}

// Creates `child` under `parent` (running): schedule, then the child's first turn.
inline int64_t CreateChild(Provider& p, const std::string& parent, const std::string& child,
                           int64_t parent_events = 1) {
  const int64_t n = ScheduleChild(p, parent, child, parent_events);
  Turn(p, child, FirstTurn(1, parent));
  return n;
}

// Makes `instance` (running, its first execution's history holding `first_events` events)
// continue as new `count` times, so that execution count+1 is the current, running one. Each
// later finished execution has 2 events.
inline void ContinueAsNewTimes(Provider& p, const std::string& instance, int count,
                               int64_t first_events = 1) {
  for (int64_t exec = 1; exec <= count; ++exec) {
    TurnCommit c = NextTurn(exec, exec == 1 ? first_events + 1 : 2,
                            {EventKind::kOrchestrationContinuedAsNew});
    c.status = ExecutionStatus::kContinuedAsNew;
    WorkItem can;
    can.kind = WorkItemKind::kContinueAsNew;
    can.instance = instance;
    can.execution_id = exec + 1;
    can.name = "Orch";
    can.version = "1.0.0";
    can.input = "{\"n\":1}";
    c.orchestrator_items = {can};
    Deliver(p, instance, c);
    Turn(p, instance, FirstTurn(exec + 1));
  }
}

inline bool NoRowsLeft(Provider& p, const std::string& instance) {
  return !Must(p.GetInstance(instance)).has_value() && Must(p.ReadHistory(instance, 1)).empty() &&
         Must(p.GetKvAll(instance)).empty() && !Must(p.HasPendingStart(instance)) &&
         Must(AdminOf(p).ListExecutions(instance)).empty();
}

}  // namespace duroxide::providers::testing::admin_conformance

#endif  // DUROXIDE_PROVIDERS_TESTING_PROVIDER_ADMIN_CONFORMANCE_UTIL_H_
