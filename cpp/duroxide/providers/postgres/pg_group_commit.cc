// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/postgres/pg_group_commit.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include <pqxx/transaction>

#include "duroxide/providers/postgres/pg_errors.h"
#include "duroxide/providers/postgres/pg_pool.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres::internal {

PgGroupCommit::PgGroupCommit(PgPool* pool) : pool_(pool) {
  if (const char* v = std::getenv("DUROXIDE_PG_GROUP_COMMIT")) {
    enabled_ = std::string(v) != "off" && std::string(v) != "0";
  }
  if (const char* v = std::getenv("DUROXIDE_PG_GROUPS")) max_groups_ = std::max(1, std::atoi(v));
}

Status PgGroupCommit::Run(const char* name, const Fn& fn, bool durable) {
  Task task{&fn, name, durable, Status(), false};
  Submit({&task});
  return task.result;
}

std::vector<Status> PgGroupCommit::RunAll(const std::vector<Op>& ops) {
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

void PgGroupCommit::Submit(const std::vector<Task*>& tasks) {
  if (!enabled_) {  // the caller's operations in one transaction of their own
    Execute(tasks);
    return;
  }
  auto all_done = [&] {
    for (const Task* t : tasks) {
      if (!t->done) return false;
    }
    return true;
  };
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (Task* t : tasks) queue_.push_back(t);
  while (!all_done()) {
    // Queued tasks of this caller are either still in the queue (then lead, if a group may
    // start) or in a running group (then wait for it).
    if (running_ >= max_groups_ || queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    ++running_;
    std::vector<Task*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    Execute(batch);
    lock.lock();
    for (Task* t : batch) t->done = true;
    --running_;
    cv_.notify_all();
  }
}

void PgGroupCommit::Execute(const std::vector<Task*>& batch) {
  groups_++;
  tasks_ += static_cast<int64_t>(batch.size());
  // A lone task needs no savepoint: if it fails, its whole transaction is rolled back.
  if (Attempt(batch, /*savepoints=*/false) || batch.size() == 1) return;
  savepoint_reruns_++;
  groups_++;
  Attempt(batch, /*savepoints=*/true);
}

bool PgGroupCommit::Attempt(const std::vector<Task*>& batch, bool savepoints) {
  auto fail_all = [&](const Status& st, bool only_ok) {
    for (Task* t : batch) {
      if (!only_ok || t->result.ok()) t->result = Status(st.code(), t->op, st.message());
    }
  };
  Result<PgPool::Lease> lease = pool_->Acquire(batch.front()->op);
  if (!lease.ok()) {
    fail_all(lease.status(), false);
    return true;
  }
  const bool durable = std::any_of(batch.begin(), batch.end(), [](const Task* t) {
    return t->durable;
  });
  bool committing = false;
  try {
    pqxx::work tx(lease->conn());
    // Lock-only group: see "Lock-only groups" in pg_group_commit.h.
    if (!durable) tx.exec0("SET LOCAL synchronous_commit = off");
    bool any_ok = false;
    for (Task* t : batch) {
      t->result = Status();
      if (savepoints) tx.exec0("SAVEPOINT dx_task");
      try {
        t->result = (*t->fn)(tx);
      } catch (const DataLossError& e) {
        t->result = Status::DataLoss(t->op, e.what());
      } catch (const std::exception& e) {
        if (IsConnectionLost(e)) throw;
        t->result = StatusFromPgException(e, t->op);
      }
      if (!t->result.ok()) {
        if (!savepoints) return false;  // tx's destructor rolls everything back
        tx.exec0("ROLLBACK TO SAVEPOINT dx_task");
      }
      if (savepoints) tx.exec0("RELEASE SAVEPOINT dx_task");
      any_ok = any_ok || t->result.ok();
    }
    if (!any_ok) return true;  // nothing to keep: rolled back by tx's destructor
    committing = true;
    tx.commit();
  } catch (const std::exception& e) {
    if (IsConnectionLost(e) || !lease->conn().is_open()) lease->MarkBroken();
    // Before COMMIT nothing was kept; a failed COMMIT fails the tasks that had succeeded.
    fail_all(StatusFromPgException(e, batch.front()->op), committing);
  }
  return true;
}

}  // namespace duroxide::providers::postgres::internal
