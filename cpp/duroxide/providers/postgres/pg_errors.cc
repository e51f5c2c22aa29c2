// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/postgres/pg_errors.h"

#include <pqxx/except>

namespace duroxide::providers::postgres {

Status StatusFromSqlState(std::string_view sqlstate, const std::string& op,
                          const std::string& msg) {
  const std::string full = sqlstate.empty() ? msg : msg + " (SQLSTATE " + std::string(sqlstate) + ")";
  if (sqlstate.size() != 5) return Status::Internal(op, full);
  const std::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08" || cls == "53" || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03" || sqlstate == "55P03" || sqlstate == "55006" || sqlstate == "0A000") {
    return Status::Unavailable(op, full);
  }
  if (cls == "40") return Status::Aborted(op, full);
  if (sqlstate == "23505") return Status::AlreadyExists(op, full);
  // read_only_sql_transaction: a read-only session (default_transaction_read_only=on) or a hot
  // standby. A state of the store that refuses writes, like SQLite's mode=ro (409 over REST).
  if (sqlstate == "25006") {
    return Status::FailedPrecondition(
        op, "the store is read-only (a read-only session or a standby): only reads are served (" +
                full + ")");
  }
  if (cls == "23" || cls == "28" || sqlstate == "3D000" || sqlstate == "3F000") {
    return Status::FailedPrecondition(op, full);
  }
  if (sqlstate == "57014") return Status::DeadlineExceeded(op, full);
  if (cls == "22") return Status::InvalidArgument(op, full);
  if (sqlstate == "XX001" || sqlstate == "XX002") return Status::DataLoss(op, full);
  return Status::Internal(op, full);
}

Status StatusFromPgException(const std::exception& e, const std::string& op) {
  // Order matters: in libpqxx 6.4 in_doubt_error and transaction_rollback derive from
  // pqxx::failure, not from sql_error, and broken_connection is a failure too.
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return Status::DataLoss(op, std::string("commit outcome unknown (connection lost during "
                                            "COMMIT): ") + e.what());
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return Status::Unavailable(op, std::string("connection to PostgreSQL lost: ") + e.what());
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    return StatusFromSqlState(sql->sqlstate(), op, e.what());
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return Status::Aborted(op, e.what());
  }
  return Status::Internal(op, e.what());
}

bool IsConnectionLost(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& s = sql->sqlstate();
    return s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03";
  }
  return false;
}

}  // namespace duroxide::providers::postgres
