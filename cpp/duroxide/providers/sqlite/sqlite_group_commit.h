// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Group commit for the SQLite provider (internal to providers/sqlite/). Write operations that
// arrive while another one is running are executed together inside one BEGIN IMMEDIATE ...
// COMMIT. The caller whose operation finds no batch running becomes the leader and runs the
// whole queue; the others wait until the COMMIT that contains their work is done, so every
// caller still returns only after its change is durable. A failing operation is rolled back
// alone: the batch first runs without savepoints and, if an operation fails, runs again with a
// SAVEPOINT per operation. Fewer commits means fewer WAL frames and fsync points per unit of
// work.
//
// A transaction is bounded (kMaxBatchTasks) and single operations (Run: a client's start, an
// event, a hand-back) go before multi-operation submissions (RunAll: a dispatcher's
// acknowledgements with its next fetch). Without that, many dispatchers make one huge
// transaction that every caller waits for, and a client's start, which waits for one batch to
// finish and then for its own, gets slower with every slot added.
//
// Lock order: the queue mutex is never held while the connection mutex is.
// Thread-safety: thread-safe.
#ifndef DUROXIDE_PROVIDERS_SQLITE_SQLITE_GROUP_COMMIT_H_
#define DUROXIDE_PROVIDERS_SQLITE_SQLITE_GROUP_COMMIT_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "duroxide/common/status.h"

namespace duroxide::providers::sqlite::internal {

class GroupCommit {
 public:
  // The statements and `db_mu` belong to the provider and outlive this object.
  GroupCommit(std::mutex* db_mu, SQLite::Database* db) : db_mu_(db_mu), db_(db) {}

  // Runs `task` inside a shared transaction, isolated from the other tasks in it: a failing
  // task's writes are undone alone (see ExecuteOptimistically). `task` may run more than once
  // and must reset whatever it outputs. The returned Status is the task's, or the
  // transaction's if BEGIN or COMMIT failed (then nothing of the task was kept).
  Status Run(const char* op, const std::function<Status()>& task);

  // Runs several tasks, in this order, inside the same transaction (each in its own
  // savepoint), e.g. an acknowledgement followed by the fetch of the next item, so one commit
  // serves both. Returns one Status per task, as Run does.
  struct Op {
    const char* name;
    const std::function<Status()>* fn;
  };
  std::vector<Status> RunAll(const std::vector<Op>& ops);

  // How many batches had to run again with savepoints because a task failed (for tests).
  // REQUIRES: no batch running concurrently.
  size_t optimistic_retries() const { return optimistic_retries_; }

 private:
  struct Task {
    const std::function<Status()>* fn;
    const char* op;
    Status result;
    bool done = false;
  };
  // Operations per transaction, not counting a submission that is larger on its own.
  static constexpr size_t kMaxBatchTasks = 24;
  // Queues `tasks` (together, so they share a batch) and returns when all are done.
  void Submit(const std::vector<Task*>& tasks);
  // The next batch: queued single operations first, then whole submissions in arrival order
  // while the batch stays within kMaxBatchTasks (at least one). REQUIRES: queue_mu_ held.
  std::vector<Task*> NextBatch();
  void Execute(const std::vector<Task*>& batch);
  // Runs the batch in one transaction without savepoints (a savepoint makes SQLite copy every
  // page it dirties to a statement journal). If a task fails, rolls everything back and
  // returns false, and the batch runs again with a savepoint per task: failures are rare, and
  // tasks are written to be run again (they reset their outputs). REQUIRES: db_mu_ held.
  bool ExecuteOptimistically(const std::vector<Task*>& batch);
  void ExecuteWithSavepoints(const std::vector<Task*>& batch);
  // Transaction control through cached statements (prepared on first use). REQUIRES: db_mu_.
  enum TxnStep { kBegin, kSavepoint, kRollbackTo, kRelease, kCommit, kRollback, kCount };
  void Step(TxnStep which);

  std::mutex* db_mu_;
  SQLite::Database* db_;
  std::mutex queue_mu_;
  std::condition_variable cv_;
  std::deque<std::vector<Task*>> queue_;  // one entry per Submit
  bool leader_active_ = false;
  std::unique_ptr<SQLite::Statement> statements_[kCount];  // GUARDED_BY(*db_mu_)
  size_t optimistic_retries_ = 0;
};

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Runs `body` (returning Status or Result<T>) through `group`: inside a savepoint of a shared
// transaction, committed before this returns. An error result rolls back body's changes.
// REQUIRES: body uses the connection without taking the connection mutex itself.
template <typename F>
auto Batched(GroupCommit& group, const char* op, F&& body) -> decltype(body()) {
  using R = decltype(body());
  std::optional<R> out;
  const std::function<Status()> fn = [&]() -> Status {
    out.emplace(body());
    return StatusOf(*out);
  };
  Status st = group.Run(op, fn);
  if (!st.ok() || !out) return R(st.ok() ? Status::Internal(op, "no result") : st);
  return std::move(*out);
}

}  // namespace duroxide::providers::sqlite::internal

#endif  // DUROXIDE_PROVIDERS_SQLITE_SQLITE_GROUP_COMMIT_H_
