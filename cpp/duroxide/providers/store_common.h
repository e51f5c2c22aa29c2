// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Dialect-independent logic shared by the SQLite and PostgreSQL providers, so that each
// provider keeps only its SQL and its driver calls:
//   - lock tokens (NewLockToken);
//   - turn-commit validation (ValidateTurnCommit), done before any write;
//   - decoding stored history (DecodeHistory) and merging KV rows (MergeKvRow);
//   - instance record mapping (InstanceRecordFrom, InstanceInfoFrom, ExecutionInfoFrom) over
//     a small row adapter each provider writes for its driver;
//   - the delete algorithm of DeleteInstancesAtomic (DeleteInstances over DeleteStore) and
//     the pruning algorithm of PruneExecutions (PruneInstance over PruneStore), the admin
//     argument checks (BulkLimit, KeepLast);
//   - the migration runner bookkeeping (RunMigrations over MigrationStore).
// Part of the `duroxide_providers` contract library: no database driver here.
// Thread-safety: the free functions are pure or touch only their arguments.
#ifndef DUROXIDE_PROVIDERS_STORE_COMMON_H_
#define DUROXIDE_PROVIDERS_STORE_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/history/event.h"
#include "duroxide/providers/admin_common.h"
#include "duroxide/providers/provider.h"
#include "duroxide/providers/provider_admin.h"

