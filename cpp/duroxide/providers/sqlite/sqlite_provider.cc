// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: connection setup, orchestrator queue, turn commit (ack), client reads and KV.
// The worker queue and sessions are in sqlite_worker_queue.cc, the schema in sqlite_schema.cc.
//
// Concurrency: one connection per object, serialised by mu_, so threads of one process never
// see SQLITE_BUSY from each other. Every write runs in BEGIN IMMEDIATE, which takes the
// database write lock up front: read-then-write sequences (pick an instance, then lock it)
// are therefore atomic across processes as well, and other processes wait up to
// busy_timeout_ms instead of failing mid-transaction.
#include "duroxide/providers/sqlite/sqlite_provider.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <tuple>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using history::WorkItem;
using history::WorkItemKind;
using internal::Batched;
using internal::BindOptional;
using internal::Guarded;
using internal::OptionalText;
using internal::ScopedStatement;
using internal::ScopedTransaction;

namespace {

constexpr const char* kStartKind = "StartOrchestration";

bool EndsExecution(ExecutionStatus s) {
  return s == ExecutionStatus::kCompleted || s == ExecutionStatus::kFailed ||
         s == ExecutionStatus::kContinuedAsNew;
}

// Strips the "sqlite:" / "sqlite://" prefix and a "?query" suffix.
std::string NormalisePath(const std::string& spec) {
  std::string p = spec;
  if (p.rfind("sqlite://", 0) == 0) {
    p = p.substr(9);
  } else if (p.rfind("sqlite:", 0) == 0) {
    p = p.substr(7);
  }
  const auto q = p.find('?');
  if (q != std::string::npos) p.resize(q);
  return p;
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

// An instance row with its current execution and the id of that execution's last event.
constexpr const char* kReadRecordSql =
      "SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, e.status, "
      "  e.output, e.error, i.custom_status, i.custom_status_version, i.parent_instance_id, "
      "  i.created_at, i.updated_at, "
      "  (SELECT MAX(h.event_id) FROM history h "
      "   WHERE h.instance_id = i.instance_id AND h.execution_id = i.current_execution_id) "
      "FROM instances i LEFT JOIN executions e "
      "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
      "WHERE i.instance_id = ?1";

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
    default:
      return Status::Internal(op, msg);
  }
}

// ---- construction ------------------------------------------------------------------------

SqliteProvider::SqliteProvider(std::unique_ptr<SQLite::Database> db, std::string path)
    : path_(std::move(path)),
      rng_(std::random_device{}()),
      db_(std::move(db)),
      group_(std::make_unique<internal::GroupCommit>(&mu_, db_.get())) {}

SqliteProvider::~SqliteProvider() = default;

Result<std::unique_ptr<SqliteProvider>> SqliteProvider::Open(const std::string& path) {
  return Open(path, SqliteOptions{});
}

