// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Schema of the SQLite provider. All times are epoch milliseconds (INTEGER), written from
// NowMs() by the provider, never by SQL CURRENT_TIMESTAMP.
//
//   schema_version      one row per applied migration: version (PK), applied_at.
//   instances           one row per instance whose first turn was committed: instance_id (PK),
//                       orchestration_name, orchestration_version, current_execution_id,
//                       parent_instance_id, custom_status (+ custom_status_version, bumped
//                       on every change), created_at, updated_at.
//   executions          one row per execution: (instance_id, execution_id) PK, status
//                       ('Running' | 'Completed' | 'Failed' | 'ContinuedAsNew'), output,
//                       error (display message), started_at, completed_at.
//   history             append-only events: (instance_id, execution_id, event_id) PK,
//                       event_type (EventKindName), event_data (EncodeEvent JSON), created_at.
//   orchestrator_queue  messages for instances: id (rowid, gives FIFO order: a new row always
//                       gets max(id) + 1),
//                       instance_id, kind (WorkItemKindName, so duplicate-start checks need
//                       no JSON), work_item (EncodeWorkItem JSON), visible_at, lock_token
//                       (batch tag of the fetch that took the message; NULL = untagged),
//                       attempt_count, created_at.
//   instance_locks      orchestrator peek-locks, one per instance: instance_id (PK, WITHOUT
//                       ROWID), lock_token (the stored part of the token), locked_until,
//                       locked_at.
//   worker_queue        ActivityExecute rows: id (rowid; lease tokens carry it, so acks
//                       find their row by primary key), work_item JSON, visible_at, lock_token,
//                       locked_until, attempt_count, created_at and the denormalised identity
//                       (instance_id, execution_id, activity_id), session_id and tag used by
//                       cancellation, session routing and tag filters.
//   sessions            session affinity: session_id (PK), worker_id (owner), locked_until,
//                       last_activity_at.
//   kv_store            KV baseline, merged at execution boundaries: (instance_id, key) PK,
//                       value, last_updated_at_ms. Replay snapshots are read from here only.
//   workers             the worker registry (schema version 4, see provider_fleet.h): worker_id
//                       (PK), name (UNIQUE), host, pid, version, service_name/version, status,
//                       drain_requested, started_at, registered_at, last_heartbeat,
//                       heartbeat_interval_ms and JSON text capacity, load, serves, tags,
//                       capabilities, session_owners.
//   kv_delta            KV mutations of the current execution: (instance_id, key) PK, value
//                       (NULL = tombstone), last_updated_at_ms.
//   schedules           durable schedules (version 6): one row per schedule, the same DDL in
//                       both dialects (SchedulesTableSql, schedule_store.h).
//   limits, limit_buckets  named limits and their token buckets (version 9), with
//                       worker_queue.limit_name/limit_key (LimitsTableSql, limit_store.h).
//   instance_limits     orchestration-limit slots (version 10): one row per instance holding
//                       a slot, with orchestrator_queue.limit_name/limit_key on starts.
//
// Migrations are numbered and never edited once released; add a new entry to kMigrations to
// change the schema (management features such as list/delete/prune need no schema change:
// the indexes on parent_instance_id and the created_at/updated_at/completed_at columns are
// already there for them).
#include "duroxide/providers/sqlite/sqlite_schema.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "duroxide/common/clock.h"
#include "duroxide/common/logging.h"
#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/queue_order.h"
#include "duroxide/providers/schedule_store.h"
#include "duroxide/providers/store_schema.h"

