// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Internal to the SQLite provider (only included by providers/sqlite/*.cc): schema migrations
// and the small helpers every provider translation unit uses to talk to SQLiteCpp (exception
// to Status conversion, statement and transaction scopes, optional binding).
#ifndef DUROXIDE_PROVIDERS_SQLITE_SQLITE_SCHEMA_H_
#define DUROXIDE_PROVIDERS_SQLITE_SQLITE_SCHEMA_H_

#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "duroxide/common/status.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/store_common.h"

namespace duroxide::providers::sqlite {

// The newest schema version this build knows (the number of the last migration).
int64_t LatestSchemaVersion();

// Brings the database up to LatestSchemaVersion() by applying the numbered migrations that
// are not yet recorded in `schema_version`, inside one BEGIN IMMEDIATE transaction. Safe when
// several processes open the same file at once: the write lock serialises them and the
// second one finds nothing left to do. Returns the resulting version.
// Throws SQLite::Exception on SQLite errors and std::runtime_error when the database was
// written by a newer build (its version exceeds LatestSchemaVersion()).
int64_t ApplyMigrations(SQLite::Database& db);
// Same, stopping at `target_version` (tests use it to build databases of older versions).
int64_t ApplyMigrations(SQLite::Database& db, int64_t target_version);

// Checks, with reads only, that the database `db` (opened on `path`, not yet modified: no
// PRAGMA that writes, no migration) can be used as a duroxide store:
//   - an empty database (new file)                          -> Ok;
//   - a file without the SQLite header, or one that fails PRAGMA quick_check (only run on
//     files up to kQuickCheckMaxBytes, since it reads the whole file) -> kDataLoss;
//   - a SQLite database with tables but no schema_version   -> kFailedPrecondition (foreign);
//   - schema_version newer than LatestSchemaVersion()       -> kFailedPrecondition.
// The messages say the file was left unchanged. Never throws.
constexpr int64_t kQuickCheckMaxBytes = 256LL * 1024 * 1024;
Status CheckExistingDatabase(SQLite::Database& db, const std::string& path);

namespace internal {

// Thrown by provider helpers for rows that exist but cannot be interpreted; Guarded() turns it
// into kDataLoss. The shared class, so shared helpers (store_common.h) throw it too.
using DataLossError = store::DataLossError;

// Runs `body` (returning Status or Result<T>) and converts every exception into a Status
// naming `op`, so that no exception escapes a provider method.
template <typename F>
auto Guarded(const char* op, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    return StatusFromSqliteError(e.getErrorCode(), e.getExtendedErrorCode(), op, e.what());
  } catch (const DataLossError& e) {
    return Status::DataLoss(op, e.what());
  } catch (const std::exception& e) {
    return Status::Internal(op, e.what());
  } catch (...) {
    return Status::Internal(op, "unknown exception");
  }
}

inline void BindOptional(SQLite::Statement& stmt, int index, const std::optional<std::string>& v) {
  if (v) {
    stmt.bind(index, *v);
  } else {
    stmt.bind(index);
  }
}

// Binds `values` to parameters 1, 2, ... of `stmt`, in order; an empty optional binds NULL.
template <typename T>
void BindValue(SQLite::Statement& stmt, int index, const T& value) {
  stmt.bind(index, value);
}
template <typename T>
void BindValue(SQLite::Statement& stmt, int index, const std::optional<T>& value) {
  if (value) {
    stmt.bind(index, *value);
  } else {
    stmt.bind(index);
  }
}
template <typename... T>
void BindAll(SQLite::Statement& stmt, const T&... values) {
  int index = 0;
  (BindValue(stmt, ++index, values), ...);
}

inline std::optional<std::string> OptionalText(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getString();
}

// A shared statement's `$n` placeholders as SQLite's `?n`, so parameters bind by their number
// (SQLite numbers `$n` by first appearance instead). REQUIRES: no `$` elsewhere in `sql`.
inline std::string NumberedPlaceholders(const char* sql) {
  std::string out(sql);
  for (char& c : out) {
    if (c == '$') c = '?';
  }
  return out;
}

// The row adapter of the shared record mapping (store_common.h) over the current row of a
// stepped statement.
class StatementRow {
 public:
  explicit StatementRow(SQLite::Statement& stmt) : stmt_(stmt) {}
  bool Null(int i) const { return stmt_.getColumn(i).isNull(); }
  std::string Text(int i) const { return stmt_.getColumn(i).getString(); }
  int64_t Int(int i) const { return stmt_.getColumn(i).getInt64(); }
  bool Bool(int i) const { return stmt_.getColumn(i).getInt64() != 0; }

 private:
  SQLite::Statement& stmt_;
};

// Resets a cached statement before use and again when the scope ends, so no statement ever
// stays mid-step (which would pin a read snapshot) and every reuse starts clean.
class ScopedStatement {
 public:
  explicit ScopedStatement(SQLite::Statement& stmt) : stmt_(stmt) { stmt_.reset(); }
  ~ScopedStatement() { stmt_.tryReset(); }
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;

