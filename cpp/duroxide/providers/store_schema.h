// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The DDL the SQLite and PostgreSQL providers share: both stores have the same tables and
// columns, written once here with the dialect's column types as parameters. Each provider's
// migration list (sqlite_schema.cc, postgres_schema.cc) composes its migrations from these
// texts plus what only it has (SQLite's table rebuilds, PostgreSQL's server-side functions and
// triggers). Migrations are never edited once released: these functions return, byte for byte,
// the text each provider's migration shipped with.
#ifndef DUROXIDE_PROVIDERS_STORE_SCHEMA_H_
#define DUROXIDE_PROVIDERS_STORE_SCHEMA_H_

#include <initializer_list>
#include <string>
#include <utility>

namespace duroxide::providers::store {

// What the shared DDL leaves to the dialect.
struct DdlDialect {
  const char* int64;          // a 64-bit integer column: "INTEGER" / "BIGINT"
  const char* serial_pk;      // a FIFO id that is never reused (migration 1's queue ids)
  const char* rowid_pk;       // a FIFO id (SQLite's rowid may reuse the largest after a delete)
  const char* flag;           // a NOT NULL boolean, false by default
  const char* keyed_table;    // suffix of tables that are only read by primary key
  // The seq column and its listing index of PostgreSQL's instances table (SQLite lists by
  // rowid): text appended after the updated_at column and after the parent index.
  const char* instances_seq;
  const char* instances_seq_index;
};
extern const DdlDialect kSqliteDdl;
extern const DdlDialect kPostgresDdl;

// `text` with every "{name}" of `values` replaced by its value; other braces stay.
std::string ExpandSql(const char* text,
                      std::initializer_list<std::pair<const char*, std::string>> values);

// The column list of a queue table (between the parentheses of CREATE TABLE), with `id_type`
// as the type of its id: orchestrator_queue and worker_queue as created by migration 1.
std::string OrchestratorQueueColumns(const DdlDialect& d, const char* id_type);
std::string WorkerQueueColumns(const DdlDialect& d, const char* id_type);

// Migration 1: instances, executions, history, the queues, locks, sessions and the KV tables.
std::string InitialTablesSql(const DdlDialect& d);
// Migration 3: dead letters, topics, topic log, subscriptions, client replies.
std::string MessagingTablesSql(const DdlDialect& d);
// Migration 4: the worker registry (provider_fleet.h).
std::string WorkersTableSql(const DdlDialect& d);
// Migration 5: routing columns of worker_queue, schemas and task_cache.
std::string RoutingTablesSql(const DdlDialect& d);

}  // namespace duroxide::providers::store

#endif  // DUROXIDE_PROVIDERS_STORE_SCHEMA_H_