namespace duroxide::providers::store {

// Thrown by shared helpers (and provider code) for rows that exist but cannot be interpreted;
// each provider's exception guard turns it into kDataLoss.
class DataLossError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- lock tokens ---------------------------------------------------------------------------

// `prefix` ("o-" orchestration, "w-" worker) followed by 32 random lower-case hex digits from
// two draws of `rng`. REQUIRES: the caller serialises access to `rng`.
std::string NewLockToken(const char* prefix, std::mt19937_64& rng);

// ---- turn commit ---------------------------------------------------------------------------

// The checks done before a turn is committed, in this order: every new event has a positive
// event_id, every worker item is an ActivityExecute, no orchestrator item is. Returns
// kInvalidArgument (operation `op`) naming the first violation; Ok otherwise.
Status ValidateTurnCommit(const char* op, const TurnCommit& commit);

// ---- reads ---------------------------------------------------------------------------------

// Decodes the stored event texts of `instance`'s history, in order; kDataLoss (operation
// `op`) naming the instance for the first text that does not decode.
Result<std::vector<history::Event>> DecodeHistory(const char* op, const std::string& instance,
                                                  const std::vector<std::string>& rows);

// Applies one row of a KV read that lists baseline rows first and delta rows after them: a
// value overwrites, a NULL value (a tombstone of the delta) removes the key.
inline void MergeKvRow(KvMap* out, std::string key, std::optional<std::string> value,
                       int64_t updated_at_ms) {
  if (!value) {
    out->erase(key);
  } else {
    (*out)[std::move(key)] = KvEntry{std::move(*value), updated_at_ms};
  }
}

// ---- record mapping ------------------------------------------------------------------------
//
// `Row` is a provider's adapter over one result row:
//   bool Null(int i) const;          the column is SQL NULL
//   std::string Text(int i) const;   text of the column ("" for NULL)
//   int64_t Int(int i) const;        integer value of a non-NULL column
//   bool Bool(int i) const;          a boolean column (SQLite stores 0/1)

template <typename Row>
std::optional<std::string> OptText(const Row& row, int i) {
  if (row.Null(i)) return std::nullopt;
  return row.Text(i);
}

// Column `i` of `row` into a field, read as the field's type (NULL reads as nullopt).
template <typename Row>
void ReadColumn(const Row& row, int i, std::string* out) { *out = row.Text(i); }
template <typename Row>
void ReadColumn(const Row& row, int i, std::optional<std::string>* out) { *out = OptText(row, i); }
template <typename Row>
void ReadColumn(const Row& row, int i, int64_t* out) { *out = row.Int(i); }
template <typename Row>
void ReadColumn(const Row& row, int i, std::optional<int64_t>* out) {
  *out = row.Null(i) ? std::nullopt : std::optional<int64_t>(row.Int(i));
}
template <typename Row>
void ReadColumn(const Row& row, int i, bool* out) { *out = row.Bool(i); }

// Columns first, first + 1, ... of `row` into the given fields of `*out`, in order: the list
// of fields is the query's column layout.
template <typename Row, typename T, typename... Fields>
void ReadColumns(const Row& row, int first, T* out, Fields T::*... fields) {
  int i = first;
  (ReadColumn(row, i++, &(out->*fields)), ...);
}
// A T whose given fields are columns 0, 1, ... of `row` (the others keep their defaults).
template <typename T, typename Row, typename... Fields>
T FromColumns(const Row& row, Fields T::*... fields) {
  T out{};
  ReadColumns(row, 0, &out, fields...);
  return out;
}

// Column layout of the instance record (kInstanceRecordSelect): 0 name, 1 version,
// 2 current_execution_id, 3 status, 4 output, 5 error, 6 custom_status,
// 7 custom_status_version, 8 parent_instance_id, 9 created_at, 10 updated_at, 11 id of the
// current execution's last event (NULL: none). *last_event_id (optional) receives column 11
// (0 for none). Throws DataLossError for an unknown execution status.
template <typename Row>
InstanceRecord InstanceRecordFrom(const std::string& instance, const Row& row,
                                  int64_t* last_event_id) {
  InstanceRecord r;
  r.name = row.Text(0);
  r.version = row.Text(1);
  r.current_execution_id = row.Int(2);
  if (!row.Null(3) && !ExecutionStatusFromName(row.Text(3), &r.status)) {
    throw DataLossError("instance '" + instance + "' has unknown execution status '" +
                        row.Text(3) + "'");
  }
  using R = InstanceRecord;
  ReadColumns(row, 4, &r, &R::output, &R::error, &R::custom_status, &R::custom_status_version,
              &R::parent_instance_id, &R::created_at_ms, &R::updated_at_ms);
  if (last_event_id != nullptr) *last_event_id = row.Null(11) ? 0 : row.Int(11);
  return r;
}

// The instance-record query body (both dialects; `$1` is the instance id). Shared queries use
// `$N` placeholders whose first appearances are in order 1, 2, ...: SQLite numbers `$name`
// parameters by first appearance, so they bind by the same index as PostgreSQL's.
// Column layout: see InstanceRecordFrom.
inline constexpr const char* kInstanceRecordSelect =
    "SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, e.status, "
    "  e.output, e.error, i.custom_status, i.custom_status_version, i.parent_instance_id, "
    "  i.created_at, i.updated_at, "
    "  (SELECT MAX(h.event_id) FROM history h WHERE h.instance_id = i.instance_id "
    "     AND h.execution_id = i.current_execution_id) "
    "FROM instances i LEFT JOIN executions e "
    "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
    "WHERE i.instance_id = $1";

// The GetInstanceInfo query (both dialects, `$1` = instance id). Columns: 0 name, 1 version,
// 2 current_execution_id, 3 status, 4 output, 5 error, 6 created_at, 7 updated_at,
// 8 parent_instance_id.
inline constexpr const char* kInstanceInfoSelect =
    "SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, e.status, "
    "  e.output, e.error, i.created_at, i.updated_at, i.parent_instance_id "
    "FROM instances i LEFT JOIN executions e "
    "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
    "WHERE i.instance_id = $1";

template <typename Row>
InstanceInfo InstanceInfoFrom(const std::string& instance, const Row& row) {
  InstanceInfo info;
  info.instance_id = instance;
  info.orchestration_name = row.Text(0);
  info.orchestration_version = row.Text(1);
  info.current_execution_id = row.Int(2);
  info.status = admin::StatusOrRunning(OptText(row, 3));
  info.output = admin::OutputFor(info.status, OptText(row, 4), OptText(row, 5));
  ReadColumns(row, 6, &info, &InstanceInfo::created_at, &InstanceInfo::updated_at,
              &InstanceInfo::parent_instance_id);
  return info;
}

// The GetExecutionInfo query (both dialects, `$1` = instance id, `$2` = execution id).
// Columns: 0 status, 1 output, 2 error, 3 started_at, 4 completed_at, 5 event count.
inline constexpr const char* kExecutionInfoSelect =
    "SELECT e.status, e.output, e.error, e.started_at, e.completed_at, "
    "  (SELECT COUNT(*) FROM history h "
    "   WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id) "
    "FROM executions e WHERE e.instance_id = $1 AND e.execution_id = $2";

template <typename Row>
ExecutionInfo ExecutionInfoFrom(int64_t execution_id, const Row& row) {
  ExecutionInfo info;
  info.execution_id = execution_id;
  info.status = row.Text(0);
  info.output = admin::OutputFor(info.status, OptText(row, 1), OptText(row, 2));
  ReadColumns(row, 3, &info, &ExecutionInfo::started_at, &ExecutionInfo::completed_at,
              &ExecutionInfo::event_count);
  return info;
}

// Column layout of a worker row (both providers' kWorkerColumns): 0 worker_id, 1 name, 2 host,
// 3 pid, 4 version, 5 service_name, 6 service_version, 7 status, 8 drain_requested,
// 9 started_at, 10 registered_at, 11 last_heartbeat, 12 heartbeat_interval_ms, 13 capacity,
// 14 load, 15 serves, 16 tags, 17 capabilities, 18 session_owners, 19 sessions held.
template <typename Row>
WorkerRecord WorkerRecordFrom(const Row& row) {
  using W = WorkerRecord;
  return FromColumns<W>(row, &W::worker_id, &W::name, &W::host, &W::pid, &W::version,
                        &W::service_name, &W::service_version, &W::status, &W::drain_requested,
                        &W::started_at_ms, &W::registered_at_ms, &W::last_heartbeat_ms,
                        &W::heartbeat_interval_ms, &W::capacity_json, &W::load_json,
                        &W::serves_json, &W::tags_json, &W::capabilities_json,
                        &W::session_owners_json, &W::sessions_held);
}

// The worker-registry SQL both dialects run (`$N` in order of first appearance, see
// kInstanceRecordSelect). DUROXIDE_WORKER_COLUMNS: columns 0..18 of WorkerRecordFrom; each
// dialect appends column 19 (sessions held: a query of the session_owners JSON array, `$1` =
// now) and "FROM workers w ".
#define DUROXIDE_WORKER_COLUMNS                                                               \
  "SELECT w.worker_id, w.name, w.host, w.pid, w.version, w.service_name, w.service_version, " \
  "  w.status, w.drain_requested, w.started_at, w.registered_at, w.last_heartbeat, "         \
  "  w.heartbeat_interval_ms, w.capacity, w.load, w.serves, w.tags, w.capabilities, "        \
  "  w.session_owners, "
// A new worker under the candidate name `$16` with the registration fields `$1`..`$15`
// (`$8` = now, also its registration time); each dialect appends its conflict clause (the
// UNIQUE name decides between concurrent registrations).
#define DUROXIDE_REGISTER_WORKER_INSERT                                                       \
  "INSERT INTO workers(worker_id, host, pid, version, service_name, service_version, "        \
  "  started_at, last_heartbeat, heartbeat_interval_ms, capacity, load, serves, tags, "      \
  "  capabilities, session_owners, name, status, drain_requested, registered_at) "           \
  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "          \
  "  'active', FALSE, $8) "
