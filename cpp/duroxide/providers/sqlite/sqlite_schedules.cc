// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the schedule backend (schedule_store.h). Each schedule operation is one task
// of the group commit (one BEGIN IMMEDIATE ... COMMIT, shared with other writers), so a firing
// - claim, idempotent start, advance - commits whole or not at all; the database write lock
// serialises runtimes of other processes firing the same row.
#include <string>
#include <variant>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using internal::Batched;

namespace {

// The shared SQL uses PostgreSQL's $N; SQLite's ?N binds by the same number.
std::string Dialect(const std::string& sql) {
  std::string out = sql;
  for (char& c : out) {
    if (c == '$') c = '?';
  }
  return out;
}

void Bind(SQLite::Statement& s, const std::vector<SqlParam>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i + 1);
    if (const auto* v = std::get_if<int64_t>(&params[i])) {
      s.bind(index, *v);
    } else if (const auto* t = std::get_if<std::string>(&params[i])) {
      s.bind(index, *t);
    } else {
      s.bind(index);
    }
  }
}

}  // namespace

class SqliteProvider::ScheduleTxImpl : public ScheduleTx {
 public:
  explicit ScheduleTxImpl(SqliteProvider* p) : p_(p) {}
  std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlParam>& params) override {
    SQLite::Statement s(*p_->db_, Dialect(sql));
    Bind(s, params);
    std::vector<SqlRow> rows;
    while (s.executeStep()) {
      SqlRow row;
      for (int i = 0; i < s.getColumnCount(); ++i) {
        SQLite::Column c = s.getColumn(i);
        row.push_back(c.isNull() ? std::nullopt : std::optional<std::string>(c.getString()));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  int64_t Exec(const std::string& sql, const std::vector<SqlParam>& params) override {
    SQLite::Statement s(*p_->db_, Dialect(sql));
    Bind(s, params);
    return s.exec();
  }
  bool InsertStart(const history::WorkItem& start) override {
    const bool inserted = p_->InsertStartRow(start, NowMs());
    enqueued_ = enqueued_ || inserted;
    return inserted;
  }
  void InsertOrchestratorMessage(const history::WorkItem& item) override {
    const int64_t now = NowMs();
    p_->InsertOrchestratorItem(item, now, now);
    enqueued_ = true;
  }
  const char* ClaimSuffix(bool /*skip_locked*/) const override { return ""; }
  bool enqueued() const { return enqueued_; }

 private:
  SqliteProvider* p_;
  bool enqueued_ = false;
};

void SqliteProvider::ConsumeLimitTokenTx(const std::string& name, const std::string& key,
                                         int64_t now) {
  ScheduleTxImpl tx(this);
  ConsumeLimitToken(tx, name, key, now);
}

Status SqliteProvider::RunScheduleTx(const char* op,
                                     const std::function<Status(ScheduleTx&)>& body) {
  bool enqueued = false;
  Status st = Batched(*group_, op, [&]() -> Status {
    return Guarded(op, [&]() -> Status {
      ScheduleTxImpl tx(this);  // a fresh one per (re)run of the task
      Status s = body(tx);
      enqueued = tx.enqueued();
      return s;
    });
  });
  if (st.ok() && enqueued) orchestrator_signal().Notify(1);
  return st;
}

}  // namespace duroxide::providers::sqlite
