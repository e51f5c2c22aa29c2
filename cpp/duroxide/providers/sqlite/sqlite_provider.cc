// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: connection setup, statements, helpers, client reads and KV. The orchestrator
// queue and the turn commit are in sqlite_orchestrator_queue.cc, the worker queue and sessions
// in sqlite_worker_queue.cc, the schema in sqlite_schema.cc.
//
// Concurrency: one connection per object, serialised by mu_, so threads of one process never
// see SQLITE_BUSY from each other. Every write runs in BEGIN IMMEDIATE, which takes the
// database write lock up front: read-then-write sequences (pick an instance, then lock it)
// are therefore atomic across processes as well, and other processes wait up to
// busy_timeout_ms instead of failing mid-transaction.
#include "duroxide/providers/sqlite/sqlite_provider.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <tuple>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/queue_order.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_fault_vfs.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using history::WorkItem;
using history::WorkItemKind;
using internal::Batched;

namespace {

// Strips the "sqlite:" / "sqlite://" prefix and a "?query" suffix; *read_only is set when the
// query holds mode=ro (SQLite's URI parameter for a read-only open).
std::string NormalisePath(const std::string& spec, bool* read_only) {
  std::string p = spec;
  if (p.rfind("sqlite://", 0) == 0) {
    p = p.substr(9);
  } else if (p.rfind("sqlite:", 0) == 0) {
    p = p.substr(7);
  }
  const auto q = p.find('?');
  if (q != std::string::npos) {
    const std::string query = "&" + p.substr(q + 1) + "&";
    if (query.find("&mode=ro&") != std::string::npos) *read_only = true;
    p.resize(q);
  }
  return p;
}

// A file this process may not write (a read-only mount, another owner) or that nobody may
// write (chmod a-w: honoured for root too, who could write it anyway) is opened read-only
// rather than failing at the first write.
bool FileIsReadOnly(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0 || ::access(path.c_str(), W_OK) != 0;
}

// Switching to WAL needs a moment of exclusive access; when several processes open a fresh
// file at once the switch can report BUSY even with a busy handler, so retry for a while.
void EnableWal(SQLite::Database& db, int busy_timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(busy_timeout_ms, 0));
  for (;;) {
    try {
      const std::string mode = db.execAndGet("PRAGMA journal_mode=WAL").getString();
      if (mode == "wal") return;
      throw std::runtime_error("could not enable WAL mode (journal_mode=" + mode + ")");
    } catch (const SQLite::Exception& e) {
      const int code = e.getErrorCode() & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
          std::chrono::steady_clock::now() >= deadline) {
        throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

// OCTET_LENGTH(x): the byte length of x, NULL for NULL. Built into SQLite from 3.43 and into
// PostgreSQL; registered on the provider's connection so the shared statements that size
// stored text (store_common.h) run on older libraries too (same result as the built-in).
void OctetLength(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
  } else {
    sqlite3_result_int64(ctx, sqlite3_value_bytes(argv[0]));
  }
}

// An instance row with its current execution and the id of that execution's last event.
// The shared instance-record query (its `$1` is SQLite parameter 1).
constexpr const char* kReadRecordSql = store::kInstanceRecordSelect;

}  // namespace

Status StatusFromSqliteError(int code, int extended, const std::string& op,
                             const std::string& msg) {
  const int primary = code & 0xff;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(op, msg);
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
        return Status::AlreadyExists(op, msg);
      }
      return Status::FailedPrecondition(op, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(op, msg);
    case SQLITE_READONLY:
      // A store opened read-only (mode=ro or a read-only file) refuses every write: a
      // precondition of the store, not a failure of it (409 over REST).
      return Status::FailedPrecondition(
          op, "the store is read-only (opened with mode=ro or from a file this process cannot "
              "write): only reads are served (" + msg + ")");
    default:
      return Status::Internal(op, msg);
  }
}

// ---- construction ------------------------------------------------------------------------

