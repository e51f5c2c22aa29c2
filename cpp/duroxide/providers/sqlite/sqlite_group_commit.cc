// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/sqlite/sqlite_group_commit.h"

#include <cstdlib>

#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite::internal {

namespace {

store::GroupCommitPolicy SqlitePolicy(size_t max_batch_tasks) {
  store::GroupCommitPolicy policy;
  policy.max_batch_tasks = max_batch_tasks;
  policy.singles_first = true;
  policy.max_groups = 1;  // one connection
  // For measurements (docs/performance.md): one unbounded batch in arrival order, or none.
  if (std::getenv("DUROXIDE_SQLITE_UNBOUNDED_BATCH") != nullptr) policy.max_batch_tasks = 0;
  if (std::getenv("DUROXIDE_SQLITE_NO_GROUP_COMMIT") != nullptr) policy.enabled = false;
  return policy;
}

}  // namespace

// One group on the provider's connection: holds the connection mutex for the group's life.
class SqliteGroupTxn : public store::GroupTxn<GroupCommit::Fn> {
 public:
  explicit SqliteGroupTxn(GroupCommit* owner) : owner_(owner), lock_(*owner->db_mu_) {}

  Status Begin(const char* /*op*/, bool /*durable*/) override {
    return Do("begin", GroupCommit::kBegin);
  }
  Status Savepoint(const char* op) override { return Do(op, GroupCommit::kSavepoint); }
  Status EndSavepoint(const char* op, bool undo) override {
    return Guarded(op, [&]() -> Status {
      if (undo) owner_->Step(GroupCommit::kRollbackTo);
      owner_->Step(GroupCommit::kRelease);
      return Status::Ok();
    });
  }
  Status RunTask(const GroupCommit::Fn& fn, const char* op) override {
    return Guarded(op, [&]() -> Status { return fn(); });
  }
  Status Commit(const char* /*op*/) override { return Do("commit", GroupCommit::kCommit); }
  void Rollback() override { (void)Do("rollback", GroupCommit::kRollback); }

 private:
  Status Do(const char* op, GroupCommit::TxnStep step) {
    return Guarded(op, [&]() -> Status {
      owner_->Step(step);
      return Status::Ok();
    });
  }
  GroupCommit* owner_;
  std::lock_guard<std::mutex> lock_;
};

GroupCommit::GroupCommit(std::mutex* db_mu, SQLite::Database* db)
    : db_mu_(db_mu),
      db_(db),
      engine_(SqlitePolicy(kMaxBatchTasks),
              [this] { return std::make_unique<SqliteGroupTxn>(this); }) {}

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

}  // namespace duroxide::providers::sqlite::internal
