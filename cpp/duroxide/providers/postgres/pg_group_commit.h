// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Group commit for the PostgreSQL provider (internal to providers/postgres/). The hot-path
// operations of every dispatcher thread of one provider object (turn acks, activity acks and
// the fetches that follow them, lone fetches) are queued; the caller that finds no group
// running becomes the leader, runs every queued task in ONE transaction on one pooled
// connection and commits once, so one WAL flush serves all of them. The others wait until the
// COMMIT that contains their work has returned: every caller still returns only after its
// change is durable (synchronous_commit as configured on the server).
//
// Isolation of failures: the group first runs without savepoints. If a task throws or returns
// an error, the transaction is rolled back and the group runs again with a SAVEPOINT per task,
// so a failing task is undone alone and the others commit. Tasks therefore MUST be safe to run
// twice (reset their outputs at the start) and MUST NOT commit, roll back or use savepoints
// themselves.
//
// Lock-only groups. A task is marked durable = false when all it writes is a lock (instance
// lock rows, worker-row lock tokens, attempt counts): a fetch that does not ride in an ack's
// transaction. A group made only of such tasks commits with SET LOCAL synchronous_commit = off
// (no WAL flush wait). This is safe: losing such a commit in a server crash only makes the
// items fetchable again (their lock and attempt bump vanish), which is exactly what a crash
// does to a committed lock anyway, since lock holders die or time out; an acknowledgement
// that relies on a lost lock finds no row with its token and fails with kFailedPrecondition
// (dx_ack_orchestration / the worker ack statements check the token). And any later
// synchronous commit - the ack that uses the lock - flushes the WAL up to and including the
// lock's commit record, so nothing durable ever depends on an unflushed lock. A group that
// contains any durable task commits synchronously as a whole.
//
// Thread-safety: thread-safe. At most max_groups groups run at a time, each on its own pooled
// connection; the queue mutex is never held while a group runs.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_PG_GROUP_COMMIT_H_
#define DUROXIDE_PROVIDERS_POSTGRES_PG_GROUP_COMMIT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "duroxide/common/status.h"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace duroxide::providers::postgres::internal {

class PgPool;

class PgGroupCommit {
 public:
  using Fn = std::function<Status(pqxx::transaction_base&)>;
  struct Op {
    const char* name;
    const Fn* fn;
    bool durable = true;  // false: the task only takes locks (see the file comment)
  };

  // `pool` outlives this object. DUROXIDE_PG_GROUP_COMMIT=off runs every operation in its
  // own transaction (for A/B measurements); DUROXIDE_PG_GROUPS=<n> sets max_groups.
  explicit PgGroupCommit(PgPool* pool);

  // Runs `ops`, in this order, inside one shared transaction (each isolated as described
  // above), e.g. acknowledgements followed by the fetch of the next items. Returns one Status
  // per op: the task's, or the transaction's if BEGIN or COMMIT failed (then nothing of the
  // task was kept; kDataLoss when the COMMIT's outcome is unknown).
  std::vector<Status> RunAll(const std::vector<Op>& ops);
  Status Run(const char* name, const Fn& fn, bool durable);

  // Counters (tests, benchmarks): transactions committed or rolled back, tasks run, groups
  // that had to run again with savepoints.
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
  void Submit(const std::vector<Task*>& tasks);
  void Execute(const std::vector<Task*>& batch);
  // One attempt at the whole batch in one transaction. Without savepoints returns false
  // (everything rolled back) as soon as a task fails; with savepoints every task gets its own
  // result. Connection-level failures set every task's result and return true.
  bool Attempt(const std::vector<Task*>& batch, bool savepoints);

  PgPool* pool_;
  bool enabled_ = true;
  int max_groups_ = 1;
  std::mutex queue_mu_;
  std::condition_variable cv_;
  std::deque<Task*> queue_;  // GUARDED_BY(queue_mu_)
  int running_ = 0;          // GUARDED_BY(queue_mu_)
  std::atomic<int64_t> groups_{0};
  std::atomic<int64_t> tasks_{0};
  std::atomic<int64_t> savepoint_reruns_{0};
};

}  // namespace duroxide::providers::postgres::internal

#endif  // DUROXIDE_PROVIDERS_POSTGRES_PG_GROUP_COMMIT_H_
