// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/dispatcher_pool.h"

#include <chrono>

namespace duroxide::runtime {

void DispatcherPool::Init(int max, bool adaptive) {
  std::lock_guard<std::mutex> lock(mu_);
  max_ = max > 0 ? max : 0;
  target_ = adaptive ? floor() : max_;
  last_full_.assign(static_cast<size_t>(max_), 0);
  in_batch_.assign(static_cast<size_t>(max_), 0);
}

void DispatcherPool::Enter(const std::function<bool()>& quitting) {
  std::unique_lock<std::mutex> lock(mu_);
  ParkLocked(lock, quitting);
}

void DispatcherPool::ParkLocked(std::unique_lock<std::mutex>& lock,
                                const std::function<bool()>& quitting) {
  while (running_.load() >= target_ && !quitting()) {
    cv_.wait_for(lock, std::chrono::milliseconds(kParkPollMs));
  }
  running_.fetch_add(1);
}

void DispatcherPool::GrowLocked() {
  // running_ < target_: a thread was already woken and has not started yet; one at a time.
  if (target_ >= max_ || running_.load() < target_) return;
  ++target_;
  added_.fetch_add(1);
  cv_.notify_one();
}

void DispatcherPool::AfterFetch(int slot, bool full) {
  if (slot < 0 || slot >= max_) return;
  std::lock_guard<std::mutex> lock(mu_);
  char& mine = last_full_[static_cast<size_t>(slot)];
  if (mine != static_cast<char>(full)) {
    full_ += full ? 1 : -1;
    mine = static_cast<char>(full);
  }
  if (full && full_ >= running_.load()) GrowLocked();
}

void DispatcherPool::BeginBusy(int slot) {
  if (slot < 0 || slot >= max_) return;
  std::lock_guard<std::mutex> lock(mu_);
  char& mine = in_batch_[static_cast<size_t>(slot)];
  if (!mine) {
    mine = 1;
    ++busy_;
  }
  if (busy_ >= running_.load()) GrowLocked();
}

void DispatcherPool::EndBusy(int slot) {
  if (slot < 0 || slot >= max_) return;
  std::lock_guard<std::mutex> lock(mu_);
  char& mine = in_batch_[static_cast<size_t>(slot)];
  if (mine) {
    mine = 0;
    --busy_;
  }
}

bool DispatcherPool::RetireAndPark(int slot, const std::function<bool()>& quitting) {
  std::unique_lock<std::mutex> lock(mu_);
  // kMinRunning stay; so does every one while a woken one has not started; so does the last
  // running slot that is not inside a batch: with every other one blocked in a long activity,
  // nothing else would fetch new work (growth happens only when a slot starts a batch or a
  // fetch comes back full).
  if (running_.load() <= floor() || running_.load() != target_ || quitting()) return false;
  if (running_.load() - busy_ <= 1) return false;
  --target_;
  running_.fetch_sub(1);
  retired_.fetch_add(1);
  if (slot >= 0 && slot < max_) {
    char& full = last_full_[static_cast<size_t>(slot)];
    if (full) --full_;
    full = 0;
    char& busy = in_batch_[static_cast<size_t>(slot)];
    if (busy) --busy_;
    busy = 0;
  }
  ParkLocked(lock, quitting);
  return true;
}

void DispatcherPool::WakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

}  // namespace duroxide::runtime
