// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/runtime/interpreter_lock.h"

#include <atomic>

namespace duroxide::runtime {

namespace {
std::atomic<InterpreterLock*> g_lock{nullptr};
thread_local bool t_batch_held = false;  // a BatchHold of this thread holds the lock now
}  // namespace

void InstallInterpreterLock(InterpreterLock* lock) { g_lock.store(lock); }

BatchHold::BatchHold(bool enabled) {
  InterpreterLock* lock = g_lock.load();
  if (!enabled || lock == nullptr || t_batch_held) return;
  held_ = lock->Acquire();
  t_batch_held = held_;
}

BatchHold::~BatchHold() {
  if (!held_) return;
  t_batch_held = false;
  g_lock.load()->Release();
}

BlockingSection::BlockingSection() {
  if (!t_batch_held) return;
  token_ = g_lock.load()->Suspend();
  suspended_ = true;
  t_batch_held = false;  // nested sections and user-code calls see a thread without the lock
}

BlockingSection::~BlockingSection() {
  if (!suspended_) return;
  g_lock.load()->Resume(token_);
  t_batch_held = true;
}

}  // namespace duroxide::runtime