Result<std::unique_ptr<SqliteProvider>> SqliteProvider::Open(const std::string& path,
                                                             const SqliteOptions& options) {
  const std::string file = NormalisePath(path);
  if (file == ":memory:") return InMemory();
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
    auto db = std::make_unique<SQLite::Database>(
        abs.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        options.busy_timeout_ms);
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
  auto prep = [&](const char* sql) { return std::make_unique<SQLite::Statement>(*db_, sql); };
  begin_ = prep("BEGIN IMMEDIATE");
  commit_ = prep("COMMIT");
  rollback_ = prep("ROLLBACK");

  // Oldest visible message of an instance without a live lock; the lock row of an expired
  // lock is taken over in place. One statement picks and locks. The unary '+' keeps SQLite
  // off idx_orch_visible here: walking the primary key in id order stops at the first
  // eligible row, instead of collecting and sorting every visible message of a backlog.
  fetch_lock_ = prep(
      "INSERT INTO instance_locks(instance_id, lock_token, locked_until, locked_at) "
      "SELECT q.instance_id, ?1, ?2, ?3 FROM orchestrator_queue q "
      "WHERE +q.visible_at <= ?3 AND NOT EXISTS (SELECT 1 FROM instance_locks l "
      "  WHERE l.instance_id = q.instance_id AND l.locked_until > ?3) "
      "ORDER BY q.id LIMIT 1 "
      "ON CONFLICT(instance_id) DO UPDATE SET lock_token = excluded.lock_token, "
      "  locked_until = excluded.locked_until, locked_at = excluded.locked_at "
      "RETURNING instance_id");
  fetch_tag_ = prep(
      "UPDATE orchestrator_queue SET lock_token = ?1, attempt_count = attempt_count + 1 "
      "WHERE instance_id = ?2 AND visible_at <= ?3 RETURNING id, work_item, attempt_count");
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
      "DELETE FROM instance_locks WHERE lock_token = ?1 AND locked_until > ?2 "
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
      "  execution_id, activity_id, session_id, tag) "
      "VALUES (?1, ?2, 0, ?2, ?3, ?4, ?5, ?6, ?7)");
  cancel_activity_ = prep(
      "DELETE FROM worker_queue "
      "WHERE instance_id = ?1 AND execution_id = ?2 AND activity_id = ?3");
  insert_orchestrator_ = prep(
      "INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, "
      "  created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)");

  abandon_unlock_ = prep("DELETE FROM instance_locks WHERE lock_token = ?1 RETURNING instance_id");
  abandon_messages_ = prep(
      "UPDATE orchestrator_queue SET lock_token = NULL, visible_at = COALESCE(?2, visible_at), "
      "  attempt_count = CASE WHEN ?3 THEN MAX(attempt_count - 1, 0) ELSE attempt_count END "
      "WHERE instance_id = ?4 AND lock_token = ?1");
  renew_instance_lock_ = prep(
      "UPDATE instance_locks SET locked_until = ?2 WHERE lock_token = ?1 AND locked_until > ?3");
  next_orchestrator_visible_ = prep(
      "SELECT q.visible_at FROM orchestrator_queue q WHERE NOT EXISTS (SELECT 1 "
      "  FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > ?1) "
      "ORDER BY q.visible_at LIMIT 1");

  start_orchestration_ = prep(
      "INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, "
      "  created_at) "
      "SELECT ?1, 'StartOrchestration', ?2, ?3, 0, ?3 "
      "WHERE NOT EXISTS (SELECT 1 FROM instances WHERE instance_id = ?1) "
      "  AND NOT EXISTS (SELECT 1 FROM orchestrator_queue "
      "                  WHERE instance_id = ?1 AND kind = 'StartOrchestration')");
  has_pending_start_ = prep(
      "SELECT EXISTS (SELECT 1 FROM orchestrator_queue "
      "  WHERE instance_id = ?1 AND kind = 'StartOrchestration')");
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
  char buf[40];
  const auto hi = static_cast<unsigned long long>(rng_());  // NOLINT(runtime/int)
  const auto lo = static_cast<unsigned long long>(rng_());  // NOLINT(runtime/int)
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", hi, lo);
  return std::string(prefix) + buf;
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
  if (last_event_id != nullptr) {
    *last_event_id = s->getColumn(11).isNull() ? 0 : s->getColumn(11).getInt64();
  }
  InstanceRecord r;
  r.name = s->getColumn(0).getString();
  r.version = s->getColumn(1).getString();
  r.current_execution_id = s->getColumn(2).getInt64();
  const SQLite::Column status = s->getColumn(3);
  if (!status.isNull() && !ExecutionStatusFromName(status.getString(), &r.status)) {
    throw internal::DataLossError("instance '" + instance + "' has unknown execution status '" +
                                  status.getString() + "'");
  }
  r.output = OptionalText(s->getColumn(4));
  r.error = OptionalText(s->getColumn(5));
  r.custom_status = OptionalText(s->getColumn(6));
  r.custom_status_version = s->getColumn(7).getInt64();
  r.parent_instance_id = OptionalText(s->getColumn(8));
  r.created_at_ms = s->getColumn(9).getInt64();
  r.updated_at_ms = s->getColumn(10).getInt64();
  return r;
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

