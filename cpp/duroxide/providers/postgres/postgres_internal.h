// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Internal to the PostgreSQL provider (only included by providers/postgres/*.cc): the
// exception-to-Status wrapper every provider method runs in, and small libpqxx helpers.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_INTERNAL_H_
#define DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_INTERNAL_H_

#include <deque>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/connection>
#include <pqxx/field>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "duroxide/providers/postgres/pg_errors.h"
#include "duroxide/providers/postgres/pg_group_commit.h"
#include "duroxide/providers/postgres/pg_pool.h"
#include "duroxide/providers/postgres/postgres_provider.h"
#include "duroxide/providers/store_common.h"

namespace duroxide::providers::postgres {
namespace internal {

// The tasks of one group-commit submission, in order. The functions live in a deque so that
// the ops' pointers into it stay valid while tasks are added.
struct GroupTasks {
  std::deque<PgGroupCommit::Fn> fns;
  std::vector<PgGroupCommit::Op> ops;
  void Add(const char* name, PgGroupCommit::Fn fn, bool durable) {
    fns.push_back(std::move(fn));
    ops.push_back({name, &fns.back(), durable});
  }
};

// Thrown for rows that exist but cannot be interpreted; Run() turns it into kDataLoss. The
// shared class, so shared helpers (store_common.h) throw it too.
using DataLossError = store::DataLossError;

inline std::optional<std::string> OptText(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

// The row adapter of the shared record mapping (store_common.h): the columns of `row` from
// column `at` on.
class PgRow {
 public:
  explicit PgRow(const pqxx::row& row, int at = 0) : row_(row), at_(at) {}
  bool Null(int i) const { return row_[at_ + i].is_null(); }
  std::string Text(int i) const { return Null(i) ? std::string() : row_[at_ + i].as<std::string>(); }
  int64_t Int(int i) const { return row_[at_ + i].as<int64_t>(); }
  bool Bool(int i) const { return row_[at_ + i].as<bool>(); }

 private:
  const pqxx::row& row_;
  const int at_;
};

// A nullable text parameter: libpqxx 6.4 sends a null const char* as SQL NULL.
inline const char* NullableText(const std::optional<std::string>& v) {
  return v ? v->c_str() : nullptr;
}

// A text[] literal ({"a","b"}) for `$n::text[]` parameters.
inline std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// Prepared statements of each part of the provider, registered on every pooled connection.
std::vector<StatementDef> OrchestratorStatements();
std::vector<StatementDef> WorkerStatements();

}  // namespace internal

template <typename F>
auto PostgresProvider::Run(const char* op, F&& body)
    -> decltype(body(std::declval<pqxx::connection_base&>())) {
  Result<internal::PgPool::Lease> lease = pool_->Acquire(op);
  if (!lease.ok()) return lease.status();
  try {
    return body(lease->conn());
  } catch (const internal::DataLossError& e) {
    return Status::DataLoss(op, e.what());
  } catch (const std::exception& e) {
    // A connection that failed mid-protocol is never reused: its state is unknown.
    if (IsConnectionLost(e) || !lease->conn().is_open()) lease->MarkBroken();
    return StatusFromPgException(e, op);
  } catch (...) {
    lease->MarkBroken();
    return Status::Internal(op, "unknown exception");
  }
}

}  // namespace duroxide::providers::postgres

#endif  // DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_INTERNAL_H_