// A known worker `$1` registering again with the fields `$2`..`$15` of the insert above:
// active again, its drain request cleared; returns its name (no row: an unknown worker). Its
// placeholders do not appear in order: SQLite runs it as `?N` (NumberedPlaceholders).
inline constexpr const char* kReRegisterWorkerUpdate =
    "UPDATE workers SET host = $2, pid = $3, version = $4, service_name = $5, "
    "  service_version = $6, started_at = $7, last_heartbeat = $8, "
    "  heartbeat_interval_ms = $9, capacity = $10, load = $11, serves = $12, tags = $13, "
    "  capabilities = $14, session_owners = $15, status = 'active', drain_requested = FALSE "
    "WHERE worker_id = $1 RETURNING name";
// A heartbeat of worker `$1` at `$2` with its load `$3`: returns drain_requested and status
// (no row: an unknown worker). Run by SQLite as `?N`, like kReRegisterWorkerUpdate.
inline constexpr const char* kHeartbeatWorkerUpdate =
    "UPDATE workers SET last_heartbeat = $2, load = $3 WHERE worker_id = $1 "
    "RETURNING drain_requested, status";

// ListQueuedWork (`$1` = now, `$2` = limit): visible or retried rows of both queues that no
// live lock holds, oldest visible first. Columns: see QueuedWorkFrom.
inline constexpr const char* kQueuedWorkSelect =
    "SELECT 0, q.instance_id, q.work_item, i.orchestration_name, i.orchestration_version, "
    "  q.created_at, q.visible_at FROM orchestrator_queue q "
    "  LEFT JOIN instances i ON i.instance_id = q.instance_id "
    "  WHERE (q.visible_at <= $1 OR q.attempt_count > 0) AND NOT EXISTS (SELECT 1 FROM instance_locks l "
    "    WHERE l.instance_id = q.instance_id AND l.locked_until > $1) "
    "UNION ALL "
    "SELECT 1, w.instance_id, w.work_item, NULL, NULL, w.created_at, w.visible_at "
    "  FROM worker_queue w "
    "  WHERE (w.visible_at <= $1 OR w.attempt_count > 0) AND (w.lock_token IS NULL OR w.locked_until <= $1) "
    "ORDER BY 7 LIMIT $2";