// ---- orchestrator queue ------------------------------------------------------------------

Status SqliteProvider::OrchestrationFetchTx(int64_t lock_timeout_ms, const FetchHint* hint,
                                           OrchestrationFetchState* st) {
  const char* op = "FetchOrchestrationItem";
  *st = OrchestrationFetchState();  // the group commit may run this again
  const int64_t now = NowMs();
  st->item.lock_token = NewToken("o-");
  {
    ScopedStatement s(*fetch_lock_);
    s->bind(1, st->item.lock_token);
    s->bind(2, now + lock_timeout_ms);
    s->bind(3, now);
    if (!s->executeStep()) return Status::Ok();
    st->item.instance = s->getColumn(0).getString();
  }
  {
    ScopedStatement s(*fetch_tag_);
    s->bind(1, st->item.lock_token);
    s->bind(2, st->item.instance);
    s->bind(3, now);
    while (s->executeStep()) {
      st->rows.emplace_back(s->getColumn(0).getInt64(), s->getColumn(1).getString(),
                        s->getColumn(2).getInt64());
    }
  }
  // A record that cannot be interpreted is reported like an undecodable history: the
  // batch must still come back locked so the runtime can fail the instance.
  try {
    st->item.record = ReadRecord(st->item.instance, &st->item.last_event_id);
  } catch (const internal::DataLossError& e) {
    st->item.history_error = Status::DataLoss(op, e.what());
  }
  // No instance row means no committed turn: the first ack writes the row, its history and its
  // KV together, so there is nothing more to read for a new instance.
  if (!st->item.record && st->item.history_error.ok()) {
    st->found = true;
    return Status::Ok();
  }
  const int64_t exec_id = st->item.record ? st->item.record->current_execution_id : int64_t{1};
  if (!st->item.record) {  // unreadable record: look up the last event on its own
    ScopedStatement s(*last_event_id_);
    s->bind(1, st->item.instance);
    s->bind(2, exec_id);
    if (s->executeStep() && !s->getColumn(0).isNull()) st->item.last_event_id = s->getColumn(0).getInt64();
  }
  std::optional<CachedHistory> cached;
  if (hint && hint->cached && st->item.record) cached = hint->cached(st->item.instance);
  if (cached && cached->execution_id == exec_id && cached->last_event_id == st->item.last_event_id &&
      cached->instance_created_at_ms == st->item.record->created_at_ms && st->item.last_event_id > 0) {
    st->item.history_loaded = false;
  } else {
    ScopedStatement s(*read_history_);
    s->bind(1, st->item.instance);
    s->bind(2, exec_id);
    while (s->executeStep()) st->events.push_back(s->getColumn(0).getString());
  }
  {
    ScopedStatement s(*read_kv_store_);
    s->bind(1, st->item.instance);
    while (s->executeStep()) {
      st->item.kv_snapshot[s->getColumn(0).getString()] =
          KvEntry{s->getColumn(1).getString(), s->getColumn(2).getInt64()};
    }
  }
  st->found = true;
  return Status::Ok();
}

Result<std::optional<OrchestrationItem>> SqliteProvider::FinishOrchestrationFetch(
    const Status& tx, OrchestrationFetchState* st) {
  using Out = std::optional<OrchestrationItem>;
  if (!tx.ok()) return tx;
  if (!st->found) return Out();
  // JSON decoding happens after the connection is released.
  DecodeFetchedBatch("FetchOrchestrationItem", std::move(st->rows), st->events, &st->item);
  return Out(std::move(st->item));
}

