// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Helpers shared by the conformance test files (builders and polling helpers). Test-only.
#ifndef DUROXIDE_PROVIDERS_TESTING_PROVIDER_CONFORMANCE_UTIL_H_
#define DUROXIDE_PROVIDERS_TESTING_PROVIDER_CONFORMANCE_UTIL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/providers/testing/provider_conformance.h"

namespace duroxide::providers::testing::conformance {


using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

constexpr int64_t kLongLockMs = 30000;
constexpr int64_t kShortLockMs = 100;
constexpr int64_t kPastShortLockMs = 350;  // sleep that outlives kShortLockMs comfortably
constexpr int64_t kWaitMs = 5000;          // deadline when polling for work to appear

#define CONF_ASSERT_OK(expr)                                \
  do {                                                      \
    const ::duroxide::Status _st = (expr);                  \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define CONF_EXPECT_CODE(expr, expected)                                  \
  do {                                                                    \
    const ::duroxide::Status _st = (expr);                                \
    EXPECT_EQ(_st.code(), (expected)) << #expr << ": " << _st.ToString(); \
  } while (0)

// The value of an OK Result; records a failure (and returns T{}) otherwise.
template <typename T>
inline T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return T{};
  }
  return std::move(r).value();
}

inline void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

inline WorkItem Start(const std::string& instance) {
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = "Orch";
  w.version = "1.0.0";
  w.input = "\"in\"";
  return w;
}

inline WorkItem External(const std::string& instance, const std::string& name = "evt") {
  WorkItem w;
  w.kind = WorkItemKind::kExternalRaised;
  w.instance = instance;
  w.name = name;
  w.data = "\"x\"";
  return w;
}

inline WorkItem Activity(const std::string& instance, int64_t id,
                  std::optional<std::string> session = std::nullopt,
                  std::optional<std::string> tag = std::nullopt) {
  WorkItem w;
  w.kind = WorkItemKind::kActivityExecute;
  w.instance = instance;
  w.execution_id = 1;
  w.id = id;
  w.name = "Act";
  w.input = "\"a\"";
  w.session_id = std::move(session);
  w.tag = std::move(tag);
  w.orchestration_name = "Orch";
  w.orchestration_version = "1.0.0";
  return w;
}

inline WorkItem ActivityDone(const std::string& instance, int64_t id, const std::string& data) {
  WorkItem w;
  w.kind = WorkItemKind::kActivityCompleted;
  w.instance = instance;
  w.execution_id = 1;
  w.id = id;
  w.data = data;
  return w;
}

inline Event Ev(int64_t id, EventKind kind) {
  Event e;
  e.event_id = id;
  e.kind = kind;
  e.timestamp_ms = NowMs();
  e.name = kind == EventKind::kOrchestrationStarted ? "Orch" : "Act";
  if (kind == EventKind::kOrchestrationStarted) e.version = "1.0.0";
  return e;
}

// The first turn of execution `execution_id`: history [OrchestrationStarted].
inline TurnCommit FirstTurn(int64_t execution_id = 1) {
  TurnCommit c;
  c.execution_id = execution_id;
  c.new_execution = true;
  c.orchestration_name = "Orch";
  c.orchestration_version = "1.0.0";
  c.new_events = {Ev(1, EventKind::kOrchestrationStarted)};
  return c;
}

inline KvMutation KvSet(const std::string& key, const std::string& value) {
  return KvMutation{KvMutation::Kind::kSet, key, value, NowMs()};
}
inline KvMutation KvClear(const std::string& key) {
  return KvMutation{KvMutation::Kind::kClear, key, "", NowMs()};
}
inline KvMutation KvClearAll() { return KvMutation{KvMutation::Kind::kClearAll, "", "", NowMs()}; }

inline std::optional<OrchestrationItem> FetchOrch(Provider& p, int64_t lock_ms = kLongLockMs) {
  return Must(p.FetchOrchestrationItem(lock_ms));
}

inline WorkerFetchOptions Tags(TagFilter::Mode mode, std::vector<std::string> tags = {}) {
  WorkerFetchOptions o;
  o.tag_filter.mode = mode;
  o.tag_filter.tags = std::move(tags);
  return o;
}

inline WorkerFetchOptions AsOwner(const std::string& owner, int64_t session_lock_ms = kLongLockMs) {
  WorkerFetchOptions o;
  o.session = SessionFetch{owner, session_lock_ms, std::nullopt};
  return o;
}

inline std::optional<WorkItemLease> FetchWork(Provider& p, const WorkerFetchOptions& options = {},
                                       int64_t lock_ms = kLongLockMs) {
  return Must(p.FetchWorkItem(lock_ms, options));
}

// Polls until a batch is fetched or kWaitMs passes.
inline std::optional<OrchestrationItem> WaitOrch(Provider& p) {
  const int64_t deadline = NowMs() + kWaitMs;
  for (;;) {
    auto item = FetchOrch(p);
    if (item || NowMs() > deadline) return item;
    SleepMs(10);
  }
}

inline std::optional<WorkItemLease> WaitWork(Provider& p) {
  const int64_t deadline = NowMs() + kWaitMs;
  for (;;) {
    auto lease = FetchWork(p);
    if (lease || NowMs() > deadline) return lease;
    SleepMs(10);
  }
}

// Starts `instance` and commits `commit` as its first turn. REQUIRES: no other visible work.
inline bool CreateInstance(Provider& p, const std::string& instance, const TurnCommit& commit = FirstTurn()) {
  Status st = p.StartOrchestration(Start(instance));
  if (!st.ok()) {
    ADD_FAILURE() << st.ToString();
    return false;
  }
  auto item = FetchOrch(p);
  if (!item || item->instance != instance) {
    ADD_FAILURE() << "could not fetch the start of " << instance;
    return false;
  }
  st = p.AckOrchestrationItem(item->lock_token, commit);
  if (!st.ok()) ADD_FAILURE() << st.ToString();
  return st.ok();
}

// Delivers an external event to `instance` and commits `commit` as the next turn.
inline bool CommitTurn(Provider& p, const std::string& instance, const TurnCommit& commit) {
  if (!p.EnqueueOrchestratorMessage(External(instance), 0).ok()) return false;
  auto item = FetchOrch(p);
  if (!item || item->instance != instance) {
    ADD_FAILURE() << "could not fetch a turn of " << instance;
    return false;
  }
  Status st = p.AckOrchestrationItem(item->lock_token, commit);
  if (!st.ok()) ADD_FAILURE() << st.ToString();
  return st.ok();
}

inline TurnCommit WithWorkerItems(std::vector<WorkItem> items) {
  TurnCommit c = FirstTurn();
  c.worker_items = std::move(items);
  return c;
}

}  // namespace duroxide::providers::testing::conformance

#endif  // DUROXIDE_PROVIDERS_TESTING_PROVIDER_CONFORMANCE_UTIL_H_
