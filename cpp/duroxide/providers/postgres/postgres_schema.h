// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Internal to the PostgreSQL provider: schema names, per-schema keys and channel names, and
// the versioned migrations.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_SCHEMA_H_
#define DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_SCHEMA_H_

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace duroxide::providers::postgres {

namespace internal {

// The newest schema version this build knows (the number of the last migration).
int64_t LatestSchemaVersion();

// Stable 64-bit FNV-1a hash (keys of advisory locks; independent of the server).
uint64_t Fnv1a64(const std::string& s);

// The LISTEN/NOTIFY channel of `schema` (at most 63 bytes, so never truncated by the server).
std::string ChannelName(const std::string& schema);

// Advisory lock keys of `schema`. Session/transaction locks taken with one bigint key and
// with two int4 keys live in separate spaces on the server, so these never collide with
// the per-instance locks (InstanceLockSpace(), hashtext(instance_id)).
int64_t MigrationLockKey(const std::string& schema);
int64_t DeleteLockKey(const std::string& schema);
int32_t InstanceLockSpace(const std::string& schema);

// Creates `schema` if missing and brings it to LatestSchemaVersion() by applying the
// numbered migrations not yet recorded in `schema`._duroxide_migrations, each in its own
// transaction. The whole run holds a session-level pg_advisory_lock on MigrationLockKey, so
// processes starting at once serialise here and later ones find nothing left to do.
// Returns the resulting version. Throws pqxx exceptions on SQL errors and
// std::runtime_error if the schema was written by a newer build.
int64_t ApplyMigrations(pqxx::connection& conn, const std::string& schema);

// The releases of dx_ack_orchestration, the turn commit (postgres_ack_sql.cc): kV2 created by
// migration 2, kV7 (worker rows inserted leased) by migration 7.
enum class AckRelease { kV2, kV7 };
// The CREATE (kV2) or CREATE OR REPLACE (later releases) FUNCTION statement of that release,
// byte for byte what its migration shipped.
std::string AckOrchestrationSql(AckRelease release);

// The part dx_fetch_orchestration (migration 2) and dx_fetch_orchestrations (migration 7, then
// 9) share, inside their candidate loop (postgres_schema_v7.cc): take the instance lock of
// candidate `instance` with `token` unless a live lock appeared meanwhile (else run
// `lock_lost`, a statement that ends this candidate), tag its visible messages with the token,
// and RETURN QUERY its row: `first_columns`, then the messages, the instance record and the
// KV baseline. Byte for byte the text both migrations shipped.
struct FetchLockNames {
  const char* instance;       // the PL/pgSQL variable naming the candidate instance
  const char* token;          // the variable holding its lock token
  const char* first_columns;  // the leading output columns
  const char* lock_lost;      // statement(s) run when the lock was taken meanwhile
};
std::string FetchLockedInstanceSql(const FetchLockNames& names);
// Deriving a later migration's statement from a released one (whose text never changes)
// instead of copying it, so the two cannot drift apart. A missing anchor throws
// std::logic_error naming `migration` ("migration 12"): a programming error that every
// connect, and the tests, catch.
//   SqlFrom: the text of `source` from the first occurrence of `head` on (the statement that
//     starts there, and whatever follows it);
//   ReplaceOnce: replaces the only occurrence of `from` in *text (none, or more than one,
//     throws).
std::string SqlFrom(const char* migration, const std::string& source, const std::string& head);
void ReplaceOnce(const char* migration, std::string* text, const std::string& from,
                 const std::string& to);
// The SQL of migration 7 (postgres_schema_v7.cc).
const char* Migration7Sql();
// The SQL of migration 9, priorities (postgres_schema_v9.cc).
const char* Migration9Sql();
// The SQL of migration 11, named limits (postgres_schema_v11.cc).
const char* Migration11Sql();
// The SQL of migration 12, the orchestration fetch walking the claim rank (postgres_schema_v12.cc).
const char* Migration12Sql();
// The SQL of migration 13, orchestration limits (postgres_schema_v13.cc).
const char* Migration13Sql();

}  // namespace internal
}  // namespace duroxide::providers::postgres

#endif  // DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_SCHEMA_H_