SqliteProvider::SqliteProvider(std::unique_ptr<SQLite::Database> db, std::string path)
    : path_(std::move(path)),
      rng_(std::random_device{}()),
      db_(std::move(db)),
      group_(std::make_unique<internal::GroupCommit>(&mu_, db_.get())) {
  db_->createFunction("octet_length", 1, /*abDeterministic=*/true, nullptr, &OctetLength);
}

SQLite::Statement& SqliteProvider::Prepared(const char* sql) {
  Stmt& stmt = prepared_[sql];
  if (!stmt) stmt = std::make_unique<SQLite::Statement>(*db_, sql);
  return *stmt;
}

SqliteProvider::~SqliteProvider() = default;

Result<std::unique_ptr<SqliteProvider>> SqliteProvider::Open(const std::string& path) {
  return Open(path, SqliteOptions{});
}

Result<std::unique_ptr<SqliteProvider>> SqliteProvider::Open(const std::string& path,
                                                             const SqliteOptions& options) {
  bool read_only = options.read_only;
  const std::string file = NormalisePath(path, &read_only);
  if (file == ":memory:") return InMemory();
  if (read_only || FileIsReadOnly(file)) return OpenReadOnly(file, options);
  if (file.empty()) return Status::InvalidArgument("SqliteProvider::Open", "empty path");
  const int ps = options.page_size;
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0) {
    return Status::InvalidArgument("SqliteProvider::Open",
                                   "page_size must be a power of two from 512 to 65536, got " +
                                       std::to_string(ps));
  }
  return Guarded("SqliteProvider::Open", [&]() -> Result<std::unique_ptr<SqliteProvider>> {
    namespace fs = std::filesystem;
    const fs::path abs = fs::absolute(fs::path(file));
    if (abs.has_parent_path()) fs::create_directories(abs.parent_path());
    std::string vfs;
    if (options.fault_injection) {
      if (!faults::RegisterFaultVfs()) {
        return Status::Internal("SqliteProvider::Open", "could not register the fault VFS");
      }
      vfs = faults::kFaultVfsName;
    }
    auto db = std::make_unique<SQLite::Database>(
        abs.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        options.busy_timeout_ms, vfs);
    // Before anything writes: refuse corrupt, foreign and newer-version files untouched.
    Status usable = CheckExistingDatabase(*db, abs.string());
    if (!usable.ok()) return usable;
    // Only takes effect while the file is still empty (before WAL mode writes the header).
    db->exec("PRAGMA page_size=" + std::to_string(options.page_size));
    EnableWal(*db, options.busy_timeout_ms);
    db->exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db->exec(
        "PRAGMA wal_autocheckpoint=10000; PRAGMA temp_store=MEMORY; "
        "PRAGMA cache_size=-16384; PRAGMA foreign_keys=OFF");
    try {
      ApplyMigrations(*db);
    } catch (const std::runtime_error& e) {
      if (dynamic_cast<const SQLite::Exception*>(&e) != nullptr) throw;
      return Status::FailedPrecondition("SqliteProvider::Open", e.what());
    }
    std::unique_ptr<SqliteProvider> provider(new SqliteProvider(std::move(db), abs.string()));
    provider->PrepareStatements();
    provider->PrepareWorkerStatements();
    // A second, read-only connection for client reads: in WAL mode it reads the last
    // committed state without waiting for the writer.
    provider->reader_ = std::make_unique<SQLite::Database>(
        abs.string(), SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, options.busy_timeout_ms, vfs);
    provider->reader_read_record_ = std::make_unique<SQLite::Statement>(*provider->reader_,
                                                                        kReadRecordSql);
    return Result<std::unique_ptr<SqliteProvider>>(std::move(provider));
  });
}

