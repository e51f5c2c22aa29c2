// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_ASYNC_COMPLETIONS_H_
#define DUROXIDE_RUNTIME_ASYNC_COMPLETIONS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "duroxide/history/work_item.h"
#include "duroxide/runtime/activity_invoker.h"

namespace duroxide::runtime {

// Outcomes of activities handed to an asynchronous executor (ActivityInvoker::Start), waiting
// for the runtime's completion thread to acknowledge them. Pushing never touches the store, so
// the executor (the Python event loop thread) never blocks on it; the completion thread takes
// everything queued at once and acknowledges it in one batch.
//
// Contract: `in_flight` counts activities handed off and not yet settled (acknowledged or
// handed back) by the completion thread, which keeps running while it is non-zero, so that a
// graceful shutdown waits for asynchronous activities as it waits for threads.
class AsyncCompletions {
 public:
  struct Item {
    history::WorkItem task;
    std::string lock_token;
    std::string worker_id;
    ActivityOutcome outcome;
    int64_t ran_us = 0;  // from the hand-off to the outcome (per-activity metrics)
  };

  void Push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

  // Waits up to `wait_ms` for outcomes and takes all of them.
  std::vector<Item> Take(int64_t wait_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return !items_.empty(); });
    std::vector<Item> out(std::make_move_iterator(items_.begin()),
                          std::make_move_iterator(items_.end()));
    items_.clear();
    return out;
  }

  void Wake() { cv_.notify_all(); }

  std::atomic<int64_t> in_flight{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
};

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_ASYNC_COMPLETIONS_H_
