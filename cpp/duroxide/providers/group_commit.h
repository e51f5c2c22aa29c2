// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Group commit: the one engine both providers use (internal to providers/). Write operations
// that arrive while another group runs are queued; the caller whose operation finds no group
// running (or fewer than GroupCommitPolicy::max_groups) becomes the leader, runs a batch of
// queued tasks in ONE transaction and commits once, so one WAL flush / fsync serves all of
// them. The others wait until the COMMIT that contains their work has returned: every caller
// still returns only after its change is durable.
//
// Isolation of failures: a batch first runs without savepoints (a savepoint costs SQLite a
// statement journal and PostgreSQL a subtransaction). If a task fails, the transaction is
// rolled back and the batch runs again with a savepoint per task, so a failing task is undone
// alone and the others commit. Tasks therefore MUST be safe to run twice (reset their outputs
// at the start) and MUST NOT commit, roll back or use savepoints themselves. A lone task needs
// no savepoint: if it fails, its whole transaction is rolled back.
//
// What differs between the providers is a parameter, not a second copy:
// - GroupCommitPolicy: how the leader picks a batch (bounded, single operations first, or the
//   whole queue) and how many groups may run at once;
// - GroupTxn<Fn>: how a transaction, a savepoint and a task run on that store.
//
// Lock order: the queue mutex is never held while a group runs.
// Thread-safety: thread-safe.
#ifndef DUROXIDE_PROVIDERS_GROUP_COMMIT_H_
#define DUROXIDE_PROVIDERS_GROUP_COMMIT_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "duroxide/common/status.h"

namespace duroxide::providers::store {

// How the leader forms batches. Default: the whole queue, one group at a time.
struct GroupCommitPolicy {
  // Tasks per transaction, not counting a submission that is larger on its own. 0: unbounded.
  size_t max_batch_tasks = 0;
  // With a bound: queued single operations (a client's start, an event, a hand-back) go first,
  // up to half the budget, before multi-operation submissions (a dispatcher's acknowledgements
  // with its next fetch); their callers wait for exactly this batch.
  bool singles_first = false;
  // Groups running at once (each on its own connection, where the store has several).
  int max_groups = 1;
  // false: every submission runs in a transaction of its own (for A/B measurements).
  bool enabled = true;
};

// One transaction of a group as a store runs it: the engine's only view of the store. An
// object serves one group (Begin may be called again after Rollback, for the savepoint pass).
template <typename Fn>
class GroupTxn {
 public:
  virtual ~GroupTxn() = default;
  // Starts a transaction. `durable` false: every task of the group only takes locks, so the
  // store may commit without waiting for the flush (see pg_group_commit.h).
  virtual Status Begin(const char* op, bool durable) = 0;
  virtual Status Savepoint(const char* op) = 0;
  // Undoes the current savepoint's writes (ROLLBACK TO) when `undo`, then releases it.
  virtual Status EndSavepoint(const char* op, bool undo) = 0;
  // Runs one task; exceptions become its Status.
  virtual Status RunTask(const Fn& fn, const char* op) = 0;
  virtual Status Commit(const char* op) = 0;
  // Ends the transaction without keeping anything. Never fails.
  virtual void Rollback() = 0;
  // Not OK once the connection itself failed: the transaction cannot go on, and every task of
  // the group fails with this status.
  virtual Status broken() const { return Status::Ok(); }
};

template <typename Fn>
class GroupCommitEngine {
 public:
  struct Op {
    const char* name;
    const Fn* fn;
    bool durable = true;  // false: the task only takes locks
  };
  // Makes the transaction object for one group; called by the leader, outside the queue mutex.
  using TxnFactory = std::function<std::unique_ptr<GroupTxn<Fn>>()>;

  GroupCommitEngine(GroupCommitPolicy policy, TxnFactory factory)
      : policy_(policy), factory_(std::move(factory)) {}

  // Runs `ops`, in this order, inside one shared transaction (each isolated as described
  // above). Returns one Status per op: the task's, or the transaction's if BEGIN or COMMIT
  // failed (then nothing of the task was kept).
  std::vector<Status> RunAll(const std::vector<Op>& ops) {
    std::vector<Task> tasks;
    tasks.reserve(ops.size());
    for (const Op& o : ops) tasks.push_back(Task{o.fn, o.name, o.durable, Status(), false});
    std::vector<Task*> ptrs;
    ptrs.reserve(tasks.size());
    for (Task& t : tasks) ptrs.push_back(&t);
    if (!ptrs.empty()) Submit(ptrs);
    std::vector<Status> out;
    out.reserve(tasks.size());
    for (Task& t : tasks) out.push_back(std::move(t.result));
    return out;
  }
  Status Run(const char* name, const Fn& fn, bool durable = true) {
    Task task{&fn, name, durable, Status(), false};
    Submit({&task});
    return task.result;
  }

  // Counters (tests, benchmarks): transactions run, tasks run in them, batches that had to run
  // again with savepoints because a task failed.
  int64_t groups() const { return groups_.load(); }
  int64_t tasks() const { return tasks_.load(); }
  int64_t savepoint_reruns() const { return savepoint_reruns_.load(); }

 private:
  struct Task {
    const Fn* fn;
    const char* op;
    bool durable;
    Status result;
    bool done = false;
  };
  using Submission = std::vector<Task*>;

