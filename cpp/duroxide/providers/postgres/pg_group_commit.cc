// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/postgres/pg_group_commit.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include <pqxx/transaction>

#include "duroxide/providers/postgres/pg_errors.h"
#include "duroxide/providers/postgres/pg_pool.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres::internal {

namespace {

store::GroupCommitPolicy PgPolicy() {
  store::GroupCommitPolicy policy;  // unbounded batches: every queued task
  if (const char* v = std::getenv("DUROXIDE_PG_GROUP_COMMIT")) {
    policy.enabled = std::string(v) != "off" && std::string(v) != "0";
  }
  if (const char* v = std::getenv("DUROXIDE_PG_GROUPS")) {
    policy.max_groups = std::max(1, std::atoi(v));
  }
  return policy;
}

// One group: a pooled connection and a pqxx transaction per pass. A failed control statement
// (BEGIN, SAVEPOINT, RELEASE, COMMIT) or a lost connection ends the group (broken()).
class PgGroupTxn : public store::GroupTxn<PgGroupCommit::Fn> {
 public:
  explicit PgGroupTxn(PgPool* pool) : pool_(pool) {}
  ~PgGroupTxn() override { Rollback(); }

  Status Begin(const char* op, bool durable) override {
    Rollback();
    broken_ = Status::Ok();
    Result<PgPool::Lease> lease = pool_->Acquire(op);
    if (!lease.ok()) return lease.status();
    lease_.emplace(std::move(*lease));
    try {
      tx_.emplace(lease_->conn());
      // Lock-only group: see "Lock-only groups" in pg_group_commit.h.
      if (!durable) tx_->exec0("SET LOCAL synchronous_commit = off");
    } catch (const std::exception& e) {
      return Fail(e, op);
    }
    return Status::Ok();
  }
  Status Savepoint(const char* op) override {
    return Exec(op, [&] { tx_->exec0("SAVEPOINT dx_task"); });
  }
  Status EndSavepoint(const char* op, bool undo) override {
    return Exec(op, [&] {
      if (undo) tx_->exec0("ROLLBACK TO SAVEPOINT dx_task");
      tx_->exec0("RELEASE SAVEPOINT dx_task");
    });
  }
  Status RunTask(const PgGroupCommit::Fn& fn, const char* op) override {
    try {
      return fn(*tx_);
    } catch (const DataLossError& e) {
      return Status::DataLoss(op, e.what());
    } catch (const std::exception& e) {
      if (IsConnectionLost(e)) return Fail(e, op);
      return StatusFromPgException(e, op);
    }
  }
  Status Commit(const char* op) override {
    Status st = Exec(op, [&] { tx_->commit(); });
    if (st.ok()) Rollback();  // nothing left to roll back: releases the connection
    return st;
  }
  void Rollback() override {
    tx_.reset();  // pqxx rolls back an open transaction on destruction
    lease_.reset();
  }
  Status broken() const override { return broken_; }

 private:
  template <typename F>
  Status Exec(const char* op, F&& f) {
    try {
      f();
      return Status::Ok();
    } catch (const std::exception& e) {
      return Fail(e, op);
    }
  }
  // Ends the group after a failed statement or a lost connection. The transaction object
  // goes first: MarkBroken closes the connection it refers to.
  Status Fail(const std::exception& e, const char* op) {
    broken_ = StatusFromPgException(e, op);
    tx_.reset();
    if (IsConnectionLost(e) || !lease_->conn().is_open()) lease_->MarkBroken();
    return broken_;
  }

  PgPool* pool_;
  std::optional<PgPool::Lease> lease_;
  std::optional<pqxx::work> tx_;  // destroyed before lease_
  Status broken_;
};

}  // namespace

PgGroupCommit::PgGroupCommit(PgPool* pool)
    : engine_(PgPolicy(), [pool] { return std::make_unique<PgGroupTxn>(pool); }) {}

}  // namespace duroxide::providers::postgres::internal