// Columns: 0 queue (0 orchestrator, 1 worker), 1 instance, 2 work item, 3 name, 4 version
// (NULL for worker rows), 5 created_at, 6 visible_at.
template <typename Row>
QueuedWork QueuedWorkFrom(const Row& row) {
  using Q = QueuedWork;
  Q w;
  w.queue = row.Int(0) == 0 ? Q::Queue::kOrchestrator : Q::Queue::kWorker;
  ReadColumns(row, 1, &w, &Q::instance, &Q::work_item_json, &Q::instance_name,
              &Q::instance_version, &Q::created_at_ms, &Q::visible_at_ms);
  return w;
}

// GetQueueDepths (both dialects, `$1` = now): pending work only — orchestrator messages that
// are visible and not part of a batch under a live instance lock, worker rows that are visible
// and not under a live row lock, and (timer_queue) orchestrator messages that become visible
// later, mostly durable timers. Columns: orchestrator, worker, timer queue.
inline constexpr const char* kQueueDepthsSelect =
    "SELECT (SELECT COUNT(*) FROM orchestrator_queue q WHERE q.visible_at <= $1 "
    "   AND NOT EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id "
    "     AND l.lock_token = q.lock_token AND l.locked_until > $1)), "
    "  (SELECT COUNT(*) FROM worker_queue w WHERE w.visible_at <= $1 "
    "   AND (w.lock_token IS NULL OR w.locked_until <= $1)), "
    "  (SELECT COUNT(*) FROM orchestrator_queue WHERE visible_at > $1)";

template <typename Row>
QueueDepths QueueDepthsFrom(const Row& row) {
  using D = QueueDepths;
  return FromColumns<D>(row, &D::orchestrator_queue, &D::worker_queue, &D::timer_queue);
}

// GetSystemMetrics (both dialects, no parameter), one statement so the numbers come from one
// snapshot. Columns: 0 instances, 1 executions, 2 running, 3 completed, 4 failed (status of
// the current executions), 5 history events.
inline constexpr const char* kSystemMetricsSelect =
    "SELECT (SELECT COUNT(*) FROM instances), (SELECT COUNT(*) FROM executions), "
    "  COUNT(CASE WHEN e.status = 'Running' THEN 1 END), "
    "  COUNT(CASE WHEN e.status = 'Completed' THEN 1 END), "
    "  COUNT(CASE WHEN e.status = 'Failed' THEN 1 END), (SELECT COUNT(*) FROM history) "
    "FROM instances i LEFT JOIN executions e "
    "  ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id";

template <typename Row>
SystemMetrics SystemMetricsFrom(const Row& row) {
  using M = SystemMetrics;
  return FromColumns<M>(row, &M::total_instances, &M::total_executions, &M::running_instances,
                        &M::completed_instances, &M::failed_instances, &M::total_events);
}