  // Queues `tasks` (together, so they share a batch) and returns when all are done.
  void Submit(const Submission& tasks) {
    if (!policy_.enabled) {
      Execute(tasks);
      return;
    }
    auto all_done = [&] {
      return std::all_of(tasks.begin(), tasks.end(), [](const Task* t) { return t->done; });
    };
    std::unique_lock<std::mutex> lock(queue_mu_);
    queue_.push_back(tasks);
    while (!all_done()) {
      // This caller's tasks are either still queued (then lead, if a group may start) or in a
      // running group (then wait for it).
      if (running_ >= policy_.max_groups || queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      ++running_;
      Submission batch = NextBatch();
      lock.unlock();
      Execute(batch);
      lock.lock();
      for (Task* t : batch) t->done = true;
      --running_;
      cv_.notify_all();
    }
  }

  // The next batch under the policy. REQUIRES: queue_mu_ held, queue_ not empty.
  Submission NextBatch() {
    Submission batch;
    const size_t budget = policy_.max_batch_tasks;
    if (budget == 0) {
      for (auto& entry : queue_) batch.insert(batch.end(), entry.begin(), entry.end());
      queue_.clear();
      return batch;
    }
    if (policy_.singles_first) {
      for (auto it = queue_.begin(); it != queue_.end() && batch.size() < budget / 2;) {
        if (it->size() != 1) {
          ++it;
          continue;
        }
        batch.push_back(it->front());
        it = queue_.erase(it);
      }
    }
    // Then submissions in arrival order within the budget, always at least one, so neither
    // kind can starve the other.
    bool took_one = false;
    while (!queue_.empty() && (!took_one || batch.size() + queue_.front().size() <= budget)) {
      batch.insert(batch.end(), queue_.front().begin(), queue_.front().end());
      queue_.pop_front();
      took_one = true;
    }
    return batch;
  }

  void Execute(const Submission& batch) {
    tasks_ += static_cast<int64_t>(batch.size());
    std::unique_ptr<GroupTxn<Fn>> txn = factory_();
    if (batch.size() == 1) {
      Attempt(txn.get(), batch, /*savepoints=*/false, /*last=*/true);
      return;
    }
    if (Attempt(txn.get(), batch, /*savepoints=*/false, /*last=*/false)) return;
    savepoint_reruns_++;
    Attempt(txn.get(), batch, /*savepoints=*/true, /*last=*/true);
  }

  static void FailAll(const Submission& batch, const Status& st, bool only_ok) {
    for (Task* t : batch) {
      if (!only_ok || t->result.ok()) t->result = Status(st.code(), t->op, st.message());
    }
  }

  // One pass over the batch in one transaction. Returns false (everything rolled back) when
  // the pass must be repeated with savepoints: a task failed, or BEGIN failed, on a pass that
  // is not the `last`. Otherwise every task has its final result.
  bool Attempt(GroupTxn<Fn>* txn, const Submission& batch, bool savepoints, bool last) {
    groups_++;
    const bool durable =
        std::any_of(batch.begin(), batch.end(), [](const Task* t) { return t->durable; });
    Status begin = txn->Begin(batch.front()->op, durable);
    if (!begin.ok()) {
      if (!last) return false;
      FailAll(batch, begin, /*only_ok=*/false);
      return true;
    }
    bool any_ok = false;
    for (Task* t : batch) {
      t->result = RunOne(txn, t, savepoints);
      if (!txn->broken().ok()) {
        txn->Rollback();
        FailAll(batch, txn->broken(), /*only_ok=*/false);
        return true;
      }
      if (!t->result.ok() && !savepoints && !last) {
        txn->Rollback();  // whatever the failed task wrote must go, and only that
        return false;
      }
      any_ok = any_ok || t->result.ok();
    }
    if (!any_ok) {
      txn->Rollback();  // nothing to keep
      return true;
    }
    Status commit = txn->Commit(batch.front()->op);
    if (!commit.ok()) {
      txn->Rollback();
      // Before COMMIT nothing was kept; a failed COMMIT fails the tasks that had succeeded.
      FailAll(batch, txn->broken().ok() ? commit : txn->broken(), /*only_ok=*/true);
    }
    return true;
  }

  // Runs one task, inside its own savepoint when `savepoints`.
  static Status RunOne(GroupTxn<Fn>* txn, Task* t, bool savepoints) {
    if (savepoints) {
      Status sp = txn->Savepoint(t->op);
      if (!sp.ok()) return sp;
    }
    Status result = txn->RunTask(*t->fn, t->op);
    if (savepoints && txn->broken().ok()) {
      Status end = txn->EndSavepoint(t->op, /*undo=*/!result.ok());
      if (!end.ok() && result.ok()) result = end;
    }
    return result;
  }

  const GroupCommitPolicy policy_;
  const TxnFactory factory_;
  std::mutex queue_mu_;
  std::condition_variable cv_;
  std::deque<Submission> queue_;  // GUARDED_BY(queue_mu_): one entry per Submit
  int running_ = 0;               // GUARDED_BY(queue_mu_)
  std::atomic<int64_t> groups_{0};
  std::atomic<int64_t> tasks_{0};
  std::atomic<int64_t> savepoint_reruns_{0};
};

}  // namespace duroxide::providers::store

#endif  // DUROXIDE_PROVIDERS_GROUP_COMMIT_H_