Result<std::unique_ptr<SqliteProvider>> SqliteProvider::OpenReadOnly(
    const std::string& file, const SqliteOptions& options) {
  constexpr const char* op = "SqliteProvider::Open";
  return Guarded(op, [&]() -> Result<std::unique_ptr<SqliteProvider>> {
    namespace fs = std::filesystem;
    const fs::path abs = fs::absolute(fs::path(file));
    if (!fs::exists(abs)) {
      return Status::NotFound(op, abs.string() + " does not exist (a read-only store is never "
                                  "created)");
    }
    auto db = std::make_unique<SQLite::Database>(
        abs.string(), SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, options.busy_timeout_ms);
    Status usable = CheckExistingDatabase(*db, abs.string());
    if (!usable.ok()) return usable;
    // No migration can run: the file must already have this build's schema.
    SQLite::Statement version(*db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!version.executeStep() || version.getColumn(0).getInt64() != LatestSchemaVersion()) {
      return Status::FailedPrecondition(
          op, abs.string() + " is not at this build's schema version; open it read-write once "
                             "to migrate it, then read-only");
    }
    std::unique_ptr<SqliteProvider> provider(new SqliteProvider(std::move(db), abs.string()));
    provider->read_only_ = true;
    // Preparing a write on a read-only connection succeeds; running it fails (SQLITE_READONLY
    // -> kFailedPrecondition above), so every write is refused and nothing is written.
    provider->PrepareStatements();
    provider->PrepareWorkerStatements();
    provider->reader_ = std::make_unique<SQLite::Database>(
        abs.string(), SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, options.busy_timeout_ms);
    provider->reader_read_record_ = std::make_unique<SQLite::Statement>(*provider->reader_,
                                                                        kReadRecordSql);
    return Result<std::unique_ptr<SqliteProvider>>(std::move(provider));
  });
}

