// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the Provider contract (providers/provider.h) on a PostgreSQL database,
// shared by any number of runtime processes on any number of machines. Each provider works
// inside one PostgreSQL schema (default "public"); several schemas in one database are fully
// isolated stores. The tables mirror the SQLite provider (see postgres_schema.cc) and every
// behaviour is the same; docs/postgres.md describes set-up and operation.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_PROVIDER_H_
#define DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_PROVIDER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/sql_store.h"

// libpqxx stays out of this header so that users of the provider need no libpqxx include
// path (the provider library links it privately).
namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace duroxide::providers::postgres {

namespace internal {
class PgPool;
class PgListener;
class PgGroupCommit;
struct EncodedTurn;
struct RawFetchedBatch;
struct RawWorkLease;
struct GroupTasks;
}  // namespace internal

// True for [A-Za-z_][A-Za-z0-9_]{0,62}: the names this provider accepts as schema names (no
// quoting surprises, at most NAMEDATALEN-1 bytes). The name is still always quoted in SQL.
bool IsValidSchemaName(const std::string& schema);

struct PostgresOptions {
  // Connections used for queries; dispatcher threads beyond this many queue for one.
  // Default: 4.
  int pool_size = 4;
  // Run a LISTEN connection that wakes this process when another process makes work
  // visible (otherwise idle dispatchers only notice it at their next poll). Default: true.
  bool listen = true;
};

// Thread-safety: thread-safe; any number of objects (in any number of processes) may share one
// database and schema.
//
// Where provider.h leaves room, this implementation behaves exactly like SqliteProvider (see
// sqlite_provider.h): Abandon* with an expired token succeeds unless a later fetch took the
// lock over; delay_ms delays only the abandoned batch; an undecodable orchestrator message
// is reported through history_error; an undecodable worker row fails FetchWorkItem with
// kDataLoss and stays locked; events with event_id <= 0 and misrouted items are
// kInvalidArgument.
//
// Errors: a lost connection is kUnavailable (the connection is replaced, with backoff, on a
// later call); a commit whose outcome is unknown because the connection broke during COMMIT
// is kDataLoss; deadlocks and serialization failures are kAborted; see pg_errors.h.
class PostgresProvider : public SqlStore {
 public:
  // Connects to `url` (a libpq URI or key=value string, e.g.
  // "postgresql://user:pass@host:5432/db") and uses the schema "public".
  static Result<std::unique_ptr<PostgresProvider>> Connect(const std::string& url);
  // As Connect, in `schema`, which is created if missing. Returns kInvalidArgument unless
  // `schema` matches [A-Za-z_][A-Za-z0-9_]{0,62}; kUnavailable if the server cannot be
  // reached; kFailedPrecondition if the schema was written by a newer build or the role may
  // not create it.
  static Result<std::unique_ptr<PostgresProvider>> ConnectWithSchema(const std::string& url,
                                                                     const std::string& schema);
  static Result<std::unique_ptr<PostgresProvider>> ConnectWithSchema(
      const std::string& url, const std::string& schema, const PostgresOptions& options);

  ~PostgresProvider() override;
  PostgresProvider(const PostgresProvider&) = delete;
  PostgresProvider& operator=(const PostgresProvider&) = delete;

  std::string name() const override { return "postgres"; }
  // With the listener (PostgresOptions::listen), every notifying commit of another process
  // reaches this object's signals.
  bool HearsOtherProcesses() const override { return listener_ != nullptr; }
  const std::string& schema() const { return schema_; }

  // The overrides shared with SqliteProvider. Here FetchOrchestrationItems fetches up to
  // max_items instances in one server call (dx_fetch_orchestrations); the turns and worker
  // acks of the batched acks commit in one transaction shared with whatever the other
  // dispatcher threads of this object acknowledge or fetch at the same moment (group commit,
  // pg_group_commit.h), honouring TurnCommit::worker_lease_until_ms (rows without a session).
  // TEST_ExecuteSql runs on a pooled connection (search_path = this provider's schema).
#include "duroxide/providers/sql_store_overrides.inc"

  // Completion relay (provider.h, runtime/completion_relay.h): the work acks run as tasks of
  // the same group commit as the turns and the fetch, marked lock-only (durable = false). A
  // group made only of them and the fetch commits without waiting for the WAL flush: safe
  // because the only reader that makes anything durable of a queued completion is the turn
  // that consumes it, a synchronous commit later in the WAL, which flushes the completion's
  // commit record first; a server crash before that loses the completion together with the
  // deletion of its worker row, whose lease then expires and the activity runs again (at
  // least once; the history never saw it). A group holding any turn commits synchronously.
  std::vector<Status> AckWorkTurnsAndFetch(const std::vector<WorkAck>& work,
                                           std::vector<Status>* work_acked,
                                           const std::vector<TurnAck>& acks,
                                           NextOrchestrationFetch* next) override;
  bool RelaysWorkAcks() const override;

  // Test hooks, not for production use. TEST_BreakConnections makes every idle pooled
  // connection fail as if the server had gone away. TEST_ListenerConnections counts the
  // listener's successful (re)connections (0 without a listener).
  void TEST_BreakConnections();
  int64_t TEST_ListenerConnections() const;
  // Group commit counters: transactions run and tasks run in them (pg_group_commit.h).
  std::pair<int64_t, int64_t> TEST_GroupCommitCounts() const;

 private:
  PostgresProvider(std::string url, std::string schema, const PostgresOptions& options);

  // Runs `body(pqxx::connection_base&)` on a leased connection and converts every exception to a
  // Status naming `op` (a lost connection is replaced on a later call). Defined in
  // postgres_internal.h.
  template <typename F>
  auto Run(const char* op, F&& body) -> decltype(body(std::declval<pqxx::connection_base&>()));
  // SqlStore's dialect hooks (sql_store.h) and RunScheduleTx (schedule_store.h).
#include "duroxide/providers/sql_store_hooks.inc"
  class ScheduleTxImpl;  // postgres_schedules.cc
  // Inside a worker fetch: leases candidate `row_id` of limit `limit`/`key` if LimitAdmits
  // (limit_store.h) and takes its token; false leaves the row as it was.
  bool ClaimLimitedTx(pqxx::transaction_base& tx, int64_t row_id, const std::string& limit,
                      const std::string& key, const std::string& token, int64_t until,
                      int64_t now, std::string* work_item, int64_t* attempt_count);

  // "o-" / "w-" followed by 32 random hex digits.
  std::string NewToken(const char* prefix);
  // Wakes other processes: payload "<id>:<kinds>" where kinds is a subset of "ows"
  // (orchestrator, worker, status). The listener ignores this process's own id, because
  // local signals are notified directly.
  std::string NotifyPayload(const std::string& kinds) const;
  void OnNotification(const std::string& payload);
  // One turn's dx_ack call on `tx`; FailedPrecondition for an unknown or expired lock.
  Status AckTurn(pqxx::transaction_base& tx, const std::string& lock_token,
                 const TurnCommit& commit, const internal::EncodedTurn& turn, int64_t now,
                 bool* more_messages);
  // TurnCommit::messaging of a turn of `instance` on `tx` (a real transaction).
  void ApplyMessagingTx(pqxx::transaction_base& tx, const std::string& instance,
                        const TurnCommit& commit, int64_t now);
  int64_t PublishTx(pqxx::transaction_base& tx, const TopicPublish& publish, int64_t now);
  // Local wake-ups: after a fetch (one more dispatcher when the batch came back full), and
  // after a committed turn (returns the orchestration dispatchers to wake for it).
  void NotifyIfFull(size_t fetched, size_t max_items);
  int NotifyAcked(const TurnCommit& commit, const internal::EncodedTurn& turn,
                  bool more_messages);
  // Lock tokens of the worker rows of `ack` to insert leased ("" = unleased); empty when the
  // ack asks for no leases (TurnCommit::worker_lease_until_ms, TurnAck::leases).
  std::vector<std::string> LeaseTokens(const TurnAck& ack);
  // Group-commit tasks (they run on the group's transaction and may run twice).
  Status FetchOrchestrationTx(pqxx::transaction_base& tx, size_t max_items,
                              int64_t lock_timeout_ms, const FetchHint* hint,
                              std::vector<internal::RawFetchedBatch>* out);
  Status FetchWorkTx(pqxx::transaction_base& tx, size_t max_items, int64_t lock_timeout_ms,
                     const WorkerFetchOptions& options, std::vector<internal::RawWorkLease>* out);
  Status AckWorkTx(pqxx::transaction_base& tx, const WorkAck& ack, const std::string& json);
  // Adds one group-commit task per valid ack of `acks` to `tasks` (an invalid one gets its
  // error in out[i] and no task); index[k] is the ack of the k-th task added, json[i] the
  // completion's encoding (both must outlive the group's run).
  void AddWorkAckTasks(const std::vector<WorkAck>& acks, bool durable, std::vector<Status>* out,
                       std::vector<std::string>* json, std::vector<size_t>* index,
                       internal::GroupTasks* tasks);

  const std::string url_;
  const std::string schema_;
  const std::string channel_;
  const std::string origin_id_;    // random id of this provider object (notification origin)
  const int32_t lock_space_;       // first key of per-instance advisory locks
  const int64_t delete_lock_key_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)
  std::unique_ptr<internal::PgPool> pool_;
  std::unique_ptr<internal::PgGroupCommit> group_;  // runs on pool_ (destroyed before it)
  std::unique_ptr<internal::PgListener> listener_;  // last: stopped first on destruction
};

}  // namespace duroxide::providers::postgres

#endif  // DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_PROVIDER_H_
