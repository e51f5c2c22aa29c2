// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Group commit for the PostgreSQL provider (internal to providers/postgres/): the shared
// engine (providers/group_commit.h) over one pooled connection per group, SAVEPOINT dx_task per
// task on the savepoint pass. The hot-path operations of every dispatcher thread of one
// provider object (turn acks, activity acks and the fetches that follow them, lone fetches) are
// queued and the leader runs every queued task (policy: unbounded batch) in one transaction,
// so one WAL flush serves all of them (synchronous_commit as configured on the server).
// DUROXIDE_PG_GROUP_COMMIT=off runs each submission alone and DUROXIDE_PG_GROUPS=<n> lets n
// groups run at once (for A/B measurements; read once, at construction).
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

#include <cstdint>
#include <functional>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/group_commit.h"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace duroxide::providers::postgres::internal {

class PgPool;

class PgGroupCommit {
 public:
  using Fn = std::function<Status(pqxx::transaction_base&)>;
  using Op = store::GroupCommitEngine<Fn>::Op;

  // `pool` outlives this object.
  explicit PgGroupCommit(PgPool* pool);

  // Runs `ops`, in this order, inside one shared transaction (group_commit.h), e.g.
  // acknowledgements followed by the fetch of the next items. Returns one Status per op: the
  // task's, or the transaction's if BEGIN or COMMIT failed (then nothing of the task was kept;
  // kDataLoss when the COMMIT's outcome is unknown).
  std::vector<Status> RunAll(const std::vector<Op>& ops) { return engine_.RunAll(ops); }
  Status Run(const char* name, const Fn& fn, bool durable) {
    return engine_.Run(name, fn, durable);
  }

  // Counters (tests, benchmarks): transactions committed or rolled back, tasks run, groups
  // that had to run again with savepoints.
  int64_t groups() const { return engine_.groups(); }
  int64_t tasks() const { return engine_.tasks(); }
  int64_t savepoint_reruns() const { return engine_.savepoint_reruns(); }

 private:
  store::GroupCommitEngine<Fn> engine_;
};

}  // namespace duroxide::providers::postgres::internal

#endif  // DUROXIDE_PROVIDERS_POSTGRES_PG_GROUP_COMMIT_H_