// GetInstanceStats (both dialects, `$1` = instance id; no row for an unknown instance): the
// history figures of the current execution (what a replay loads) and the queued orchestrator
// messages. Columns: see InstanceStatsBuilder. OCTET_LENGTH is the byte length of the stored
// text (built into PostgreSQL and SQLite 3.43; the SQLite provider registers it on older
// libraries).
inline constexpr const char* kInstanceStatsSelect =
    "SELECT (SELECT COUNT(*) FROM history h WHERE h.instance_id = i.instance_id "
    "     AND h.execution_id = i.current_execution_id), "
    "  (SELECT COALESCE(SUM(OCTET_LENGTH(h.event_data)), 0) FROM history h "
    "   WHERE h.instance_id = i.instance_id AND h.execution_id = i.current_execution_id), "
    "  (SELECT COUNT(*) FROM orchestrator_queue q WHERE q.instance_id = i.instance_id) "
    "FROM instances i WHERE i.instance_id = $1";

// The KV rows of GetInstanceStats (both dialects, `$1` = instance id): 0 key, 1 value bytes
// (NULL: a tombstone of the delta), baseline rows before delta rows.
inline constexpr const char* kInstanceKvSizesSelect =
    "SELECT key, OCTET_LENGTH(value), 0 AS src FROM kv_store WHERE instance_id = $1 "
    "UNION ALL SELECT key, OCTET_LENGTH(value), 1 FROM kv_delta WHERE instance_id = $1 "
    "ORDER BY src";

// GetInstanceStats: the history and queue figures (kInstanceStatsSelect: columns 0 history
// events, 1 history bytes, 2 queued orchestrator messages) and the live KV view's size,
// tallied from the rows of kInstanceKvSizesSelect (the live view is the baseline merged with
// the current execution's delta).
class InstanceStatsBuilder {
 public:
  template <typename Row>
  explicit InstanceStatsBuilder(const Row& row) {
    ReadColumns(row, 0, &stats_, &InstanceStats::history_event_count,
                &InstanceStats::history_size_bytes, &InstanceStats::queue_pending_count);
  }
  // One row of kInstanceKvSizesSelect.
  template <typename Row>
  void AddKvRow(const Row& row) {
    AddKvRow(row.Text(0), row.Null(1) ? std::nullopt : std::optional<int64_t>(row.Int(1)));
  }
  void AddKvRow(std::string key, std::optional<int64_t> value_bytes) {
    if (!value_bytes) {
      kv_sizes_.erase(key);
    } else {
      kv_sizes_[std::move(key)] = *value_bytes;
    }
  }
  InstanceStats Build() const {
    InstanceStats out = stats_;
    out.kv_user_key_count = static_cast<int64_t>(kv_sizes_.size());
    for (const auto& entry : kv_sizes_) out.kv_total_value_bytes += entry.second;
    return out;
  }

 private:
  InstanceStats stats_;
  std::map<std::string, int64_t> kv_sizes_;  // key -> value bytes
};

// The status of an ack or renewal whose worker lease is gone (kFailedPrecondition).
Status WorkLeaseGone(const char* op, const std::string& lock_token);

// The statuses of an orchestration lock token (kFailedPrecondition): one that names no lock
// (abandon), one whose lock is gone or expired (ack, renewal).
Status InstanceLockUnknown(const char* op, const std::string& lock_token);
Status InstanceLockGone(const char* op, const std::string& lock_token);

// StartOrchestration of an instance that exists or whose start is queued (kAlreadyExists).
Status InstanceExists(const char* op, const std::string& instance);

// The NotFound statuses of the admin reads (api.md 1.11 wording).
Status InstanceNotFound(const char* op, const std::string& instance);
Status ExecutionNotFound(const char* op, const std::string& instance, int64_t execution_id);

// ---- delete and prune ----------------------------------------------------------------------

// The SQL half of DeleteInstancesAtomic; every call runs inside the caller's delete
// transaction. Ids are passed as a sorted set.
class DeleteStore {
 public:
  virtual ~DeleteStore() = default;
  // Status of the current execution of each instance of `ids` that has one.
  virtual std::map<std::string, std::string> CurrentStatuses(const std::set<std::string>& ids) = 0;
  // (child, parent) for every instance whose parent is in `ids`.
  virtual std::vector<std::pair<std::string, std::string>> Children(
      const std::set<std::string>& ids) = 0;
  // (instance, event_data) of the SubOrchestrationScheduled events of `ids`.
  virtual std::vector<std::pair<std::string, std::string>> ScheduledChildren(
      const std::set<std::string>& ids) = 0;
  // work_item texts of the queued StartOrchestration messages of `instance` while it has no
  // instance row.
  virtual std::vector<std::string> PendingStarts(const std::string& instance) = 0;
  // Deletes the rows of `table` (one of DeleteInstances' tables, each with an instance_id
  // column) whose instance_id is in `ids`; returns how many it deleted.
  virtual int64_t DeleteRowsOf(const char* table, const std::set<std::string>& ids) = 0;
};

