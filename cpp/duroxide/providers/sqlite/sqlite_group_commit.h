// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Group commit for the SQLite provider (internal to providers/sqlite/): the shared engine
// (providers/group_commit.h) over BEGIN IMMEDIATE ... COMMIT on the provider's one connection,
// with SAVEPOINT op per task on the savepoint pass. Fewer commits means fewer WAL frames and
// fsync points per unit of work.
//
// Policy: a transaction is bounded (kMaxBatchTasks) and single operations (Run: a client's
// start, an event, a hand-back) go before multi-operation submissions (RunAll: a dispatcher's
// acknowledgements with its next fetch). Without that, many dispatchers make one huge
// transaction that every caller waits for, and a client's start, which waits for one batch to
// finish and then for its own, gets slower with every slot added. One group at a time (one
// connection). For measurements: DUROXIDE_SQLITE_UNBOUNDED_BATCH (one unbounded batch in
// arrival order) and DUROXIDE_SQLITE_NO_GROUP_COMMIT (each submission alone), read once.
//
// Lock order: the engine's queue mutex is never held while the connection mutex is; a group
// holds the connection mutex for its whole run.
// Thread-safety: thread-safe.
#ifndef DUROXIDE_PROVIDERS_SQLITE_SQLITE_GROUP_COMMIT_H_
#define DUROXIDE_PROVIDERS_SQLITE_SQLITE_GROUP_COMMIT_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "duroxide/common/status.h"
#include "duroxide/providers/group_commit.h"

namespace duroxide::providers::sqlite::internal {

class GroupCommit {
 public:
  using Fn = std::function<Status()>;
  using Op = store::GroupCommitEngine<Fn>::Op;

  // The statements and `db_mu` belong to the provider and outlive this object.
  GroupCommit(std::mutex* db_mu, SQLite::Database* db);

  // Runs `task` inside a shared transaction, isolated from the other tasks in it (see
  // group_commit.h). `task` may run more than once and must reset whatever it outputs. The
  // returned Status is the task's, or the transaction's if BEGIN or COMMIT failed (then
  // nothing of the task was kept).
  Status Run(const char* op, const Fn& task) { return engine_.Run(op, task); }

  // Runs several tasks, in this order, inside the same transaction, e.g. an acknowledgement
  // followed by the fetch of the next item, so one commit serves both. One Status per task.
  std::vector<Status> RunAll(const std::vector<Op>& ops) { return engine_.RunAll(ops); }

  // How many batches had to run again with savepoints because a task failed (for tests).
  size_t optimistic_retries() const { return static_cast<size_t>(engine_.savepoint_reruns()); }

 private:
  friend class SqliteGroupTxn;
  // Operations per transaction, not counting a submission that is larger on its own.
  static constexpr size_t kMaxBatchTasks = 24;
  // Transaction control through cached statements (prepared on first use). REQUIRES: db_mu_.
  enum TxnStep { kBegin, kSavepoint, kRollbackTo, kRelease, kCommit, kRollback, kCount };
  void Step(TxnStep which);

  std::mutex* db_mu_;
  SQLite::Database* db_;
  std::unique_ptr<SQLite::Statement> statements_[kCount];  // GUARDED_BY(*db_mu_)
  store::GroupCommitEngine<Fn> engine_;  // last: its groups use the members above
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
