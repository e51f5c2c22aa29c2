// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Internal to replay/: the task tree the code waits on. Not part of the public interface.
#ifndef DUROXIDE_REPLAY_REPLAY_NODE_H_
#define DUROXIDE_REPLAY_REPLAY_NODE_H_

#include <memory>
#include <vector>

#include "duroxide/replay/replay_engine.h"

namespace duroxide::replay {

// The history types every part of the engine works with (this header is internal to replay/).
using history::ErrorDetails;
using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

// "No event position": what Emit returns when the emission failed the turn.
inline constexpr size_t kNoPos = static_cast<size_t>(-1);

// Events the orchestration code itself emits (matched against history on replay), as opposed
// to arrivals, terminals and the start event.
inline bool IsEmitted(history::EventKind kind) {
  return !history::IsArrival(kind) && !history::IsTerminal(kind) &&
         kind != history::EventKind::kOrchestrationStarted;
}

// A node of the task tree the code is waiting on. Leaves are bound to one emitted event;
// composites (join, select) and retry activities own children.
struct ReplayEngine::Node {
  enum class Role { kNone, kAttempt, kAttemptTimer, kBackoff, kTotalTimer };
  TaskDescriptor desc;
  Node* parent = nullptr;
  int index = 0;
  Role role = Role::kNone;
  std::vector<std::unique_ptr<Node>> children;
  bool done = false;
  bool cancelled = false;
  bool active = false;  // subscription opened (walk reached its event)
  TaskValue value;
  int64_t event_id = 0;
  size_t pos = kNoPos;
  int64_t attempt = 0;  // retry node: attempts started
  Node* current_attempt = nullptr;
  Node* current_timer = nullptr;
  bool started = false;                     // graph child: emitted (or skipped)
  bool scanning = false;                    // graph: inside ScheduleReadyGraphNodes
  std::string worker_runtime;               // activity leaf: runtime that completed it
  std::vector<std::string> failed_runtimes; // retry node: runtimes of failed attempts

  bool composite() const {
    return desc.type == TaskDescriptor::Type::kJoin ||
           desc.type == TaskDescriptor::Type::kSelect ||
           desc.type == TaskDescriptor::Type::kGraph || is_retry();
  }
  bool is_retry() const {
    return desc.type == TaskDescriptor::Type::kActivity && desc.retry.has_value() &&
           role == Role::kNone;
  }
};

}  // namespace duroxide::replay

#endif  // DUROXIDE_REPLAY_REPLAY_NODE_H_