Result<std::unique_ptr<SqliteProvider>> SqliteProvider::InMemory() {
  return Guarded("SqliteProvider::InMemory", [&]() -> Result<std::unique_ptr<SqliteProvider>> {
    auto db = std::make_unique<SQLite::Database>(
        ":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    db->exec("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY");
    ApplyMigrations(*db);
    std::unique_ptr<SqliteProvider> provider(new SqliteProvider(std::move(db), std::string()));
    provider->PrepareStatements();
    provider->PrepareWorkerStatements();
    return Result<std::unique_ptr<SqliteProvider>>(std::move(provider));
  });
}

void SqliteProvider::PrepareStatements() {
  auto prep = [&](const std::string& sql) {
    return std::make_unique<SQLite::Statement>(*db_, sql);
  };
  begin_ = prep("BEGIN IMMEDIATE");
  commit_ = prep("COMMIT");
  rollback_ = prep("ROLLBACK");

  // The first visible message in claim order (providers/queue_order.h: rank, then id) of an
  // instance without a live lock; the lock row of an expired lock is taken over in place. One
  // statement picks and locks. ?4: the rank the scan starts at (see OrchestrationFetchTx).
  // Two candidates in order, the second only looked at when the first finds nothing (UNION ALL
  // under LIMIT 1 stops after its first row):
  //  - a walk of idx_orch_rank over the first 128 messages from ?4, eligible ones kept: the pick
  //    when the head of the queue is ready, without collecting and sorting a backlog;
  //  - the visible messages through idx_orch_visible, sorted by rank. A walk until the first
  //    eligible message would read every message ranked ahead of it that is not visible yet
  //    (a timer ranks by its creation) or belongs to a locked instance: with 20,000 timers
  //    pending, 3-9 ms per pick (docs/performance.md, round 3). The window bounds that.
  // Any eligible message in the window ranks before every one behind it, so the pick is the
  // first eligible message in claim order either way. INDEXED BY pins each plan.
  // Both candidates leave out instances whose limited start waits for a slot (limit_store.h).
  fetch_lock_ = prep(std::string(
      "INSERT INTO instance_locks(instance_id, lock_token, locked_until, locked_at) "
      "SELECT c.instance_id, ?1, ?2, ?3 FROM ("
      "  SELECT instance_id FROM (SELECT w.instance_id FROM (SELECT q.instance_id, q.visible_at "
      "    FROM orchestrator_queue q INDEXED BY idx_orch_rank WHERE " DUROXIDE_QUEUE_RANK_Q
      "    >= ?4 ORDER BY " DUROXIDE_QUEUE_RANK_Q ", q.id LIMIT 128) w "
      "    WHERE w.visible_at <= ?3 AND NOT EXISTS (SELECT 1 FROM instance_locks l "
      "      WHERE l.instance_id = w.instance_id AND l.locked_until > ?3) "
      "      AND " + OrchestrationLimitPredicate("w", "?3") + " LIMIT 1) "
      "  UNION ALL "
      "  SELECT instance_id FROM (SELECT q.instance_id FROM orchestrator_queue q "
      "    INDEXED BY idx_orch_visible WHERE q.visible_at <= ?3 AND " DUROXIDE_QUEUE_RANK_Q
      "    >= ?4 AND NOT EXISTS (SELECT 1 FROM instance_locks l "
      "      WHERE l.instance_id = q.instance_id AND l.locked_until > ?3) "
      "      AND " + OrchestrationLimitPredicate("q", "?3") + " "
      "    ORDER BY " DUROXIDE_QUEUE_RANK_Q ", q.id LIMIT 1) "
      "  LIMIT 1) c WHERE true "
      "ON CONFLICT(instance_id) DO UPDATE SET lock_token = excluded.lock_token, "
      "  locked_until = excluded.locked_until, locked_at = excluded.locked_at "
      "RETURNING instance_id"));
  fetch_tag_ = prep(
      "UPDATE orchestrator_queue SET lock_token = ?1, attempt_count = attempt_count + 1 "
      "WHERE instance_id = ?2 AND visible_at <= ?3 "
      "RETURNING id, work_item, attempt_count, " DUROXIDE_QUEUE_RANK);
  read_record_ = prep(kReadRecordSql);
  // ?2 = 0 selects the current execution (1 when the instance has no row yet).
  read_history_ = prep(
      "SELECT event_data FROM history WHERE instance_id = ?1 AND execution_id = "
      "  (CASE WHEN ?2 > 0 THEN ?2 ELSE COALESCE((SELECT current_execution_id FROM instances "
      "   WHERE instance_id = ?1), 1) END) "
      "ORDER BY event_id");
  read_kv_store_ =
      prep("SELECT key, value, last_updated_at_ms FROM kv_store WHERE instance_id = ?1");
  last_event_id_ =
      prep("SELECT MAX(event_id) FROM history WHERE instance_id = ?1 AND execution_id = ?2");

  ack_unlock_ = prep(
      "DELETE FROM instance_locks WHERE instance_id = ?3 AND lock_token = ?1 AND locked_until > ?2 "
      "RETURNING instance_id");
  ack_delete_messages_ =
      prep("DELETE FROM orchestrator_queue WHERE instance_id = ?2 AND lock_token = ?1");
  ack_upsert_instance_ = prep(
      "INSERT INTO instances(instance_id, orchestration_name, orchestration_version, "
      "  current_execution_id, parent_instance_id, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6) "
      "ON CONFLICT(instance_id) DO UPDATE SET orchestration_name = excluded.orchestration_name, "
      "  orchestration_version = excluded.orchestration_version, "
      "  current_execution_id = MAX(current_execution_id, excluded.current_execution_id), "
      "  updated_at = excluded.updated_at");
  ack_insert_execution_ = prep(
      "INSERT OR IGNORE INTO executions(instance_id, execution_id, status, started_at) "
      "VALUES (?1, ?2, 'Running', ?3)");
  ack_insert_event_ = prep(
      "INSERT INTO history(instance_id, execution_id, event_id, event_type, event_data, "
      "  created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  ack_finish_execution_ = prep(
      "UPDATE executions SET status = ?3, output = ?4, error = ?5, completed_at = ?6 "
      "WHERE instance_id = ?1 AND execution_id = ?2");
  ack_touch_instance_ = prep(
      "UPDATE instances SET updated_at = ?2, "
      "  custom_status = CASE WHEN ?3 THEN ?4 ELSE custom_status END, "
      "  custom_status_version = custom_status_version + ?3 "
      "WHERE instance_id = ?1");
  ack_remaining_ =
      prep("SELECT EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = ?1)");

  kv_upsert_delta_ = prep(
      "INSERT INTO kv_delta(instance_id, key, value, last_updated_at_ms) "
      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(instance_id, key) DO UPDATE SET "
      "  value = excluded.value, last_updated_at_ms = excluded.last_updated_at_ms");
  kv_tombstone_delta_ =
      prep("UPDATE kv_delta SET value = NULL, last_updated_at_ms = ?2 WHERE instance_id = ?1");
  kv_tombstone_store_ = prep(
      "INSERT OR IGNORE INTO kv_delta(instance_id, key, value, last_updated_at_ms) "
      "SELECT instance_id, key, NULL, ?2 FROM kv_store WHERE instance_id = ?1");
  kv_merge_delete_ = prep(
      "DELETE FROM kv_store WHERE instance_id = ?1 AND key IN "
      "  (SELECT key FROM kv_delta WHERE instance_id = ?1 AND value IS NULL)");
  kv_merge_upsert_ = prep(
      "INSERT INTO kv_store(instance_id, key, value, last_updated_at_ms) "
      "SELECT instance_id, key, value, last_updated_at_ms FROM kv_delta "
      "WHERE instance_id = ?1 AND value IS NOT NULL "
      "ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, "
      "  last_updated_at_ms = excluded.last_updated_at_ms");
  kv_clear_delta_ = prep("DELETE FROM kv_delta WHERE instance_id = ?1");
  kv_delta_exists_ = prep("SELECT EXISTS (SELECT 1 FROM kv_delta WHERE instance_id = ?1)");

  insert_worker_ = prep(
      "INSERT INTO worker_queue(work_item, visible_at, attempt_count, created_at, instance_id, "
      "  execution_id, activity_id, session_id, tag, schema_hash, requires_deadline, "
      "  avoid_workers, avoid_until, lock_token, locked_until, priority, limit_name, limit_key) "
      "VALUES (?1, ?2, ?12, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, ?14, ?15, ?16, ?17)");
  insert_schema_ = prep(
      "INSERT INTO schemas(hash, json, created_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(hash) DO NOTHING");
  cancel_activity_ = prep(
      "DELETE FROM worker_queue "
      "WHERE instance_id = ?1 AND execution_id = ?2 AND activity_id = ?3");
  insert_orchestrator_ = prep(
      "INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, "
      "  created_at, priority, limit_name, limit_key) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)");

  abandon_unlock_ = prep(
      "DELETE FROM instance_locks WHERE instance_id = ?2 AND lock_token = ?1 RETURNING instance_id");
  abandon_messages_ = prep(
      "UPDATE orchestrator_queue SET lock_token = NULL, visible_at = COALESCE(?2, visible_at), "
      "  attempt_count = CASE WHEN ?3 THEN MAX(attempt_count - 1, 0) ELSE attempt_count END "
      "WHERE instance_id = ?4 AND lock_token = ?1");
  renew_instance_lock_ = prep(
      "UPDATE instance_locks SET locked_until = ?2 "
      "WHERE instance_id = ?4 AND lock_token = ?1 AND locked_until > ?3");
  // Instances whose limited start waits for a slot are left out (limit_store.h): a visible but
  // unfetchable start must not make an idle dispatcher poll without sleeping.
  next_orchestrator_visible_ = prep(std::string(
      "SELECT q.visible_at FROM orchestrator_queue q WHERE NOT EXISTS (SELECT 1 "
      "  FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > ?1) "
      "  AND " + OrchestrationLimitPredicate("q", "?1") + " ORDER BY q.visible_at LIMIT 1"));

  start_orchestration_ = prep(
      "INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, "
      "  created_at, priority, limit_name, limit_key) "
      "SELECT ?1, 'StartOrchestration', ?2, ?3, 0, ?3, ?4, ?5, ?6 "
      "WHERE NOT EXISTS (SELECT 1 FROM instances WHERE instance_id = ?1) "
      "  AND NOT EXISTS (SELECT 1 FROM orchestrator_queue "
      "                  WHERE instance_id = ?1 AND kind = 'StartOrchestration')");
  has_pending_start_ = prep(
      "SELECT EXISTS (SELECT 1 FROM orchestrator_queue "
      "  WHERE instance_id = ?1 AND kind IN ('StartOrchestration', 'ContinueAsNew'))");
  get_kv_value_ = prep(
      "SELECT value, 1 AS pri FROM kv_delta WHERE instance_id = ?1 AND key = ?2 "
      "UNION ALL SELECT value, 0 FROM kv_store WHERE instance_id = ?1 AND key = ?2 "
      "ORDER BY pri DESC LIMIT 1");
  get_kv_all_ = prep(
      "SELECT key, value, last_updated_at_ms, 0 AS src FROM kv_store WHERE instance_id = ?1 "
      "UNION ALL SELECT key, value, last_updated_at_ms, 1 FROM kv_delta WHERE instance_id = ?1 "
      "ORDER BY src");
}

std::string SqliteProvider::NewToken(const char* prefix) {
  return store::NewLockToken(prefix, rng_);
}

// ---- helpers (mu_ held, inside a transaction) --------------------------------------------

void SqliteProvider::InsertOrchestratorItem(const WorkItem& item, int64_t visible_at,
                                            int64_t now) {
  ScopedStatement s(*insert_orchestrator_);
  s->bind(1, item.instance);
  s->bind(2, history::WorkItemKindName(item.kind));
  s->bind(3, history::EncodeWorkItem(item));
  s->bind(4, visible_at);
  s->bind(5, now);
  s->bind(6, item.priority);
  if (item.limit.empty()) s->bind(7); else s->bind(7, item.limit);
  s->bind(8, item.limit_key);
  s->exec();
}

std::optional<InstanceRecord> SqliteProvider::ReadRecord(const std::string& instance,
                                                         int64_t* last_event_id) {
  return ReadRecordWith(*read_record_, instance, last_event_id);
}

std::optional<InstanceRecord> SqliteProvider::ReadRecordWith(SQLite::Statement& stmt,
                                                             const std::string& instance,
                                                             int64_t* last_event_id) {
  ScopedStatement s(stmt);
  s->bind(1, instance);
  if (!s->executeStep()) return std::nullopt;
  return store::InstanceRecordFrom(instance, internal::StatementRow(s.get()), last_event_id);
}

void SqliteProvider::ApplyKvMutations(const std::string& instance,
                                      const std::vector<KvMutation>& mutations) {
  for (const KvMutation& m : mutations) {
    if (m.kind == KvMutation::Kind::kClearAll) {
      // Tombstone every delta key and every baseline key, so merged reads see nothing.
      {
        ScopedStatement s(*kv_tombstone_delta_);
        s->bind(1, instance);
        s->bind(2, m.last_updated_at_ms);
        s->exec();
      }
      ScopedStatement s(*kv_tombstone_store_);
      s->bind(1, instance);
      s->bind(2, m.last_updated_at_ms);
      s->exec();
      continue;
    }
    ScopedStatement s(*kv_upsert_delta_);
    s->bind(1, instance);
    s->bind(2, m.key);
    if (m.kind == KvMutation::Kind::kSet) {
      s->bind(3, m.value);
    } else {
      s->bind(3);  // kClear: tombstone
    }
    s->bind(4, m.last_updated_at_ms);
    s->exec();
  }
}

void SqliteProvider::MergeKvDelta(const std::string& instance) {
  {
    ScopedStatement s(*kv_delta_exists_);
    s->bind(1, instance);
    if (!s->executeStep() || s->getColumn(0).getInt() == 0) return;  // most instances have none
  }
  for (Stmt* stmt : {&kv_merge_delete_, &kv_merge_upsert_, &kv_clear_delta_}) {
    ScopedStatement s(**stmt);
    s->bind(1, instance);
    s->exec();
  }
}

// ---- client ------------------------------------------------------------------------------

bool SqliteProvider::InsertStartRow(const WorkItem& start, int64_t now) {
  ScopedStatement s(*start_orchestration_);
  s->bind(1, start.instance);
  s->bind(2, history::EncodeWorkItem(start));
  s->bind(3, now);
  s->bind(4, start.priority);
  if (start.limit.empty()) s->bind(5); else s->bind(5, start.limit);
  s->bind(6, start.limit_key);
  return s->exec() > 0;
}

Status SqliteProvider::WriteStart(const char* op, const WorkItem& start) {
  return Batched(*group_, op, [&]() -> Status {
    if (!InsertStartRow(start, NowMs())) return store::InstanceExists(op, start.instance);
    return Status::Ok();
  });
}

Status SqliteProvider::WriteOrchestratorMessage(const char* op, const WorkItem& item,
                                                int64_t delay_ms) {
  return Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    InsertOrchestratorItem(item, now + std::max<int64_t>(delay_ms, 0), now);
    return Status::Ok();
  });
}