namespace duroxide::providers::sqlite {
namespace {

using store::Migration;

// Version 1 (the tables), 3 (messaging, docs/messaging.md), 4 (the worker registry,
// provider_fleet.h) and 5 (capability routing and the task cache, docs/task-graphs.md) are
// the DDL both providers share (store_schema.h), in SQLite's types.

// Every index and AUTOINCREMENT counter is one more b-tree page that a hot-path commit writes
// to the WAL. Version 2 removes those the queries do not need: the queues lose AUTOINCREMENT
// (rowid order is already FIFO, and the sqlite_sequence row was rewritten by every insert) and
// their lock_token indexes (acks find orchestrator messages by instance, worker rows by the id
// carried in the lease token), and the session index only covers rows that have a session.
// instance_locks becomes a single b-tree keyed by instance (lock tokens carry the instance id,
// so the lock_token index goes). The queues are rebuilt with the columns of migration 1
// (store_schema.h) and a rowid id.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE orchestrator_queue_v2 ({orchestrator_queue});
INSERT INTO orchestrator_queue_v2
  SELECT id, instance_id, kind, work_item, visible_at, lock_token, attempt_count, created_at
  FROM orchestrator_queue;
DROP TABLE orchestrator_queue;
ALTER TABLE orchestrator_queue_v2 RENAME TO orchestrator_queue;
CREATE INDEX idx_orch_visible ON orchestrator_queue(visible_at);
CREATE INDEX idx_orch_instance ON orchestrator_queue(instance_id, kind);

CREATE TABLE worker_queue_v2 ({worker_queue});
INSERT INTO worker_queue_v2
  SELECT id, work_item, visible_at, lock_token, locked_until, attempt_count, created_at,
         instance_id, execution_id, activity_id, session_id, tag
  FROM worker_queue;
DROP TABLE worker_queue;
ALTER TABLE worker_queue_v2 RENAME TO worker_queue;
CREATE INDEX idx_worker_visible ON worker_queue(visible_at);
CREATE INDEX idx_worker_identity ON worker_queue(instance_id, execution_id, activity_id);
CREATE INDEX idx_worker_session ON worker_queue(session_id) WHERE session_id IS NOT NULL;

DELETE FROM sqlite_sequence WHERE name IN ('orchestrator_queue', 'worker_queue');

CREATE TABLE instance_locks_v2 (
  instance_id  TEXT PRIMARY KEY,
  lock_token   TEXT NOT NULL,
  locked_until INTEGER NOT NULL,
  locked_at    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO instance_locks_v2
  SELECT instance_id, lock_token, locked_until, locked_at FROM instance_locks;
DROP TABLE instance_locks;
ALTER TABLE instance_locks_v2 RENAME TO instance_locks;
)sql";

std::string Migration2Sql() {
  const store::DdlDialect& d = store::kSqliteDdl;
  return store::ExpandSql(
      kMigration2, {{"orchestrator_queue", store::OrchestratorQueueColumns(d, d.rowid_pk)},
                    {"worker_queue", store::WorkerQueueColumns(d, d.rowid_pk)}});
}

// Version 7: priorities (docs/flow-control.md); 6 is left to the schedules table of issue 24,
// built at the same time. Both queues get `priority` (0 for existing
// rows) and an index on the claim rank of providers/queue_order.h, which the claims walk in
// place of the primary key. The index expression must be the text of DUROXIDE_QUEUE_RANK.
constexpr const char* kMigration7 = R"sql(
ALTER TABLE orchestrator_queue ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE worker_queue ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_orch_rank ON orchestrator_queue((created_at - priority * 5000));
CREATE INDEX idx_worker_rank ON worker_queue((created_at - priority * 5000));
)sql";

// Version 10: orchestration limits (limit_store.h, docs/flow-control.md). The shared DDL, and
// the triggers that give an instance's slot back when its execution ends (Completed or Failed;
// Terminated and Canceled are Failed) or its instance row is deleted: every path that ends or
// deletes an instance (turn commits, operations, prune) goes through those two tables.
const char* Migration10Sql() {
  static const std::string sql = std::string(OrchestrationLimitsTableSql()) + R"sql(
CREATE TRIGGER dx_instance_limit_end AFTER UPDATE OF status ON executions
  WHEN NEW.status IN ('Completed', 'Failed')
BEGIN
  DELETE FROM instance_limits WHERE instance_id = NEW.instance_id;
END;
CREATE TRIGGER dx_instance_limit_delete AFTER DELETE ON instances
BEGIN
  DELETE FROM instance_limits WHERE instance_id = OLD.instance_id;
END;
)sql";
  return sql.c_str();
}

const std::vector<Migration>& Migrations() {
  const store::DdlDialect& d = store::kSqliteDdl;
  static const std::string m1 = store::InitialTablesSql(d), m2 = Migration2Sql(),
                           m3 = store::MessagingTablesSql(d), m4 = store::WorkersTableSql(d),
                           m5 = store::RoutingTablesSql(d);
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema", m1.c_str()},
      {2, "leaner queue tables", m2.c_str()},
      {3, "messaging: dead letters, topics, subscriptions, client replies", m3.c_str()},
      {4, "worker registry", m4.c_str()},
      {5, "capability routing and task cache", m5.c_str()},
      {6, "schedules", SchedulesTableSql()},
      {7, "priorities: queue priority columns and claim-rank indexes", kMigration7},
      {8, "worker claims walk unleased rows only (providers/queue_order.h)",
       DUROXIDE_WORKER_FREE_INDEXES_SQL},
      {9, "named limits: limits, limit buckets, worker limit columns", LimitsTableSql()},
      {10, "orchestration limits: start limit columns, instance slots", Migration10Sql()},
  };
  return kMigrations;
}

// The bookkeeping of the shared runner on the `schema_version` table, inside the caller's
// BEGIN IMMEDIATE transaction.
class SqliteMigrationStore : public store::MigrationStore {
 public:
  explicit SqliteMigrationStore(SQLite::Database& db) : db_(db) {}
  std::set<int64_t> AppliedVersions() override {
    std::set<int64_t> out;
    SQLite::Statement q(db_, "SELECT version FROM schema_version");
    while (q.executeStep()) out.insert(q.getColumn(0).getInt64());
    return out;
  }
  void Apply(const Migration& m, int64_t now_ms) override {
    db_.exec(m.sql);
    SQLite::Statement ins(
        db_, "INSERT INTO schema_version(version, description, applied_at) VALUES (?1, ?2, ?3)");
    ins.bind(1, m.version);
    ins.bind(2, m.description);
    ins.bind(3, now_ms);
    ins.exec();
  }