Result<std::optional<OrchestrationItem>> SqliteProvider::FetchOrchestrationItem(
    int64_t lock_timeout_ms, const FetchHint* hint) {
  OrchestrationFetchState st;
  const std::function<Status()> fn = [&] { return OrchestrationFetchTx(lock_timeout_ms, hint, &st); };
  return FinishOrchestrationFetch(group_->Run("FetchOrchestrationItem", fn), &st);
}

Status SqliteProvider::EncodeTurnCommit(const TurnCommit& commit, EncodedCommit* enc) {
  const char* op = "AckOrchestrationItem";
  enc->events.reserve(commit.new_events.size());
  for (const history::Event& e : commit.new_events) {
    if (e.event_id <= 0) {
      return Status::InvalidArgument(op, "event_id must be positive, got " +
                                             std::to_string(e.event_id));
    }
    enc->events.push_back(history::EncodeEvent(e));
  }
  for (const WorkItem& w : commit.worker_items) {
    if (w.kind != WorkItemKind::kActivityExecute) {
      return Status::InvalidArgument(op, std::string("worker item of kind ") +
                                             history::WorkItemKindName(w.kind));
    }
    enc->worker_items.push_back(history::EncodeWorkItem(w));
  }
  for (const WorkItem& o : commit.orchestrator_items) {
    if (o.kind == WorkItemKind::kActivityExecute) {
      return Status::InvalidArgument(op, "ActivityExecute in orchestrator_items");
    }
  }
  return Status::Ok();
}

Status SqliteProvider::AckOrchestrationTx(const std::string& lock_token, const TurnCommit& commit,
                                         const EncodedCommit& enc, bool* more_messages,
                                         std::string* acked_instance) {
  // more_messages == nullptr: the caller does not need to know (a fetch follows in the same
  // transaction and will take those messages).
  const char* op = "AckOrchestrationItem";
  const int64_t now = NowMs();
  // Validates and releases the lock in one statement; a later failure rolls it back.
  std::string instance;
  {
    ScopedStatement s(*ack_unlock_);
    s->bind(1, lock_token);
    s->bind(2, now);
    if (!s->executeStep()) {
      return Status::FailedPrecondition(op, "lock token '" + lock_token +
                                                "' is unknown or expired");
    }
    instance = s->getColumn(0).getString();
    *acked_instance = instance;
  }
  {
    ScopedStatement s(*ack_delete_messages_);
    s->bind(1, lock_token);
    s->bind(2, instance);
    s->exec();
  }
  if (commit.new_execution) {
    {
      ScopedStatement s(*ack_upsert_instance_);
      s->bind(1, instance);
      s->bind(2, commit.orchestration_name);
      s->bind(3, commit.orchestration_version);
      s->bind(4, commit.execution_id);
      BindOptional(s.get(), 5, commit.parent_instance_id);
      s->bind(6, now);
      s->bind(7, commit.instance_created_at_ms > 0 ? commit.instance_created_at_ms : now);
      s->exec();
    }
    ScopedStatement s(*ack_insert_execution_);
    s->bind(1, instance);
    s->bind(2, commit.execution_id);
    s->bind(3, now);
    s->exec();
  }
  for (size_t i = 0; i < enc.events.size(); ++i) {
    const history::Event& e = commit.new_events[i];
    ScopedStatement s(*ack_insert_event_);
    s->bind(1, instance);
    s->bind(2, commit.execution_id);
    s->bind(3, e.event_id);
    s->bind(4, history::EventKindName(e.kind));
    s->bind(5, enc.events[i]);
    s->bind(6, now);
    s->exec();
  }
  if (commit.status != ExecutionStatus::kRunning) {
    ScopedStatement s(*ack_finish_execution_);
    s->bind(1, instance);
    s->bind(2, commit.execution_id);
    s->bind(3, ExecutionStatusName(commit.status));
    BindOptional(s.get(), 4, commit.output);
    BindOptional(s.get(), 5, commit.error);
    s->bind(6, now);
    s->exec();
  }
  if (!commit.new_execution || commit.custom_status_changed) {
    ScopedStatement s(*ack_touch_instance_);
    s->bind(1, instance);
    s->bind(2, now);
    s->bind(3, commit.custom_status_changed ? 1 : 0);
    BindOptional(s.get(), 4, commit.custom_status);
    s->exec();
  }
  if (!commit.kv_mutations.empty()) ApplyKvMutations(instance, commit.kv_mutations);
  if (EndsExecution(commit.status)) MergeKvDelta(instance);
  for (size_t i = 0; i < enc.worker_items.size(); ++i) {
    const WorkItem& w = commit.worker_items[i];
    ScopedStatement s(*insert_worker_);
    s->bind(1, enc.worker_items[i]);
    s->bind(2, now);
    s->bind(3, w.instance);
    s->bind(4, w.execution_id);
    s->bind(5, w.id);
    BindOptional(s.get(), 6, w.session_id);
    BindOptional(s.get(), 7, w.tag);
    s->exec();
  }
  // After the inserts, so an activity scheduled and cancelled in one turn disappears.
  for (const ActivityRef& ref : commit.cancelled_activities) {
    ScopedStatement s(*cancel_activity_);
    s->bind(1, ref.instance);
    s->bind(2, ref.execution_id);
    s->bind(3, ref.activity_id);
    s->exec();
  }
  for (const WorkItem& o : commit.orchestrator_items) {
    InsertOrchestratorItem(o, o.kind == WorkItemKind::kTimerFired ? o.fire_at_ms : now, now);
  }
  // Messages that arrived during the lock are fetchable now; wake the dispatchers for them.
  if (more_messages != nullptr) {
    ScopedStatement s(*ack_remaining_);
    s->bind(1, instance);
    *more_messages = s->executeStep() && s->getColumn(0).getInt() != 0;
  }
  return Status::Ok();
}