Result<std::optional<InstanceRecord>> SqliteProvider::GetInstance(const std::string& instance) {
  return Guarded("GetInstance", [&]() -> Result<std::optional<InstanceRecord>> {
    if (reader_) {  // client status polls never wait behind a write transaction
      std::lock_guard<std::mutex> lock(reader_mu_);
      return ReadRecordWith(*reader_read_record_, instance, nullptr);
    }
    std::lock_guard<std::mutex> lock(mu_);
    return ReadRecord(instance);
  });
}

// Also true for a queued ContinueAsNew: an ended instance restarted by the client
// (start_orchestration if_exists="restart_if_ended") is about to run again.
Result<bool> SqliteProvider::HasPendingStart(const std::string& instance) {
  return Guarded("HasPendingStart", [&]() -> Result<bool> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*has_pending_start_);
    s->bind(1, instance);
    return s->executeStep() && s->getColumn(0).getInt() != 0;
  });
}

Status SqliteProvider::ReadHistoryRows(const char* op, const std::string& instance,
                                       int64_t execution_id, std::vector<std::string>* rows) {
  return Guarded(op, [&]() -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*read_history_);
    BindAll(s.get(), instance, execution_id);
    while (s->executeStep()) rows->push_back(s->getColumn(0).getString());
    return Status::Ok();
  });
}

Result<std::optional<std::string>> SqliteProvider::GetKvValue(const std::string& instance,
                                                              const std::string& key) {
  using Out = std::optional<std::string>;
  return Guarded("GetKvValue", [&]() -> Result<Out> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*get_kv_value_);
    s->bind(1, instance);
    s->bind(2, key);
    if (!s->executeStep()) return Out();
    return OptionalText(s->getColumn(0));  // NULL: tombstoned in the delta
  });
}

Result<KvMap> SqliteProvider::GetKvAll(const std::string& instance) {
  return Guarded("GetKvAll", [&]() -> Result<KvMap> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*get_kv_all_);
    s->bind(1, instance);
    KvMap out;
    // Baseline rows come first; delta rows then overwrite or (NULL) delete them.
    while (s->executeStep()) {
      store::MergeKvRow(&out, s->getColumn(0).getString(), OptionalText(s->getColumn(1)),
                        s->getColumn(2).getInt64());
    }
    return out;
  });
}

Status SqliteProvider::TEST_ExecuteSql(const std::string& sql) {
  return Guarded("TEST_ExecuteSql", [&]() -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    db_->exec(sql);
    return Status::Ok();
  });
}

}  // namespace duroxide::providers::sqlite
