// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/sqlite/sqlite_group_commit.h"

#include <cstdlib>

#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite::internal {

Status GroupCommit::Run(const char* op, const std::function<Status()>& fn) {
  Task task{&fn, op, Status(), false};
  Submit({&task});
  return task.result;
}

std::vector<Status> GroupCommit::RunAll(const std::vector<Op>& ops) {
  std::vector<Task> tasks;
  tasks.reserve(ops.size());
  for (const Op& o : ops) tasks.push_back(Task{o.fn, o.name, Status(), false});
  std::vector<Task*> ptrs;
  for (Task& t : tasks) ptrs.push_back(&t);
  Submit(ptrs);
  std::vector<Status> out;
  for (Task& t : tasks) out.push_back(std::move(t.result));
  return out;
}

void GroupCommit::Submit(const std::vector<Task*>& tasks) {
  static const bool disabled = std::getenv("DUROXIDE_SQLITE_NO_GROUP_COMMIT") != nullptr;
  if (disabled) {  // one transaction per operation (for measurements)
    for (Task* t : tasks) Execute({t});
    return;
  }
  auto all_done = [&] {
    for (const Task* t : tasks) {
      if (!t->done) return false;
    }
    return true;
  };
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_.push_back(tasks);
  while (!all_done()) {
    if (leader_active_) {
      cv_.wait(lock);
      continue;
    }
    leader_active_ = true;
    std::vector<Task*> batch = NextBatch();
    lock.unlock();
    Execute(batch);
    lock.lock();
    for (Task* t : batch) t->done = true;
    leader_active_ = false;
    cv_.notify_all();
  }
}

std::vector<GroupCommit::Task*> GroupCommit::NextBatch() {
  std::vector<Task*> batch;
  // For measurements (docs/performance.md): one unbounded batch in arrival order, as before.
  static const bool unbounded = std::getenv("DUROXIDE_SQLITE_UNBOUNDED_BATCH") != nullptr;
  if (unbounded) {
    for (auto& entry : queue_) batch.insert(batch.end(), entry.begin(), entry.end());
    queue_.clear();
    return batch;
  }
  // Single operations first (up to half the budget): they are small, and their callers (often
  // an application thread) wait for exactly this batch.
  for (auto it = queue_.begin(); it != queue_.end() && batch.size() < kMaxBatchTasks / 2;) {
    if (it->size() == 1) {
      batch.push_back(it->front());
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  // Then submissions in arrival order within the budget, always at least one, so neither kind
  // can starve the other.
  bool took_one = false;
  while (!queue_.empty() &&
         (!took_one || batch.size() + queue_.front().size() <= kMaxBatchTasks)) {
    batch.insert(batch.end(), queue_.front().begin(), queue_.front().end());
    queue_.pop_front();
    took_one = true;
  }
  return batch;
}

void GroupCommit::Step(TxnStep which) {
  std::unique_ptr<SQLite::Statement>& st = statements_[which];
  if (!st) {
    static const char* const kSql[] = {"BEGIN IMMEDIATE", "SAVEPOINT op", "ROLLBACK TO op",
                                       "RELEASE op",      "COMMIT",       "ROLLBACK"};
    st = std::make_unique<SQLite::Statement>(*db_, kSql[which]);
  }
  if (which == kBegin) EndStaleTransaction(db_->getHandle());
  st->reset();
  st->exec();
}

void GroupCommit::Execute(const std::vector<Task*>& batch) {
  std::lock_guard<std::mutex> db_lock(*db_mu_);
  if (batch.size() > 1 && ExecuteOptimistically(batch)) return;
  ExecuteWithSavepoints(batch);
}

bool GroupCommit::ExecuteOptimistically(const std::vector<Task*>& batch) {
  Status begin = Guarded("begin", [&]() -> Status {
    Step(kBegin);
    return Status::Ok();
  });
  if (!begin.ok()) return false;
  for (Task* t : batch) {
    t->result = Guarded(t->op, [&]() -> Status { return (*t->fn)(); });
    if (!t->result.ok()) {
      // Whatever the failed task wrote must go, and only that: start over with savepoints.
      (void)Guarded("rollback", [&]() -> Status {
        Step(kRollback);
        return Status::Ok();
      });
      optimistic_retries_++;
      return false;
    }
  }
  Status commit = Guarded("commit", [&]() -> Status {
    Step(kCommit);
    return Status::Ok();
  });
  if (!commit.ok()) {
    (void)Guarded("rollback", [&]() -> Status {
      Step(kRollback);
      return Status::Ok();
    });
    for (Task* t : batch) t->result = Status(commit.code(), t->op, commit.message());
  }
  return true;
}

void GroupCommit::ExecuteWithSavepoints(const std::vector<Task*>& batch) {
  Status begin = Guarded("begin", [&]() -> Status {
    Step(kBegin);
    return Status::Ok();
  });
  if (!begin.ok()) {
    for (Task* t : batch) t->result = Status(begin.code(), t->op, begin.message());
    return;
  }
  // A lone task needs no savepoint: if it fails, the whole transaction is rolled back.
  const bool savepoints = batch.size() > 1;
  bool any_ok = false;
  for (Task* t : batch) {
    if (savepoints) {
      Status sp = Guarded(t->op, [&]() -> Status {
        Step(kSavepoint);
        return Status::Ok();
      });
      if (!sp.ok()) {
        t->result = sp;
        continue;
      }
    }
    t->result = Guarded(t->op, [&]() -> Status { return (*t->fn)(); });
    if (savepoints) {
      Status end = Guarded(t->op, [&]() -> Status {
        if (!t->result.ok()) Step(kRollbackTo);
        Step(kRelease);
        return Status::Ok();
      });
      if (!end.ok() && t->result.ok()) t->result = end;
    }
    any_ok = any_ok || t->result.ok();
  }
  if (!any_ok) {
    (void)Guarded("rollback", [&]() -> Status {
      Step(kRollback);
      return Status::Ok();
    });
    return;
  }
  Status commit = Guarded("commit", [&]() -> Status {
    Step(kCommit);
    return Status::Ok();
  });
  if (!commit.ok()) {
    (void)Guarded("rollback", [&]() -> Status {
      Step(kRollback);
      return Status::Ok();
    });
    for (Task* t : batch) {
      if (t->result.ok()) t->result = Status(commit.code(), t->op, commit.message());
    }
  }
}

}  // namespace duroxide::providers::sqlite::internal
