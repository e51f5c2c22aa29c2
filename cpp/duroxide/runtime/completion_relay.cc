// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/completion_relay.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/runtime/interpreter_lock.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

void CompletionRelay::Push(std::vector<Item> items) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Item& item : items) items_.push_back(std::move(item));
}

std::vector<CompletionRelay::Item> CompletionRelay::TakeForDispatcher(int64_t now_ms) {
  std::vector<Item> out;
  std::lock_guard<std::mutex> lock(mu_);
  // Oldest first: with a hold, the items that waited long enough form a prefix.
  while (!items_.empty() && (hold_ms_ <= 0 || items_.front().relayed_at_ms + hold_ms_ <= now_ms)) {
    out.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return out;
}

std::vector<CompletionRelay::Item> CompletionRelay::TakeStale(int64_t now_ms, bool all) {
  std::vector<Item> out;
  const int64_t bound = std::max(kRelayBoundMs, hold_ms_);
  std::lock_guard<std::mutex> lock(mu_);
  while (!items_.empty() && (all || items_.front().relayed_at_ms + bound <= now_ms)) {
    out.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return out;
}

bool CompletionRelay::empty() {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.empty();
}

void ConfigureRelay(RuntimeCore* core) {
  const RuntimeOptions& o = core->options;
  bool enabled = core->provider->RelaysWorkAcks() && o.orchestration_concurrency > 0 &&
                 o.worker_lock_timeout_ms >= kRelayMinLockMs;
  if (const char* v = std::getenv("DUROXIDE_COMPLETION_RELAY")) {
    const std::string s(v);
    if (s == "off" || s == "0") enabled = false;
  }
  int64_t hold_ms = 0;
  if (const char* v = std::getenv("DUROXIDE_TEST_RELAY_HOLD_MS")) hold_ms = std::atoll(v);
  core->relay.Configure(enabled, std::max<int64_t>(hold_ms, 0));
}

std::vector<providers::WorkAck> RelayAcks(RuntimeCore* core, std::vector<providers::WorkAck> acks,
                                          std::vector<const history::WorkItem*>* tasks) {
  if (acks.empty() || !core->relay.enabled() || core->Quitting()) return acks;
  const int64_t now = NowMs();
  std::vector<CompletionRelay::Item> items;
  std::vector<providers::WorkAck> own;
  std::vector<const history::WorkItem*> own_tasks;
  items.reserve(acks.size());
  for (size_t i = 0; i < acks.size(); ++i) {
    const history::WorkItem* task = (*tasks)[i];
    if (!task->limit.empty()) {  // see the header: limited activities are acked by the worker
      own.push_back(std::move(acks[i]));
      own_tasks.push_back(task);
      continue;
    }
    items.push_back({std::move(acks[i]), task->instance, task->name, now});
  }
  *tasks = std::move(own_tasks);
  if (items.empty()) return own;
  core->relay.Push(std::move(items));
  // One dispatcher is enough: it takes everything relayed. An awake dispatcher takes the
  // items at its next store call (change_signal.h: Notify(1) wakes none while one is awake).
  core->provider->orchestrator_signal().Notify(1);
  return own;
}

void AckRelayedDirectly(RuntimeCore* core, std::vector<CompletionRelay::Item> items) {
  if (items.empty()) return;
  std::vector<providers::WorkAck> acks;
  acks.reserve(items.size());
  for (const CompletionRelay::Item& item : items) acks.push_back(item.ack);
  std::vector<Status> acked =
      WhileBlocking([&] { return core->provider->AckWorkItemsAndFetch(acks, nullptr); });
  SettleRelayed(core, items, acked);
}

void SettleRelayed(RuntimeCore* core, const std::vector<CompletionRelay::Item>& items,
                   const std::vector<Status>& acked) {
  for (size_t i = 0; i < items.size() && i < acked.size(); ++i) {
    ReportWorkAck(core, acked[i], items[i].instance, items[i].activity_name,
                  items[i].ack.lock_token);
  }
}

void ReportWorkAck(RuntimeCore* core, const Status& st, const std::string& instance,
                   const std::string& activity_name, const std::string& lock_token) {
  if (st.ok()) return;
  // The row is gone (cancelled or redelivered after lock expiry): the result is not needed.
  if (st.code() != StatusCode::kFailedPrecondition) core->metrics.activity_infra_errors++;
  if (IsStorageFault(st)) {
    // Not the activity's fault: hand it back now, without counting the delivery toward the
    // poison limit, so that a failing disk or a restarting server cannot poison instances.
    // The activity runs again (at least once).
    core->metrics.provider_errors++;
    AbandonWithRetry([&] {
      return core->provider->AbandonWorkItem(lock_token, 100, /*ignore_attempt=*/true);
    });
  }
  Log(LogLevel::kDebug, "duroxide::runtime", "activity result discarded: " + st.ToString(),
      {{"instance_id", instance}, {"activity_name", activity_name}});
}

}  // namespace duroxide::runtime