Status SqliteProvider::AckOrchestrationItem(const std::string& lock_token,
                                            const TurnCommit& commit) {
  return AckOrchestrationItemsAndFetch({TurnAck{lock_token, &commit}}, nullptr)[0];
}

Result<std::vector<OrchestrationItem>> SqliteProvider::FetchOrchestrationItems(
    size_t max_items, int64_t lock_timeout_ms, const FetchHint* hint) {
  std::vector<OrchestrationFetchState> states;
  const std::function<Status()> fn = [&] {
    return OrchestrationFetchManyTx(max_items, lock_timeout_ms, hint, &states);
  };
  return FinishOrchestrationFetchMany(group_->Run("FetchOrchestrationItem", fn), &states);
}

Status SqliteProvider::OrchestrationFetchManyTx(size_t max_items, int64_t lock_timeout_ms,
                                               const FetchHint* hint,
                                               std::vector<OrchestrationFetchState>* states) {
  states->clear();
  while (states->size() < max_items) {
    OrchestrationFetchState st;
    Status s = OrchestrationFetchTx(lock_timeout_ms, hint, &st);
    if (!s.ok()) return s;
    if (!st.found) break;
    states->push_back(std::move(st));
  }
  return Status::Ok();
}

Result<std::vector<OrchestrationItem>> SqliteProvider::FinishOrchestrationFetchMany(
    const Status& tx, std::vector<OrchestrationFetchState>* states) {
  if (!tx.ok()) return tx;
  std::vector<OrchestrationItem> items;
  items.reserve(states->size());
  for (OrchestrationFetchState& st : *states) {
    auto item = FinishOrchestrationFetch(tx, &st);
    if (!item.ok()) return item.status();
    if (item->has_value()) items.push_back(std::move(**item));
  }
  return items;
}