// The delete algorithm (provider_admin.h DeleteInstancesAtomic), inside the caller's
// transaction: for each id in order, without `force` a still-running instance refuses the
// delete (admin::RunningMessage), and a child outside the set refuses it (created
// concurrently); then children whose start is still queued (named by the set's
// SubOrchestrationScheduled events, no instance row, start message naming the parent) are
// deleted with the set. The set's rows go from every table of the instance (instances,
// executions, history, both queues, instance locks and limit slots, KV store and delta); a
// pending child's from the orchestrator queue and instance locks. On refusal returns kFailedPrecondition and deletes nothing (the caller
// rolls back); otherwise fills *result. Exceptions of the store propagate.
Status DeleteInstances(const char* op, const std::vector<std::string>& instances, bool force,
                       DeleteStore& store, DeleteInstanceResult* result);

// The SQL half of PruneExecutions, inside the caller's transaction.
class PruneStore {
 public:
  virtual ~PruneStore() = default;
  // current_execution_id of `instance` (locking its row where the dialect needs it); nullopt
  // for an unknown instance.
  virtual std::optional<int64_t> CurrentExecution(const std::string& instance) = 0;
  // Executions to delete, ascending: not `current`, not Running, not among the `keep` newest,
  // completed before `completed_before` when given.
  virtual std::vector<int64_t> Victims(const std::string& instance, int64_t current, int64_t keep,
                                       const std::optional<int64_t>& completed_before) = 0;
  // Deletes one execution and its history: (events deleted, executions deleted).
  virtual std::pair<int64_t, int64_t> DeleteExecution(const std::string& instance,
                                                      int64_t execution_id) = 0;
};

// Checks PruneOptions (keep_last >= 0) and returns the number of newest executions to keep
// (None, 0 and 1 all keep just the current execution); kInvalidArgument otherwise.
Result<int64_t> KeepLast(const char* op, const PruneOptions& options);

// The pruning algorithm, inside the caller's transaction; kNotFound for an unknown instance.
Result<PruneResult> PruneInstance(const char* op, const std::string& instance, int64_t keep,
                                  const PruneOptions& options, PruneStore& store);

// The limit of a bulk listing (default 1000); kInvalidArgument when negative.
Result<int64_t> BulkLimit(const char* op, const InstanceFilter& filter);

// ---- migrations ----------------------------------------------------------------------------

// One numbered schema migration. Released migrations are never edited.
struct Migration {
  int64_t version;
  const char* description;
  const char* sql;
};

// The bookkeeping half of a dialect's migration runner; the caller holds whatever lock
// serialises concurrent runners.
class MigrationStore {
 public:
  virtual ~MigrationStore() = default;
  // Every version recorded as applied.
  virtual std::set<int64_t> AppliedVersions() = 0;
  // Runs `m.sql` and records `m` as applied at `now_ms` (atomically where the dialect can).
  virtual void Apply(const Migration& m, int64_t now_ms) = 0;
};

// The migrations of `known` (ascending versions) that are not recorded in `applied` and are
// not above `target_version`, in ascending order. A version missing from the recorded set is
// applied even when a later one was recorded (a gap, e.g. a store written by a build that
// had a later migration but not this one).
std::vector<Migration> PendingMigrations(const std::vector<Migration>& known,
                                         const std::set<int64_t>& applied,
                                         int64_t target_version);

// Applies PendingMigrations in order and returns the highest recorded version afterwards
// (0 for none). When a recorded version exceeds the newest known one, nothing is applied and
// std::runtime_error(newer_message(recorded, newest)) is thrown. Exceptions of the store
// propagate (the migrations applied before stay recorded).
int64_t RunMigrations(const std::vector<Migration>& known, int64_t target_version,
                      MigrationStore& store,
                      const std::function<std::string(int64_t, int64_t)>& newer_message);

}  // namespace duroxide::providers::store

#endif  // DUROXIDE_PROVIDERS_STORE_COMMON_H_
