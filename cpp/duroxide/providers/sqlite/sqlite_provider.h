// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the Provider contract (providers/provider.h) on one SQLite database, either
// a file (WAL mode, shareable between processes) or a private in-memory database (tests).
// The schema is documented at the top of sqlite_schema.cc.
#ifndef DUROXIDE_PROVIDERS_SQLITE_SQLITE_PROVIDER_H_
#define DUROXIDE_PROVIDERS_SQLITE_SQLITE_PROVIDER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <tuple>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/sql_store.h"

// SQLiteCpp stays out of this header so that users of the provider need no SQLiteCpp include
// path (the providers library links it privately).
namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace duroxide::providers::sqlite {
namespace internal {
class GroupCommit;
// A worker lease token: "<stored token>.<row id>" (sqlite_worker_queue.cc).
std::string WorkerLeaseToken(const std::string& stored, int64_t row_id);
}  // namespace internal

struct SqliteOptions {
  // PRAGMA synchronous=FULL instead of NORMAL for file databases: NORMAL in WAL mode is
  // crash-safe but may lose the last transactions on power loss. Default: false.
  bool synchronous_full = false;
  // How long a statement waits for another process's lock before failing with kUnavailable.
  // Default: 60000.
  int busy_timeout_ms = 60000;
  // Page size of a NEW database file (an existing file keeps its own). Every page a commit
  // dirties is written to the WAL as one frame, and a turn touches a few rows in many
  // different b-trees, so small pages cut the bytes written per commit: 1024 wrote about 4x
  // fewer WAL bytes than SQLite's default 4096 and ran the hello benchmark ~1.3x faster.
  // Larger values favour very large payloads. Default: 1024.
  int page_size = 1024;
  // TEST ONLY: open the file through the fault-injecting VFS (sqlite_fault_vfs.h), so that a
  // test can make writes and syncs fail. Default: false.
  bool fault_injection = false;
  // Open read-only: nothing is created, migrated or written; every write fails with
  // kFailedPrecondition. Also chosen by "?mode=ro" in the path/URL and for a file this
  // process cannot write. Default: false.
  bool read_only = false;
};

// Maps a SQLite result code (primary `code`, `extended` code, -1 if unknown) to a Status:
// BUSY/LOCKED -> kUnavailable; CONSTRAINT -> kAlreadyExists for PRIMARY KEY/UNIQUE violations,
// kFailedPrecondition otherwise; CORRUPT/NOTADB -> kDataLoss; anything else -> kInternal.
// Pure function (no database needed).
Status StatusFromSqliteError(int code, int extended, const std::string& op,
                             const std::string& msg);

// Thread-safety: thread-safe. Each object owns one connection, serialised by a mutex; several
// objects (also in other processes) may share one database file.
//
// Where provider.h leaves room, this implementation:
//   - accepts Abandon* with an expired token as long as no later fetch took the lock over;
//   - with delay_ms > 0, delays only the abandoned batch (messages that arrived during the
//     lock stay visible);
//   - reports an undecodable orchestrator message like an undecodable history (item returned,
//     lock held, history_error = kDataLoss), so a poison ack can still delete it;
//   - fails FetchWorkItem with kDataLoss for an undecodable worker row, leaving the row locked
//     so it does not block the rows behind it;
//   - rejects TurnCommit events with event_id <= 0 and misrouted item kinds (kInvalidArgument).
class SqliteProvider : public SqlStore {
 public:
  // Opens (creating file, parent directories and schema if needed) the database at `path`.
  // `path` is a plain path or has a "sqlite:" / "sqlite://" prefix; of a "?query" suffix only
  // mode=ro counts (open read-only, see SqliteOptions::read_only; a file this process cannot
  // write is opened read-only too); ":memory:" after the prefix means InMemory(). Returns kUnavailable if another
  // process holds the database locked beyond busy_timeout_ms, kFailedPrecondition if the
  // schema was written by a newer build, kInternal/kDataLoss for other SQLite failures.
  static Result<std::unique_ptr<SqliteProvider>> Open(const std::string& path);
  static Result<std::unique_ptr<SqliteProvider>> Open(const std::string& path,
                                                      const SqliteOptions& options);
  // A fresh private in-memory database per call (nothing is shared between objects).
  static Result<std::unique_ptr<SqliteProvider>> InMemory();
  // True when opened read-only (SqliteOptions::read_only).
  bool read_only() const { return read_only_; }

  ~SqliteProvider() override;
  SqliteProvider(const SqliteProvider&) = delete;
  SqliteProvider& operator=(const SqliteProvider&) = delete;

  std::string name() const override { return "sqlite"; }
  // The database file ("" for in-memory databases).
  const std::string& path() const { return path_; }

  // The overrides shared with PostgresProvider. Here the batched fetches share one
  // transaction, and so do the batched acks and their fetch (each ack in its own savepoint).
#include "duroxide/providers/sql_store_overrides.inc"

 private:
  SqliteProvider(std::unique_ptr<SQLite::Database> db, std::string path);

  // Runs `body()` (returning Status or Result<T>) under mu_ in one BEGIN IMMEDIATE
  // transaction, committed iff it returns Ok (rolled back otherwise); exceptions become a
  // Status naming `op`. Defined in sqlite_schema.h.
  template <typename F>
  auto WriteTx(const char* op, F&& body) -> decltype(body());
  // Prepares every cached statement (the worker-queue ones live in sqlite_worker_queue.cc).
  void PrepareStatements();
  void PrepareWorkerStatements();
  // "o-" / "w-" followed by 32 random hex digits. REQUIRES: mu_ held.
  std::string NewToken(const char* prefix);

  // One operation split around its transaction: the part that runs inside (*Tx, mu_ held,
  // may throw SQLite::Exception) and the pure CPU work before or after it, so that an ack and
  // the next fetch can share a transaction.
  struct OrchestrationFetchState {
    OrchestrationItem item;
    std::vector<std::tuple<int64_t, std::string, int64_t>> rows;  // id, work_item, attempts
    std::vector<std::string> events;
    bool found = false;
  };
  // `scan_from` (in/out): queue rows ranked below this (providers/queue_order.h) are known
  // ineligible in this transaction; INT64_MIN for a first fetch.
  Status OrchestrationFetchTx(int64_t lock_timeout_ms, const FetchHint* hint,
                              OrchestrationFetchState* st, int64_t* scan_from);
  // The second half of OrchestrationFetchTx, once st->item's instance is locked: its record,
  // its history (unless `hint`'s cache holds it) and its KV baseline.
  void ReadLockedInstanceTx(const FetchHint* hint, OrchestrationFetchState* st);
  Result<std::optional<OrchestrationItem>> FinishOrchestrationFetch(const Status& tx,
                                                                    OrchestrationFetchState* st);
  Status OrchestrationFetchManyTx(size_t max_items, int64_t lock_timeout_ms, const FetchHint* hint,
                                  std::vector<OrchestrationFetchState>* states);
  Result<std::vector<OrchestrationItem>> FinishOrchestrationFetchMany(
      const Status& tx, std::vector<OrchestrationFetchState>* states);
  struct EncodedCommit {
    std::vector<std::string> events;
    std::vector<std::string> worker_items;
  };
  static Status EncodeTurnCommit(const TurnCommit& commit, EncodedCommit* enc);
  // `leases` (optional): where the worker items inserted leased are reported (TurnAck::leases);
  // null inserts every worker item unleased.
  Status AckOrchestrationTx(const std::string& lock_token, const TurnCommit& commit,
                            const EncodedCommit& enc, bool* more_messages,
                            std::string* acked_instance, std::vector<WorkItemLease>* leases);
  // The steps of AckOrchestrationTx (sqlite_orchestrator_queue.cc).
  Status AckUnlockTx(const std::string& lock_token, int64_t now, std::string* instance);
  void AckHistoryTx(const std::string& instance, const TurnCommit& commit,
                    const EncodedCommit& enc, int64_t now);
  void AckQueuesTx(const TurnCommit& commit, const EncodedCommit& enc, int64_t now,
                   std::vector<WorkItemLease>* leases);
  struct WorkFetchState {
    WorkItemLease lease;
    int64_t row_id = 0;
    std::string text;
    bool found = false;
  };
  Status WorkFetchTx(int64_t lock_timeout_ms, const WorkerFetchOptions& options,
                     WorkFetchState* st);
  static Result<std::optional<WorkItemLease>> FinishWorkFetch(const Status& tx,
                                                              WorkFetchState* st);
  Status WorkFetchManyTx(size_t max_items, int64_t lock_timeout_ms,
                         const WorkerFetchOptions& options, std::vector<WorkFetchState>* states);
  static Result<std::vector<WorkItemLease>> FinishWorkFetchMany(const Status& tx,
                                                                std::vector<WorkFetchState>* states);
  Status WorkAckTx(const std::string& lock_token, const std::optional<history::WorkItem>& completion);

  // The statement for `sql`, prepared on first use and kept for the provider's life, so that
  // code paths with literal SQL do not prepare on every call. REQUIRES: mu_ held; use it
  // through ScopedStatement (it resets the statement).
  // `sql` is a string literal: its address is the cache key (no string built per call).
  SQLite::Statement& Prepared(const char* sql);

  // Helpers called with mu_ held inside a transaction; they throw SQLite::Exception.
  void InsertOrchestratorItem(const history::WorkItem& item, int64_t visible_at, int64_t now);
  // Takes the orchestration-limit slot of a fetched instance (limit_store.h), mu_ held.
  void TakeOrchestrationSlot(const std::string& instance, int64_t now);
  // Queues a StartOrchestration unless the instance or a queued start exists; true if it did.
  bool InsertStartRow(const history::WorkItem& start, int64_t now);
  // `last_schema_hash` (in/out): the schema this commit stored last (stored again otherwise).
  // With `lease_token`, the row is inserted locked by it until lease_until_ms (attempt 1).
  // Returns the row id.
  int64_t InsertWorkerItem(const history::WorkItem& item, const std::string& encoded, int64_t now,
                           std::string* last_schema_hash, const std::string* lease_token = nullptr,
                           int64_t lease_until_ms = 0);
  // `last_event_id` (optional) receives the id of the current execution's last event (0: none).
  std::optional<InstanceRecord> ReadRecord(const std::string& instance,
                                           int64_t* last_event_id = nullptr);
  static std::optional<InstanceRecord> ReadRecordWith(SQLite::Statement& stmt,
                                                      const std::string& instance,
                                                      int64_t* last_event_id);
  void ApplyKvMutations(const std::string& instance, const std::vector<KvMutation>& mutations);
  // TurnCommit::messaging of a turn of `instance`, inside its transaction.
  void ApplyMessagingTx(const std::string& instance, const TurnCommit& commit, int64_t now);
  int64_t PublishTx(const TopicPublish& publish, int64_t now);
  void MergeKvDelta(const std::string& instance);
  // The cached worker-fetch statement for a filter shape, prepared on first use.
  SQLite::Statement& WorkerFetchStatement(const WorkerFetchOptions& options);

  const std::string path_;
  bool read_only_ = false;
  static Result<std::unique_ptr<SqliteProvider>> OpenReadOnly(const std::string& file,
                                                             const SqliteOptions& options);
  std::mutex mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(mu_)
  // Declared before the statements: members are destroyed in reverse order, and statements
  // must be finalised before the connection closes.
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<internal::GroupCommit> group_;  // hot-path writes share transactions
  class ScheduleTxImpl;  // sqlite_schedules.cc
  // Inside a claim's transaction: takes a token of the claimed row's limit (limit_store.h).
  void ConsumeLimitTokenTx(const std::string& name, const std::string& key, int64_t now);
  // SqlStore's dialect hooks (sql_store.h) and RunScheduleTx (schedule_store.h).
#include "duroxide/providers/sql_store_hooks.inc"

  using Stmt = std::unique_ptr<SQLite::Statement>;
  Stmt begin_, commit_, rollback_;
  // Orchestrator queue and turn commit.
  Stmt fetch_lock_, fetch_tag_, read_record_, read_history_, read_kv_store_, last_event_id_;
  Stmt ack_unlock_, ack_delete_messages_, ack_upsert_instance_, ack_insert_execution_;
  Stmt ack_insert_event_, ack_finish_execution_, ack_touch_instance_, ack_remaining_;
  Stmt kv_upsert_delta_, kv_tombstone_delta_, kv_tombstone_store_;
  Stmt kv_merge_delete_, kv_merge_upsert_, kv_clear_delta_, kv_delta_exists_;
  Stmt insert_worker_, cancel_activity_, insert_orchestrator_, insert_schema_;
  Stmt abandon_unlock_, abandon_messages_, renew_instance_lock_, next_orchestrator_visible_;
  Stmt start_orchestration_, has_pending_start_, get_kv_value_, get_kv_all_;
  // Worker queue and sessions.
  std::map<std::string, Stmt> worker_fetch_;  // keyed by filter shape
  Stmt session_claim_, worker_ack_, session_touch_, worker_renew_, worker_abandon_;
  Stmt next_worker_visible_, renew_sessions_, cleanup_sessions_, worker_sweep_;
  // Statements with literal SQL prepared on first use and kept (Prepared()).
  std::unordered_map<const char*, Stmt> prepared_;

  // Read-only connection for GetInstance (file databases only; null in memory). Declared
  // after the writer's statements so it is closed first; its statement before it.
  std::mutex reader_mu_;
  std::unique_ptr<SQLite::Database> reader_;
  std::unique_ptr<SQLite::Statement> reader_read_record_;  // GUARDED_BY(reader_mu_)
};

}  // namespace duroxide::providers::sqlite

#endif  // DUROXIDE_PROVIDERS_SQLITE_SQLITE_PROVIDER_H_