std::vector<Status> SqliteProvider::AckOrchestrationItemsAndFetch(const std::vector<TurnAck>& acks,
                                                                  NextOrchestrationFetch* next) {
  // Validate and encode before taking the connection: both are pure CPU work.
  struct AckState {
    EncodedCommit enc;
    Status invalid;
    bool more_messages = false;
    std::string instance;
    std::function<Status()> fn;
  };
  std::vector<AckState> states(acks.size());
  const bool fetch_follows = next != nullptr && next->max_items > 0;
  std::vector<internal::GroupCommit::Op> ops;
  ops.reserve(acks.size() + 1);
  for (size_t i = 0; i < acks.size(); ++i) {
    AckState& a = states[i];
    a.invalid = EncodeTurnCommit(*acks[i].commit, &a.enc);
    if (!a.invalid.ok()) continue;
    a.fn = [this, &a, &ack = acks[i], fetch_follows] {
      return AckOrchestrationTx(ack.lock_token, *ack.commit, a.enc,
                                fetch_follows ? nullptr : &a.more_messages, &a.instance);
    };
    ops.push_back({"AckOrchestrationItem", &a.fn});
  }
  std::vector<OrchestrationFetchState> fetched;
  std::function<Status()> fetch;
  if (next && next->max_items > 0) {
    fetch = [&] {
      return OrchestrationFetchManyTx(next->max_items, next->lock_timeout_ms, next->hint, &fetched);
    };
    ops.push_back({"FetchOrchestrationItem", &fetch});
  }
  std::vector<Status> results = ops.empty() ? std::vector<Status>() : group_->RunAll(ops);
  // A fetch that filled its batch may have left work behind (also messages that arrived for
  // the acked instances during their locks): let an idle dispatcher look.
  bool more_work = false;
  if (next) {
    if (fetch) {
      more_work = !results.back().ok() || fetched.size() >= next->max_items;
      next->result.emplace(FinishOrchestrationFetchMany(results.back(), &fetched));
    } else {
      next->result.emplace(std::vector<OrchestrationItem>());
    }
  }

  std::vector<Status> out;
  out.reserve(acks.size());
  size_t r = 0;
  int orchestrator_wake = 0, worker_wake = 0;
  for (size_t i = 0; i < acks.size(); ++i) {
    AckState& a = states[i];
    if (!a.invalid.ok()) {
      out.push_back(a.invalid);
      continue;
    }
    out.push_back(results[r++]);
    if (!out.back().ok()) continue;
    const TurnCommit& commit = *acks[i].commit;
    orchestrator_wake += static_cast<int>(commit.orchestrator_items.size()) + (a.more_messages ? 1 : 0);
    worker_wake += static_cast<int>(commit.worker_items.size());
    // Client waits look for terminal states, custom status and KV changes only.
    if (commit.status != ExecutionStatus::kRunning || commit.custom_status_changed ||
        !commit.kv_mutations.empty() || commit.new_execution) {
      status_signal().Notify(a.instance);
    }
  }
  if (more_work) ++orchestrator_wake;
  if (orchestrator_wake > 0) orchestrator_signal().Notify(orchestrator_wake);
  if (worker_wake > 0) worker_signal().Notify(worker_wake);
  return out;
}

Status SqliteProvider::AbandonOrchestrationItem(const std::string& lock_token, int64_t delay_ms,
                                                bool ignore_attempt) {
  const char* op = "AbandonOrchestrationItem";
  Status st = Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    std::string instance;
    {
      ScopedStatement s(*abandon_unlock_);
      s->bind(1, lock_token);
      if (!s->executeStep()) {
        return Status::FailedPrecondition(op, "lock token '" + lock_token + "' is unknown");
      }
      instance = s->getColumn(0).getString();
    }
    ScopedStatement s(*abandon_messages_);
    s->bind(1, lock_token);
    s->bind(4, instance);
    if (delay_ms > 0) {
      s->bind(2, now + delay_ms);
    } else {
      s->bind(2);
    }
    s->bind(3, ignore_attempt ? 1 : 0);
    s->exec();
    return Status::Ok();
  });
  if (st.ok()) orchestrator_signal().Notify(1);
  return st;
}

