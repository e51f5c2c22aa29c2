// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/provider.h"

#include <algorithm>

#include "duroxide/history/codec.h"

namespace duroxide::providers {

const char* ExecutionStatusName(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::kRunning: return "Running";
    case ExecutionStatus::kCompleted: return "Completed";
    case ExecutionStatus::kFailed: return "Failed";
    case ExecutionStatus::kContinuedAsNew: return "ContinuedAsNew";
  }
  return "Running";
}

bool ExecutionStatusFromName(const std::string& name, ExecutionStatus* out) {
  if (name == "Running") *out = ExecutionStatus::kRunning;
  else if (name == "Completed") *out = ExecutionStatus::kCompleted;
  else if (name == "Failed") *out = ExecutionStatus::kFailed;
  else if (name == "ContinuedAsNew") *out = ExecutionStatus::kContinuedAsNew;
  else return false;
  return true;
}

bool TagFilter::Matches(const std::optional<std::string>& tag) const {
  auto listed = [&] { return std::find(tags.begin(), tags.end(), *tag) != tags.end(); };
  switch (mode) {
    case Mode::kDefaultOnly: return !tag.has_value();
    case Mode::kTags: return tag.has_value() && listed();
    case Mode::kDefaultAnd: return !tag.has_value() || listed();
    case Mode::kAny: return true;
    case Mode::kNone: return false;
  }
  return false;
}

std::string AvoidColumn(const std::vector<std::string>& runtimes) {
  if (runtimes.empty()) return std::string();
  std::string out = "|";
  for (const std::string& r : runtimes) out += r + "|";
  return out;
}

std::string AvoidNeedle(const std::string& runtime_id) { return "|" + runtime_id + "|"; }

Result<std::vector<CapabilitySchema>> Provider::ReadCapabilitySchemas() {
  return Status::FailedPrecondition("ReadCapabilitySchemas",
                                    name() + " does not support capability routing");
}

Result<std::vector<WaitingActivity>> Provider::ListWaitingActivities(int64_t, int64_t) {
  return Status::FailedPrecondition("ListWaitingActivities",
                                    name() + " does not support capability routing");
}

Result<std::optional<std::string>> Provider::GetTaskCache(const std::string&) {
  return Status::FailedPrecondition("GetTaskCache", name() + " has no task cache");
}

Status Provider::PutTaskCache(const std::string&, const std::string&, const std::string&,
                              int64_t) {
  return Status::FailedPrecondition("PutTaskCache", name() + " has no task cache");
}

Result<int64_t> Provider::ClearTaskCache(const std::optional<std::string>&) {
  return Status::FailedPrecondition("ClearTaskCache", name() + " has no task cache");
}

void DecodeFetchedBatch(const char* op,
                        std::vector<std::tuple<int64_t, std::string, int64_t>> rows,
                        const std::vector<std::string>& events, OrchestrationItem* item) {
  std::sort(rows.begin(), rows.end());
  for (auto& [id, text, attempts] : rows) {
    item->attempt_count = std::max(item->attempt_count, attempts);
    Result<history::WorkItem> decoded = history::DecodeWorkItem(text);
    if (decoded.ok()) {
      item->messages.push_back(std::move(decoded).value());
    } else if (item->history_error.ok()) {
      item->history_error = Status::DataLoss(
          op, "orchestrator message " + std::to_string(id) + ": " + decoded.status().message());
    }
  }
  // Room for the turn's arrivals and a few emitted events: the replay engine appends to this
  // vector, and a vector filled to capacity relocates the whole history (several hundred
  // bytes per event) on the turn's first append, a visible share of a cold replay.
  item->history.reserve(events.size() + item->messages.size() + 16);
  for (const std::string& text : events) {
    Result<history::Event> decoded = history::DecodeEvent(text);
    if (!decoded.ok()) {
      if (item->history_error.ok()) {
        item->history_error = Status::DataLoss(op, "history of instance '" + item->instance +
                                                       "': " + decoded.status().message());
      }
      item->history.clear();
      break;
    }
    item->history.push_back(std::move(decoded).value());
  }
}

namespace {

// Calls `fetch_one` (returning Result<std::optional<T>>) until it finds nothing or max_items
// are taken. An error after the first item ends the batch early: what is locked already is
// kept, and the next fetch reports the error.
template <typename T, typename F>
Result<std::vector<T>> FetchUpTo(size_t max_items, F&& fetch_one) {
  std::vector<T> out;
  while (out.size() < max_items) {
    auto one = fetch_one();
    if (!one.ok()) {
      if (out.empty()) return one.status();
      break;
    }
    if (!one->has_value()) break;
    out.push_back(std::move(**one));
  }
  return out;
}

}  // namespace

Result<std::vector<OrchestrationItem>> Provider::FetchOrchestrationItems(size_t max_items,
                                                                        int64_t lock_timeout_ms,
                                                                        const FetchHint* hint) {
  return FetchUpTo<OrchestrationItem>(
      max_items, [&] { return FetchOrchestrationItem(lock_timeout_ms, hint); });
}

std::vector<Status> Provider::AckOrchestrationItemsAndFetch(const std::vector<TurnAck>& acks,
                                                            NextOrchestrationFetch* next) {
  std::vector<Status> out;
  out.reserve(acks.size());
  for (const TurnAck& a : acks) out.push_back(AckOrchestrationItem(a.lock_token, *a.commit));
  if (next) {
    next->result.emplace(FetchOrchestrationItems(next->max_items, next->lock_timeout_ms, next->hint));
  }
  return out;
}

std::vector<Status> Provider::AckWorkTurnsAndFetch(const std::vector<WorkAck>& work,
                                                   std::vector<Status>* work_acked,
                                                   const std::vector<TurnAck>& acks,
                                                   NextOrchestrationFetch* next) {
  *work_acked = AckWorkItemsAndFetch(work, nullptr);
  return AckOrchestrationItemsAndFetch(acks, next);
}

Result<std::vector<WorkItemLease>> Provider::FetchWorkItems(size_t max_items,
                                                            int64_t lock_timeout_ms,
                                                            const WorkerFetchOptions& options) {
  return FetchUpTo<WorkItemLease>(max_items,
                                  [&] { return FetchWorkItem(lock_timeout_ms, options); });
}

std::vector<Status> Provider::AckWorkItemsAndFetch(const std::vector<WorkAck>& acks,
                                                   NextWorkFetch* next) {
  std::vector<Status> out;
  out.reserve(acks.size());
  for (const WorkAck& a : acks) out.push_back(AckWorkItem(a.lock_token, a.completion));
  if (next) next->result.emplace(FetchWorkItems(next->max_items, next->lock_timeout_ms, next->options));
  return out;
}

Status Provider::RunOps(const char* op, bool, const OpsBody&) {
  return Status::FailedPrecondition(op, name() + " does not support instance operations");
}

}  // namespace duroxide::providers
