// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/sqlite/sqlite_group_commit.h"

#include <cstdlib>

#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite::internal {

Status GroupCommit::Run(const char* op, const std::function<Status()>& fn) {
  Task task{&fn, op, Status(), false};
  static const bool disabled = std::getenv("DUROXIDE_SQLITE_NO_GROUP_COMMIT") != nullptr;
  if (disabled) {  // one transaction per operation (for measurements)
    Execute({&task});
    return task.result;
  }
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_.push_back(&task);
  while (!task.done) {
    if (leader_active_) {
      cv_.wait(lock);
      continue;
    }
    leader_active_ = true;
    std::vector<Task*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    Execute(batch);
    lock.lock();
    for (Task* t : batch) t->done = true;
    leader_active_ = false;
    cv_.notify_all();
  }
  return task.result;
}

void GroupCommit::Execute(const std::vector<Task*>& batch) {
  std::lock_guard<std::mutex> db_lock(*db_mu_);
  if (batch.size() > max_batch_) max_batch_ = batch.size();
  Status begin = Guarded("begin", [&]() -> Status {
    db_->exec("BEGIN IMMEDIATE");
    return Status::Ok();
  });
  if (!begin.ok()) {
    for (Task* t : batch) t->result = Status(begin.code(), t->op, begin.message());
    return;
  }
  for (Task* t : batch) {
    Status sp = Guarded(t->op, [&]() -> Status {
      db_->exec("SAVEPOINT op");
      return Status::Ok();
    });
    if (!sp.ok()) {
      t->result = sp;
      continue;
    }
    t->result = Guarded(t->op, [&]() -> Status { return (*t->fn)(); });
    Status end = Guarded(t->op, [&]() -> Status {
      if (!t->result.ok()) db_->exec("ROLLBACK TO op");
      db_->exec("RELEASE op");
      return Status::Ok();
    });
    if (!end.ok() && t->result.ok()) t->result = end;
  }
  Status commit = Guarded("commit", [&]() -> Status {
    db_->exec("COMMIT");
    return Status::Ok();
  });
  if (!commit.ok()) {
    (void)Guarded("rollback", [&]() -> Status {
      db_->exec("ROLLBACK");
      return Status::Ok();
    });
    for (Task* t : batch) {
      if (t->result.ok()) t->result = Status(commit.code(), t->op, commit.message());
    }
  }
}

}  // namespace duroxide::providers::sqlite::internal
