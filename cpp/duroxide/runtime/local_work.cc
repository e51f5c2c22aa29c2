// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/local_work.h"

#include <algorithm>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

size_t LocalWork::Reserve(size_t want, size_t slots) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t capacity = slots > busy_slots_ ? slots - busy_slots_ : 0;
  const size_t used = queue_.size() + reserved_;
  const size_t granted = used >= capacity ? 0 : std::min(want, capacity - used);
  reserved_ += granted;
  return granted;
}

void LocalWork::Unreserve(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_ -= std::min(n, reserved_);
}

void LocalWork::Push(std::vector<providers::WorkItemLease> leases, size_t reserved) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_ -= std::min(reserved, reserved_);
  for (auto& l : leases) queue_.push_back(std::move(l));
}

std::vector<providers::WorkItemLease> LocalWork::Take(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<providers::WorkItemLease> out;
  while (!queue_.empty() && out.size() < max) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (!out.empty()) ++busy_slots_;
  return out;
}

std::vector<providers::WorkItemLease> LocalWork::TakeSurplus(size_t slots) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t idle = slots > busy_slots_ ? slots - busy_slots_ : 0;
  std::vector<providers::WorkItemLease> out;
  while (queue_.size() > idle) {
    out.push_back(std::move(queue_.back()));
    queue_.pop_back();
  }
  return out;
}

void LocalWork::BeginBatch() {
  std::lock_guard<std::mutex> lock(mu_);
  ++busy_slots_;
}

void LocalWork::EndBatch() {
  std::lock_guard<std::mutex> lock(mu_);
  if (busy_slots_ > 0) --busy_slots_;
}

bool LocalWork::empty() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty();
}

namespace {

// True when a worker slot of this runtime would claim `w` from the store itself: no session
// (sessions are claimed by the fetch), no capability requirement or avoid list, a tag this
// runtime serves, and a registered activity.
bool RunsHere(const RuntimeCore& core, const history::WorkItem& w) {
  if (w.session_id) return false;
  // A limited activity must be claimed through the store, which counts it against its limit.
  if (!w.limit.empty()) return false;
  if (w.routing && (!w.routing->schema_hash.empty() || !w.routing->avoid.empty())) return false;
  if (!core.options.worker_tag_filter.Matches(w.tag)) return false;
  return core.activities->Has(w.name);
}

}  // namespace

size_t RequestLocalLeases(RuntimeCore* core, providers::TurnCommit* commit) {
  const RuntimeOptions& opt = core->options;
  if (!opt.activity_handoff || opt.worker_concurrency <= 0 || commit->worker_items.empty() ||
      core->Quitting()) {
    return 0;
  }
  std::vector<bool> wanted(commit->worker_items.size(), false);
  size_t count = 0;
  for (size_t i = 0; i < wanted.size(); ++i) {
    wanted[i] = RunsHere(*core, commit->worker_items[i]);
    count += wanted[i] ? 1 : 0;
  }
  if (count == 0) return 0;
  const size_t granted =
      core->local_work.Reserve(count, static_cast<size_t>(opt.worker_concurrency));
  if (granted == 0) return 0;
  // Fewer slots than items: the granted ones go to the highest priorities, in schedule order
  // within a priority (the claim order of providers/queue_order.h among rows of one commit).
  std::vector<bool> leased(wanted.size(), false);
  size_t left = granted;
  for (int64_t level = 9; level >= 0 && left > 0; --level) {
    for (size_t i = 0; i < wanted.size() && left > 0; ++i) {
      const int64_t p = commit->worker_items[i].priority;
      if (wanted[i] && !leased[i] && (p == level || (level == 0 && (p < 0 || p > 9)))) {
        leased[i] = true;
        --left;
      }
    }
  }
  wanted = std::move(leased);
  commit->lease_worker_items = std::move(wanted);
  commit->worker_lease_until_ms = NowMs() + opt.worker_lock_timeout_ms;
  return granted;
}

void AcceptLocalLeases(RuntimeCore* core, std::vector<providers::WorkItemLease> leases,
                       size_t reserved, bool acked) {
  if (reserved == 0) return;
  if (!acked || leases.empty()) {
    core->local_work.Unreserve(reserved);
    return;
  }
  const int64_t renew_at = NowMs() + core->options.worker_lock_timeout_ms / 2;
  for (const providers::WorkItemLease& l : leases) {
    LeaseTable::ActivityLease record;
    record.ref = {l.item.instance, l.item.execution_id, l.item.id};
    record.cancelled = std::make_shared<std::atomic<bool>>(false);
    record.next_renew_ms = renew_at;
    core->leases.AddActivity(l.lock_token, std::move(record));
  }
  const size_t n = leases.size();
  core->local_work.Push(std::move(leases), reserved);
  core->metrics.activity_handoffs += static_cast<int64_t>(n);
  ReturnLocalWork(core, /*surplus_only=*/true);
  core->provider->worker_signal().Notify(static_cast<int>(n));
}

void ReturnLocalWork(RuntimeCore* core, bool surplus_only) {
  std::vector<providers::WorkItemLease> leases;
  if (surplus_only) {
    leases = core->local_work.TakeSurplus(static_cast<size_t>(core->options.worker_concurrency));
  } else {
    leases = core->local_work.Take(SIZE_MAX);
    if (!leases.empty()) core->local_work.EndBatch();  // Take counted a batch: none runs
  }
  for (const providers::WorkItemLease& l : leases) {
    core->leases.RemoveActivity(l.lock_token);
    CountAbandonFailure(core, core->provider->AbandonWorkItem(l.lock_token, 0, true));
  }
}

}  // namespace duroxide::runtime
