// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Error classification of the PostgreSQL provider: SQLSTATE codes and libpqxx exceptions to
// Status. Both functions are pure (no connection needed) and unit-tested without a server.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_PG_ERRORS_H_
#define DUROXIDE_PROVIDERS_POSTGRES_PG_ERRORS_H_

#include <exception>
#include <string>
#include <string_view>

#include "duroxide/common/status.h"

namespace duroxide::providers::postgres {

// Maps a five-character SQLSTATE to a Status naming `op`:
//   class 08 (connection exception), 57P01-57P03 (server shutting down / starting), class 53
//     (insufficient resources), 55P03 (lock not available), 55006 (object in use), 0A000
//     (e.g. "cached plan must not change result type" after a concurrent migration)
//                                                           -> kUnavailable (retry the call)
//   class 40 (serialization failure, deadlock, ...)         -> kAborted (redeliver the work)
//   23505 unique_violation                                  -> kAlreadyExists
//   other class 23 (integrity constraint)                   -> kFailedPrecondition
//   class 28 (authorisation), 3D000 (no such database), 3F000 (no such schema)
//                                                           -> kFailedPrecondition
//   57014 query_canceled (statement_timeout)                -> kDeadlineExceeded
//   class 22 (data exception)                               -> kInvalidArgument
//   XX001 data_corrupted, XX002 index_corrupted             -> kDataLoss
//   anything else (syntax errors, unknown codes, "")        -> kInternal
Status StatusFromSqlState(std::string_view sqlstate, const std::string& op,
                          const std::string& msg);

// Maps an exception thrown by libpqxx (or by the provider itself) to a Status:
//   pqxx::broken_connection                                 -> kUnavailable
//   pqxx::in_doubt_error (commit outcome unknown)           -> kDataLoss: the transaction may
//     or may not have committed; retrying blindly could apply it twice
//   pqxx::sql_error                                         -> StatusFromSqlState(sqlstate)
//   pqxx::transaction_rollback and its subclasses (serialization_failure, deadlock_detected,
//     statement_completion_unknown)                         -> kAborted
//   anything else                                           -> kInternal
Status StatusFromPgException(const std::exception& e, const std::string& op);

// True when `e` means the connection it came from is unusable and must be replaced.
bool IsConnectionLost(const std::exception& e);

}  // namespace duroxide::providers::postgres

#endif  // DUROXIDE_PROVIDERS_POSTGRES_PG_ERRORS_H_