  SQLite::Statement* operator->() { return &stmt_; }
  SQLite::Statement& get() { return stmt_; }

 private:
  SQLite::Statement& stmt_;
};

// Every transaction begins and ends under the provider's mutex, so a connection found inside
// a transaction before BEGIN holds the leftover of an operation whose COMMIT and ROLLBACK both
// failed (seen with injected I/O errors: SQLite may keep the transaction open after a failed
// COMMIT). Nothing in it is wanted: roll it back, resetting any statement still pending, so
// that one failed write does not wedge the connection ("cannot start a transaction within a
// transaction") forever. No-op in autocommit mode.
void EndStaleTransaction(sqlite3* db);

// A transaction on cached BEGIN / COMMIT / ROLLBACK statements. Rolls back on destruction
// unless Commit() succeeded; the rollback never throws.
class ScopedTransaction {
 public:
  // `db` is the connection the statements belong to (SQLiteCpp keeps a statement's
  // connection private).
  ScopedTransaction(sqlite3* db, SQLite::Statement& begin, SQLite::Statement& commit,
                    SQLite::Statement& rollback)
      : commit_(commit), rollback_(rollback) {
    EndStaleTransaction(db);
    ScopedStatement b(begin);
    try {
      b->exec();
    } catch (const SQLite::Exception& e) {
      // See EndStaleTransaction: a leftover transaction of a failed operation; roll it back
      // with our own ROLLBACK statement and begin again (once).
      if (e.getErrorCode() != SQLITE_ERROR ||
          std::string(e.what()).find("within a transaction") == std::string::npos) {
        throw;
      }
      rollback_.tryReset();
      rollback_.tryExecuteStep();
      rollback_.tryReset();
      b->reset();
      b->exec();
    }
    active_ = true;
  }
  ~ScopedTransaction() {
    if (!active_) return;
    rollback_.tryReset();
    rollback_.tryExecuteStep();
    rollback_.tryReset();
  }
  ScopedTransaction(const ScopedTransaction&) = delete;
  ScopedTransaction& operator=(const ScopedTransaction&) = delete;

  void Commit() {
    ScopedStatement c(commit_);
    c->exec();
    active_ = false;
  }

 private:
  SQLite::Statement& commit_;
  SQLite::Statement& rollback_;
  bool active_ = false;
};

// The batch fetches (FetchOrchestrationItems, FetchWorkItems), split around their
// transaction like the one-item fetches they repeat. Inside: `fetch_one` (Status(State*))
// fills one state per call until a call finds nothing (State::found false) or `max_items`
// states are held in *states.
template <typename State, typename FetchOne>
Status FetchUpTo(size_t max_items, std::vector<State>* states, const FetchOne& fetch_one) {
  states->clear();
  while (states->size() < max_items) {
    State st;
    DUROXIDE_RETURN_IF_ERROR(fetch_one(&st));
    if (!st.found) break;
    states->push_back(std::move(st));
  }
  return Status::Ok();
}

// After: `finish` (Result<std::optional<T>>(const Status& tx, State*)) decodes each state. A
// state that does not decode stays locked in the store (once the lock expires it is the
// oldest row and is reported by the fetch that takes it first) and is left out; its error is
// returned only when nothing else was fetched.
template <typename T, typename State, typename Finish>
Result<std::vector<T>> FinishEach(const Status& tx, std::vector<State>* states,
                                  const Finish& finish) {
  if (!tx.ok()) return tx;
  std::vector<T> out;
  out.reserve(states->size());
  Status first_error;
  for (State& st : *states) {
    Result<std::optional<T>> one = finish(tx, &st);
    if (!one.ok()) {
      if (first_error.ok()) first_error = one.status();
      continue;
    }
    if (one->has_value()) out.push_back(std::move(**one));
  }
  if (out.empty() && !first_error.ok()) return first_error;
  return out;
}

}  // namespace internal

template <typename F>
auto SqliteProvider::WriteTx(const char* op, F&& body) -> decltype(body()) {
  return internal::Guarded(op, [&]() -> decltype(body()) {
    std::lock_guard<std::mutex> lock(mu_);
    internal::ScopedTransaction tx(db_->getHandle(), *begin_, *commit_, *rollback_);
    auto out = body();
    if (out.ok()) tx.Commit();
    return out;
  });
}

// The helpers above by their short names, in every provider translation unit.
using internal::BindAll;
using internal::BindOptional;
using internal::Guarded;
using internal::NumberedPlaceholders;
using internal::OptionalText;
using internal::ScopedStatement;
using internal::ScopedTransaction;

}  // namespace duroxide::providers::sqlite

#endif  // DUROXIDE_PROVIDERS_SQLITE_SQLITE_SCHEMA_H_