Status SqliteProvider::RenewOrchestrationItemLock(const std::string& lock_token,
                                                  int64_t extend_ms) {
  const char* op = "RenewOrchestrationItemLock";
  return Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    ScopedStatement s(*renew_instance_lock_);
    s->bind(1, lock_token);
    s->bind(2, now + extend_ms);
    s->bind(3, now);
    if (s->exec() == 0) {
      return Status::FailedPrecondition(op, "lock token '" + lock_token +
                                                "' is unknown or expired");
    }
    return Status::Ok();
  });
}

Result<std::optional<int64_t>> SqliteProvider::NextOrchestratorVisibleAt() {
  using Out = std::optional<int64_t>;
  return Guarded("NextOrchestratorVisibleAt", [&]() -> Result<Out> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*next_orchestrator_visible_);
    s->bind(1, NowMs());
    if (!s->executeStep()) return Out();
    return Out(s->getColumn(0).getInt64());
  });
}

// ---- client ------------------------------------------------------------------------------

Status SqliteProvider::StartOrchestration(const WorkItem& start) {
  const char* op = "StartOrchestration";
  if (start.kind != WorkItemKind::kStartOrchestration) {
    return Status::InvalidArgument(op, std::string("expected StartOrchestration, got ") +
                                           history::WorkItemKindName(start.kind));
  }
  const std::string json = history::EncodeWorkItem(start);
  Status st = Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    ScopedStatement s(*start_orchestration_);
    s->bind(1, start.instance);
    s->bind(2, json);
    s->bind(3, now);
    if (s->exec() == 0) {
      return Status::AlreadyExists(op, "instance '" + start.instance + "' already exists");
    }
    return Status::Ok();
  });
  if (st.ok()) orchestrator_signal().Notify(1);
  return st;
}

Status SqliteProvider::EnqueueOrchestratorMessage(const WorkItem& item, int64_t delay_ms) {
  const char* op = "EnqueueOrchestratorMessage";
  if (item.kind == WorkItemKind::kActivityExecute) {
    return Status::InvalidArgument(op, "ActivityExecute belongs to the worker queue");
  }
  Status st = Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    InsertOrchestratorItem(item, now + std::max<int64_t>(delay_ms, 0), now);
    return Status::Ok();
  });
  if (st.ok()) orchestrator_signal().Notify(1);
  return st;
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

Result<bool> SqliteProvider::HasPendingStart(const std::string& instance) {
  return Guarded("HasPendingStart", [&]() -> Result<bool> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*has_pending_start_);
    s->bind(1, instance);
    return s->executeStep() && s->getColumn(0).getInt() != 0;
  });
}

Result<std::vector<history::Event>> SqliteProvider::ReadHistory(const std::string& instance,
                                                                int64_t execution_id) {
  const char* op = "ReadHistory";
  std::vector<std::string> rows;
  Status st = Guarded(op, [&]() -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(*read_history_);
    s->bind(1, instance);
    s->bind(2, execution_id);
    while (s->executeStep()) rows.push_back(s->getColumn(0).getString());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  std::vector<history::Event> events;
  events.reserve(rows.size());
  for (const std::string& text : rows) {
    Result<history::Event> decoded = history::DecodeEvent(text);
    if (!decoded.ok()) {
      return Status::DataLoss(op, "history of instance '" + instance +
                                      "': " + decoded.status().message());
    }
    events.push_back(std::move(decoded).value());
  }
  return events;
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
      std::string key = s->getColumn(0).getString();
      const SQLite::Column value = s->getColumn(1);
      if (value.isNull()) {
        out.erase(key);
      } else {
        out[std::move(key)] = KvEntry{value.getString(), s->getColumn(2).getInt64()};
      }
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
