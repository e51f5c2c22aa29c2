// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// What to do with a fetched orchestration item, decided without a store: the pure part of turn
// preparation (PrepareTurn in turn_processor.cc does the reading, replaying and writing).
// Unit-tested in turn_plan_test.cc.
#ifndef DUROXIDE_RUNTIME_TURN_PLAN_H_
#define DUROXIDE_RUNTIME_TURN_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/history/error_details.h"
#include "duroxide/history/work_item.h"
#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

// The messages of an item, sorted by role. Pointers into the item's message list.
struct ClassifiedMessages {
  const history::WorkItem* start = nullptr;         // the first start
  const history::WorkItem* continue_as_new = nullptr;  // the latest continue-as-new
  std::vector<const history::WorkItem*> extra_starts;  // further starts (always rejected)
  std::vector<history::WorkItem> others;            // events, completions, ... for the engine
  const history::WorkItem* terminate = nullptr;     // the first terminating CancelInstance
};
ClassifiedMessages ClassifyMessages(const std::vector<history::WorkItem>& messages);

// What the runtime knows about a fetched item, before running anything.
struct TurnFacts {
  std::string history_error;        // empty: the history decoded
  bool history_newer_format = false;  // the history was written by a newer duroxide
  int64_t attempt_count = 1;        // deliveries of this item, this one included
  int64_t max_attempts = 10;
  bool exists = false;              // an instance record, a history or a warm engine exists
  providers::ExecutionStatus status = providers::ExecutionStatus::kRunning;
  int64_t current_execution_id = 1;
  bool has_messages = false;
  // For an opening start or continue-as-new: the version the registry resolves, or nullopt
  // when the orchestration (or that version) is not registered here.
  std::optional<std::string> resolved_version;
};

struct TurnPlan {
  enum class Action {
    kRun,               // replay and run the turn
    kAbandon,           // hand the item back after abandon_delay_ms
    kFail,              // fail the execution with `failure` (poison, unregistered, undecodable)
    kDrop,              // nothing to run (missing or finished instance): acknowledge, drop
    kCheckPendingStart  // a missing instance: abandon if a delayed start owns the messages,
                        // otherwise drop (needs the store)
  };
  Action action = Action::kRun;
  int64_t abandon_delay_ms = 0;
  bool abandon_keeps_attempt = false;  // do not count this delivery (not the item's fault)
  history::ErrorDetails failure;
  // The start or continue-as-new that opens a new execution this turn (null: none).
  const history::WorkItem* origin = nullptr;
  std::vector<const history::WorkItem*> rejected_starts;
  // kFail because a terminate arrived (client.terminate_instance): the failure is
  // ErrorDetails::Terminated and the turn also ends the open activities (and, recursive, the
  // running sub-orchestrations) that history names.
  const history::WorkItem* terminate = nullptr;
  int64_t execution_id = 1;
  std::string reason;  // for the log: why the item is abandoned, failed or dropped
};

// Options the decision depends on.
struct TurnPlanOptions {
  int64_t unregistered_backoff_base_ms = 100;
  int64_t unregistered_backoff_max_ms = 2000;
};

// Decides what happens to an item. Pure: no store, no clock, no logging. Callers find the
// origin with FindOrigin first and put the registry's answer for it in
// facts.resolved_version.
TurnPlan DecideTurn(const TurnFacts& facts, const ClassifiedMessages& messages,
                    const TurnPlanOptions& options);

// The start or continue-as-new that would open a new execution (null: none). Pure.
const history::WorkItem* FindOrigin(const TurnFacts& facts, const ClassifiedMessages& messages);

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_TURN_PLAN_H_
