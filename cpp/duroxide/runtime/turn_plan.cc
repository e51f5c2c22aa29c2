// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/turn_plan.h"

#include <algorithm>

#include "duroxide/common/backoff.h"

namespace duroxide::runtime {

using history::ErrorDetails;
using history::WorkItem;
using history::WorkItemKind;
using providers::ExecutionStatus;

namespace {

constexpr int64_t kNewerFormatRetryMs = 5000;   // rarely: only an upgrade helps
constexpr int64_t kUndecodableRetryMs = 1000;
constexpr int64_t kContinueAsNewPendingRetryMs = 20;  // the row is committed: visible at once

TurnPlan Abandon(TurnPlan plan, int64_t delay_ms, bool keeps_attempt, std::string reason) {
  plan.action = TurnPlan::Action::kAbandon;
  plan.abandon_delay_ms = delay_ms;
  plan.abandon_keeps_attempt = keeps_attempt;
  plan.reason = std::move(reason);
  return plan;
}

TurnPlan Fail(TurnPlan plan, ErrorDetails failure) {
  plan.action = TurnPlan::Action::kFail;
  plan.reason = failure.DisplayMessage();
  plan.failure = std::move(failure);
  return plan;
}

TurnPlan DecideUndecodable(const TurnFacts& facts, TurnPlan plan) {
  if (facts.history_newer_format) {
    // Written by a newer duroxide: leave the instance exactly as it is (no poison count, no
    // failure) so that an upgraded runtime can continue it.
    return Abandon(std::move(plan), kNewerFormatRetryMs, true,
                   "history written by a newer duroxide; leaving the instance untouched: " +
                       facts.history_error);
  }
  if (facts.attempt_count > facts.max_attempts) {
    return Fail(std::move(plan),
                ErrorDetails::Poison("Orchestration", facts.attempt_count, facts.max_attempts,
                                     "history could not be decoded: " + facts.history_error));
  }
  return Abandon(std::move(plan), kUndecodableRetryMs, false,
                 "history could not be decoded: " + facts.history_error);
}

}  // namespace

ClassifiedMessages ClassifyMessages(const std::vector<WorkItem>& messages) {
  ClassifiedMessages out;
  for (const WorkItem& m : messages) {
    if (m.kind == WorkItemKind::kStartOrchestration) {
      if (out.start == nullptr) out.start = &m;
      else out.extra_starts.push_back(&m);
    } else if (m.kind == WorkItemKind::kContinueAsNew) {
      if (out.continue_as_new == nullptr || m.execution_id > out.continue_as_new->execution_id) {
        out.continue_as_new = &m;
      }
    } else {
      out.others.push_back(m);
    }
  }
  return out;
}

const WorkItem* FindOrigin(const TurnFacts& facts, const ClassifiedMessages& messages) {
  if (!facts.exists) return messages.start;
  const WorkItem* can = messages.continue_as_new;
  // ContinuedAsNew: the runtime queued it. Completed/Failed: a client restart
  // (start_orchestration if_exists="restart_if_ended"); nothing else queues a ContinueAsNew
  // for an ended instance.
  const bool accepts = facts.status == ExecutionStatus::kContinuedAsNew ||
                       facts.status == ExecutionStatus::kCompleted ||
                       facts.status == ExecutionStatus::kFailed;
  if (can && accepts && can->execution_id == facts.current_execution_id + 1) {
    return can;
  }
  return nullptr;
}

TurnPlan DecideTurn(const TurnFacts& facts, const ClassifiedMessages& messages,
                    const TurnPlanOptions& options) {
  TurnPlan plan;
  plan.execution_id = facts.current_execution_id;
  if (!facts.history_error.empty()) return DecideUndecodable(facts, std::move(plan));

  plan.origin = FindOrigin(facts, messages);
  // An existing instance rejects every start; a new one accepts its first.
  if (facts.exists && messages.start) plan.rejected_starts.push_back(messages.start);
  plan.rejected_starts.insert(plan.rejected_starts.end(), messages.extra_starts.begin(),
                              messages.extra_starts.end());

  if (!facts.exists && plan.origin == nullptr) {
    // A start that is queued but delayed (its orchestration is not registered yet) may own
    // these messages: the caller asks the store.
    plan.action = TurnPlan::Action::kCheckPendingStart;
    plan.abandon_delay_ms = options.unregistered_backoff_base_ms;
    plan.abandon_keeps_attempt = true;
    plan.reason = "dropping messages for an instance that does not exist";
    return plan;
  }
  if (facts.exists && facts.status == ExecutionStatus::kContinuedAsNew &&
      messages.continue_as_new == nullptr) {
    // The turn that continued as new queued the next execution's ContinueAsNew in its own
    // commit, so it is in the queue, just not in this batch: a fetcher that read its clock
    // before that commit sees the new row as not yet visible and takes only older messages.
    // Hand them back for the batch that opens the next execution; dropping them would lose
    // them (issue 21, found by the soak run on PostgreSQL).
    return Abandon(std::move(plan), kContinueAsNewPendingRetryMs, true,
                   "waiting for the queued continue-as-new of this instance");
  }
  if (facts.exists && facts.status != ExecutionStatus::kRunning && plan.origin == nullptr) {
    plan.action = TurnPlan::Action::kDrop;  // late messages never block the queue
    plan.reason = "dropping messages for a finished instance";
    return plan;
  }
  if (plan.origin) {
    plan.execution_id =
        plan.origin->kind == WorkItemKind::kContinueAsNew ? plan.origin->execution_id : 1;
    if (!facts.resolved_version) {
      const std::string what =
          "orchestration '" + plan.origin->name + "'" +
          (plan.origin->version ? " version " + *plan.origin->version : "") + " is not registered";
      if (facts.attempt_count > facts.max_attempts) {
        return Fail(std::move(plan),
                    ErrorDetails::Configuration(
                        "UnregisteredOrchestration",
                        what + " (gave up after " + std::to_string(facts.attempt_count - 1) +
                            " attempts)"));
      }
      const int64_t delay =
          BackoffDelayMs(options.unregistered_backoff_base_ms,
                         options.unregistered_backoff_max_ms, facts.attempt_count - 1);
      return Abandon(std::move(plan), delay, false, what);
    }
  }
  if (facts.attempt_count > facts.max_attempts) {
    return Fail(std::move(plan),
                ErrorDetails::Poison("Orchestration", facts.attempt_count, facts.max_attempts,
                                     "orchestration message delivered " +
                                         std::to_string(facts.attempt_count) +
                                         " times without completing a turn"));
  }
  plan.action = TurnPlan::Action::kRun;
  return plan;
}

}  // namespace duroxide::runtime