 private:
  SQLite::Database& db_;
};

}  // namespace

int64_t LatestSchemaVersion() { return Migrations().back().version; }

int64_t ApplyMigrations(SQLite::Database& db) { return ApplyMigrations(db, LatestSchemaVersion()); }

int64_t ApplyMigrations(SQLite::Database& db, int64_t target_version) {
  // Plain exec() statements: this runs once per Open, not on a hot path. BEGIN IMMEDIATE
  // takes the write lock before reading the version, so concurrent openers serialise here
  // (each waits up to busy_timeout) and later ones see the work of the first.
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    SqliteMigrationStore store(db);
    const int64_t current = store::RunMigrations(
        Migrations(), target_version, store, [](int64_t recorded, int64_t newest) {
          return "database schema version " + std::to_string(recorded) +
                 " is newer than this build supports (" + std::to_string(newest) + ")";
        });
    db.exec("COMMIT");
    return current;
  } catch (...) {
    db.tryExec("ROLLBACK");
    throw;
  }
}

namespace {

constexpr const char* kUnchanged = " (the file was not modified)";

// Reads only: the SQLite header, the table list, the schema version and a quick_check.
Status CheckExistingDatabaseOrThrow(SQLite::Database& db, const std::string& path) {
  constexpr const char* op = "SqliteProvider::Open";
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return Status::Ok();  // a new file
  char header[16] = {};
  {
    std::ifstream in(path, std::ios::binary);
    in.read(header, sizeof(header));
    if (in.gcount() != static_cast<std::streamsize>(sizeof(header)) ||
        std::memcmp(header, "SQLite format 3\0", sizeof(header)) != 0) {
      return Status::DataLoss(op, path + " is not a SQLite database (a corrupt or foreign "
                                         "file)" + kUnchanged);
    }
  }
  std::vector<std::string> tables;
  {
    SQLite::Statement q(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    while (q.executeStep()) tables.push_back(q.getColumn(0).getString());
  }
  if (tables.empty()) return Status::Ok();
  bool has_version = false;
  for (const auto& t : tables) has_version = has_version || t == "schema_version";
  if (!has_version) {
    std::string list;
    for (size_t i = 0; i < tables.size() && i < 5; ++i) list += (i ? ", " : "") + tables[i];
    if (tables.size() > 5) list += ", ...";
    return Status::FailedPrecondition(
        op, path + " is a SQLite database but not a duroxide store (it has tables " + list +
                " and no schema_version table)" + kUnchanged);
  }
  int64_t version = 0;
  {
    SQLite::Statement q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (q.executeStep()) version = q.getColumn(0).getInt64();
  }
  if (version > LatestSchemaVersion()) {
    return Status::FailedPrecondition(
        op, path + " was written by a newer duroxide (schema version " + std::to_string(version) +
                "; this build supports up to " + std::to_string(LatestSchemaVersion()) +
                "): upgrade duroxide to open it" + kUnchanged);
  }
  if (static_cast<int64_t>(size) <= kQuickCheckMaxBytes) {
    SQLite::Statement q(db, "PRAGMA quick_check(1)");
    const std::string verdict = q.executeStep() ? q.getColumn(0).getString() : "no result";
    if (verdict != "ok") {
      return Status::DataLoss(op, path + " is corrupt (PRAGMA quick_check: " + verdict + ")" +
                                      kUnchanged);
    }
  }
  return Status::Ok();
}

}  // namespace

namespace internal {

void EndStaleTransaction(sqlite3* db) {
  if (db == nullptr || sqlite3_get_autocommit(db) != 0) return;
  for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st != nullptr;
       st = sqlite3_next_stmt(db, st)) {
    if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
  }
  const int rc = sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  Log(LogLevel::kWarn, "duroxide::runtime",
      "SQLite: rolled back a transaction left open by a failed operation",
      {{"rollback", rc == SQLITE_OK ? "ok" : sqlite3_errstr(rc)}});
}

}  // namespace internal

Status CheckExistingDatabase(SQLite::Database& db, const std::string& path) {
  try {
    return CheckExistingDatabaseOrThrow(db, path);
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
      return Status::DataLoss("SqliteProvider::Open", path + " is corrupt or not a SQLite "
                              "database (" + e.what() + ")" + kUnchanged);
    }
    return StatusFromSqliteError(e.getErrorCode(), e.getExtendedErrorCode(),
                                 "SqliteProvider::Open", e.what());
  } catch (const std::exception& e) {
    return Status::Internal("SqliteProvider::Open", e.what());
  }
}

}  // namespace duroxide::providers::sqlite
